package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	hmedia "hotline/media"
)

var (
	loopback = netip.MustParseAddr("127.0.0.1")
	quiet    = slog.New(slog.DiscardHandler)
)

func startEngine(t testing.TB) *hmedia.Engine {
	t.Helper()
	e, err := hmedia.NewEngine(hmedia.Config{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return e
}

// pcmCollector keeps the most recent decoded audio of one direction.
type pcmCollector struct {
	mu      sync.Mutex
	samples []int16
	packets int
}

func (c *pcmCollector) add(pt uint8, payload []byte) {
	pcm := make([]int16, len(payload))
	if pt == hmedia.PTPCMA {
		hmedia.DecodePCMA(pcm, payload)
	} else {
		hmedia.DecodePCMU(pcm, payload)
	}
	c.addPCM(pcm)
}

// addPCM takes 8 kHz samples.
func (c *pcmCollector) addPCM(pcm []int16) {
	c.mu.Lock()
	c.samples = append(c.samples, pcm...)
	if len(c.samples) > 16000 {
		c.samples = append(c.samples[:0], c.samples[len(c.samples)-8000:]...)
	}
	c.packets++
	c.mu.Unlock()
}

func (c *pcmCollector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.packets
}

// recent returns the last n samples once at least n arrived after now.
func (c *pcmCollector) recentAfterReset(t testing.TB, n int, timeout time.Duration) []int16 {
	t.Helper()
	c.mu.Lock()
	c.samples = c.samples[:0]
	c.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		if len(c.samples) >= n {
			out := append([]int16(nil), c.samples[len(c.samples)-n:]...)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fewer than %d samples within %v", n, timeout)
	return nil
}

// goertzel is the amplitude of freq in x (a sine of amplitude A gives ~A).
func goertzel(x []int16, freq float64) float64 { return goertzelAt(x, freq, 8000) }

// goertzelAt is goertzel for x sampled at rate.
func goertzelAt(x []int16, freq, rate float64) float64 {
	w := 2 * math.Pi * freq / rate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(p, 0)) / float64(len(x))
}

// assertTone checks that want dominates x: strong, and well above the other
// frequencies in play.
func assertTone(t testing.TB, what string, x []int16, want float64, others ...float64) {
	t.Helper()
	a := goertzel(x, want)
	if a < 2000 {
		t.Fatalf("%s: %v Hz amplitude %.0f, want a tone", what, want, a)
	}
	for _, f := range others {
		if o := goertzel(x, f); o*10 > a {
			t.Fatalf("%s: %v Hz amplitude %.0f not dominant over %v Hz (%.0f)", what, want, a, f, o)
		}
	}
	t.Logf("%s: %v Hz amplitude %.0f", what, want, a)
}

func toneULaw(freq float64, n, offset int) []byte {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(offset+i)/8000))
	}
	b := make([]byte, n)
	hmedia.EncodePCMU(b, pcm)
	return b
}

// caller is the SIP side's far end: a UDP socket sending a 440 Hz PCMU tone
// to the session and collecting what the session sends back.
type caller struct {
	conn *net.UDPConn
	got  pcmCollector
}

func startCaller(t testing.TB, to netip.AddrPort) *caller {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	c := &caller{conn: conn}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			h := rtp.Header{Version: 2, PayloadType: hmedia.PTPCMU, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 0xCA11E4, Marker: i == 0}
			b, _ := (&rtp.Packet{Header: h, Payload: toneULaw(440, 160, i*160)}).Marshal()
			conn.WriteToUDPAddrPort(b, to)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) == nil && (p.PayloadType == hmedia.PTPCMU || p.PayloadType == hmedia.PTPCMA) {
				c.got.add(p.PayloadType, p.Payload)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		conn.Close()
		wg.Wait()
	})
	return c
}

// browser is a second pion PeerConnection standing in for the agent's
// Chromium: answers, sends a 1 kHz PCMU tone, collects what it receives.
type browser struct {
	pc      *pion.PeerConnection
	got     pcmCollector
	collect atomic.Bool

	mu      sync.Mutex
	ready   bool
	pending []pion.ICECandidateInit
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

func newBrowser(t testing.TB) *browser { return newBrowserOn(t, nil) }

// cutConn is the fake browser's UDP socket, which a test can cut to model
// a browser that vanishes without closing (crash, network loss, sleep).
// It does not embed *net.UDPConn: pion would find its allocation-free
// read methods and bypass the cut.
type cutConn struct {
	c   *net.UDPConn
	cut atomic.Bool
}

func (c *cutConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.c.ReadFrom(b)
		if err != nil || !c.cut.Load() {
			return n, a, err
		}
	}
}

func (c *cutConn) WriteTo(b []byte, a net.Addr) (int, error) {
	if c.cut.Load() {
		return len(b), nil
	}
	return c.c.WriteTo(b, a)
}

func (c *cutConn) Close() error                       { return c.c.Close() }
func (c *cutConn) LocalAddr() net.Addr                { return c.c.LocalAddr() }
func (c *cutConn) SetDeadline(t time.Time) error      { return c.c.SetDeadline(t) }
func (c *cutConn) SetReadDeadline(t time.Time) error  { return c.c.SetReadDeadline(t) }
func (c *cutConn) SetWriteDeadline(t time.Time) error { return c.c.SetWriteDeadline(t) }

func newBrowserOn(t testing.TB, cut *cutConn) *browser { return newBrowserTone(t, cut, 1000) }

// newBrowserTone is a fake browser whose microphone plays freq.
func newBrowserTone(t testing.TB, cut *cutConn, freq float64) *browser {
	return newBrowserCfg(t, browserCfg{cut: cut, freq: freq})
}

// What a fake browser can do: a PCMU microphone with every codec pion
// knows (the default, like Chromium answering a PCMU-only offer), an Opus
// microphone (Chromium answering an Opus offer), or PCMU only.
type browserCodec int

const (
	browserPCMU browserCodec = iota
	browserOpus
	browserPCMUOnly
)

type browserCfg struct {
	cut   *cutConn
	freq  float64
	codec browserCodec
}

func newBrowserCfg(t testing.TB, cfg browserCfg) *browser {
	t.Helper()
	cut, freq := cfg.cut, cfg.freq
	var me pion.MediaEngine
	if cfg.codec == browserPCMUOnly {
		if err := me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: pcmuCapability(), PayloadType: 0}, pion.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	} else if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
	if cut != nil {
		se.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: cut}))
	}
	api := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se), pion.WithInterceptorRegistry(&interceptor.Registry{}))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{pc: pc}
	capability := pcmuCapability()
	var enc *opusEncoder
	if cfg.codec == browserOpus {
		capability = opusCapability()
		if enc, err = newOpusEncoder(32000, 5, 0); err != nil {
			t.Fatal(err)
		}
	}
	track, err := pion.NewTrackLocalStaticSample(capability, "mic", "agent")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	b.collect.Store(true)
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		// Read, not ReadRTP, so that benchmarks of the Leg do not count
		// the fake browser's allocations.
		buf := make([]byte, 1500)
		var h rtp.Header
		var dec *opusDecoder
		if strings.EqualFold(tr.Codec().MimeType, pion.MimeTypeOpus) {
			d, err := newOpusDecoder()
			if err != nil {
				t.Error(err)
				return
			}
			defer d.close()
			dec = d
		}
		pcm48 := make([]int16, opusMaxFrame48)
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			hl, err := h.Unmarshal(buf[:n])
			if err != nil || !b.collect.Load() {
				continue
			}
			if dec == nil {
				b.got.add(h.PayloadType, buf[hl:n])
				continue
			}
			k, err := dec.decode(buf[hl:n], pcm48, false)
			if err != nil {
				t.Errorf("browser opus decode: %v", err)
				continue
			}
			// Plain decimation, independent of the Leg's filters: what
			// the Leg sends is band-limited to 4 kHz, so it is enough.
			pcm := make([]int16, k/rateFactor)
			for i := range pcm {
				pcm[i] = pcm48[i*rateFactor]
			}
			b.got.addPCM(pcm)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	b.stop = cancel
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer enc.close()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pcm48 := make([]int16, opusFrame48)
		pkt := make([]byte, 1500)
		for i := 0; ; i++ {
			if enc == nil {
				track.WriteSample(media.Sample{Data: toneULaw(freq, 160, i*160), Duration: 20 * time.Millisecond})
			} else {
				// A wideband microphone: the tone at 48 kHz, as a
				// browser captures it.
				for j := range pcm48 {
					pcm48[j] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i*opusFrame48+j)/opusRate))
				}
				n, err := enc.encode(pcm48, pkt)
				if err != nil {
					t.Errorf("browser opus encode: %v", err)
					return
				}
				track.WriteSample(media.Sample{Data: pkt[:n], Duration: 20 * time.Millisecond})
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(b.close)
	return b
}

func (b *browser) close() {
	b.stop()
	b.wg.Wait()
	b.pc.Close()
}

// candidate is the Leg's OnCandidate: applied once the offer is set.
func (b *browser) candidate(t testing.TB, js []byte) {
	if js == nil {
		return
	}
	var c pion.ICECandidateInit
	if err := json.Unmarshal(js, &c); err != nil {
		t.Errorf("candidate JSON: %v", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.ready {
		b.pending = append(b.pending, c)
		return
	}
	if err := b.pc.AddICECandidate(c); err != nil {
		t.Errorf("browser add candidate: %v", err)
	}
}

// answer does the browser's half of signalling and returns its answer SDP.
func (b *browser) answer(t testing.TB, offer string, leg *Leg) string {
	t.Helper()
	if leg.cfg.Opus {
		// Opus first (preferred), stereo in SDP, with our fmtp; PCMU after.
		o, p := strings.Index(offer, "a=rtpmap:111 opus/48000/2"), strings.Index(offer, "a=rtpmap:0 PCMU/8000")
		if o < 0 || p < o || !strings.Contains(offer, "a=fmtp:111 minptime=10;useinbandfec=1") ||
			!strings.Contains(offer, "RTP/SAVPF 111 0") {
			t.Fatalf("offer is not Opus then PCMU:\n%s", offer)
		}
	} else if !strings.Contains(offer, "PCMU/8000") || strings.Contains(offer, "opus") {
		t.Fatalf("offer is not PCMU only:\n%s", offer)
	}
	b.pc.OnICECandidate(func(c *pion.ICECandidate) {
		if c == nil {
			return
		}
		js, _ := json.Marshal(c.ToJSON())
		if err := leg.AddCandidate(js); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("leg add candidate: %v", err)
		}
	})
	if err := b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.ready = true
	for _, c := range b.pending {
		if err := b.pc.AddICECandidate(c); err != nil {
			t.Errorf("browser add candidate: %v", err)
		}
	}
	b.pending = nil
	b.mu.Unlock()
	ans, err := b.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.pc.SetLocalDescription(ans); err != nil {
		t.Fatal(err)
	}
	return ans.SDP
}

type stateLog struct {
	mu sync.Mutex
	ss []State
	ch chan State
}

func newStateLog() *stateLog { return &stateLog{ch: make(chan State, 16)} }

func (s *stateLog) on(st State) {
	s.mu.Lock()
	s.ss = append(s.ss, st)
	s.mu.Unlock()
	select {
	case s.ch <- st:
	default:
	}
}

func (s *stateLog) wait(t testing.TB, timeout time.Duration, want ...State) State {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case st := <-s.ch:
			for _, w := range want {
				if st == w {
					return st
				}
			}
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("no state in %v within %v; saw %v", want, timeout, s.ss)
			return 0
		}
	}
}

// setup connects a caller session and a browser through a Leg.
func setup(t testing.TB) (*hmedia.Session, *caller, *browser, *Leg, *stateLog) {
	t.Helper()
	return setupOn(t, nil)
}

func setupOn(t testing.TB, cut *cutConn) (*hmedia.Session, *caller, *browser, *Leg, *stateLog) {
	t.Helper()
	return setupWith(t, browserCfg{cut: cut, freq: 1000}, false)
}

// setupWith is setup with a browser of cfg and a Leg with Opus on or off.
func setupWith(t testing.TB, cfg browserCfg, opus bool) (*hmedia.Session, *caller, *browser, *Leg, *stateLog) {
	t.Helper()
	e := startEngine(t)
	sess, err := e.NewSession(hmedia.SessionConfig{CallID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	call := startCaller(t, netip.AddrPortFrom(loopback, uint16(sess.LocalPort())))
	sess.SetRemote(hmedia.Remote{Addr: call.conn.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: hmedia.PTPCMU})
	sess.Start()

	br := newBrowserCfg(t, cfg)
	leg, states := connectBrowserOpus(t, br, opus)
	return sess, call, br, leg, states
}

// connectBrowser gives br a Leg and waits until it is connected.
func connectBrowser(t testing.TB, br *browser) (*Leg, *stateLog) {
	t.Helper()
	return connectBrowserOpus(t, br, false)
}

func connectBrowserOpus(t testing.TB, br *browser, opus bool) (*Leg, *stateLog) {
	t.Helper()
	states := newStateLog()
	leg, err := New(Config{
		CallID:            "c1",
		Opus:              opus,
		Loopback:          true,
		DisconnectedAfter: time.Second,
		FailedAfter:       3 * time.Second,
		OnCandidate:       func(js []byte) { br.candidate(t, js) },
		OnState:           states.on,
		Logger:            quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { leg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offer, err := leg.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := leg.SetAnswer(br.answer(t, offer, leg)); err != nil {
		t.Fatal(err)
	}
	states.wait(t, 10*time.Second, StateConnected)
	return leg, states
}

// An attended transfer: the caller waits (here in silence) while agent A
// consults agent B browser to browser, then the caller is handed to B.
func TestPatchConsultThenHandOver(t *testing.T) {
	sess, call, brA, legA, _ := setup(t)
	legA.Attach(sess)
	assertTone(t, "A hears caller", brA.got.recentAfterReset(t, 4000, 5*time.Second), 440, 1000)

	brB := newBrowserTone(t, nil, 700)
	legB, _ := connectBrowser(t, brB)

	legA.Detach()
	legA.Patch(legB)
	assertTone(t, "B hears A", brB.got.recentAfterReset(t, 4000, 5*time.Second), 1000, 440)
	assertTone(t, "A hears B", brA.got.recentAfterReset(t, 4000, 5*time.Second), 700, 440)

	// Complete: A leaves, the caller and B talk.
	legA.Unpatch()
	legB.Attach(sess)
	assertTone(t, "caller hears B", call.got.recentAfterReset(t, 4000, 5*time.Second), 700, 1000)
	assertTone(t, "B hears caller", brB.got.recentAfterReset(t, 4000, 5*time.Second), 440, 1000)
	if legB.peer.Load() != nil || legA.peer.Load() != nil {
		t.Fatal("patch left after Unpatch")
	}
	if st := legB.Stats(); st.SendErrors != 0 {
		t.Fatalf("B stats %+v", st)
	}
}

func TestBridgeAudioBothWaysHoldDetach(t *testing.T) {
	sess, call, br, leg, _ := setup(t)
	leg.Attach(sess)

	assertTone(t, "browser hears caller", br.got.recentAfterReset(t, 4000, 5*time.Second), 440, 1000)
	assertTone(t, "caller hears agent", call.got.recentAfterReset(t, 4000, 5*time.Second), 1000, 440)

	// Hold: the owner plays music (here 600 Hz), then gives the agent back.
	moh := hmedia.NewPlayer(hmedia.NewPromptPCM(pcmTone(600, 8000)), true)
	sess.SetSource(moh)
	assertTone(t, "caller hears music on hold", call.got.recentAfterReset(t, 4000, 5*time.Second), 600, 1000)
	sess.SetSource(leg.Source())
	moh.Stop()
	assertTone(t, "caller hears agent after hold", call.got.recentAfterReset(t, 4000, 5*time.Second), 1000, 600)

	st := leg.Stats()
	if st.PacketsToAgent < 50 || st.PacketsFromAgent < 50 || st.SendErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("stats %+v", st)

	leg.Detach()
	time.Sleep(200 * time.Millisecond) // packets in flight
	toAgent, toCaller := leg.Stats().PacketsToAgent, call.got.count()
	time.Sleep(500 * time.Millisecond)
	if n := leg.Stats().PacketsToAgent; n != toAgent {
		t.Fatalf("still forwarding to the agent after Detach: %d -> %d", toAgent, n)
	}
	if n := call.got.count(); n != toCaller {
		t.Fatalf("caller still gets audio from the agent after Detach: %d -> %d", toCaller, n)
	}
	if ss := sess.Stats(); ss.PacketsReceived == 0 {
		t.Fatal("session stopped receiving")
	}

	// Attach again (after a transfer back, say): audio flows again.
	leg.Attach(sess)
	assertTone(t, "caller hears agent after re-attach", call.got.recentAfterReset(t, 4000, 5*time.Second), 1000, 440)
}

func pcmTone(freq float64, n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return pcm
}

func TestBrowserVanishesMidCall(t *testing.T) {
	sess, call, br, leg, states := setup(t)
	leg.Attach(sess)
	assertTone(t, "browser hears caller", br.got.recentAfterReset(t, 2000, 5*time.Second), 440)

	start := time.Now()
	br.close()
	st := states.wait(t, 8*time.Second, StateDisconnected, StateFailed, StateClosed)
	t.Logf("state %v %v after the browser closed", st, time.Since(start).Round(time.Millisecond))

	// The owner would now detach and requeue; the caller's media goes on.
	leg.Detach()
	n := sess.Stats().PacketsReceived
	time.Sleep(300 * time.Millisecond)
	if m := sess.Stats().PacketsReceived; m <= n {
		t.Fatalf("caller session stopped receiving: %d -> %d", n, m)
	}
	sess.SetSource(hmedia.NewPlayer(hmedia.NewPromptPCM(pcmTone(600, 8000)), true))
	assertTone(t, "caller hears music after the agent vanished", call.got.recentAfterReset(t, 2000, 5*time.Second), 600)
}

func TestBrowserVanishesWithoutClose(t *testing.T) {
	uc, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	cut := &cutConn{c: uc}
	sess, _, br, leg, states := setupOn(t, cut)
	leg.Attach(sess)
	assertTone(t, "browser hears caller", br.got.recentAfterReset(t, 2000, 5*time.Second), 440)

	start := time.Now()
	cut.cut.Store(true)
	states.wait(t, 5*time.Second, StateDisconnected)
	t.Logf("disconnected %v after the browser went silent", time.Since(start).Round(time.Millisecond))
	states.wait(t, 8*time.Second, StateFailed)
	t.Logf("failed %v after the browser went silent", time.Since(start).Round(time.Millisecond))
	if n := sess.Stats().PacketsReceived; n == 0 {
		t.Fatal("caller session not receiving")
	}
}

func TestCloseReportsClosed(t *testing.T) {
	_, _, _, leg, states := setup(t)
	if err := leg.Close(); err != nil {
		t.Fatal(err)
	}
	states.wait(t, 2*time.Second, StateClosed)
	if err := leg.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := leg.Offer(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Offer after Close: %v", err)
	}
}

func TestAnswerWithoutPCMU(t *testing.T) {
	br := newBrowser(t)
	leg, err := New(Config{CallID: "c2", Loopback: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offer, err := leg.Offer(ctx) // no OnCandidate: waits for gathering
	if !strings.Contains(offer, "a=candidate:") {
		t.Fatalf("non-trickle offer has no candidates:\n%s", offer)
	}
	if err != nil {
		t.Fatal(err)
	}
	ans := br.answer(t, offer, leg)
	// What a browser that cannot do PCMU would say: PCMA only.
	bad := strings.Replace(ans, "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", 1)
	bad = strings.Replace(bad, "RTP/SAVPF 0", "RTP/SAVPF 8", 1)
	if bad == ans {
		t.Fatalf("could not rewrite answer:\n%s", ans)
	}
	if err := leg.SetAnswer(bad); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("SetAnswer without PCMU: %v, want ErrNoCommonCodec", err)
	}
	if err := leg.SetAnswer("garbage"); err == nil || errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("SetAnswer(garbage): %v", err)
	}
	if err := leg.SetAnswer(ans); err != nil {
		t.Fatalf("good answer after bad ones: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	leg, err := New(Config{Opus: true, Logger: quiet})
	if !opusAvailable && !errors.Is(err, ErrOpusUnsupported) || opusAvailable && err != nil {
		t.Fatalf("New with Opus (libopus available: %v): %v", opusAvailable, err)
	}
	if err == nil {
		leg.Close()
	}
	if _, err := New(Config{PortMin: 20000, PortMax: 10000}); err == nil {
		t.Fatal("inverted port range accepted")
	}
}

func TestPortRange(t *testing.T) {
	leg, err := New(Config{Loopback: true, PortMin: 41000, PortMax: 41010, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offer, err := leg.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.SplitSeq(offer, "\r\n") {
		if !strings.HasPrefix(line, "a=candidate:") || !strings.Contains(line, " udp ") && !strings.Contains(line, " UDP ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("candidate %q", line)
		}
		n++
		if f[5] < "41000" || f[5] > "41010" {
			t.Fatalf("candidate port outside range: %q", line)
		}
	}
	if n == 0 {
		t.Fatalf("no UDP candidates:\n%s", offer)
	}
}

// BenchmarkForwardToBrowser is the caller→agent path on the Leg: PCMU
// payload in, SRTP packet out to a connected peer (pion's WriteRTP,
// encryption and the UDP send), from the caller session's receive
// goroutine. The "pcma" case adds the law conversion.
func BenchmarkForwardToBrowser(b *testing.B) {
	_, _, br, leg, _ := setup(b)
	br.collect.Store(false)
	leg.attached.Store(true)
	payload := toneULaw(440, 160, 0)
	for _, pt := range []uint8{hmedia.PTPCMU, hmedia.PTPCMA} {
		name := "pcmu"
		if pt == hmedia.PTPCMA {
			name = "pcma"
		}
		b.Run(name, func(b *testing.B) {
			var ts uint32
			b.ReportAllocs()
			for b.Loop() {
				ts += 160
				leg.ForwardRTP(pt, ts, false, payload)
			}
			if leg.Stats().SendErrors != 0 {
				b.Fatalf("send errors: %+v", leg.Stats())
			}
		})
	}
}
