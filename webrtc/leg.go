// Package webrtc is the agent's media leg: one pion/webrtc PeerConnection
// per agent call, bridged to the caller's media.Session.
//
// Toward the browser we offer PCMU, so a PCMU caller's payloads are
// relayed without decoding (a PCMA caller costs a table lookup per byte).
// With Config.Opus we offer Opus first and PCMU as the fallback; when the
// browser takes Opus, the leg transcodes both ways (opus.go): G.711 to
// 48 kHz Opus toward the browser, Opus to 8 kHz µ-law into the jitter
// buffer, with a proper low-pass at each rate change (resample.go).
// Signalling (the agent's WebSocket) is the owner's business: the Leg
// produces an offer and candidates as strings and takes the answer and the
// browser's candidates back. DTLS-SRTP is pion's default and is kept.
//
// Goroutines: pion runs its own (ICE, DTLS, SRTP), all ended by Close. The
// Leg adds three, all ended by Close as well: the reader of the browser's
// audio track, the drain of RTCP arriving for our sender (pion needs it
// read), and the one that delivers state changes in order.
package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	"hotline/media"
)

var (
	// ErrNoCommonCodec: the browser's answer accepts none of the codecs we
	// offer (PCMU; Opus too with Config.Opus). The owner should fail the
	// offer to this agent.
	ErrNoCommonCodec = errors.New("webrtc: no common codec (PCMU or, when configured, Opus required)")
	// ErrOpusUnsupported: Config.Opus on a build without libopus (cgo off).
	ErrOpusUnsupported = errors.New("webrtc: opus needs a cgo build with libopus; only PCMU can be offered")
	// ErrClosed is returned for operations on a closed Leg.
	ErrClosed = errors.New("webrtc: leg closed")
)

// ICEServer is a STUN or TURN server, as in the browser's RTCIceServer.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

// Config of one Leg. Callbacks are fixed at creation so that no event can
// arrive before its handler is installed.
type Config struct {
	CallID string
	// ICEServers may be empty: host candidates only (agents on the LAN).
	ICEServers []ICEServer
	// PortMin..PortMax limit the UDP ports ICE binds; both zero: any port.
	PortMin, PortMax uint16
	// Loopback also gathers 127.0.0.1 candidates (tests, single-host setups).
	Loopback bool
	// Opus offers Opus (preferred) besides PCMU. When the browser takes
	// it, the leg encodes and decodes every 20 ms: about 7.5 ms of CPU
	// per second of call, both ways (BenchmarkForwardToBrowserOpus,
	// BenchmarkOpusFromBrowser), against under 1 ms for relaying PCMU.
	Opus bool
	// PublicIP, when valid, replaces the address of our host candidates:
	// a media node behind 1:1 NAT (a cloud VM with a private interface
	// address) is reachable only at its public one.
	PublicIP netip.Addr
	// DisconnectedAfter and FailedAfter: silence on the ICE connection
	// before the state becomes disconnected, then failed. Defaults 3 s and
	// 10 s (pion's are 5 s and 25 s): a vanished browser should give the
	// caller back to the queue quickly. KeepAlive defaults to 1 s.
	DisconnectedAfter, FailedAfter, KeepAlive time.Duration
	// OnCandidate receives each local ICE candidate as the JSON of an
	// RTCIceCandidateInit, ready for the browser's addIceCandidate; nil
	// once gathering is complete. Without OnCandidate, Offer waits for
	// gathering and puts every candidate in the SDP (no trickle).
	OnCandidate func(candidateJSON []byte)
	// OnState receives state changes in order, on a goroutine of the Leg.
	// It may call Close.
	OnState func(State)
	Logger  *slog.Logger
}

// State of the agent's connection.
type State int

const (
	StateNew State = iota
	StateConnecting
	StateConnected
	StateDisconnected // no traffic for a while; may recover
	StateFailed       // gave up; the owner should requeue the caller
	StateClosed       // closed by either side
)

func (s State) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

func fromPion(s pion.PeerConnectionState) State {
	switch s {
	case pion.PeerConnectionStateConnecting:
		return StateConnecting
	case pion.PeerConnectionStateConnected:
		return StateConnected
	case pion.PeerConnectionStateDisconnected:
		return StateDisconnected
	case pion.PeerConnectionStateFailed:
		return StateFailed
	case pion.PeerConnectionStateClosed:
		return StateClosed
	}
	return StateNew
}

// Stats are packet counts of the bridge.
type Stats struct {
	PacketsToAgent, BytesToAgent     uint64 // caller audio sent to the browser
	PacketsFromAgent, BytesFromAgent uint64 // browser audio received
	SendErrors                       uint64
	Jitter                           media.JitterStats // repairs on the agent's audio
	// Opus from the browser (zero for PCMU): lost packets concealed by
	// PLC, lost packets decoded from the next one's FEC data (libopus
	// conceals when it carries none), and packets that would not decode.
	OpusConcealed, OpusRecovered, OpusDecodeErrors uint64
}

// Leg is one agent's peer connection.
type Leg struct {
	tapState // supervisor monitoring, see tap.go

	cfg   Config
	log   *slog.Logger
	pc    *pion.PeerConnection
	tr    *pion.RTPTransceiver
	track *pion.TrackLocalStaticRTP // PCMU; Opus's is in tx
	jb    *media.JitterBuffer

	mu        sync.Mutex
	sess      *media.Session // attached session, guarded by mu
	answered  bool
	pending   []pion.ICECandidateInit // browser candidates that beat the answer
	closed    bool
	stateKick chan struct{}
	done      chan struct{}
	wg        sync.WaitGroup // track reader and RTCP drain
	stateDone chan struct{}
	inState   atomic.Bool // the state goroutine is inside OnState

	attached atomic.Bool
	// Forward path. fwdMu is uncontended except for the moment Attach
	// moves the bridge to another session while the old session's receive
	// goroutine is still inside ForwardRTP.
	fwdMu      sync.Mutex
	pkt        rtp.Packet
	fwdBuf     [1500]byte
	seq        uint16
	tsOff      uint32
	fwdStarted bool
	fwdFrom    source // whose audio the last packet carried
	lastTS     uint32 // timestamp of the last packet sent
	// tx is the Opus encoder side (nil without Config.Opus); sendOpus is
	// set by SetAnswer when the browser took Opus. Both under fwdMu.
	tx       *opusTx
	sendOpus bool
	// rx is the Opus decoder side (nil without Config.Opus), used only by
	// the track reader goroutine and freed by Close after it ended.
	rx *opusRx

	// peer is the leg this one is patched to (an agent consulting another
	// agent): each one's browser audio goes straight to the other.
	peer atomic.Pointer[Leg]

	toPkts, toBytes, fromPkts, fromBytes, sendErrs atomic.Uint64
}

// New creates a Leg. It does not touch the network until Offer.
func New(cfg Config) (*Leg, error) {
	if cfg.Opus && !opusAvailable {
		return nil, ErrOpusUnsupported
	}
	if cfg.PortMax < cfg.PortMin {
		return nil, fmt.Errorf("webrtc: port range %d-%d is empty", cfg.PortMin, cfg.PortMax)
	}
	if cfg.DisconnectedAfter <= 0 {
		cfg.DisconnectedAfter = 3 * time.Second
	}
	if cfg.FailedAfter <= 0 {
		cfg.FailedAfter = 10 * time.Second
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	// A MediaEngine is per PeerConnection in pion; what is registered is
	// what the offer lists, in this order: Opus first when configured (the
	// preferred codec), PCMU always.
	var me pion.MediaEngine
	if cfg.Opus {
		if err := me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: opusCapability(), PayloadType: opusPT},
			pion.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("webrtc: register Opus: %w", err)
		}
	}
	if err := me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: pcmuCapability(), PayloadType: 0},
		pion.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("webrtc: register PCMU: %w", err)
	}
	var se pion.SettingEngine
	if cfg.PublicIP.IsValid() {
		// Replace, not append: behind 1:1 NAT the private address is
		// useless to a browser elsewhere, and offering it only costs
		// connectivity checks. (SetNAT1To1IPs is deprecated in this pion
		// version in favour of these rules.)
		pub := cfg.PublicIP.Unmap()
		network := []pion.NetworkType{pion.NetworkTypeUDP4, pion.NetworkTypeTCP4}
		loop := "127.0.0.1"
		if !pub.Is4() {
			network = []pion.NetworkType{pion.NetworkTypeUDP6, pion.NetworkTypeTCP6}
			loop = "::1"
		}
		rules := []pion.ICEAddressRewriteRule{{
			External:        []string{pub.String()},
			AsCandidateType: pion.ICECandidateTypeHost,
			Mode:            pion.ICEAddressRewriteReplace,
			Networks:        network,
		}}
		if cfg.Loopback {
			// The catch-all rule would rewrite the loopback candidate
			// too, leaving a public address on a socket bound to
			// 127.0.0.1; this more specific rule keeps it as it is.
			rules = append(rules, pion.ICEAddressRewriteRule{
				External:        []string{loop},
				Local:           loop,
				AsCandidateType: pion.ICECandidateTypeHost,
				Mode:            pion.ICEAddressRewriteReplace,
				Networks:        network,
			})
		}
		if err := se.SetICEAddressRewriteRules(rules...); err != nil {
			return nil, fmt.Errorf("webrtc: public IP %s: %w", cfg.PublicIP, err)
		}
	}
	if cfg.PortMin != 0 || cfg.PortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, fmt.Errorf("webrtc: port range %d-%d: %w", cfg.PortMin, cfg.PortMax, err)
		}
	}
	se.SetICETimeouts(cfg.DisconnectedAfter, cfg.FailedAfter, cfg.KeepAlive)
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	// No interceptors (NACK, TWCC, RTCP reports; pion adds them unless
	// given an empty registry): G.711 voice is not retransmitted or
	// bandwidth-adapted, and the report interceptors allocate per
	// received packet. DTLS-SRTP is not an interceptor and stays.
	api := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se),
		pion.WithInterceptorRegistry(&interceptor.Registry{}))

	pcCfg := pion.Configuration{}
	for _, s := range cfg.ICEServers {
		pcCfg.ICEServers = append(pcCfg.ICEServers, pion.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	pc, err := api.NewPeerConnection(pcCfg)
	if err != nil {
		return nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	l := &Leg{
		cfg:       cfg,
		log:       cfg.Logger.With("call_id", cfg.CallID, "leg", "webrtc"),
		pc:        pc,
		jb:        media.NewJitterBuffer(),
		stateKick: make(chan struct{}, 1),
		done:      make(chan struct{}),
		stateDone: make(chan struct{}),
	}
	l.track, err = pion.NewTrackLocalStaticRTP(pcmuCapability(), "audio", "hotline-"+cfg.CallID)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("webrtc: new track: %w", err)
	}
	first := l.track
	if cfg.Opus {
		if l.tx, l.rx, err = newOpusCodecs(cfg.CallID); err != nil {
			pc.Close()
			return nil, fmt.Errorf("webrtc: %w", err)
		}
		// The transceiver starts with the Opus track, the one we prefer;
		// SetAnswer swaps in the PCMU track when the browser declines
		// Opus. (A pion track binds only to its own codec.)
		first = l.tx.track
	}
	tr, err := pc.AddTransceiverFromTrack(first, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionSendrecv})
	if err != nil {
		pc.Close()
		l.freeCodecs()
		return nil, fmt.Errorf("webrtc: add transceiver: %w", err)
	}
	l.tr = tr
	sender := tr.Sender()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		// Read (and discard) RTCP for our sender: pion delivers it
		// through a buffer that must be drained. Ends when pc closes.
		var b [1500]byte
		for {
			if _, _, err := sender.Read(b[:]); err != nil {
				return
			}
		}
	}()
	pc.OnTrack(l.onTrack)
	pc.OnICECandidate(func(c *pion.ICECandidate) {
		cb := l.cfg.OnCandidate
		if cb == nil {
			return
		}
		if c == nil {
			cb(nil)
			return
		}
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			l.log.Warn("encode ICE candidate", "err", err)
			return
		}
		cb(b)
	})
	// pion calls this on a new goroutine per change, so changes can be
	// seen out of order; the state goroutine reads the current state
	// instead and reports only real changes.
	pc.OnConnectionStateChange(func(pion.PeerConnectionState) { l.kick() })
	go l.stateLoop()
	return l, nil
}

func (l *Leg) kick() {
	select {
	case l.stateKick <- struct{}{}:
	default:
	}
}

func (l *Leg) stateLoop() {
	defer close(l.stateDone)
	last := StateNew
	report := func(s State) {
		if s == last {
			return
		}
		last = s
		l.log.Info("agent leg state", "state", s.String())
		if cb := l.cfg.OnState; cb != nil {
			l.inState.Store(true)
			cb(s)
			l.inState.Store(false)
		}
	}
	for {
		select {
		case <-l.stateKick:
			report(fromPion(l.pc.ConnectionState()))
			if last == StateClosed {
				return
			}
		case <-l.done:
			report(StateClosed)
			return
		}
	}
}

// Offer creates our SDP offer (audio, sendrecv; Opus when configured, then
// PCMU) and starts ICE
// gathering. With Config.OnCandidate the candidates trickle out through it
// and the offer returns at once; without, Offer waits (bounded by ctx)
// until gathering is complete and the SDP carries every candidate.
func (l *Leg) Offer(ctx context.Context) (string, error) {
	if l.isClosed() {
		return "", ErrClosed
	}
	offer, err := l.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("webrtc: create offer: %w", err)
	}
	var gathered <-chan struct{}
	if l.cfg.OnCandidate == nil {
		gathered = pion.GatheringCompletePromise(l.pc)
	}
	if err := l.pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("webrtc: set local description: %w", err)
	}
	if gathered != nil {
		select {
		case <-gathered:
		case <-ctx.Done():
			return "", fmt.Errorf("webrtc: gathering candidates: %w", context.Cause(ctx))
		}
	}
	return l.pc.LocalDescription().SDP, nil
}

// SetAnswer applies the browser's answer. It fails with ErrNoCommonCodec
// when the answer's audio section carries neither PCMU nor (when offered)
// Opus. With both accepted, Opus is used: it is the one we prefer.
func (l *Leg) SetAnswer(answerSDP string) error {
	if l.isClosed() {
		return ErrClosed
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answerSDP); err != nil {
		return fmt.Errorf("webrtc: malformed answer: %w", err)
	}
	useOpus := l.tx != nil && hasCodec(&sd, "OPUS/48000", "")
	if !useOpus && !hasCodec(&sd, "PCMU/8000", "0") {
		return ErrNoCommonCodec
	}
	if l.tx != nil {
		// Before SetRemoteDescription, which binds the sender's track to
		// the negotiated codec; until then ReplaceTrack only swaps it.
		want := l.track
		if useOpus {
			want = l.tx.track
		}
		if l.tr.Sender().Track() != want {
			if err := l.tr.Sender().ReplaceTrack(want); err != nil {
				return fmt.Errorf("webrtc: switch sender codec: %w", err)
			}
		}
		l.fwdMu.Lock()
		l.sendOpus = useOpus
		l.fwdMu.Unlock()
		codec := "pcmu"
		if useOpus {
			codec = "opus"
		}
		l.log.Info("agent leg codec", "codec", codec)
	}
	if err := l.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: answerSDP}); err != nil {
		return fmt.Errorf("webrtc: set remote description: %w", err)
	}
	l.mu.Lock()
	l.answered = true
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	for _, c := range pending {
		if err := l.pc.AddICECandidate(c); err != nil {
			l.log.Warn("early ICE candidate rejected", "err", err)
		}
	}
	return nil
}

// hasCodec reports whether an audio section accepts the codec whose
// rtpmap encoding starts with enc (upper case, "PCMU/8000"): its static
// payload type (staticPT, "" for none) in the format list without an
// rtpmap saying otherwise, or any listed type mapped to enc.
func hasCodec(sd *sdp.SessionDescription, enc, staticPT string) bool {
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		formats := make(map[string]bool, len(m.MediaName.Formats))
		for _, f := range m.MediaName.Formats {
			formats[f] = true
		}
		if staticPT != "" && formats[staticPT] {
			if e := rtpmapOf(m, staticPT); e == "" || strings.HasPrefix(strings.ToUpper(e), enc) {
				return true
			}
		}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			pt, e, ok := strings.Cut(a.Value, " ")
			if ok && formats[pt] && strings.HasPrefix(strings.ToUpper(e), enc) {
				return true
			}
		}
	}
	return false
}

func rtpmapOf(m *sdp.MediaDescription, pt string) string {
	for _, a := range m.Attributes {
		if a.Key == "rtpmap" {
			if p, enc, ok := strings.Cut(a.Value, " "); ok && p == pt {
				return enc
			}
		}
	}
	return ""
}

// AddCandidate takes a browser candidate (the JSON of RTCIceCandidate or
// RTCIceCandidateInit; an empty candidate means end of candidates).
// Candidates arriving before the answer are kept and applied with it, as
// a WebSocket may deliver them in any order relative to it.
func (l *Leg) AddCandidate(candidateJSON []byte) error {
	var c pion.ICECandidateInit
	if err := json.Unmarshal(candidateJSON, &c); err != nil {
		return fmt.Errorf("webrtc: malformed candidate: %w", err)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if !l.answered {
		if len(l.pending) >= 64 {
			l.mu.Unlock()
			return errors.New("webrtc: too many candidates before the answer")
		}
		l.pending = append(l.pending, c)
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	if err := l.pc.AddICECandidate(c); err != nil {
		// A candidate racing Close finds pion's ICE agent gone: that is
		// the close, not a bad candidate.
		if l.isClosed() {
			return ErrClosed
		}
		return fmt.Errorf("webrtc: add candidate: %w", err)
	}
	return nil
}

// Attach bridges sess both ways: the caller's received audio goes to the
// browser and the browser's audio becomes the session's source. The
// source it replaces (ringback, music) is not stopped: its owner stops it.
// Attaching again (another session) moves the bridge.
func (l *Leg) Attach(sess *media.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if l.sess != nil && l.sess != sess {
		l.sess.SetForwarder(nil)
	}
	l.sess = sess
	l.jb.Reset()
	l.attached.Store(true)
	sess.SetForwarder(l)
	sess.SetSource(l.jb)
}

// Detach stops forwarding both ways. The session keeps running (the caller
// keeps their place and hears whatever the owner plays next); a source the
// owner put on the session meanwhile (music on hold) is left alone.
func (l *Leg) Detach() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.detachLocked()
}

func (l *Leg) detachLocked() {
	l.attached.Store(false)
	l.jb.Stop()
	if l.sess != nil {
		l.sess.SetForwarder(nil)
		l.sess = nil
	}
}

// Source is the agent's audio as a media.Source, to put back on the
// session after hold (music on hold replaced it). Buffered audio from
// before the swap is discarded, as it is stale.
func (l *Leg) Source() media.Source {
	l.jb.Reset()
	if !l.attached.Load() {
		l.jb.Stop()
	}
	return l.jb
}

// source tells apart the streams a leg relays to its browser, each with
// its own RTP clock.
type source uint8

const (
	fromSession source = iota + 1 // the caller's media.Session
	fromPeer                      // a patched agent leg
	fromTap                       // a monitor (the supervisor's leg)
)

// ForwardRTP implements media.Forwarder: the caller's payload goes to the
// browser. It runs on the caller session's receive goroutine, one call at
// a time; pion copies (encrypts) the packet before WriteRTP returns.
func (l *Leg) ForwardRTP(pt media.PayloadType, ts uint32, marker bool, payload []byte) {
	if !l.attached.Load() {
		return
	}
	l.send(fromSession, pt, ts, marker, payload)
}

// Patch connects this leg's browser with other's, both ways, for a
// consultation between two agents; it replaces any earlier patch of either
// leg. Audio goes browser to browser without a jitter buffer: both ends
// have their own.
func (l *Leg) Patch(other *Leg) {
	if other == nil || other == l {
		return
	}
	if old := l.peer.Swap(other); old != nil && old != other {
		old.peer.CompareAndSwap(l, nil)
	}
	if old := other.peer.Swap(l); old != nil && old != l {
		old.peer.CompareAndSwap(other, nil)
	}
}

// Unpatch ends a Patch, on both legs.
func (l *Leg) Unpatch() {
	if other := l.peer.Swap(nil); other != nil {
		other.peer.CompareAndSwap(l, nil)
	}
}

func (l *Leg) send(from source, pt media.PayloadType, ts uint32, marker bool, payload []byte) {
	// Before DTLS is up pion drops the packet anyway; skipping it here
	// keeps the counters honest. It is an atomic load.
	if l.pc.ConnectionState() != pion.PeerConnectionStateConnected {
		return
	}
	l.fwdMu.Lock()
	defer l.fwdMu.Unlock()
	if from == fromSession {
		if t := l.tap.Load(); t != nil {
			pt, payload = l.mixTapLocked(t.t, pt, ts, payload)
		}
	}
	if l.sendOpus {
		l.sendOpusLocked(from, pt, ts, marker, payload)
		return
	}
	n := min(len(payload), len(l.fwdBuf))
	// The browser took PCMU: a PCMA caller is converted byte by byte.
	media.TranscodeG711(l.fwdBuf[:n], payload[:n], pt, media.PTPCMU)
	l.writeLocked(l.track, from, media.PTPCMU, ts, uint32(n), marker, l.fwdBuf[:n])
}

// writeLocked sends one packet on track: ts is on the track's clock, in
// the source's timeline, and dur the packet's duration on that clock. It
// keeps one continuous timeline and sequence toward the browser across
// sources. Runs under fwdMu.
func (l *Leg) writeLocked(track *pion.TrackLocalStaticRTP, from source, pt media.PayloadType, ts, dur uint32, marker bool, payload []byte) {
	switch {
	case !l.fwdStarted:
		// Random bases, as RFC 3550 asks; the caller's clock base and
		// sequence space stay on the SIP side.
		l.fwdStarted = true
		l.tsOff, l.seq = rand.Uint32(), uint16(rand.Uint32())
	case from != l.fwdFrom:
		// Another stream (the consulted agent, then the caller again)
		// continues our timeline one frame on, marked as a new talkspurt,
		// so the browser's jitter buffer sees no jump of the clock.
		l.tsOff = l.lastTS + dur - ts
		marker = true
	}
	l.fwdFrom = from
	l.lastTS = ts + l.tsOff
	l.pkt.Header = rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: l.seq,
		Timestamp:      l.lastTS,
	}
	l.pkt.Payload = payload
	l.seq++
	if err := track.WriteRTP(&l.pkt); err != nil {
		l.sendErrs.Add(1)
		return
	}
	l.toPkts.Add(1)
	l.toBytes.Add(uint64(len(payload)))
}

// onTrack reads the browser's audio into the jitter buffer until the
// connection closes. pion runs it on its own goroutine per track; wg lets
// Close wait for it.
func (l *Leg) onTrack(t *pion.TrackRemote, _ *pion.RTPReceiver) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	if t.Kind() != pion.RTPCodecTypeAudio {
		return
	}
	codec := t.Codec()
	opus := l.rx != nil && strings.EqualFold(codec.MimeType, pion.MimeTypeOpus)
	var (
		buf [1500]byte
		h   rtp.Header
	)
	for {
		// Read + Header.Unmarshal instead of ReadRTP, which allocates a
		// packet per read.
		n, _, err := t.Read(buf[:])
		if err != nil {
			return
		}
		hl, err := h.Unmarshal(buf[:n])
		if err != nil || hl > n {
			continue
		}
		end := n
		if h.Padding && n > hl {
			end -= int(buf[n-1])
		}
		if end < hl {
			continue
		}
		l.fromPkts.Add(1)
		l.fromBytes.Add(uint64(end - hl))
		switch {
		case opus && h.PayloadType == uint8(codec.PayloadType):
			l.opusIn(&h, buf[hl:end])
		case h.PayloadType == media.PTPCMU:
			l.deliver(h.Timestamp, h.Marker, buf[hl:end])
		}
	}
}

// deliver hands 20 ms (or so) of the browser's µ-law audio, with its 8 kHz
// timestamp, to the attached caller and to a patched leg, which converts
// it for its own browser.
func (l *Leg) deliver(ts uint32, marker bool, ulaw []byte) {
	if l.attached.Load() {
		l.jb.Write(media.PTPCMU, ts, ulaw)
	}
	if t := l.tap.Load(); t != nil {
		t.t.FromAgent(ts, ulaw)
	}
	if f := l.onAudio.Load(); f != nil {
		(*f)(ts, ulaw)
	}
	if p := l.peer.Load(); p != nil {
		p.send(fromPeer, media.PTPCMU, ts, marker, ulaw)
	}
}

// Stats returns packet counts both ways.
func (l *Leg) Stats() Stats {
	st := Stats{
		PacketsToAgent:   l.toPkts.Load(),
		BytesToAgent:     l.toBytes.Load(),
		PacketsFromAgent: l.fromPkts.Load(),
		BytesFromAgent:   l.fromBytes.Load(),
		SendErrors:       l.sendErrs.Load(),
		Jitter:           l.jb.Stats(),
	}
	if l.rx != nil {
		st.OpusConcealed = l.rx.concealed.Load()
		st.OpusRecovered = l.rx.recovered.Load()
		st.OpusDecodeErrors = l.rx.decodeErrs.Load()
	}
	return st
}

// Codec is what the browser took for our audio: "opus" or "pcmu" (also
// before the answer).
func (l *Leg) Codec() string {
	l.fwdMu.Lock()
	defer l.fwdMu.Unlock()
	if l.sendOpus {
		return "opus"
	}
	return "pcmu"
}

// State is the current connection state.
func (l *Leg) State() State { return fromPion(l.pc.ConnectionState()) }

func (l *Leg) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Close detaches, closes the peer connection (the browser sees the DTLS
// close) and waits for the Leg's goroutines. OnState gets StateClosed.
// It is idempotent and may be called from OnState.
func (l *Leg) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.detachLocked()
	l.mu.Unlock()
	l.Unpatch()

	err := l.pc.Close()
	close(l.done)
	l.wg.Wait()
	l.freeCodecs()
	// From inside OnState the state goroutine is our caller: it exits
	// right after the callback returns, as done is closed. (A Close on
	// another goroutine during a callback skips the wait too; the
	// goroutine still ends as soon as the callback returns.)
	if !l.inState.Load() {
		<-l.stateDone
	}
	if err != nil {
		return fmt.Errorf("webrtc: close: %w", err)
	}
	return nil
}
