package media

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// ---- unit tests on a fake clock and fake legs ----

// mixFakeLeg is a MixerLeg that is not a Session (the interface other legs
// would implement), driven by hand.
type mixFakeLeg struct {
	mu  sync.Mutex
	fwd Forwarder
	src Source
	ts  uint32
}

func (l *mixFakeLeg) SetForwarder(f Forwarder) { l.mu.Lock(); l.fwd = f; l.mu.Unlock() }
func (l *mixFakeLeg) SetSource(s Source)       { l.mu.Lock(); l.src = s; l.mu.Unlock() }

// say sends one 20 ms packet of the constant v, as the receive goroutine
// would.
func (l *mixFakeLeg) say(v int16) {
	var b [frameSamples]byte
	for i := range b {
		b[i] = ulawEncTable[uint16(v)>>2]
	}
	l.mu.Lock()
	f := l.fwd
	ts := l.ts
	l.ts += frameSamples
	l.mu.Unlock()
	if f != nil {
		f.ForwardRTP(PTPCMU, ts, false, b[:])
	}
}

// hear pulls one frame as the pacer would; ok is false with no source.
func (l *mixFakeLeg) hear() ([]int16, bool) {
	l.mu.Lock()
	src := l.src
	l.mu.Unlock()
	if src == nil {
		return nil, false
	}
	out := make([]int16, frameSamples)
	if !src.ReadFrame(out) {
		return nil, false
	}
	return out, true
}

// ulaw is what v becomes through µ-law.
func mixULaw(v int16) int16 { return ulawDecTable[ulawEncTable[uint16(v)>>2]] }

type mixConstSource struct {
	v      int16
	frames int // < 0: forever
}

func (c *mixConstSource) ReadFrame(dst []int16) bool {
	if c.frames == 0 {
		return false
	}
	c.frames--
	for i := range dst {
		dst[i] = c.v
	}
	return true
}

func mixConstant(t *testing.T, f []int16, want int16, what string) {
	t.Helper()
	for i, v := range f {
		if v != want {
			t.Fatalf("%s: sample %d = %d, want %d", what, i, v, want)
		}
	}
}

func mixFakeMixer() (*Mixer, *int64) {
	m := NewMixer()
	clk := new(int64)
	m.now = func() int64 { return *clk }
	m.last = 0
	return m, clk
}

// TestMixerRoundsOncePerTick: every participant hears the sum of the
// others, exactly one round is mixed per 20 ms whatever the order of the
// pulls, a participant that stops pulling does not stop the others, and
// one that pulls too fast does not drain everyone's input.
func TestMixerRoundsOncePerTick(t *testing.T) {
	m, clk := mixFakeMixer()
	rounds := 0
	m.Tap(func([]int16) { rounds++ })
	legs := []*mixFakeLeg{{}, {}, {}}
	vals := []int16{1000, 2000, 4000}
	for _, l := range legs {
		if err := m.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Add(legs[0]); err != nil || m.Len() != 3 {
		t.Fatalf("second Add: %v, len %d", err, m.Len())
	}
	for range 2 { // with the next tick's, 60 ms buffered: primed
		for i, l := range legs {
			l.say(vals[i])
		}
	}
	want := func(skip ...int) int16 {
		var s int16
		for i, v := range vals {
			if !slices.Contains(skip, i) {
				s += mixULaw(v)
			}
		}
		return s
	}
	for tick := range 50 {
		*clk += int64(frameDuration)
		for i, l := range legs {
			l.say(vals[i])
		}
		for k := range legs { // the pacers' order changes from tick to tick
			i := (k + tick) % len(legs)
			f, ok := legs[i].hear()
			if !ok {
				t.Fatal("no source")
			}
			mixConstant(t, f, want(i), "leg")
		}
		for i, l := range legs {
			p := l.fwd.(*mixLeg)
			if p.rx.buffered() != 2*frameSamples {
				t.Fatalf("tick %d: leg %d buffers %d samples, want 2 frames", tick, i, p.rx.buffered())
			}
		}
	}
	if rounds != 50 {
		t.Fatalf("%d rounds for 50 ticks", rounds)
	}

	// Leg 2 goes silent and stops pulling (its session stalled): the
	// others go on one round per tick, and once its buffer has run dry
	// they hear only each other.
	rounds = 0
	for range 10 {
		*clk += int64(frameDuration)
		legs[0].say(vals[0])
		legs[1].say(vals[1])
		f0, _ := legs[0].hear()
		f1, _ := legs[1].hear()
		if f0[0] != want(0) && f0[0] != want(0, 2) || f1[0] != want(1) && f1[0] != want(1, 2) {
			t.Fatalf("stalled: %d %d", f0[0], f1[0])
		}
	}
	*clk += int64(frameDuration)
	legs[0].say(vals[0])
	legs[1].say(vals[1])
	f0, _ := legs[0].hear()
	mixConstant(t, f0, mixULaw(vals[1]), "leg 0 with leg 2 stalled")
	legs[1].hear()
	if rounds != 11 {
		t.Fatalf("%d rounds in 11 ticks with a leg stalled", rounds)
	}
	if p := legs[2].fwd.(*mixLeg); p.n != mixOutFrames {
		t.Fatalf("stalled leg queues %d frames, want %d", p.n, mixOutFrames)
	}
	// It comes back: its queue holds the newest frames, then it is
	// served as before.
	for range mixOutFrames + 1 {
		if _, ok := legs[2].hear(); !ok {
			t.Fatal("stalled leg lost its source")
		}
	}

	// A leg pulling far faster than the clock gets silence once the
	// burst allowance is used: the inputs are not drained.
	rounds = 0
	for range 20 {
		legs[0].hear()
	}
	if rounds > mixBurst {
		t.Fatalf("%d rounds in one instant, want <= %d", rounds, mixBurst)
	}
	if f, _ := legs[0].hear(); f[0] != 0 {
		t.Fatalf("over-fast pull heard %d, want silence", f[0])
	}
}

// TestMixerMuteHoldPlaySaturate checks the mix arithmetic of each mode.
func TestMixerMuteHoldPlaySaturate(t *testing.T) {
	m, clk := mixFakeMixer()
	var tapped []int16
	m.Tap(func(f []int16) { tapped = append(tapped[:0], f...) })
	a, b, c := &mixFakeLeg{}, &mixFakeLeg{}, &mixFakeLeg{}
	for _, l := range []*mixFakeLeg{a, b, c} {
		m.Add(l)
	}
	va, vb, vc := int16(1000), int16(2000), int16(4000)
	tick := func() (fa, fb, fc []int16) {
		*clk += int64(frameDuration)
		a.say(va)
		b.say(vb)
		c.say(vc)
		fa, _ = a.hear()
		fb, _ = b.hear()
		fc, _ = c.hear()
		return
	}
	for range 3 {
		tick()
	}
	A, B, C := mixULaw(va), mixULaw(vb), mixULaw(vc)

	m.Mute(a, true, false) // a's words are dropped, a still hears
	fa, fb, fc := tick()
	mixConstant(t, fa, B+C, "a muted in hears")
	mixConstant(t, fb, C, "b with a muted")
	mixConstant(t, fc, B, "c with a muted")
	mixConstant(t, tapped, B+C, "tap with a muted")
	m.Mute(a, false, true) // a hears nothing, the others hear a
	fa, fb, _ = tick()
	mixConstant(t, fa, 0, "a muted out")
	mixConstant(t, fb, A+C, "b with a muted out")
	m.Mute(a, false, false)

	src := &mixConstSource{v: 300, frames: 2}
	m.Play(src)
	fa, _, _ = tick()
	mixConstant(t, fa, B+C+300, "a with the bridge source")
	mixConstant(t, tapped, A+B+C+300, "tap with the bridge source")
	m.SetHolding(true)
	fa, fb, fc = tick()
	mixConstant(t, fa, 300, "holding a")
	mixConstant(t, fb, 300, "holding b")
	mixConstant(t, fc, 300, "holding c")
	mixConstant(t, tapped, A+B+C+300, "holding tap")
	fa, _, _ = tick() // the source finished: dropped, silence
	mixConstant(t, fa, 0, "holding after the source ended")
	m.SetHolding(false)

	m.PlayTo(b, &mixConstSource{v: 50, frames: -1})
	fa, fb, _ = tick()
	mixConstant(t, fa, B+C, "a without b's own source")
	mixConstant(t, fb, A+C+50, "b with its own source")
	m.PlayTo(b, nil)

	// Saturation: the loudest µ-law codes plus a loud source clip.
	va, vb, vc = 32000, 32000, -32000
	m.Play(&mixConstSource{v: 20000, frames: -1})
	for range 3 {
		tick()
	}
	fa, _, fc = tick()
	mixConstant(t, fa, sat16(int32(mixULaw(vb))+int32(mixULaw(vc))+20000), "a")
	mixConstant(t, fc, 32767, "c hears two loud voices and the source")
	m.Play(nil)

	m.Remove(b)
	if _, ok := b.hear(); ok || b.fwd != nil || m.Len() != 2 {
		t.Fatalf("removed leg: source or forwarder left, len %d", m.Len())
	}
	m.Close()
	if a.src != nil || c.fwd != nil || m.Len() != 0 {
		t.Fatal("Close left a leg in the bridge")
	}
	if err := m.Add(a); !errors.Is(err, ErrMixerClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
}

// TestMixerInput: 60 ms before playing, loss as silence, late packets
// dropped, a lasting excess trimmed, an underrun primes again.
func TestMixerInput(t *testing.T) {
	var b mixInput
	frame := func(v byte) []byte { return bytes.Repeat([]byte{v}, frameSamples) }
	out := make([]int16, frameSamples)
	ts := uint32(0)
	say := func(v byte) { b.write(PTPCMU, ts, frame(v)); ts += frameSamples }
	say(1)
	say(2)
	if b.read(out); out[0] != 0 || b.buffered() != 2*frameSamples {
		t.Fatalf("played %d with 40 ms buffered", out[0])
	}
	ts += frameSamples // lost
	say(4)
	b.write(PTPCMU, 2*frameSamples, frame(9)) // the lost one, too late
	for _, want := range []byte{1, 2, 0xFF, 4} {
		if b.read(out); out[0] != ulawDecTable[want] || out[159] != ulawDecTable[want] {
			t.Fatalf("read %d, want %d", out[0], ulawDecTable[want])
		}
	}
	if b.st.Late != 1 || b.st.Filled != frameSamples || b.st.Underruns != 0 {
		t.Fatalf("stats %+v", b.st)
	}
	b.read(out) // empty: underrun, primes again
	say(5)
	say(6)
	if b.read(out); out[0] != 0 || b.st.Underruns != 1 {
		t.Fatalf("played %d before 60 ms after an underrun, %+v", out[0], b.st)
	}
	// 120 ms buffered at each read: a frame is trimmed each second until
	// 60 ms are left at each read, then no more.
	say(7)
	say(8)
	say(9)
	for range 5 * mixTrimEvery {
		say(10)
		b.read(out)
	}
	if b.buffered() != 2*frameSamples || b.st.Dropped != 3*frameSamples {
		t.Fatalf("buffered %d after the trim, %+v", b.buffered(), b.st)
	}
}

func TestMixerAddRejects(t *testing.T) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMixer()
	var nilSession *Session
	if err := m.Add(nilSession); err == nil {
		t.Fatal("added a nil session")
	}
	s := newSession(t, e, SessionConfig{CallID: "closed"})
	s.Close()
	if err := m.Add(s); !errors.Is(err, ErrClosed) || m.Len() != 0 {
		t.Fatalf("Add of a closed session: %v", err)
	}
}

// ---- real sessions on loopback ----

// mixCall is a caller: a Session and the far end's socket, which says a
// tone (or silence, freq 0) every 20 ms until the test ends.
type mixCall struct {
	s *Session
	p *peer
}

const mixAmp = 5000

func newMixCall(t *testing.T, e *Engine, name string, freq float64, law PayloadType) *mixCall {
	t.Helper()
	s := newSession(t, e, SessionConfig{CallID: name})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: law})
	s.Start()
	pcm := make([]int16, sampleRate) // one second: whole periods, loops seamlessly
	if freq > 0 {
		pcm = sine(freq, mixAmp, sampleRate, 1)
	}
	enc := make([]byte, len(pcm))
	encode(law, enc, pcm)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(frameDuration)
		defer tk.Stop()
		ssrc := rand.Uint32()
		pkt := make([]byte, rtpHeaderLen+frameSamples)
		to := s.addr()
		for i := 0; ; i++ {
			h := rtp.Header{Version: 2, PayloadType: law, Marker: i == 0, SequenceNumber: uint16(i),
				Timestamp: uint32(i * frameSamples), SSRC: ssrc}
			h.MarshalTo(pkt)
			off := i % (len(enc) / frameSamples) * frameSamples
			copy(pkt[rtpHeaderLen:], enc[off:off+frameSamples])
			p.conn.WriteToUDPAddrPort(pkt, to)
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return &mixCall{s: s, p: p}
}

// drain discards what the session sent so far.
func (c *mixCall) drain(t *testing.T) {
	t.Helper()
	for {
		if _, ok := c.p.read(t, 2*time.Millisecond); !ok {
			return
		}
	}
}

// hear returns the next n frames the session sends from now on, decoded.
func (c *mixCall) hear(t *testing.T, n int) [][]int16 {
	t.Helper()
	c.drain(t)
	var out [][]int16
	for len(out) < n {
		pk, ok := c.p.readRTP(t, time.Second)
		if !ok {
			t.Fatalf("%s: no audio after %d frames", c.s.cfg.CallID, len(out))
		}
		f := make([]int16, len(pk.Payload))
		decode(pk.PayloadType, f, pk.Payload)
		out = append(out, f)
	}
	return out
}

// share is the fraction of frames where freq is louder than amp.
func mixShare(frames [][]int16, freq, amp float64) float64 {
	n := 0
	for _, f := range frames {
		if toneAmplitude(f, freq, sampleRate) > amp {
			n++
		}
	}
	return float64(n) / float64(len(frames))
}

// expectTones asserts that c hears every frequency of present (in most
// frames, allowing for the odd late packet) and none of absent.
func (c *mixCall) expectTones(t *testing.T, present, absent []float64) {
	t.Helper()
	frames := c.hear(t, 25)
	for _, f := range present {
		if s := mixShare(frames, f, mixAmp/2); s < 0.7 {
			t.Errorf("%s hears %.0f Hz in %.0f%% of frames, want most", c.s.cfg.CallID, f, 100*s)
		}
	}
	for _, f := range absent {
		if s := mixShare(frames, f, mixAmp/5); s > 0.1 {
			t.Errorf("%s hears %.0f Hz in %.0f%% of frames, want none", c.s.cfg.CallID, f, 100*s)
		}
	}
}

const mixSettle = 200 * time.Millisecond // jitter buffers prime, the mix flows

func TestMixerTwoParties(t *testing.T) {
	e := startEngine(t, Config{})
	a := newMixCall(t, e, "a", 440, PTPCMU)
	b := newMixCall(t, e, "b", 1000, PTPCMA)
	m := NewMixer()
	defer m.Close()
	for _, c := range []*mixCall{a, b, a} {
		if err := m.Add(c.s); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 2 {
		t.Fatalf("len %d", m.Len())
	}
	time.Sleep(mixSettle)
	a.expectTones(t, []float64{1000}, []float64{440})
	b.expectTones(t, []float64{440}, []float64{1000})
}

func TestMixerThreeParties(t *testing.T) {
	e := startEngine(t, Config{})
	freqs := []float64{440, 1000, 1700}
	calls := []*mixCall{
		newMixCall(t, e, "a", freqs[0], PTPCMU),
		newMixCall(t, e, "b", freqs[1], PTPCMA),
		newMixCall(t, e, "c", freqs[2], PTPCMU),
	}
	m := NewMixer()
	defer m.Close()
	for _, c := range calls {
		m.Add(c.s)
	}
	time.Sleep(mixSettle)
	for i, c := range calls {
		var others []float64
		for j, f := range freqs {
			if j != i {
				others = append(others, f)
			}
		}
		c.expectTones(t, others, freqs[i:i+1])
	}

	// One round per 20 ms, though three sessions on two pacers pull.
	var rounds atomic.Int64
	m.Tap(func([]int16) { rounds.Add(1) })
	start := time.Now()
	time.Sleep(time.Second)
	n, el := rounds.Load(), time.Since(start)
	if want := int64(el / frameDuration); n < want-4 || n > want+4 {
		t.Errorf("%d rounds in %v, want about %d", n, el, want)
	}

	// c hangs up without leaving the bridge: the others go on.
	calls[2].s.Close()
	time.Sleep(mixSettle)
	calls[0].expectTones(t, freqs[1:2], []float64{freqs[0], freqs[2]})
	calls[1].expectTones(t, freqs[:1], freqs[1:])
}

func TestMixerMute(t *testing.T) {
	e := startEngine(t, Config{})
	a := newMixCall(t, e, "a", 440, PTPCMU)
	b := newMixCall(t, e, "b", 1000, PTPCMU)
	m := NewMixer()
	defer m.Close()
	m.Add(a.s)
	m.Add(b.s)
	m.Mute(a.s, true, false)
	time.Sleep(mixSettle)
	a.expectTones(t, []float64{1000}, []float64{440})
	b.expectTones(t, nil, []float64{440, 1000})
	m.Mute(a.s, false, true)
	time.Sleep(mixSettle)
	a.expectTones(t, nil, []float64{440, 1000})
	b.expectTones(t, []float64{440}, []float64{1000})
	m.Mute(a.s, false, false)
	time.Sleep(mixSettle)
	a.expectTones(t, []float64{1000}, []float64{440})
}

// TestMixerPlayHoldingTap: a tone played to the bridge is heard by all
// over the conversation; a holding bridge hears only the tone; the tap
// gets everything.
func TestMixerPlayHoldingTap(t *testing.T) {
	e := startEngine(t, Config{})
	a := newMixCall(t, e, "a", 440, PTPCMU)
	b := newMixCall(t, e, "b", 1000, PTPCMA)
	m := NewMixer()
	defer m.Close()
	taps := make(chan []int16, 100)
	m.Tap(func(f []int16) {
		select {
		case taps <- append([]int16(nil), f...):
		default:
		}
	})
	m.Add(a.s)
	m.Add(b.s)
	m.Play(NewTone([]float64{1700}, 0))
	time.Sleep(mixSettle)
	a.expectTones(t, []float64{1000, 1700}, []float64{440})
	b.expectTones(t, []float64{440, 1700}, []float64{1000})

	m.Tap(nil)
	var tapped [][]int16
	for len(taps) > 0 {
		tapped = append(tapped, <-taps)
	}
	tapped = tapped[len(tapped)/2:] // after the buffers primed
	for _, f := range []float64{440, 1000, 1700} {
		if s := mixShare(tapped, f, mixAmp/2); s < 0.7 {
			t.Errorf("tap has %.0f Hz in %.0f%% of %d frames", f, 100*s, len(tapped))
		}
	}

	m.SetHolding(true)
	time.Sleep(mixSettle)
	a.expectTones(t, []float64{1700}, []float64{440, 1000})
	b.expectTones(t, []float64{1700}, []float64{440, 1000})
	m.Play(nil)
	time.Sleep(mixSettle)
	a.expectTones(t, nil, []float64{440, 1000, 1700})
	m.SetHolding(false)
	time.Sleep(mixSettle)
	a.expectTones(t, []float64{1000}, []float64{440, 1700})
}

func TestMixerPlayTo(t *testing.T) {
	e := startEngine(t, Config{})
	a := newMixCall(t, e, "a", 440, PTPCMU)
	b := newMixCall(t, e, "b", 1000, PTPCMU)
	m := NewMixer()
	defer m.Close()
	m.Add(a.s)
	m.Add(b.s)
	m.PlayTo(b.s, NewTone([]float64{1700}, 0))
	time.Sleep(mixSettle)
	a.expectTones(t, []float64{1000}, []float64{440, 1700})
	b.expectTones(t, []float64{440, 1700}, []float64{1000})
}

// TestMixerRemove: a removed session is silent (no source, no forwarder),
// the others stop hearing it, and its owner can play to it or add it again.
func TestMixerRemove(t *testing.T) {
	e := startEngine(t, Config{})
	a := newMixCall(t, e, "a", 440, PTPCMU)
	b := newMixCall(t, e, "b", 1000, PTPCMU)
	m := NewMixer()
	defer m.Close()
	m.Add(a.s)
	m.Add(b.s)
	time.Sleep(mixSettle)
	m.Remove(a.s)
	m.Remove(a.s) // twice: no-op
	if m.Len() != 1 || a.s.fwd.Load() != nil {
		t.Fatalf("len %d, forwarder %v", m.Len(), a.s.fwd.Load())
	}
	a.s.mu.Lock()
	src := a.s.src
	a.s.mu.Unlock()
	if src != nil {
		t.Fatalf("removed session still plays %T", src)
	}
	time.Sleep(3 * frameDuration)
	a.drain(t)
	if pk, ok := a.p.readRTP(t, 100*time.Millisecond); ok {
		t.Fatalf("removed session still sends (pt %d)", pk.PayloadType)
	}
	b.expectTones(t, nil, []float64{440, 1000})

	a.s.SetSource(NewTone([]float64{1700}, 0))
	a.expectTones(t, []float64{1700}, []float64{1000})

	if err := m.Add(a.s); err != nil {
		t.Fatal(err)
	}
	time.Sleep(mixSettle)
	a.expectTones(t, []float64{1000}, []float64{440, 1700})
	b.expectTones(t, []float64{440}, []float64{1000})
}

// TestMixerConcurrent runs the HTTP side (Add, Remove, Mute, Play, ...)
// against the pacers and receive goroutines; meant for -race.
func TestMixerConcurrent(t *testing.T) {
	e := startEngine(t, Config{})
	freqs := []float64{440, 1000, 1700, 0}
	var calls []*mixCall
	for i, f := range freqs {
		calls = append(calls, newMixCall(t, e, string(rune('a'+i)), f, PTPCMU))
	}
	m := NewMixer()
	for _, c := range calls {
		m.Add(c.s)
	}
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Second)
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for time.Now().Before(deadline) {
				c := calls[r.IntN(len(calls))].s
				switch r.IntN(8) {
				case 0:
					m.Add(c)
				case 1:
					m.Remove(c)
				case 2:
					m.Mute(c, r.IntN(2) == 0, r.IntN(2) == 0)
				case 3:
					m.Play(NewTone([]float64{300}, 100*time.Millisecond))
				case 4:
					m.SetHolding(r.IntN(2) == 0)
				case 5:
					m.Tap(func([]int16) {})
				case 6:
					m.PlayTo(c, NewTone([]float64{500}, 0))
				case 7:
					m.Len()
				}
				time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	m.Close()
	m.Close()
	if m.Len() != 0 {
		t.Fatalf("len %d after Close", m.Len())
	}
	for _, c := range calls {
		c.s.mu.Lock()
		src := c.s.src
		c.s.mu.Unlock()
		if src != nil || c.s.fwd.Load() != nil {
			t.Fatalf("%s still bridged after Close", c.s.cfg.CallID)
		}
	}
	if err := m.Add(calls[0].s); !errors.Is(err, ErrMixerClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
}
