package media

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// A Mixer is a bridge joining any number of call legs (ARI's mixing and
// holding bridges, a three-way conference). Each participant hears the sum
// of everyone else, never itself, plus the bridge's own source.
//
// Receiving: each participant's Forwarder (the session's receive
// goroutine) decodes its payloads (PCMU or PCMA, whatever was negotiated)
// into that participant's PCM jitter buffer, placed by RTP timestamp as in
// JitterBuffer: loss is filled with silence, duplicates and late packets are
// dropped, a far jump resynchronises. Playing starts, and restarts after an
// underrun, once 60 ms are buffered, so steady-state buffering is 40-60 ms
// per leg (mixers that take one packet at a time sound choppy: DESIGN.md
// section 4). It holds at most 120 ms (the oldest is dropped), and when it
// has held more than 60 ms for a whole second (a burst after a network
// stall) one frame is dropped to bring the delay back down.
//
// Timing: there is no mixer goroutine. Each participant's session pulls one
// frame per 20 ms from its pacer, and the pacers of different shards tick
// at different instants, so the pulls of one tick arrive separately. A
// "round" (read one frame from every input, sum them once, write each
// participant's output) is computed when a participant asks and has no
// output waiting; the others find theirs queued. One round per tick
// follows, whoever's pacer comes first. A participant whose session stops
// pulling (closed, stalled) does not stop the others: its queue keeps the
// newest mixOutFrames frames, and its input is still read every round (it
// is heard while its peer talks, silence once that stops). Rounds are rate
// limited to the wall clock (a small burst allowance for late ticks and
// catch-up), so a leg that pulls too fast cannot drain everyone's input
// buffers; it gets silence instead. The queue adds 0-20 ms (the phase
// between the shards' pacers): a tone onset crosses a two-party bridge in
// 55-70 ms on loopback, against 25-35 ms for the JitterBuffer relay, which
// primes at 40 ms and is choppier under jitter.
//
// Everything is preallocated per participant (about 3 KB): nothing is
// allocated per packet or per frame.
type Mixer struct {
	// opMu serialises Add, Remove and Close, which call into the legs
	// (SetSource, SetForwarder take the session's lock, which a pacer
	// holds while it pulls a frame and takes mu). It is never taken by
	// the media goroutines, so it orders the legs' hooks without a
	// lock-order cycle.
	opMu   sync.Mutex
	closed bool // guarded by opMu

	mu      sync.Mutex // guards everything below; held during a round
	legs    []*mixLeg
	src     Source // the bridge's own source (Play)
	tap     func(frame []int16)
	holding bool

	now    func() int64 // monotonic ns; replaced in tests
	last   int64        // time of the last round attempt
	credit int64        // ns of rounds due (token bucket, capped at mixBurst frames)

	sum      [frameSamples]int32 // everyone plus the bridge source
	srcFrame [frameSamples]int16
	tmp      [frameSamples]int16 // per-participant sources
	tapFrame [frameSamples]int16
}

const (
	// mixOutFrames is each participant's queue of mixed frames waiting
	// to be pulled. Two absorbs pacers of different shards ticking in any
	// order (and their jitter); a participant not pulling keeps the
	// newest two, which bounds the delay a stall can add to 40 ms.
	mixOutFrames = 2
	// mixBurst: rounds may run ahead of the wall clock by this many
	// frames minus one (late ticks, a shard catching up), no more.
	mixBurst = 3
)

// ErrMixerClosed is returned (wrapped) by Add on a closed Mixer.
var ErrMixerClosed = errors.New("media mixer closed")

// MixerLeg is what a Mixer needs of a participant; *Session is one.
// Another kind of leg joins by implementing both methods with Session's
// contracts: the Forwarder is given each received G.711 payload (without
// blocking, without keeping it) and the Source is pulled for one 20 ms
// frame of 8 kHz PCM at a time, on the leg's own clock; nil removes
// either. Legs are compared with ==, so use a pointer type.
type MixerLeg interface {
	SetForwarder(f Forwarder)
	SetSource(src Source)
}

// mixLeg is one participant: its Forwarder (input) and its Source
// (output) at once.
type mixLeg struct {
	m    *Mixer
	leg  MixerLeg
	gone atomic.Bool // removed: late packets and pulls are ignored

	rx mixInput // what it says; its own lock, written by the receive goroutine

	// Guarded by m.mu.
	muteIn, muteOut bool
	src             Source              // PlayTo: heard by this participant only
	in              [frameSamples]int16 // this round's input
	out             [mixOutFrames][frameSamples]int16
	head, n         int
}

// NewMixer returns an empty mixing bridge.
func NewMixer() *Mixer {
	epoch := time.Now()
	m := &Mixer{now: func() int64 { return int64(time.Since(epoch)) }}
	m.credit = mixBurst * int64(frameDuration)
	return m
}

// Add joins l: from now on it hears the mix of everyone else plus the
// bridge's source, and what it says goes to the others. It replaces l's
// source and forwarder (a source it replaces, such as music on hold, is
// not stopped: its owner stops it). Adding a participant again is a no-op.
// A leg is in at most one Mixer: Remove it before adding it to another.
func (m *Mixer) Add(l MixerLeg) error {
	s, isSession := l.(*Session)
	if l == nil || isSession && s == nil {
		return errors.New("media: mixer add: nil leg")
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if m.closed {
		return fmt.Errorf("media: mixer add: %w", ErrMixerClosed)
	}
	if isSession && s.closed.Load() {
		return fmt.Errorf("media: mixer add %s: %w", s.cfg.CallID, ErrClosed)
	}
	m.mu.Lock()
	if m.findLocked(l) >= 0 {
		m.mu.Unlock()
		return nil
	}
	p := &mixLeg{m: m, leg: l}
	m.legs = append(m.legs, p)
	m.mu.Unlock()
	l.SetForwarder(p)
	l.SetSource(p)
	return nil
}

// Remove takes l out of the bridge and leaves it silent (no source, no
// forwarder); the caller then decides what it plays. Removing a leg that
// is not in the bridge does nothing.
func (m *Mixer) Remove(l MixerLeg) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	m.removeLocked(l)
}

// removeLocked: m.opMu held.
func (m *Mixer) removeLocked(l MixerLeg) {
	m.mu.Lock()
	i := m.findLocked(l)
	if i < 0 {
		m.mu.Unlock()
		return
	}
	p := m.legs[i]
	last := len(m.legs) - 1
	m.legs[i] = m.legs[last]
	m.legs[last] = nil
	m.legs = m.legs[:last]
	p.gone.Store(true)
	m.mu.Unlock()
	p.rx.stop()
	l.SetForwarder(nil)
	l.SetSource(nil)
}

// findLocked returns the index of l in m.legs, or -1; m.mu held.
func (m *Mixer) findLocked(l MixerLeg) int {
	for i, p := range m.legs {
		if p.leg == l {
			return i
		}
	}
	return -1
}

// Mute sets what l says (in: dropped from the mix, the recording included)
// and what it hears (out: silence, its PlayTo source included). A leg that
// is not in the bridge is ignored.
func (m *Mixer) Mute(l MixerLeg, in, out bool) {
	m.mu.Lock()
	if i := m.findLocked(l); i >= 0 {
		m.legs[i].muteIn, m.legs[i].muteOut = in, out
	}
	m.mu.Unlock()
}

// SetHolding switches between a holding bridge (on: participants do not
// hear each other, only the bridge's source, music or an announcement)
// and a mixing bridge (off, the default).
func (m *Mixer) SetHolding(on bool) {
	m.mu.Lock()
	m.holding = on
	m.mu.Unlock()
}

// Play makes src (a Player, a tone) heard by every participant, mixed over
// the conversation (or alone in a holding bridge); nil stops it. It is
// read once per 20 ms round, however many participants there are, and is
// dropped when it finishes. A source it replaces is not stopped: the
// caller owns it. It returns once src is installed. src is read under the
// Mixer's lock from a media goroutine: it must not block or call the Mixer.
func (m *Mixer) Play(src Source) {
	m.mu.Lock()
	m.src = src
	m.mu.Unlock()
}

// PlayTo makes src heard by participant l only, mixed over what it hears
// from the bridge (ARI's play on a bridged channel); nil stops it. Like
// Play, src is dropped when finished and is not stopped when replaced. A
// leg that is not in the bridge is ignored; Remove drops l's source.
func (m *Mixer) PlayTo(l MixerLeg, src Source) {
	m.mu.Lock()
	if i := m.findLocked(l); i >= 0 {
		m.legs[i].src = src
	}
	m.mu.Unlock()
}

// Tap installs f to receive the full mix (every participant not muted in,
// plus the bridge's source), one 20 ms frame of 8 kHz PCM per round, to
// record the bridge; nil removes it. f is called from the media goroutines
// under the Mixer's lock: it must not block, must not call the Mixer, and
// must copy frame, which is reused.
func (m *Mixer) Tap(f func(frame []int16)) {
	m.mu.Lock()
	m.tap = f
	m.mu.Unlock()
}

// Len is the number of participants.
func (m *Mixer) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.legs)
}

// Close removes every participant (each is left silent, as by Remove)
// and drops the bridge's source and tap. Add fails afterwards. It is
// idempotent.
func (m *Mixer) Close() {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	m.closed = true
	for {
		m.mu.Lock()
		if len(m.legs) == 0 {
			m.src, m.tap = nil, nil
			m.mu.Unlock()
			return
		}
		l := m.legs[len(m.legs)-1].leg
		m.mu.Unlock()
		m.removeLocked(l)
	}
}

// ForwardRTP implements Forwarder: the participant's received audio goes
// into its jitter buffer (copied; Write ignores other payload types).
func (p *mixLeg) ForwardRTP(pt PayloadType, ts uint32, _ bool, payload []byte) {
	if p.gone.Load() {
		return
	}
	p.rx.write(pt, ts, payload)
}

// ReadFrame implements Source: the participant's next mixed frame,
// computing a round first when none is waiting. A dst longer than a frame
// takes several; false once the participant was removed.
func (p *mixLeg) ReadFrame(dst []int16) bool {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.gone.Load() {
		return false
	}
	for len(dst) > 0 {
		k := min(len(dst), frameSamples)
		if p.n == 0 {
			m.roundLocked()
		}
		if p.n == 0 {
			// Pulling faster than the wall clock: nothing is due.
			clear(dst[:k])
		} else {
			copy(dst[:k], p.out[p.head][:k])
			p.head = (p.head + 1) % mixOutFrames
			p.n--
		}
		dst = dst[k:]
	}
	return true
}

// next returns the slot for this round's output, dropping the oldest
// waiting frame when the participant has not pulled it; m.mu held.
func (p *mixLeg) next() []int16 {
	if p.n == mixOutFrames {
		p.head = (p.head + 1) % mixOutFrames
		p.n--
	}
	i := (p.head + p.n) % mixOutFrames
	p.n++
	return p.out[i][:]
}

// roundLocked mixes one 20 ms frame for every participant, if one is due
// by the wall clock; m.mu held.
func (m *Mixer) roundLocked() {
	now := m.now()
	m.credit = min(m.credit+now-m.last, mixBurst*int64(frameDuration))
	m.last = now
	if m.credit < int64(frameDuration) {
		return
	}
	m.credit -= int64(frameDuration)

	sum := &m.sum
	if m.src != nil && m.src.ReadFrame(m.srcFrame[:]) {
		for i, v := range m.srcFrame {
			sum[i] = int32(v)
		}
	} else {
		m.src = nil
		clear(m.srcFrame[:])
		clear(sum[:])
	}
	for _, p := range m.legs {
		// Read even when muted, so that unmuting does not play stale
		// audio.
		p.rx.read(p.in[:])
		if p.muteIn {
			clear(p.in[:])
			continue
		}
		for i, v := range p.in {
			sum[i] += int32(v)
		}
	}
	for _, p := range m.legs {
		out := p.next()
		switch {
		case p.muteOut:
			clear(out)
		case m.holding:
			copy(out, m.srcFrame[:])
		default:
			// Everyone but itself: the total minus its own input, so
			// N participants cost 2N passes, not N².
			for i := range out {
				out[i] = sat16(sum[i] - int32(p.in[i]))
			}
		}
		if p.src != nil {
			if !p.src.ReadFrame(m.tmp[:]) {
				p.src = nil
			} else if !p.muteOut {
				Mix(out, m.tmp[:])
			}
		}
	}
	if m.tap != nil {
		for i, v := range sum {
			m.tapFrame[i] = sat16(v)
		}
		m.tap(m.tapFrame[:])
	}
}

func sat16(v int32) int16 {
	return int16(max(-32768, min(32767, v)))
}

const (
	// mixInPrime: a participant's input plays once 60 ms are buffered
	// (and again after an underrun).
	mixInPrime = 3 * frameSamples
	// mixInCap bounds the input delay at 120 ms; the oldest is dropped.
	mixInCap = 6 * frameSamples
	// mixTrimEvery: when the input held more than mixInPrime plus a frame
	// at every read for this many rounds (a second), one frame is dropped.
	mixTrimEvery = 50
)

// mixInput is a participant's jitter buffer, in PCM: the receive goroutine
// writes packets, the round reads one frame per 20 ms. Placement follows
// JitterBuffer.Write; the depth is what differs (see Mixer).
type mixInput struct {
	mu      sync.Mutex
	buf     [mixInCap]int16
	r, n    int // read index and buffered samples
	nextTS  uint32
	haveTS  bool
	primed  bool
	stopped bool
	low     int // lowest depth at a read since the last trim check
	reads   int
	st      JitterStats
}

func (b *mixInput) write(pt PayloadType, ts uint32, payload []byte) {
	if pt != PTPCMU && pt != PTPCMA || len(payload) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	next := ts + uint32(len(payload))
	if b.haveTS {
		switch d := int32(ts - b.nextTS); {
		case d < -jitterMaxGap || d > jitterMaxGap:
			// The sender restarted its clock: continue from here.
		case d < 0:
			if -int(d) >= len(payload) {
				b.st.Late++
				return
			}
			payload = payload[-d:]
		case d > 0:
			b.makeRoom(int(d))
			for range d {
				b.buf[(b.r+b.n)%mixInCap] = 0
				b.n++
			}
			b.st.Filled += uint64(d)
		}
	}
	b.nextTS, b.haveTS = next, true
	if len(payload) > mixInCap {
		payload = payload[len(payload)-mixInCap:]
	}
	b.makeRoom(len(payload))
	for len(payload) > 0 {
		w := (b.r + b.n) % mixInCap
		k := min(len(payload), mixInCap-w)
		decode(pt, b.buf[w:w+k], payload[:k])
		payload = payload[k:]
		b.n += k
	}
}

// makeRoom drops the oldest samples so that k more fit; b.mu held.
func (b *mixInput) makeRoom(k int) {
	if over := b.n + k - mixInCap; over > 0 {
		b.skip(over)
	}
}

// skip drops k buffered samples (k <= b.n); b.mu held.
func (b *mixInput) skip(k int) {
	b.r = (b.r + k) % mixInCap
	b.n -= k
	b.st.Dropped += uint64(k)
}

// read fills dst (one frame) with the next audio, or silence while
// priming; an underrun pads with silence and primes again.
func (b *mixInput) read(dst []int16) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.primed {
		if b.n < mixInPrime {
			clear(dst)
			return
		}
		b.primed, b.low, b.reads = true, b.n, 0
	}
	b.low = min(b.low, b.n)
	if b.reads++; b.reads >= mixTrimEvery {
		if b.low >= mixInPrime+frameSamples {
			b.skip(frameSamples)
		}
		b.low, b.reads = b.n, 0
	}
	k := min(b.n, len(dst))
	c := copy(dst[:k], b.buf[b.r:])
	copy(dst[c:k], b.buf[:])
	clear(dst[k:])
	b.r = (b.r + k) % mixInCap
	b.n -= k
	if k < len(dst) {
		b.st.Underruns++
		b.primed = false
	}
}

// stop empties the buffer and ignores further writes (Remove).
func (b *mixInput) stop() {
	b.mu.Lock()
	b.r, b.n, b.stopped = 0, 0, true
	b.mu.Unlock()
}

// buffered is the input held, in samples (tests).
func (b *mixInput) buffered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}
