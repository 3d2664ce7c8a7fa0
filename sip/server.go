// Package sip is Hotline's SIP front: it accepts calls from carriers' trunks
// (sipgo underneath), negotiates media, keeps dialogs, and hands each
// answered call to the application as a call.Call. Nothing above this
// package sees SIP messages.
package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"hotline/call"
	"hotline/media"
)

// Config holds the SIP settings of one server.
type Config struct {
	Listen     string     // host:port for UDP and TCP
	ExternalIP netip.Addr // written in Contact and SDP when set (NAT)
	UserAgent  string
	MaxCalls   int // concurrent calls; beyond: 503
	MaxCPS     int // new calls per second; beyond: 503
	// MinSE is the smallest Session-Expires accepted (RFC 4028); smaller
	// gets 422.
	MinSE int
	// ShutdownTimeout bounds how long Serve waits for calls to end.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

// Route is where a new call goes, as decided by the Router.
type Route struct {
	TenantID string
	Flow     string
	Prompts  call.Prompts
	Music    *media.Prompt
	// InbandDTMF turns on tone detection in the caller's audio, for
	// gateways that do not send RFC 4733 events.
	InbandDTMF bool
	// AnswerDelay rings this long before answering.
	AnswerDelay time.Duration
	// DeferAnswer leaves answering to Run (through call.Call.Answer, and
	// Ring for a 180), as an ARI application does: Run starts at once and
	// the caller hears nothing until then. A call Run leaves unanswered is
	// refused with its hangup cause's SIP code, or for a cause without one
	// the response Asterisk's chan_pjsip maps its Q.850 code to (603
	// Decline for normal clearing).
	DeferAnswer bool
	// Run runs the call's flow; the server hangs up when it returns.
	Run func(c *call.Call)
}

// Router picks the tenant and flow for a call. A refusal is a *call.Cause.
type Router interface {
	Route(src netip.Addr, did string) (*Route, error)
}

// Recorder keeps the call detail records and timelines.
type Recorder interface {
	call.EventSink
	CallStarted(info call.Info)
	CallAnswered(id string, at time.Time)
	CallEnded(c *call.Call, end End)
}

// End is how a call finished.
type End struct {
	At      time.Time
	Cause   *call.Cause
	SIPCode int // final response code sent (200 when answered)
	Stats   media.Stats
}

// MediaEngine makes RTP sessions.
type MediaEngine interface {
	NewSession(sc media.SessionConfig) (*media.Session, error)
}

// Server is a SIP user agent for trunk calls: it takes inbound calls and
// places outbound ones (Dial).
type Server struct {
	cfg    Config
	log    *slog.Logger
	router Router
	rec    Recorder
	media  MediaEngine

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	mu      sync.Mutex
	closing bool               // shutting down: no new calls
	dialogs map[string]*dialog // by Call-ID + local tag (our To tag inbound, our From tag outbound: the To tag of the far end's requests either way)
	early   map[string]*dialog // by Call-ID + remote tag: catches INVITE retransmissions that outlive their transaction

	active  atomic.Int64
	bucket  *tokenBucket
	metrics Metrics

	localIPs sync.Map    // remote IP string -> local netip.Addr used to reach it
	udpLaddr sipmsg.Addr // the UDP listener's address: outbound requests leave from it (set before ready)

	calls   sync.WaitGroup
	ready   chan struct{}
	readyMu sync.Once
}

// Metrics are counters the web layer exports.
type Metrics struct {
	Responses [700]atomic.Uint64 // by status code
	Requests  sync.Map           // method -> *atomic.Uint64
}

var raiseUDPLimit sync.Once

// New makes a server; Serve starts it.
func New(cfg Config, router Router, rec Recorder, eng MediaEngine) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Hotline"
	}
	if cfg.MinSE == 0 {
		cfg.MinSE = 90
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		router:  router,
		rec:     rec,
		media:   eng,
		dialogs: make(map[string]*dialog),
		early:   make(map[string]*dialog),
		bucket:  newTokenBucket(cfg.MaxCPS),
		ready:   make(chan struct{}),
	}
	// sipgo refuses to send a UDP message over UDPMTUSize-200 bytes and has
	// no TCP fallback, so the answer to a request with long Via or
	// Record-Route sets (RFC 4475 longreq), or a 200 with SDP behind them,
	// would be lost. RFC 3261 18.2.2 sets no such limit on responses. It is
	// a sipgo package variable; every server wants the same value, set once
	// before any server runs.
	raiseUDPLimit.Do(func() { sipmsg.UDPMTUSize = 65535 })
	// sipgo logs every unparseable datagram with its bytes at error level:
	// garbage on the port would flood the log, so it only gets warnings.
	sipLog := cfg.Logger.With("component", "sipgo")
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerReadFilter(s.readFilter)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	s.ua = ua
	s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(quietLogger(sipLog)))
	if err != nil {
		return nil, fmt.Errorf("sip server: %w", err)
	}
	s.client, err = sipgo.NewClient(ua, sipgo.WithClientLogger(quietLogger(sipLog)))
	if err != nil {
		return nil, fmt.Errorf("sip client: %w", err)
	}
	s.srv.OnInvite(s.onInvite)
	s.srv.OnAck(s.onAck)
	s.srv.OnBye(s.onBye)
	s.srv.OnCancel(s.onCancel)
	s.srv.OnOptions(s.onOptions)
	s.srv.OnUpdate(s.onUpdate)
	s.srv.OnInfo(s.onInfo)
	s.srv.OnNoRoute(s.onNoRoute)
	return s, nil
}

// quietLogger drops sipgo's per-message error logs to warnings: they name
// bad input, which we count, not faults of ours.
func quietLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelCap{l.Handler()})
}

type levelCap struct{ slog.Handler }

func (h levelCap) Enabled(ctx context.Context, lv slog.Level) bool {
	if lv > slog.LevelWarn {
		lv = slog.LevelWarn
	}
	return h.Handler.Enabled(ctx, lv)
}

func (h levelCap) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelWarn {
		r.Level = slog.LevelWarn
	}
	return h.Handler.Handle(ctx, r)
}

func (h levelCap) WithAttrs(a []slog.Attr) slog.Handler { return levelCap{h.Handler.WithAttrs(a)} }
func (h levelCap) WithGroup(n string) slog.Handler      { return levelCap{h.Handler.WithGroup(n)} }

// Serve listens on UDP and TCP until ctx is done, then ends every call.
func (s *Server) Serve(ctx context.Context) error {
	udp, err := net.ListenPacket("udp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("sip listen udp %s: %w", s.cfg.Listen, err)
	}
	tcp, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		udp.Close()
		return fmt.Errorf("sip listen tcp %s: %w", s.cfg.Listen, err)
	}
	if uc, ok := udp.(*net.UDPConn); ok {
		// Bursts of INVITEs at thousands per second overflow the default
		// socket buffer long before the CPU is busy.
		_ = uc.SetReadBuffer(4 << 20)
		_ = uc.SetWriteBuffer(4 << 20)
	}
	if ua, ok := udp.LocalAddr().(*net.UDPAddr); ok {
		s.udpLaddr = sipmsg.Addr{IP: ua.IP, Port: ua.Port}
	}
	s.log.Info("sip listening", "udp", udp.LocalAddr().String(), "tcp", tcp.Addr().String())
	errc := make(chan error, 2)
	go func() { errc <- s.srv.ServeUDP(udp) }()
	go func() { errc <- s.srv.ServeTCP(tcp) }()
	s.readyMu.Do(func() { close(s.ready) })
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	// Calls end while the sockets are still open, so their BYEs go out and
	// the answers come back; new INVITEs meanwhile get 503.
	s.hangupAll(call.CauseShutdown)
	waited := make(chan struct{})
	go func() { s.calls.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(s.cfg.ShutdownTimeout):
		s.log.Warn("calls still ending at shutdown", "calls", s.active.Load())
	}
	udp.Close()
	tcp.Close()
	s.ua.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("sip serve: %w", err)
	}
	return nil
}

// hangupAll ends every call and refuses new ones from now on.
func (s *Server) hangupAll(cause *call.Cause) {
	s.mu.Lock()
	s.closing = true
	ds := make([]*dialog, 0, len(s.dialogs))
	for _, d := range s.dialogs {
		ds = append(ds, d)
	}
	s.mu.Unlock()
	for _, d := range ds {
		d.call.Hangup(cause)
	}
}

// Ready is closed once the listeners are up.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// ActiveCalls is the number of calls in progress.
func (s *Server) ActiveCalls() int64 { return s.active.Load() }

// SIPMetrics exposes response counters.
func (s *Server) SIPMetrics() *Metrics { return &s.metrics }

func (s *Server) countRequest(m sipmsg.RequestMethod) {
	v, ok := s.metrics.Requests.Load(string(m))
	if !ok {
		v, _ = s.metrics.Requests.LoadOrStore(string(m), new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(1)
}

func (s *Server) respond(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	s.send(tx, res)
}

func (s *Server) send(tx sipmsg.ServerTransaction, res *sipmsg.Response) {
	if res.GetHeader("Server") == nil {
		res.AppendHeader(sipmsg.NewHeader("Server", s.cfg.UserAgent))
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip respond failed", "code", res.StatusCode, "error", err)
		return
	}
	if res.StatusCode > 0 && res.StatusCode < len(s.metrics.Responses) {
		s.metrics.Responses[res.StatusCode].Add(1)
	}
}

const allowMethods = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO"

func (s *Server) onOptions(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.countRequest(req.Method)
	s.respond(tx, req, 200, "OK",
		sipmsg.NewHeader("Allow", allowMethods),
		sipmsg.NewHeader("Accept", "application/sdp"),
		sipmsg.NewHeader("Supported", "timer"),
	)
}

// onNoRoute answers methods we do not serve: 405 for the ones SIP defines
// (with Allow, so the sender learns what works), 501 for unknown ones.
func (s *Server) onNoRoute(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.countRequest(req.Method)
	switch req.Method {
	case sipmsg.REGISTER, sipmsg.SUBSCRIBE, sipmsg.NOTIFY, sipmsg.REFER, sipmsg.MESSAGE, sipmsg.PRACK, sipmsg.PUBLISH:
		s.respond(tx, req, 405, "Method Not Allowed", sipmsg.NewHeader("Allow", allowMethods))
	default:
		s.respond(tx, req, 501, "Not Implemented", sipmsg.NewHeader("Allow", allowMethods))
	}
}

func (s *Server) onCancel(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	// A CANCEL that matched an INVITE was answered by the transaction layer;
	// one that reaches us matched nothing.
	s.countRequest(req.Method)
	s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) onInfo(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.countRequest(req.Method)
	d := s.findDialog(req)
	if d == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	s.respond(tx, req, 200, "OK")
}

func (s *Server) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if d := s.findDialog(req); d != nil {
		d.acked(req)
	}
}

func (s *Server) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.countRequest(req.Method)
	d := s.findDialog(req)
	if d == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	s.respond(tx, req, 200, "OK")
	d.byeReceived.Store(true)
	// A BYE that beats the ACK still ends the call cleanly: the ACK wait
	// stops with the call.
	d.markAcked()
	if d.outbound {
		d.call.Hangup(call.CauseRemoteHangup)
		return
	}
	d.call.Hangup(call.CauseCallerHangup)
}

func (s *Server) onUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.countRequest(req.Method)
	d := s.findDialog(req)
	if d == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	d.modify(req, tx)
}

func dialogKey(callID, tag string) string { return callID + "\x00" + tag }

func (s *Server) findDialog(req *sipmsg.Request) *dialog {
	cid, to := req.CallID(), req.To()
	if cid == nil || to == nil {
		return nil
	}
	tag, _ := to.Params.Get("tag")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialogs[dialogKey(cid.Value(), tag)]
}

// localIPFor is the address we put in SDP/Contact for a peer: the external
// address when configured, else the local address of the route to the peer
// (so a multi-homed host answers with an address the caller can reach).
func (s *Server) localIPFor(remote netip.Addr) netip.Addr {
	if s.cfg.ExternalIP.IsValid() {
		return s.cfg.ExternalIP
	}
	if host, _, err := net.SplitHostPort(s.cfg.Listen); err == nil && host != "" {
		if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
			return a
		}
	}
	key := remote.String()
	if v, ok := s.localIPs.Load(key); ok {
		return v.(netip.Addr)
	}
	local := netip.MustParseAddr("127.0.0.1")
	if c, err := net.Dial("udp", netip.AddrPortFrom(remote, 9).String()); err == nil {
		if ua, ok := c.LocalAddr().(*net.UDPAddr); ok {
			if a, ok := netip.AddrFromSlice(ua.IP); ok {
				local = a.Unmap()
			}
		}
		c.Close()
	}
	s.localIPs.Store(key, local)
	return local
}

func (s *Server) listenPort() int {
	_, p, err := net.SplitHostPort(s.cfg.Listen)
	if err != nil {
		return 5060
	}
	n, err := strconv.Atoi(p)
	if err != nil || n == 0 {
		return 5060
	}
	return n
}

// tokenBucket limits the call setup rate. Refilled from the clock on use,
// so it needs no goroutine.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(perSecond int) *tokenBucket {
	if perSecond <= 0 {
		return nil
	}
	return &tokenBucket{rate: float64(perSecond), burst: float64(perSecond) / 4, tokens: float64(perSecond) / 4, last: time.Now()}
}

func (b *tokenBucket) take() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens += now.Sub(b.last).Seconds() * b.rate
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// didOf is the dialled number: the Request-URI user part, else the To user.
func didOf(req *sipmsg.Request) string {
	u := req.Recipient.User
	if u == "" {
		if to := req.To(); to != nil {
			u = to.Address.User
		}
	}
	// Trunks append parameters to the user part (";npdi", ";rn=").
	u, _, _ = strings.Cut(u, ";")
	return u
}

func sourceAddr(req *sipmsg.Request) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("source %q: %w", req.Source(), err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
