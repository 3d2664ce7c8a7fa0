package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

const (
	rtpHeaderLen = 12
	// rxBufSize is one Ethernet MTU: G.711 at the longest common ptime
	// (180 ms) fits, and anything larger arriving truncated is not ours.
	// (A 64 KB buffer per stream was a measured pitfall of another stack.)
	rxBufSize   = 1500
	txBufSize   = rtpHeaderLen + frameSamples
	rtcpBufSize = 128
	digitBuffer = 16
	dtmfQueue   = 8

	// latchHoldoff: while the socket is not connected (the first packets,
	// or where connect is unavailable) a new source address takes over only
	// after the latched one has been silent this long, so an injector
	// interleaving packets with the real peer cannot steer our audio or
	// feed us digits.
	latchHoldoff = 200 * time.Millisecond
	// unlatchAfter: the socket is connected to the latched peer (cheaper
	// sends, kernel-side filtering). When that peer has been silent this
	// long the socket is opened up again so a NAT rebinding, which would
	// otherwise be filtered out by the kernel, can be latched to.
	unlatchAfter = 500 * time.Millisecond
	// inbandSuppress: after an RFC 4733 packet, in-band detection pauses
	// this long, for peers that send both the event and the tone.
	inbandSuppress = time.Second
	// eventLostAfter: an RFC 4733 event whose end packets were all lost is
	// reported once audio resumes and the event has been silent this long.
	eventLostAfter = 120 * time.Millisecond
	// eventReuseAfter: an event timestamp repeated after this long is a new
	// key press, not a retransmission.
	eventReuseAfter = time.Second

	rtcpIntervalTicks = 250 // 5 s
	dtmfVolume        = 10  // -10 dBm0
	maxDigitDuration  = 8 * time.Second
)

// SessionConfig describes one call leg's media.
type SessionConfig struct {
	CallID string
	// OnTimeout is called once, on its own goroutine (so a slow handler
	// cannot stall other calls' audio), with reason "rtp-timeout".
	OnTimeout func(reason string)
	// InbandDTMF runs the Goertzel detector on received audio.
	InbandDTMF bool
}

// Remote is what the peer's SDP says.
type Remote struct {
	// Addr from c=/m=. Symmetric RTP: once valid packets arrive from a
	// different source, we send there instead (NAT latching).
	Addr     netip.AddrPort
	Codec    PayloadType // PTPCMU or PTPCMA
	DTMFPT   uint8       // telephone-event payload type, 0 = none
	RTCPMux  bool
	SendOnly bool // the peer put us on hold: we stop sending audio
	Inactive bool
}

// Digit is a DTMF key received from the peer.
type Digit struct {
	Key      rune
	Duration time.Duration
	Source   string // "rfc4733" or "inband"
	At       time.Time
}

// Stats are the quality figures of a session, for the CDR and metrics.
type Stats struct {
	PacketsSent, PacketsReceived, BytesSent, BytesReceived uint64 // RTP packets; bytes are RTP header + payload
	PacketsLost                                            int64  // RFC 3550 A.3 cumulative lost (expected - received)
	Expected                                               uint64
	JitterMs                                               float64 // RFC 3550 A.8 interarrival jitter
	MaxJitterMs                                            float64
	MOS                                                    float64 // E-model estimate from loss, jitter and RTT; 0 until audio arrives
	RemoteLossFraction                                     float64 // from the peer's RTCP reports (rtcp-mux only)
	RTTMs                                                  float64 // from the peer's RTCP reports, 0 if unknown

	PacketsInvalid uint64 // not RTP/RTCP (too short, wrong version, bad lengths)
	PacketsIgnored uint64 // valid but not for us: unknown payload type or a foreign source
	SendErrors     uint64
	DigitsDropped  uint64 // Digits() was full
}

// Session is the RTP media of one call leg on one UDP socket.
//
// Concurrency: the pacer goroutine owns sending (under mu), the receive
// goroutine owns parsing (rx* fields, no lock) and publishes statistics
// under rxMu; callers use the exported methods from any goroutine.
type Session struct {
	eng    *Engine
	cfg    SessionConfig
	log    *slog.Logger
	conn   *net.UDPConn
	port   int
	ssrc   uint32 // fixed at creation: readable without locks
	digits chan Digit

	lmu      sync.Mutex // orders Start against Close
	started  atomic.Bool
	closed   atomic.Bool
	rxDone   chan struct{}
	shard    *shard
	shardIdx int // guarded by shard.mu

	lastRx     atomic.Int64 // engine mono time of the last packet from the peer
	connected  atomic.Bool  // the socket is connected to the latched peer
	connectOff atomic.Bool  // connect failed or is unsupported: stay unconnected
	timedOut   atomic.Bool
	inband     atomic.Bool
	rxConf     atomic.Uint64 // packRxConf: what the receive goroutine needs from SetRemote

	// Send side, guarded by mu.
	mu         sync.Mutex
	remote     Remote
	gen        uint32         // bumped when the SDP address changes
	dst        netip.AddrPort // SDP address, or the latched source
	conned     netip.AddrPort // peer the socket is connected to, if any
	wantConn   bool           // latched: the pacer should connect to dst
	hold       bool
	src        Source
	overlay    Source // mixed over src (a whisper); nil: none
	seq        uint16
	ts         uint32 // media clock: +160 every 20 ms whether or not we send
	gap        bool   // the next audio packet starts a talkspurt: marker bit
	sent       uint64
	sentBytes  uint64
	sentOctets uint64 // payload octets, for RTCP SR
	sentAtRTCP uint64
	sendErrs   uint64
	rtcpIn     int // ticks until the next RTCP report
	dtmf       dtmfSender
	frame      [frameSamples]int16
	ovFrame    [frameSamples]int16
	tx         [txBufSize]byte
	ctl        [rtcpBufSize]byte
	cname      [16]byte

	// Receive side, owned by the receive goroutine.
	rx          [rxBufSize]byte
	hdr         rtp.Header
	rxGen       uint32
	rxSrc       netip.AddrPort
	rxSrcSeen   int64
	rxFrame     [frameSamples]int16
	det         DTMFDetector
	inbandOn    bool
	ev          rxEvent
	lastEventAt int64

	rxMu sync.Mutex
	st   rxStats // guarded by rxMu

	fwd       atomic.Pointer[forwarderRef] // bridge tap on received audio, see bridge.go
	pcmTap    atomic.Pointer[pcmTapRef]    // listeners' PCM tap, see tap.go
	rec       atomic.Pointer[recRef]       // call recording, see record.go
	recMu     sync.Mutex                   // orders AddRecorder's changes
	recorders []*recEntry                  // under recMu; published in rec
}

func packRxConf(codec, dtmfPT uint8, gen uint32) uint64 {
	return uint64(codec) | uint64(dtmfPT)<<8 | uint64(gen)<<32
}

// NewSession binds a UDP socket from the port range. The session does
// nothing until Start; Close releases it.
//
// Without rtcp-mux no RTCP socket is opened on port+1: a second socket per
// call doubled file descriptors and halved the usable port range in a
// measured Go stack. RTCP to port+1 then goes unanswered, which RFC 3550
// peers tolerate; the even-only allocation keeps port+1 free of other calls.
func (e *Engine) NewSession(sc SessionConfig) (*Session, error) {
	conn, port, err := e.ports.allocate()
	if err != nil {
		return nil, fmt.Errorf("media: new session %s: %w", sc.CallID, err)
	}
	s := &Session{
		eng:      e,
		cfg:      sc,
		log:      e.log.With("call_id", sc.CallID, "rtp_port", port),
		conn:     conn,
		port:     port,
		ssrc:     rand.Uint32(),
		digits:   make(chan Digit, digitBuffer),
		rxDone:   make(chan struct{}),
		shard:    e.shards[int(e.next.Add(1)-1)%len(e.shards)],
		shardIdx: -1,
		seq:      uint16(rand.Uint32()),
		ts:       rand.Uint32(),
		gap:      true,
		rtcpIn:   rtcpIntervalTicks/2 + rand.IntN(rtcpIntervalTicks/2),
	}
	const hex = "0123456789abcdef"
	for i, r := 0, rand.Uint64(); i < len(s.cname); i, r = i+1, r>>4 {
		s.cname[i] = hex[r&15]
	}
	s.remote.Codec = PTPCMU
	s.rxConf.Store(packRxConf(PTPCMU, 0, 0))
	s.inband.Store(sc.InbandDTMF)
	s.det.init(sampleRate)
	e.active.Add(1)
	return s, nil
}

// LocalPort is the RTP port to put in our SDP.
func (s *Session) LocalPort() int { return s.port }

// SSRC is our RTP synchronisation source.
func (s *Session) SSRC() uint32 { return s.ssrc }

func usableAddr(a netip.AddrPort) bool {
	return a.IsValid() && a.Port() != 0 && !a.Addr().IsUnspecified()
}

// SetRemote applies the peer's SDP; call it again on every re-INVITE.
// A latched address survives a re-INVITE that repeats the same SDP address
// (hold/unhold), otherwise audio would bounce back to a private address.
func (s *Session) SetRemote(r Remote) {
	r.Addr = netip.AddrPortFrom(r.Addr.Addr().Unmap(), r.Addr.Port())
	if r.Codec != PTPCMU && r.Codec != PTPCMA {
		s.log.Warn("unsupported codec in remote SDP, using PCMU", "payload_type", r.Codec)
		r.Codec = PTPCMU
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.remote
	s.remote = r
	if r.Addr != old.Addr || s.gen == 0 {
		s.gen++
		s.disconnectLocked()
		s.dst = netip.AddrPort{}
		if usableAddr(r.Addr) {
			s.dst = r.Addr
		}
		s.gap = true
	}
	if hold := r.SendOnly || r.Inactive; hold != s.hold {
		s.hold = hold
		s.gap = true
		// A hold change starts a fresh timeout window: switching to the
		// (usually longer) hold timeout must not fire on stale silence.
		s.lastRx.Store(s.eng.mono())
	}
	if r.DTMFPT == 0 {
		s.dtmf = dtmfSender{}
	}
	s.rxConf.Store(packRxConf(r.Codec, r.DTMFPT, s.gen))
}

// Start begins the receive loop and joins the pacer. It is a no-op on a
// started or closed session.
func (s *Session) Start() {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.closed.Load() || s.started.Load() {
		return
	}
	s.lastRx.Store(s.eng.mono())
	s.started.Store(true)
	s.shard.add(s)
	go s.readLoop()
}

// SetSource swaps what is played. nil sends nothing: the media clock keeps
// running and the next packet carries the marker bit. Replacing a Player
// does not stop it; the caller owns it.
func (s *Session) SetSource(src Source) {
	s.mu.Lock()
	s.src = src
	s.mu.Unlock()
}

// SetOverlay mixes src over whatever the session plays (a supervisor's
// whisper, heard on top of the conversation); nil removes it. It costs a
// decode and an encode per frame only while set.
func (s *Session) SetOverlay(src Source) {
	s.mu.Lock()
	s.overlay = src
	s.mu.Unlock()
}

// ReplaceOverlay sets the overlay to src only if it is still old, so a
// whisperer that leaves clears its own audio and never another's. It
// reports whether it did.
func (s *Session) ReplaceOverlay(old, src Source) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.overlay != old {
		return false
	}
	s.overlay = src
	return true
}

// Digits delivers received DTMF. It is buffered and never blocks the
// receive loop: when full, digits are dropped and counted. It is never
// closed (a closed channel would make every select on it fire with zero
// digits); stop reading when the call ends.
func (s *Session) Digits() <-chan Digit { return s.digits }

// SetInbandDTMF turns the Goertzel detector on received audio on or off.
func (s *Session) SetInbandDTMF(on bool) { s.inband.Store(on) }

// SendDigit queues an RFC 4733 event: a start packet with the marker bit,
// updates every 20 ms and three end packets, in our SSRC and sequence space,
// with audio paused meanwhile. It returns once queued; queued digits play
// one after the other (and wait while the peer holds us). dur is raised to
// at least 40 ms (0 means 100 ms) and may not exceed 8 s, the longest
// duration the 16-bit field can carry.
func (s *Session) SendDigit(d rune, dur time.Duration) error {
	ev, ok := dtmfEvent(d)
	if !ok {
		return fmt.Errorf("media: send digit %q: not a DTMF key", d)
	}
	switch {
	case dur <= 0:
		dur = 100 * time.Millisecond
	case dur < 40*time.Millisecond:
		dur = 40 * time.Millisecond
	case dur > maxDigitDuration:
		return fmt.Errorf("media: send digit %q: duration %v exceeds %v", d, dur, maxDigitDuration)
	}
	// Whole frames, so the end packet falls on a tick.
	units := (int(dur/time.Millisecond)*samplesPerMsec + frameSamples - 1) / frameSamples * frameSamples
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return fmt.Errorf("media: send digit %q: %w", d, ErrClosed)
	}
	if s.remote.DTMFPT == 0 {
		return fmt.Errorf("media: send digit %q: %w", d, ErrNoDTMF)
	}
	if !s.dtmf.push(ev, uint16(units)) {
		return fmt.Errorf("media: send digit %q: %d digits already queued", d, dtmfQueue)
	}
	return nil
}

// Close stops the session and returns its port. It is idempotent. A Player
// still playing is stopped so that waiters on its Done wake up.
func (s *Session) Close() error {
	s.lmu.Lock()
	if s.closed.Swap(true) {
		s.lmu.Unlock()
		return nil
	}
	started := s.started.Load()
	if started {
		s.shard.remove(s)
	}
	s.lmu.Unlock()

	err := s.conn.Close()
	if started {
		<-s.rxDone
	}
	s.eng.ports.release(s.port)
	s.eng.active.Add(-1)

	s.mu.Lock()
	if pl, ok := s.src.(*Player); ok {
		pl.Stop()
	}
	s.src = nil
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("media: close session %s: %w", s.cfg.CallID, err)
	}
	return nil
}

// ---- sending (pacer goroutine) ----

// tick is the pacer's per-session work: send frames, skip clock after a
// long stall, RTCP and the timeout check.
func (s *Session) tick(frames, skip int, mono int64, wall time.Time, check bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return
	}
	if skip > 0 {
		s.ts += uint32(skip * frameSamples)
		s.gap = true
	}
	if s.conned.IsValid() && mono-s.lastRx.Load() > int64(unlatchAfter) {
		s.disconnectLocked()
	}
	if s.wantConn {
		// Done here rather than on the receive goroutine, whose stack
		// stays minimal (it is the per-call memory that scales).
		s.wantConn = false
		s.connectLocked(s.dst)
	}
	for range frames {
		s.sendFrame()
	}
	if s.remote.RTCPMux && usableAddr(s.dst) {
		s.rtcpIn -= frames + skip
		if s.rtcpIn <= 0 {
			s.rtcpIn = rtcpIntervalTicks
			s.sendRTCP(wall, mono)
		}
	}
	if check {
		s.checkTimeout(mono)
	}
}

// sendFrame produces one 20 ms slot: a DTMF event packet, an audio packet
// or nothing; the media clock advances in every case.
func (s *Session) sendFrame() {
	payload, codec := s.produceFrame()
	if r := s.rec.Load(); r != nil {
		r.tick(codec, payload)
	}
}

// produceFrame sends this tick's packet, if any, and returns the audio
// payload it sent (nil: none, or a telephone-event).
func (s *Session) produceFrame() ([]byte, uint8) {
	defer func() { s.ts += frameSamples }()
	canSend := !s.hold && s.dst.IsValid()
	if canSend && s.dtmf.pending() {
		s.sendEvent()
		return nil, 0
	}
	if s.src == nil && s.overlay == nil {
		s.gap = true
		return nil, 0
	}
	codec := s.remote.Codec
	payload := s.tx[rtpHeaderLen : rtpHeaderLen+frameSamples]
	var ok bool
	if s.src != nil {
		if pl, isPlayer := s.src.(*Player); isPlayer {
			ok = pl.fillPayload(payload, codec)
		} else if ps, isPayload := s.src.(PayloadSource); isPayload {
			ok = ps.FillPayload(payload, codec)
		} else if ok = s.src.ReadFrame(s.frame[:]); ok {
			encode(codec, payload, s.frame[:])
		}
		if !ok {
			s.src = nil
		}
	}
	if s.overlay != nil {
		if ok {
			decode(PayloadType(codec), s.frame[:], payload)
		} else {
			clear(s.frame[:])
		}
		if s.overlay.ReadFrame(s.ovFrame[:]) {
			Mix(s.frame[:], s.ovFrame[:])
			encode(codec, payload, s.frame[:])
			ok = true
		} else {
			s.overlay = nil
		}
	}
	if !ok {
		s.gap = true
		return nil, 0
	}
	// On hold the source still advances (a prompt keeps real time and
	// its Done still fires); it is just not sent.
	if !canSend {
		s.gap = true
		return nil, 0
	}
	s.writeRTP(codec, s.gap, s.ts, frameSamples)
	s.gap = false
	return payload, codec
}

func (s *Session) writeRTP(pt uint8, marker bool, ts uint32, payloadLen int) {
	h := rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: s.seq,
		Timestamp:      ts,
		SSRC:           s.ssrc,
	}
	if _, err := h.MarshalTo(s.tx[:rtpHeaderLen]); err != nil {
		s.sendErrs++
		return
	}
	s.seq++
	n, err := s.write(s.tx[:rtpHeaderLen+payloadLen])
	if err != nil {
		// Counted, logged once: a per-packet log line at 50 pps per call
		// was a measured pitfall.
		if s.sendErrs == 0 && !s.closed.Load() {
			s.log.Warn("rtp send failed", "dst", s.dst, "err", err)
		}
		s.sendErrs++
		return
	}
	s.sent++
	s.sentBytes += uint64(n)
	s.sentOctets += uint64(payloadLen)
}

// dtmfSender is the RFC 4733 transmit state: a small fixed queue, no
// allocation.
type dtmfSender struct {
	queue   [dtmfQueue]dtmfReq
	head, n int

	active  bool
	ev      uint8
	ts      uint32
	total   uint16
	elapsed uint16
	ends    int // end packets sent
}

type dtmfReq struct {
	ev  uint8
	dur uint16
}

// write sends to dst, on the connected fast path when possible.
func (s *Session) write(b []byte) (int, error) {
	if s.conned.IsValid() && s.conned == s.dst {
		return s.conn.Write(b)
	}
	return s.conn.WriteToUDPAddrPort(b, s.dst)
}

// connectLocked connects the socket to the latched peer; s.mu held.
func (s *Session) connectLocked(to netip.AddrPort) {
	if s.conned == to || s.connectOff.Load() || !usableAddr(to) {
		return
	}
	if err := connectUDP(s.conn, to); err != nil {
		s.connectOff.Store(true)
		s.conned = netip.AddrPort{}
		s.connected.Store(false)
		s.log.Debug("rtp socket stays unconnected", "peer", to, "err", err)
		return
	}
	s.conned = to
	s.connected.Store(true)
}

// disconnectLocked opens the socket to all sources again; s.mu held.
func (s *Session) disconnectLocked() {
	if !s.conned.IsValid() {
		return
	}
	s.conned = netip.AddrPort{}
	s.connected.Store(false)
	if err := disconnectUDP(s.conn); err != nil && !s.closed.Load() {
		s.connectOff.Store(true)
		s.log.Warn("rtp socket disconnect failed", "err", err)
	}
}

func (d *dtmfSender) push(ev uint8, dur uint16) bool {
	if d.n == len(d.queue) {
		return false
	}
	d.queue[(d.head+d.n)%len(d.queue)] = dtmfReq{ev, dur}
	d.n++
	return true
}

func (d *dtmfSender) pending() bool { return d.active || d.n > 0 }

func (s *Session) sendEvent() {
	d := &s.dtmf
	marker := false
	if !d.active {
		r := d.queue[d.head]
		d.head = (d.head + 1) % len(d.queue)
		d.n--
		*d = dtmfSender{queue: d.queue, head: d.head, n: d.n, active: true, ev: r.ev, ts: s.ts, total: r.dur}
		marker = true
	}
	end := d.ends > 0
	if !end {
		d.elapsed = min(d.elapsed+frameSamples, d.total)
		end = d.elapsed >= d.total
	}
	if end {
		d.ends++
	}
	p := s.tx[rtpHeaderLen : rtpHeaderLen+4]
	p[0] = d.ev
	p[1] = dtmfVolume
	if end {
		p[1] |= 0x80
	}
	binary.BigEndian.PutUint16(p[2:], d.elapsed)
	s.writeRTP(s.remote.DTMFPT, marker, d.ts, 4)
	if d.ends >= 3 {
		d.active = false
		s.gap = true
	}
}

func (s *Session) checkTimeout(mono int64) {
	if s.timedOut.Load() || !s.started.Load() {
		return
	}
	limit := s.eng.cfg.RTPTimeout
	if s.hold {
		limit = s.eng.cfg.HoldTimeout
	}
	if limit <= 0 || mono-s.lastRx.Load() < int64(limit) {
		return
	}
	s.timedOut.Store(true)
	s.log.Info("rtp timeout", "silent_for", time.Duration(mono-s.lastRx.Load()), "on_hold", s.hold)
	if cb := s.cfg.OnTimeout; cb != nil {
		s.eng.callbacks.Go(func() { cb("rtp-timeout") })
	}
}

// ---- receiving (receive goroutine) ----

func (s *Session) readLoop() {
	defer close(s.rxDone)
	var errs uint64
	for {
		n, src, err := s.conn.ReadFromUDPAddrPort(s.rx[:])
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if errs == 0 {
				s.log.Warn("rtp receive failed", "err", err)
			}
			errs++
			// Transient errors (ICMP feedback and the like) must not
			// turn this loop into a busy spin.
			time.Sleep(time.Millisecond)
			continue
		}
		s.handlePacket(s.rx[:n], src, s.eng.mono())
	}
}

// handlePacket processes one datagram. It must not retain b: the next read
// overwrites it, and rtp.Header.Unmarshal aliases it.
func (s *Session) handlePacket(b []byte, src netip.AddrPort, mono int64) {
	if len(b) < 4 || b[0]>>6 != 2 {
		s.countInvalid()
		return
	}
	// RFC 5761 demultiplexing: RTCP packet types 192-223 occupy the
	// marker+PT byte where RTP would have PT 64-95, which nobody assigns.
	// Checked with or without rtcp-mux: some peers send RTCP there anyway.
	if b[1] >= 192 && b[1] <= 223 {
		s.handleRTCP(b, src, mono)
		return
	}
	if len(b) < rtpHeaderLen {
		s.countInvalid()
		return
	}
	// Validate lengths before Unmarshal: its errors are built with
	// fmt.Errorf, and a garbage flood must not turn into allocations.
	hlen := rtpHeaderLen + 4*int(b[0]&0x0F)
	if b[0]&0x10 != 0 {
		if len(b) < hlen+4 {
			s.countInvalid()
			return
		}
		hlen += 4 + 4*int(binary.BigEndian.Uint16(b[hlen+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 {
		end -= int(b[len(b)-1])
	}
	if hlen > end || end > len(b) {
		s.countInvalid()
		return
	}
	if _, err := s.hdr.Unmarshal(b); err != nil {
		s.countInvalid()
		return
	}
	payload := b[hlen:end]

	conf := s.rxConf.Load()
	dtmfPT, gen := uint8(conf>>8), uint32(conf>>32)
	pt := s.hdr.PayloadType
	isDTMF := dtmfPT != 0 && pt == dtmfPT
	// Both G.711 laws are accepted whatever was negotiated: after a
	// re-INVITE that switches codec, packets of the old one are in flight.
	isAudio := pt == PTPCMU || pt == PTPCMA
	if !isDTMF && !isAudio && pt != ptCN {
		s.countIgnored()
		return
	}
	if !s.latch(src, gen, mono) {
		s.countIgnored()
		return
	}
	s.lastRx.Store(mono)
	s.updateStats(len(b), isAudio, mono)

	switch {
	case isDTMF:
		s.lastEventAt = mono
		s.handleEvent(payload, mono)
	case isAudio:
		if s.ev.pendingLost(mono) {
			s.emitEvent()
		}
		if f := s.fwd.Load(); f != nil {
			f.f.ForwardRTP(pt, s.hdr.Timestamp, s.hdr.Marker, payload)
		}
		if t := s.pcmTap.Load(); t != nil {
			t.tapPCM(pt, payload)
		}
		if r := s.rec.Load(); r != nil {
			r.jb.Write(pt, s.hdr.Timestamp, payload)
		}
		s.inbandDetect(pt, payload, mono)
	}
}

// latch implements symmetric RTP: the first valid packet after SetRemote
// (or after the current source went quiet) decides where we send.
func (s *Session) latch(src netip.AddrPort, gen uint32, mono int64) bool {
	if gen != s.rxGen {
		s.rxGen, s.rxSrc = gen, netip.AddrPort{}
	}
	if src == s.rxSrc {
		s.rxSrcSeen = mono
		if !s.connected.Load() && !s.connectOff.Load() {
			// The pacer opened the socket up after a silence; the
			// same peer is back.
			s.setPeer(src, gen)
		}
		return true
	}
	if s.rxSrc.IsValid() && mono-s.rxSrcSeen < int64(latchHoldoff) {
		return false
	}
	s.rxSrc, s.rxSrcSeen = src, mono
	s.setPeer(src, gen)
	return true
}

func (s *Session) setPeer(src netip.AddrPort, gen uint32) {
	s.mu.Lock()
	if s.gen == gen && !s.closed.Load() { // a newer SetRemote wins over an old latch
		s.dst = src
		s.wantConn = !s.connectOff.Load()
	}
	s.mu.Unlock()
}

func (s *Session) countInvalid() {
	s.rxMu.Lock()
	s.st.invalid++
	s.rxMu.Unlock()
}

func (s *Session) countIgnored() {
	s.rxMu.Lock()
	s.st.ignored++
	s.rxMu.Unlock()
}

func (s *Session) updateStats(size int, audio bool, mono int64) {
	h := &s.hdr
	s.rxMu.Lock()
	st := &s.st
	st.packets++
	st.bytes += uint64(size)
	st.update(h.SSRC, h.SequenceNumber, h.Timestamp, audio, mono)
	s.rxMu.Unlock()
}

// rxEvent is the RFC 4733 receive state. An event is identified by its
// timestamp; it is reported once, on the first end packet (the other two
// are retransmissions), or when a later event or resumed audio shows that
// all its end packets were lost.
type rxEvent struct {
	active   bool
	reported bool
	ts       uint32
	prevTS   uint32 // previous event, to ignore its late retransmissions
	hasPrev  bool
	ev       uint8
	dur      uint16
	seen     int64
}

func (e *rxEvent) pendingLost(mono int64) bool {
	return e.active && !e.reported && mono-e.seen > int64(eventLostAfter)
}

func (s *Session) handleEvent(p []byte, mono int64) {
	if len(p) < 4 || p[0] > 15 {
		return // flash and other non-DTMF events are not digits
	}
	e := &s.ev
	ts := s.hdr.Timestamp
	ev, isEnd, dur := p[0], p[1]&0x80 != 0, binary.BigEndian.Uint16(p[2:4])
	// A timestamp seen again long after its event ended is a new press from
	// a sender that does not advance timestamps between events (SIPp
	// replaying one pcap twice does exactly this); retransmissions of an
	// end packet arrive within milliseconds.
	stale := mono-e.seen > int64(eventReuseAfter)
	if !e.active || ts != e.ts || (e.reported && stale) {
		if e.hasPrev && ts == e.prevTS && !stale {
			return
		}
		if e.active && !e.reported {
			s.emitEvent()
		}
		if e.active {
			e.prevTS, e.hasPrev = e.ts, true
		}
		*e = rxEvent{active: true, ts: ts, ev: ev, prevTS: e.prevTS, hasPrev: e.hasPrev}
	}
	e.dur = max(e.dur, dur)
	e.seen = mono
	if isEnd && !e.reported {
		s.emitEvent()
	}
}

func (s *Session) emitEvent() {
	e := &s.ev
	e.reported = true
	k, _ := dtmfKey(e.ev)
	s.emitDigit(Digit{Key: k, Duration: time.Duration(e.dur) * time.Second / sampleRate, Source: "rfc4733", At: time.Now()})
}

func (s *Session) emitDigit(d Digit) {
	select {
	case s.digits <- d:
	default:
		s.rxMu.Lock()
		s.st.digitsDropped++
		s.rxMu.Unlock()
	}
}

func (s *Session) inbandDetect(pt uint8, payload []byte, mono int64) {
	on := s.inband.Load()
	if !on {
		s.inbandOn = false
		return
	}
	if !s.inbandOn {
		s.inbandOn = true
		s.det.Reset()
	}
	suppressed := s.lastEventAt != 0 && mono-s.lastEventAt < int64(inbandSuppress)
	for len(payload) > 0 {
		n := min(len(payload), len(s.rxFrame))
		frame := s.rxFrame[:n]
		decode(pt, frame, payload[:n])
		payload = payload[n:]
		if k, ok := s.det.Process(frame); ok && !suppressed {
			s.emitDigit(Digit{Key: k, Duration: s.det.pressDuration(), Source: "inband", At: time.Now()})
		}
	}
}

// Stats returns a snapshot of the session's quality figures.
func (s *Session) Stats() Stats {
	var out Stats
	s.mu.Lock()
	out.PacketsSent, out.BytesSent, out.SendErrors = s.sent, s.sentBytes, s.sendErrs
	s.mu.Unlock()

	s.rxMu.Lock()
	st := s.st
	s.rxMu.Unlock()
	out.PacketsReceived, out.BytesReceived = st.packets, st.bytes
	out.PacketsInvalid, out.PacketsIgnored, out.DigitsDropped = st.invalid, st.ignored, st.digitsDropped
	out.RemoteLossFraction, out.RTTMs = st.remoteLoss, st.rttMs
	out.JitterMs = st.seq.jitter * 1000 / sampleRate
	out.MaxJitterMs = st.maxJitter * 1000 / sampleRate
	if st.seq.init {
		out.Expected = st.prevExpected + st.seq.expected()
		out.PacketsLost = int64(out.Expected) - int64(st.prevReceived+st.seq.received)
		lossPct := 0.0
		if out.Expected > 0 && out.PacketsLost > 0 {
			lossPct = 100 * float64(out.PacketsLost) / float64(out.Expected)
		}
		out.MOS = estimateMOS(lossPct, out.JitterMs, out.RTTMs/2)
	}
	return out
}
