package media

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// startEngine runs an engine on loopback with kernel-chosen ports (so
// parallel test runs never collide) until the test ends.
func startEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if !cfg.IP.IsValid() {
		cfg.IP = loopback
	}
	e, err := NewEngine(cfg)
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

func newSession(t testing.TB, e *Engine, sc SessionConfig) *Session {
	t.Helper()
	s, err := e.NewSession(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (s *Session) addr() netip.AddrPort { return netip.AddrPortFrom(loopback, uint16(s.port)) }

// peer is a raw UDP socket standing in for the far end.
type peer struct {
	conn *net.UDPConn
	buf  [2048]byte
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{conn: c}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

type rxPacket struct {
	rtp.Header
	Payload []byte
	Raw     []byte
	From    netip.AddrPort
	At      time.Time
}

// read returns the next datagram, or false after timeout.
func (p *peer) read(t testing.TB, timeout time.Duration) (rxPacket, bool) {
	t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(timeout))
	n, from, err := p.conn.ReadFromUDPAddrPort(p.buf[:])
	if err != nil {
		return rxPacket{}, false
	}
	raw := append([]byte(nil), p.buf[:n]...)
	var pk rxPacket
	pk.Raw, pk.From, pk.At = raw, from, time.Now()
	if raw[1] >= 192 && raw[1] <= 223 {
		return pk, true // RTCP: caller inspects Raw
	}
	hl, err := pk.Header.Unmarshal(raw)
	if err != nil {
		t.Fatalf("peer got malformed RTP: %v", err)
	}
	pk.Payload = raw[hl:]
	return pk, true
}

// readRTP skips RTCP.
func (p *peer) readRTP(t testing.TB, timeout time.Duration) (rxPacket, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pk, ok := p.read(t, time.Until(deadline))
		if !ok || pk.Raw[1] < 192 || pk.Raw[1] > 223 {
			return pk, ok
		}
	}
}

func (p *peer) send(t testing.TB, to netip.AddrPort, b []byte) {
	t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

func rtpPacket(pt uint8, marker bool, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	h := rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}
	b := make([]byte, 12+len(payload))
	h.MarshalTo(b)
	copy(b[12:], payload)
	return b
}

func eventPayload(ev uint8, end bool, dur uint16) []byte {
	p := []byte{ev, 10, byte(dur >> 8), byte(dur)}
	if end {
		p[1] |= 0x80
	}
	return p
}

func toneFrames(d time.Duration) *Prompt {
	return NewPromptPCM(sine(440, 8000, 8000, d.Seconds()))
}

func TestPlayerAudioContinuityAndMarker(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "a"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMA})
	s.Start()

	pl := NewPlayer(toneFrames(300*time.Millisecond), false) // 15 frames
	s.SetSource(pl)
	var pkts []rxPacket
	for range 15 {
		pk, ok := p.readRTP(t, time.Second)
		if !ok {
			t.Fatalf("only %d packets", len(pkts))
		}
		pkts = append(pkts, pk)
	}
	select {
	case <-pl.Done():
	case <-time.After(time.Second):
		t.Fatal("player Done not closed")
	}
	for i, pk := range pkts {
		if pk.PayloadType != PTPCMA || len(pk.Payload) != 160 || pk.SSRC != s.SSRC() {
			t.Fatalf("packet %d: pt %d len %d", i, pk.PayloadType, len(pk.Payload))
		}
		if pk.Marker != (i == 0) {
			t.Fatalf("packet %d: marker %v", i, pk.Marker)
		}
		if i > 0 {
			if pk.SequenceNumber != pkts[i-1].SequenceNumber+1 {
				t.Fatalf("seq jump at %d: %d -> %d", i, pkts[i-1].SequenceNumber, pk.SequenceNumber)
			}
			if pk.Timestamp != pkts[i-1].Timestamp+160 {
				t.Fatalf("ts step at %d: %d", i, pk.Timestamp-pkts[i-1].Timestamp)
			}
		}
	}
	if _, ok := p.readRTP(t, 100*time.Millisecond); ok {
		t.Fatal("packets after the prompt ended")
	}
	// After the silence the clock has moved on: the next packet has the
	// marker and a timestamp reflecting the gap, and the next seq.
	last := pkts[len(pkts)-1]
	s.SetSource(NewPlayer(toneFrames(100*time.Millisecond), false))
	pk, ok := p.readRTP(t, time.Second)
	if !ok {
		t.Fatal("no packet after new source")
	}
	gap := pk.Timestamp - last.Timestamp
	wall := pk.At.Sub(last.At)
	if !pk.Marker || pk.SequenceNumber != last.SequenceNumber+1 || gap%160 != 0 {
		t.Fatalf("after gap: marker %v seq +%d ts +%d", pk.Marker, pk.SequenceNumber-last.SequenceNumber, gap)
	}
	if d := time.Duration(gap) * time.Second / 8000; d < 100*time.Millisecond || d < wall-150*time.Millisecond || d > wall+150*time.Millisecond {
		t.Fatalf("timestamp gap %v does not follow the wall clock gap %v", d, wall)
	}
	if st := s.Stats(); st.PacketsSent < 16 || st.BytesSent != st.PacketsSent*172 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSendDigitFormat(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "dtmf-tx"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU})
	s.Start()
	if err := s.SendDigit('5', 0); !errors.Is(err, ErrNoDTMF) {
		t.Fatalf("SendDigit without telephone-event: %v", err)
	}
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, DTMFPT: 101})
	if err := s.SendDigit('x', 0); err == nil {
		t.Fatal("SendDigit('x') accepted")
	}
	s.SetSource(NewPlayer(toneFrames(10*time.Second), true))
	before, ok := p.readRTP(t, time.Second)
	if !ok {
		t.Fatal("no audio")
	}
	if err := s.SendDigit('5', 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var events []rxPacket
	var audioBefore, after rxPacket
	audioBefore = before
	for {
		pk, ok := p.readRTP(t, time.Second)
		if !ok {
			t.Fatal("stream stopped")
		}
		if pk.PayloadType == 101 {
			events = append(events, pk)
			continue
		}
		if len(events) > 0 {
			after = pk
			break
		}
		audioBefore = pk
	}
	// 100 ms = 800 units: durations 160..800, the last three with E.
	wantDur := []uint16{160, 320, 480, 640, 800, 800, 800}
	if len(events) != len(wantDur) {
		t.Fatalf("%d event packets, want %d", len(events), len(wantDur))
	}
	seq := audioBefore.SequenceNumber
	for i, ev := range events {
		seq++
		if ev.SequenceNumber != seq {
			t.Fatalf("event %d: seq %d, want %d", i, ev.SequenceNumber, seq)
		}
		if ev.Marker != (i == 0) {
			t.Fatalf("event %d: marker %v", i, ev.Marker)
		}
		if ev.Timestamp != audioBefore.Timestamp+160 {
			t.Fatalf("event %d: ts %d, want event start %d", i, ev.Timestamp, audioBefore.Timestamp+160)
		}
		if ev.SSRC != s.SSRC() || ev.Payload[0] != 5 || ev.Payload[1]&0x3F != 10 {
			t.Fatalf("event %d: payload % x", i, ev.Payload)
		}
		if d := binary.BigEndian.Uint16(ev.Payload[2:]); d != wantDur[i] {
			t.Fatalf("event %d: duration %d, want %d", i, d, wantDur[i])
		}
		if end := ev.Payload[1]&0x80 != 0; end != (i >= 4) {
			t.Fatalf("event %d: end bit %v", i, end)
		}
	}
	if !after.Marker || after.SequenceNumber != seq+1 || after.Timestamp != events[0].Timestamp+7*160 {
		t.Fatalf("audio after event: marker %v seq %d ts +%d", after.Marker, after.SequenceNumber-seq, after.Timestamp-events[0].Timestamp)
	}
}

func TestTwoSessionsDigitAndInband(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	a := newSession(t, e, SessionConfig{CallID: "a"})
	b := newSession(t, e, SessionConfig{CallID: "b", InbandDTMF: true})
	a.SetRemote(Remote{Addr: b.addr(), Codec: PTPCMU, DTMFPT: 101, RTCPMux: true})
	b.SetRemote(Remote{Addr: a.addr(), Codec: PTPCMU, DTMFPT: 101, RTCPMux: true})
	a.Start()
	b.Start()
	a.SetSource(NewPlayer(toneFrames(5*time.Second), true))
	b.SetSource(NewPlayer(toneFrames(5*time.Second), true))
	time.Sleep(100 * time.Millisecond)

	if err := a.SendDigit('5', 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-b.Digits():
		if d.Key != '5' || d.Source != "rfc4733" || d.Duration != 100*time.Millisecond {
			t.Fatalf("digit %+v", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no digit")
	}
	select {
	case d := <-b.Digits():
		t.Fatalf("duplicate digit %+v", d)
	case <-time.After(300 * time.Millisecond):
	}

	// In-band: a plays a DTMF tone as audio. The RFC 4733 suppression
	// window (1 s after an event) must pass first.
	time.Sleep(inbandSuppress)
	a.SetSource(NewPlayer(NewPromptPCM(dtmfTone('7', 120*time.Millisecond, 6000, 0)), false))
	select {
	case d := <-b.Digits():
		if d.Key != '7' || d.Source != "inband" {
			t.Fatalf("digit %+v", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no in-band digit")
	}
	st := b.Stats()
	if st.PacketsReceived == 0 || st.PacketsLost != 0 || st.Expected != st.PacketsReceived || st.MOS < 3 {
		t.Fatalf("b stats %+v", st)
	}
	if st.PacketsInvalid != 0 || st.PacketsIgnored != 0 {
		t.Fatalf("b rejected packets: %+v", st)
	}
}

func TestReceiveRFC4733Dedup(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "rx"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, DTMFPT: 96})
	s.Start()
	seq, ts := uint16(65530), uint32(1000) // crosses the seq wrap
	send := func(pt uint8, marker bool, ts uint32, payload []byte) {
		p.send(t, s.addr(), rtpPacket(pt, marker, seq, ts, 42, payload))
		seq++
	}
	// Digit 1: start, 4 updates, 3 end packets.
	send(96, true, ts, eventPayload(1, false, 160))
	for d := uint16(320); d <= 800; d += 160 {
		send(96, false, ts, eventPayload(1, false, d))
	}
	for range 3 {
		send(96, false, ts, eventPayload(1, true, 960))
	}
	// Digit '#' (11) with a new timestamp whose end packets all get lost,
	// then audio resumes.
	ts += 2000
	send(96, true, ts, eventPayload(11, false, 160))
	send(96, false, ts, eventPayload(11, false, 320))
	time.Sleep(eventLostAfter + 30*time.Millisecond)
	send(0, true, ts+800, make([]byte, 160))
	// A late retransmission of the first digit's end must not repeat it.
	send(96, false, 1000, eventPayload(1, true, 960))

	want := []struct {
		k rune
		d time.Duration
	}{{'1', 120 * time.Millisecond}, {'#', 40 * time.Millisecond}}
	for _, w := range want {
		select {
		case d := <-s.Digits():
			if d.Key != w.k || d.Duration != w.d || d.Source != "rfc4733" {
				t.Fatalf("digit %+v, want %c %v", d, w.k, w.d)
			}
		case <-time.After(time.Second):
			t.Fatalf("missing digit %c", w.k)
		}
	}
	select {
	case d := <-s.Digits():
		t.Fatalf("extra digit %+v", d)
	case <-time.After(100 * time.Millisecond):
	}
	if st := s.Stats(); st.PacketsReceived != 12 || st.PacketsLost != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStatsLossAndJitter(t *testing.T) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.NewSession(SessionConfig{CallID: "stats"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := netip.MustParseAddrPort("127.0.0.1:4000")
	s.SetRemote(Remote{Addr: src, Codec: PTPCMU})

	// Seq 100..110 without 105; packet 107 arrives 10 ms late.
	const ms = int64(time.Millisecond)
	delays := map[uint16]int64{107: 10 * ms}
	var wantJ float64
	var prevTransit int64
	first := true
	for i := uint16(0); i <= 10; i++ {
		seq := 100 + i
		if seq == 105 {
			continue
		}
		ts := uint32(5000 + 160*uint32(i))
		arrival := int64(time.Second) + int64(i)*20*ms + delays[seq]
		s.handlePacket(rtpPacket(0, false, seq, ts, 7, make([]byte, 160)), src, arrival)
		transit := arrival/125000 - int64(ts)
		if !first {
			d := transit - prevTransit
			if d < 0 {
				d = -d
			}
			wantJ += (float64(d) - wantJ) / 16
		}
		prevTransit, first = transit, false
	}
	st := s.Stats()
	if st.Expected != 11 || st.PacketsReceived != 10 || st.PacketsLost != 1 {
		t.Fatalf("expected %d received %d lost %d", st.Expected, st.PacketsReceived, st.PacketsLost)
	}
	if want := wantJ / 8; st.JitterMs != want || want == 0 {
		t.Fatalf("jitter %.4f ms, want %.4f", st.JitterMs, want)
	}
	if st.MaxJitterMs < st.JitterMs {
		t.Fatalf("max jitter %.3f < jitter %.3f", st.MaxJitterMs, st.JitterMs)
	}
	if st.MOS < 3.5 || st.MOS > 4.4 {
		t.Fatalf("MOS %.2f with 9%% loss", st.MOS)
	}
	// RTCP RR from the peer about our SSRC.
	rr := make([]byte, 32)
	rr[0], rr[1] = 0x81, 201
	binary.BigEndian.PutUint16(rr[2:], 7)
	binary.BigEndian.PutUint32(rr[4:], 7)
	binary.BigEndian.PutUint32(rr[8:], s.SSRC())
	rr[12] = 64 // 25 %
	s.handlePacket(rr, src, 2*int64(time.Second))
	if st := s.Stats(); st.RemoteLossFraction != 0.25 || st.PacketsInvalid != 0 {
		t.Fatalf("remote loss %v, invalid %d", st.RemoteLossFraction, st.PacketsInvalid)
	}
}

func TestGarbageIsCountedAndHarmless(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "garbage", InbandDTMF: true})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, DTMFPT: 101, RTCPMux: true})
	s.Start()
	garbage := [][]byte{
		{},
		{0x80},
		[]byte("hello, world"),               // version 1
		{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, // 11 bytes
		{0x8F, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},             // 15 CSRCs announced, 1 present
		{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0xFF, 0xFF}, // huge extension
		{0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 200},                    // padding longer than packet
		{0x80, 200, 0xFF, 0xFF, 0, 0, 0, 0},                             // RTCP with bogus length
		make([]byte, 1400),
	}
	for _, g := range garbage {
		p.send(t, s.addr(), g)
	}
	// Then a valid packet, which must still be processed.
	p.send(t, s.addr(), rtpPacket(101, true, 1, 1, 9, eventPayload(4, true, 800)))
	select {
	case d := <-s.Digits():
		if d.Key != '4' {
			t.Fatalf("digit %+v", d)
		}
	case <-time.After(time.Second):
		t.Fatal("valid packet after garbage not processed")
	}
	st := s.Stats()
	// The empty datagram and the 1400 zero bytes are version 0; all
	// count as invalid except that the session keeps working.
	if st.PacketsInvalid != uint64(len(garbage)) || st.PacketsReceived != 1 {
		t.Fatalf("invalid %d (want %d), received %d", st.PacketsInvalid, len(garbage), st.PacketsReceived)
	}
}

func TestLatchingFollowsSourceAddress(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "nat"})
	sdp, nat := newPeer(t), newPeer(t)
	s.SetRemote(Remote{Addr: sdp.addr(), Codec: PTPCMU})
	s.Start()
	s.SetSource(NewPlayer(toneFrames(10*time.Second), true))
	if _, ok := sdp.readRTP(t, time.Second); !ok {
		t.Fatal("nothing sent to the SDP address")
	}
	// The peer is behind NAT: its packets come from another port.
	nat.send(t, s.addr(), rtpPacket(0, true, 1, 160, 5, make([]byte, 160)))
	deadline := time.Now().Add(time.Second)
	for {
		if _, ok := nat.readRTP(t, 100*time.Millisecond); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("did not latch to the source address")
		}
	}
	// A re-INVITE repeating the SDP address (e.g. unhold) keeps the latch.
	s.SetRemote(Remote{Addr: sdp.addr(), Codec: PTPCMU})
	if _, ok := nat.readRTP(t, 200*time.Millisecond); !ok {
		t.Fatal("latch lost on re-INVITE with the same address")
	}
	// An interloper sending while the latched source is active does not
	// take over (the connected socket filters it in the kernel; elsewhere
	// the holdoff ignores it).
	nat.send(t, s.addr(), rtpPacket(0, false, 2, 320, 5, make([]byte, 160)))
	sdp.send(t, s.addr(), rtpPacket(0, false, 3, 480, 6, make([]byte, 160)))
	time.Sleep(50 * time.Millisecond)
	for { // drain what was sent to sdp before the latch
		if _, ok := sdp.readRTP(t, 10*time.Millisecond); !ok {
			break
		}
	}
	if _, ok := sdp.readRTP(t, 100*time.Millisecond); ok {
		t.Fatal("interloper took over the stream")
	}
	if st := s.Stats(); st.PacketsReceived != 2 {
		t.Fatalf("interloper's packet counted: %+v", st)
	}
	// The NAT rebinds: after the peer's old mapping has been silent for a
	// while, packets from a new port are latched to.
	time.Sleep(unlatchAfter + 100*time.Millisecond)
	rebound := newPeer(t)
	rebound.send(t, s.addr(), rtpPacket(0, false, 3, 480, 5, make([]byte, 160)))
	if _, ok := rebound.readRTP(t, 500*time.Millisecond); !ok {
		t.Fatal("did not follow the NAT rebinding")
	}
	if st := s.Stats(); st.PacketsReceived != 3 || st.PacketsLost != 0 {
		t.Fatalf("stats after rebinding: %+v", st)
	}
}

func TestHoldStopsAudio(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "hold"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, RTCPMux: true})
	s.Start()
	s.SetSource(NewPlayer(toneFrames(10*time.Second), true))
	if _, ok := p.readRTP(t, time.Second); !ok {
		t.Fatal("no audio")
	}
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, RTCPMux: true, SendOnly: true})
	time.Sleep(30 * time.Millisecond)
	for { // drain what was in flight
		if _, ok := p.readRTP(t, 50*time.Millisecond); !ok {
			break
		}
	}
	if pk, ok := p.readRTP(t, 200*time.Millisecond); ok {
		t.Fatalf("audio sent while on hold: %+v", pk.Header)
	}
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, RTCPMux: true})
	pk, ok := p.readRTP(t, time.Second)
	if !ok || !pk.Marker {
		t.Fatalf("after unhold: ok %v marker %v", ok, pk.Marker)
	}
}

func TestRTCPReports(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "rtcp"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, RTCPMux: true})
	s.Start()
	s.SetSource(NewPlayer(toneFrames(10*time.Second), true))
	// Give the session something to report on.
	p.send(t, s.addr(), rtpPacket(0, true, 10, 0, 77, make([]byte, 160)))
	p.send(t, s.addr(), rtpPacket(0, false, 12, 320, 77, make([]byte, 160)))
	time.Sleep(30 * time.Millisecond)
	// Force the report now instead of waiting up to 5 s.
	s.mu.Lock()
	s.rtcpIn = 1
	s.mu.Unlock()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		pk, ok := p.read(t, time.Second)
		if !ok {
			break
		}
		b := pk.Raw
		if b[1] != 200 {
			continue
		}
		n := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
		if b[0]&0x1F != 1 || n != 52 || binary.BigEndian.Uint32(b[4:]) != s.SSRC() {
			t.Fatalf("SR header % x", b[:8])
		}
		blk := b[28:]
		if binary.BigEndian.Uint32(blk) != 77 || blk[4] != 85 /* 1/3 lost */ || binary.BigEndian.Uint32(blk[4:])&0xFFFFFF != 1 {
			t.Fatalf("report block % x", blk[:24])
		}
		sdes := b[n:]
		if sdes[1] != 202 || sdes[8] != 1 || sdes[9] != 16 || len(sdes) != 28 {
			t.Fatalf("SDES % x", sdes)
		}
		return
	}
	t.Fatal("no RTCP SR")
}

func TestRTPTimeout(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{RTPTimeout: 200 * time.Millisecond, HoldTimeout: time.Hour})
	var fired atomic.Int32
	reason := make(chan string, 4)
	s := newSession(t, e, SessionConfig{CallID: "to", OnTimeout: func(r string) {
		fired.Add(1)
		reason <- r
	}})
	held := newSession(t, e, SessionConfig{CallID: "held", OnTimeout: func(string) { fired.Add(100) }})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU})
	held.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, Inactive: true})
	start := time.Now()
	s.Start()
	held.Start()
	select {
	case r := <-reason:
		if r != "rtp-timeout" {
			t.Fatalf("reason %q", r)
		}
		if d := time.Since(start); d < 200*time.Millisecond || d > 1500*time.Millisecond {
			t.Fatalf("fired after %v", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no timeout")
	}
	time.Sleep(200 * time.Millisecond)
	if n := fired.Load(); n != 1 {
		t.Fatalf("callbacks: %d (held session must use the hold timeout, and fire once)", n)
	}
}

func TestPortAllocatorWrapsAndExhausts(t *testing.T) {
	// Find a free block of ports so the test does not depend on the host.
	var base int
	for try := range 100 {
		base = 20000 + 8*((int(time.Now().UnixNano()/1000)+try*131)%1500)
		free := true
		for p := base; p < base+6 && free; p++ {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				free = false
				continue
			}
			c.Close()
		}
		if free {
			break
		}
	}
	// Odd bounds on an even base: only base+2 and base+4 are usable.
	e, err := NewEngine(Config{IP: loopback, PortMin: base + 1, PortMax: base + 5})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.NewSession(SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.NewSession(SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if a.LocalPort() != base+2 || b.LocalPort() != base+4 {
		t.Fatalf("ports %d %d, want %d %d", a.LocalPort(), b.LocalPort(), base+2, base+4)
	}
	if _, err := e.NewSession(SessionConfig{}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("exhausted range: err = %v", err)
	}
	if e.ActiveSessions() != 2 {
		t.Fatalf("active %d", e.ActiveSessions())
	}
	a.Close()
	a.Close() // idempotent
	c, err := e.NewSession(SessionConfig{})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if c.LocalPort() != base+2 {
		t.Fatalf("wrapped to %d, want %d", c.LocalPort(), base+2)
	}
	// A port taken by another process is skipped.
	b.Close()
	squat, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base + 4})
	if err != nil {
		t.Fatal(err)
	}
	defer squat.Close()
	if _, err := e.NewSession(SessionConfig{}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("with squatter: err = %v", err)
	}
	c.Close()
	if e.ActiveSessions() != 0 {
		t.Fatalf("active %d", e.ActiveSessions())
	}
	for _, bad := range [][2]int{{0, 100}, {100, 50}, {5, 5}, {1, 70000}} {
		if _, err := NewEngine(Config{PortMin: bad[0], PortMax: bad[1]}); err == nil {
			t.Fatalf("range %v accepted", bad)
		}
	}
}

func TestCloseStopsEverything(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "close"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, DTMFPT: 101})
	s.Start()
	pl := NewPlayer(toneFrames(10*time.Second), true)
	s.SetSource(pl)
	if _, ok := p.readRTP(t, time.Second); !ok {
		t.Fatal("no audio")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-pl.Done():
	default:
		t.Fatal("player not stopped by Close")
	}
	select {
	case d := <-s.Digits():
		t.Fatalf("digit after Close: %+v", d)
	default: // never closed: selects on it must not spin
	}
	if err := s.SendDigit('1', 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendDigit after Close: %v", err)
	}
	for {
		if _, ok := p.readRTP(t, 60*time.Millisecond); !ok {
			break
		}
	}
	s.Start() // no-op, must not panic or send
	if e.ActiveSessions() != 0 {
		t.Fatalf("active %d", e.ActiveSessions())
	}
}

// TestMemoryPerSession checks the <= 30 KB heap budget with sessions that
// are started, have a remote and play a prompt.
func TestMemoryPerSession(t *testing.T) {
	const n = 200
	e := startEngine(t, Config{})
	p := newPeer(t)
	prompt := toneFrames(time.Second)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	sessions := make([]*Session, n)
	for i := range sessions {
		s, err := e.NewSession(SessionConfig{CallID: "mem", InbandDTMF: true})
		if err != nil {
			t.Fatal(err)
		}
		s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, DTMFPT: 101, RTCPMux: true})
		s.Start()
		s.SetSource(NewPlayer(prompt, true))
		sessions[i] = s
	}
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	heap := float64(ms1.HeapAlloc-ms0.HeapAlloc) / n
	stack := float64(ms1.StackInuse-ms0.StackInuse) / n
	t.Logf("per session: %.0f B heap, %.0f B goroutine stack", heap, stack)
	if heap > 30<<10 {
		t.Fatalf("%.0f B of heap per session, budget 30 KB", heap)
	}
	for _, s := range sessions {
		s.Close()
	}
}

// TestPacerCatchUpAndSkip drives tick directly: a late tick bursts the
// missed frames, a long stall jumps the clock with a marker instead.
func TestPacerCatchUpAndSkip(t *testing.T) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, e, SessionConfig{CallID: "tick"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU})
	s.SetSource(NewPlayer(toneFrames(time.Second), true))
	now := time.Now()
	s.tick(1, 0, e.mono(), now, false)
	s.tick(3, 0, e.mono(), now, false) // two ticks were missed
	s.tick(1, 9, e.mono(), now, false) // a 200 ms stall
	var got []rxPacket
	for range 5 {
		pk, ok := p.readRTP(t, time.Second)
		if !ok {
			t.Fatalf("got %d packets", len(got))
		}
		got = append(got, pk)
	}
	for i := 1; i < 5; i++ {
		if got[i].SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Fatalf("seq gap at %d", i)
		}
	}
	for i := 1; i < 4; i++ {
		if got[i].Timestamp != got[i-1].Timestamp+160 || got[i].Marker {
			t.Fatalf("burst packet %d: ts +%d marker %v", i, got[i].Timestamp-got[i-1].Timestamp, got[i].Marker)
		}
	}
	if !got[4].Marker || got[4].Timestamp != got[3].Timestamp+10*160 {
		t.Fatalf("after stall: ts +%d marker %v", got[4].Timestamp-got[3].Timestamp, got[4].Marker)
	}
}

// A sender replaying the same event packets (same timestamp) a while later
// pressed the key again: SIPp's dtmf pcaps played twice look like this.
func TestReceiveRFC4733ReplayedTimestampIsNewPress(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "replay"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, DTMFPT: 101})
	s.Start()
	press := func() {
		seq := uint16(7)
		p.send(t, s.addr(), rtpPacket(101, true, seq, 5000, 9, eventPayload(5, false, 160)))
		for range 3 {
			seq++
			p.send(t, s.addr(), rtpPacket(101, false, seq, 5000, 9, eventPayload(5, true, 800)))
		}
	}
	press()
	time.Sleep(eventReuseAfter + 100*time.Millisecond)
	press()
	for i := range 2 {
		select {
		case d := <-s.Digits():
			if d.Key != '5' {
				t.Fatalf("digit %+v", d)
			}
		case <-time.After(time.Second):
			t.Fatalf("press %d not reported", i+1)
		}
	}
	select {
	case d := <-s.Digits():
		t.Fatalf("extra digit %+v", d)
	case <-time.After(100 * time.Millisecond):
	}
}
