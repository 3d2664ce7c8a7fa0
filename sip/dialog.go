package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/google/uuid"

	sipmsg "github.com/emiago/sipgo/sip"

	"hotline/call"
	"hotline/media"
)

// dialog is one call's SIP side, inbound or outbound. Its owner is the
// goroutine that runs onInvite for an inbound call, or the one Dial starts
// for an outbound call: that goroutine answers (or places) the call, runs
// the flow, hangs up and writes the end of the CDR.
type dialog struct {
	s         *Server
	callID    string
	localTag  string
	remoteTag string
	outbound  bool
	transport string
	localIP   netip.Addr

	// Inbound: the caller's INVITE (with our To tag), its transaction, where
	// it came from and the session interval it asked for.
	invite *sipmsg.Request // with our To tag
	tx     sipmsg.ServerTransaction
	source netip.AddrPort
	se     int

	// Outbound: the answered INVITE's client transaction (owner only).
	inviteTx sipmsg.ClientTransaction

	// What requests we send inside the dialog (BYE, ACK) are built from;
	// set once the dialog exists (inbound: at the INVITE; outbound: at the
	// 200).
	local  *sipmsg.FromHeader // our side, with our tag
	remote *sipmsg.ToHeader   // the far end, with its tag once known
	target sipmsg.Uri         // the far end's Contact
	routes []string           // Route values, in the order to send them
	dest   string             // host:port the requests go to
	laddr  sipmsg.Addr        // our socket to send from (zero: sipgo picks)

	mu         sync.Mutex
	sdp        sdpBuilder
	offer      *Offer           // the far end's last SDP (offer inbound, answer outbound)
	ok         *sipmsg.Response // our 200, resent until ACKed
	localCSeq  uint32
	remoteCSeq uint32

	// ansMu orders answering an inbound call (Answer, from any goroutine)
	// against refusing it (the owner, once the flow gave up); final is the
	// final response sent, 0 until then.
	ansMu sync.Mutex
	final int
	// answered is closed once an answered call's media and records are
	// set up (Answer does that outside ansMu, since the state watchers it
	// runs may call Answer or Ring themselves).
	answered chan struct{}

	ackOnce     sync.Once
	ackCh       chan struct{}
	byeReceived atomic.Bool
	lateOffer   bool

	sess *media.Session
	call *call.Call
}

func (s *Server) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.countRequest(req.Method)
	to := req.To()
	if to == nil || req.CallID() == nil || req.From() == nil || req.CSeq() == nil {
		s.respond(tx, req, 400, "Bad Request (missing To, From, Call-ID or CSeq)")
		return
	}
	if _, has := to.Params.Get("tag"); has {
		d := s.findDialog(req)
		if d == nil {
			s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
			return
		}
		d.modify(req, tx)
		return
	}
	fromTag, _ := req.From().Params.Get("tag")
	earlyKey := dialogKey(req.CallID().Value(), fromTag)
	s.mu.Lock()
	_, dup := s.early[earlyKey]
	s.mu.Unlock()
	if dup {
		// A retransmission that outlived its transaction: the dialog
		// already answered it.
		return
	}
	s.newCall(req, tx, earlyKey)
}

// refuse answers an INVITE with a failure and writes nothing else: calls
// refused before routing have no tenant to own a CDR.
func (s *Server) refuse(tx sipmsg.ServerTransaction, req *sipmsg.Request, c *call.Cause, hdrs ...sipmsg.Header) {
	s.respond(tx, req, c.SIPCode, c.Reason, hdrs...)
}

func (s *Server) newCall(req *sipmsg.Request, tx sipmsg.ServerTransaction, earlyKey string) {
	src, err := sourceAddr(req)
	if err != nil {
		s.refuse(tx, req, call.CauseBadRequest.With("Bad Request (source address)"))
		return
	}
	if h := req.GetHeader("Require"); h != nil {
		if unsupported := unsupportedOptions(h.Value()); unsupported != "" {
			s.respond(tx, req, 420, "Bad Extension", sipmsg.NewHeader("Unsupported", unsupported))
			return
		}
	}
	// Refuse early and cheaply under load: before routing, before media.
	if s.cfg.MaxCalls > 0 && s.active.Load() >= int64(s.cfg.MaxCalls) || !s.bucket.take() {
		s.refuse(tx, req, call.CauseOverload, sipmsg.NewHeader("Retry-After", "5"))
		return
	}
	route, err := s.router.Route(src.Addr(), didOf(req))
	if err != nil {
		c := call.CauseOf(err)
		s.refuse(tx, req, c)
		s.log.Info("call refused", "call_id", req.CallID().Value(), "from", src.String(), "did", didOf(req), "cause", c.Name, "reason", c.Reason)
		return
	}
	var offer *Offer
	if body := req.Body(); len(body) > 0 {
		if ct := req.ContentType(); ct != nil && !strings.HasPrefix(strings.ToLower(ct.Value()), "application/sdp") {
			s.respond(tx, req, 415, "Unsupported Media Type", sipmsg.NewHeader("Accept", "application/sdp"))
			return
		}
		offer, err = parseOffer(body)
		switch {
		case errors.Is(err, errNoCodec):
			s.refuse(tx, req, call.CauseNoCodec.With("Not Acceptable Here (offer PCMU or PCMA)"))
			return
		case err != nil:
			s.refuse(tx, req, call.CauseBadRequest.With("Bad Request (malformed SDP)"))
			return
		}
	}
	se, seErr := sessionExpires(req)
	if seErr != nil {
		s.refuse(tx, req, call.CauseBadRequest.With("Bad Request (Session-Expires)"))
		return
	}
	if se > 0 && se < s.cfg.MinSE {
		s.respond(tx, req, 422, "Session Interval Too Small", sipmsg.NewHeader("Min-SE", strconv.Itoa(s.cfg.MinSE)))
		return
	}

	// The call is ours from here: say so before the media setup, so the
	// trunk stops retransmitting even if answering takes a while.
	s.respond(tx, req, 100, "Trying")
	callUUID := uuid.New()
	d := &dialog{
		s:         s,
		callID:    req.CallID().Value(),
		localTag:  sipmsg.GenerateTagN(16),
		tx:        tx,
		source:    src,
		transport: req.Transport(),
		offer:     offer,
		se:        se,
		ackCh:     make(chan struct{}),
		answered:  make(chan struct{}),
		lateOffer: offer == nil,
	}
	d.remoteTag, _ = req.From().Params.Get("tag")
	d.remoteCSeq = req.CSeq().SeqNo
	d.localCSeq = randUint32() & 0x7fff
	d.sdp.sessID = uint64(randUint32())
	d.localIP = s.localIPFor(src.Addr())
	inv := req.Clone()
	inv.To().Params.Add("tag", d.localTag)
	d.invite = inv
	local := inv.To().AsFrom()
	remote := inv.From().AsTo()
	d.local, d.remote = &local, &remote
	d.target = *inv.From().Address.Clone()
	if ct := inv.Contact(); ct != nil {
		d.target = *ct.Address.Clone()
	}
	for _, rr := range inv.GetHeaders("Record-Route") {
		d.routes = append(d.routes, rr.Value())
	}
	// Symmetric signalling: the caller's source is reachable even when its
	// Contact holds a private address.
	d.dest = src.String()

	sess, err := s.media.NewSession(media.SessionConfig{
		CallID: callUUID.String(),
		// Tone detection costs 40x the rest of the receive path; a caller
		// that negotiated telephone-event sends its keys that way.
		InbandDTMF: route.InbandDTMF && (offer == nil || offer.DTMFPT == 0),
		OnTimeout: func(reason string) {
			if c := d.call; c != nil {
				c.Hangup(call.CauseRTPTimeout)
			}
		},
	})
	if err != nil {
		s.refuse(tx, req, call.CauseNoMediaPorts)
		s.log.Warn("no media session", "error", err)
		return
	}
	d.sess = sess
	codec := ""
	if offer != nil {
		codec = offer.CodecName
	}
	info := call.Info{
		ID:         callUUID.String(),
		TenantID:   route.TenantID,
		Flow:       route.Flow,
		From:       req.From().Address.User,
		FromURI:    req.From().Address.String(),
		To:         didOf(req),
		SIPCallID:  d.callID,
		SourceAddr: src.String(),
		Codec:      codec,
		Started:    time.Now(),
	}
	// Calls are not children of the server's context: shutdown hangs each
	// up with its own cause (hangupAll) so CDRs and BYEs say "shutdown".
	c := call.New(context.Background(), info, call.Config{
		Media:   sess,
		Prompts: route.Prompts,
		Music:   route.Music,
		Events:  s.rec,
		Leg:     d,
	})
	d.call = c

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		sess.Close()
		s.refuse(tx, req, call.CauseShutdown)
		return
	}
	s.active.Add(1)
	s.calls.Add(1)
	defer s.calls.Done()
	defer s.active.Add(-1)
	s.dialogs[dialogKey(d.callID, d.localTag)] = d
	s.early[earlyKey] = d
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.dialogs, dialogKey(d.callID, d.localTag))
		delete(s.early, earlyKey)
		s.mu.Unlock()
	}()

	s.rec.CallStarted(info)
	log := s.log.With("call", info.ID, "tenant", info.TenantID, "sip_call_id", d.callID)
	// The caller can CANCEL until we answer; the transaction layer answers
	// 487 itself, we end the call.
	// sipgo keeps a finished INVITE transaction (and so this callback) for
	// Timer L, 32 s: the callback must not keep the whole call alive that
	// long, or memory follows the call rate.
	var cancelTarget atomic.Pointer[call.Call]
	cancelTarget.Store(c)
	defer cancelTarget.Store(nil)
	tx.OnCancel(func(*sipmsg.Request) {
		if c := cancelTarget.Load(); c != nil {
			c.Hangup(call.CauseCancelled)
		}
	})

	if route.DeferAnswer {
		// The flow answers (or rings, or refuses) through the call's Leg
		// when it chooses; the caller hears nothing until then.
		route.Run(c)
	} else if d.ringThenAnswer(route.AnswerDelay) == nil {
		route.Run(c)
	}
	// The flow ended by itself (hangup step, end of flow): we hang up.
	c.Hangup(call.CauseNormal)
	cause := c.Cause()
	code := d.finish(cause)
	if code == 200 && cause.Side != call.SideCaller {
		d.sendBye(cause)
	}
	stats := sess.Stats()
	sess.Close()
	s.rec.CallEnded(c, End{At: time.Now(), Cause: cause, SIPCode: code, Stats: stats})
	log.Info("call ended", "cause", cause.Name, "side", cause.Side, "code", code, "rx", stats.PacketsReceived, "tx", stats.PacketsSent, "lost", stats.PacketsLost, "jitter_ms", stats.JitterMs)
}

// ringThenAnswer is the answer of a route that does not defer it: 180,
// AnswerDelay of ringing, then 200. It returns nil once answered.
func (d *dialog) ringThenAnswer(delay time.Duration) error {
	if err := d.Ring(); err != nil {
		return err
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-d.call.Done():
			t.Stop()
			return d.call.Cause()
		}
	}
	return d.Answer()
}

// errCallEnded is Answer's and Ring's error once the call was refused.
var errCallEnded = errors.New("sip: call already ended")

// Ring sends 180 Ringing to an unanswered inbound caller (call.Leg). The
// call stays in state Ring, as Asterisk keeps an inbound channel. On an
// outbound call it does nothing.
func (d *dialog) Ring() error {
	if d.outbound {
		return nil
	}
	d.ansMu.Lock()
	defer d.ansMu.Unlock()
	switch {
	case d.final == 200:
		return nil
	case d.final != 0:
		return errCallEnded
	}
	if c := d.call.Cause(); c != nil {
		return c
	}
	ringing := sipmsg.NewResponseFromRequest(d.invite, 180, "Ringing", nil)
	d.addContact(ringing)
	d.s.send(d.tx, ringing)
	return nil
}

// Answer answers an inbound call (call.Leg): 200 with our SDP, then the
// media starts and a goroutine waits for the ACK. It may be called from any
// goroutine, concurrently with the flow and a CANCEL; the first call
// answers, later ones return nil. On an outbound call it does nothing.
func (d *dialog) Answer() error {
	if d.outbound {
		return nil
	}
	sent, err := d.sendOK()
	if !sent {
		if err == nil {
			// Answered by an earlier call: return once it is set up. (A
			// state watcher that answers again from inside MarkAnswered
			// never gets here: the call is Up for it already.)
			<-d.answered
		}
		return err
	}
	s, c := d.s, d.call
	defer close(d.answered)
	now := time.Now()
	c.MarkAnswered(now)
	s.rec.CallAnswered(c.ID, now)
	d.mu.Lock()
	offer := d.offer
	d.mu.Unlock()
	if offer != nil {
		d.sess.SetRemote(remoteOf(offer))
	}
	d.sess.Start()
	go d.awaitAck()
	s.log.Info("call answered", "call", c.ID, "tenant", c.TenantID, "sip_call_id", d.callID, "from", c.From, "did", c.To, "codec", c.Codec)
	return nil
}

// sendOK sends our 200 unless the call is answered or over already, and
// sets final. sent says whether this call sent it (its caller then sets
// the answered call up).
func (d *dialog) sendOK() (sent bool, err error) {
	d.ansMu.Lock()
	defer d.ansMu.Unlock()
	switch {
	case d.final == 200:
		return false, nil
	case d.final != 0:
		return false, errCallEnded
	}
	if c := d.call.Cause(); c != nil {
		return false, c
	}
	s := d.s
	var body []byte
	d.mu.Lock()
	if d.offer != nil {
		body = d.sdp.answer(d.localIP, d.sess.LocalPort(), d.offer)
	} else {
		body = d.sdp.offer(d.localIP, d.sess.LocalPort())
	}
	d.mu.Unlock()
	res := sipmsg.NewResponseFromRequest(d.invite, 200, "OK", body)
	res.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	d.addContact(res)
	res.AppendHeader(sipmsg.NewHeader("Allow", allowMethods))
	res.AppendHeader(sipmsg.NewHeader("Supported", "timer"))
	if d.se > 0 {
		// The caller refreshes; we only tolerate the timer (RTP timeout
		// catches a dead peer anyway).
		res.AppendHeader(sipmsg.NewHeader("Session-Expires", strconv.Itoa(d.se)+";refresher=uac"))
		if supportsTimer(d.invite) {
			res.AppendHeader(sipmsg.NewHeader("Require", "timer"))
		}
	}
	d.mu.Lock()
	d.ok = res
	d.mu.Unlock()
	if err := d.tx.Respond(res); err != nil {
		// The transaction ended under us: the caller cancelled.
		d.call.Hangup(call.CauseCancelled)
		d.final = 487
		return false, d.call.Cause()
	}
	d.final = 200
	s.metrics.Responses[200].Add(1)
	return true, nil
}

// finish settles an inbound call that ended with cause: it returns the
// final response the caller got (200 when answered), refusing it now if it
// was never answered.
func (d *dialog) finish(cause *call.Cause) int {
	d.ansMu.Lock()
	if d.final == 0 {
		d.final = d.refuse(cause)
	}
	code := d.final
	d.ansMu.Unlock()
	if code == 200 {
		// Answer may still be setting the call up: let it finish
		// before the media closes and the CDR ends.
		<-d.answered
	}
	return code
}

// refuse ends an unanswered call with the failure response its cause
// maps to. A CANCEL was answered 487 by the transaction layer.
func (d *dialog) refuse(c *call.Cause) int {
	if c == call.CauseCancelled {
		return 487
	}
	code, reason := finalResponse(c)
	d.s.respond(d.tx, d.invite, code, reason)
	return code
}

func (d *dialog) addContact(res *sipmsg.Response) {
	res.AppendHeader(d.contact())
}

// contact is our Contact: where the far end sends requests in the dialog.
func (d *dialog) contact() *sipmsg.ContactHeader {
	u := sipmsg.Uri{Scheme: "sip", User: "hotline", Host: d.hostString(), Port: d.s.listenPort()}
	if d.transport != "" && !strings.EqualFold(d.transport, "udp") {
		u.UriParams = sipmsg.HeaderParams{}
		u.UriParams.Add("transport", strings.ToLower(d.transport))
	}
	return &sipmsg.ContactHeader{Address: u}
}

// hostString is our address as a URI host (IPv6 in brackets).
func (d *dialog) hostString() string {
	if d.localIP.Is6() && !d.localIP.Is4In6() {
		return "[" + d.localIP.String() + "]"
	}
	return d.localIP.Unmap().String()
}

// awaitAck resends our 200 until the ACK comes (RFC 3261 13.3.1.4: T1
// doubling to T2 on unreliable transports) and ends the call when it never
// does. It lives only for that wait, and releases the INVITE transaction
// once acknowledged so finished transactions do not pile up in memory.
func (d *dialog) awaitAck() {
	reliable := sipmsg.IsReliable(d.transport)
	interval := sipmsg.T1
	retrans := time.NewTimer(interval)
	defer retrans.Stop()
	deadline := time.NewTimer(64 * sipmsg.T1)
	defer deadline.Stop()
	acks := d.tx.Acks()
	for {
		select {
		case <-d.ackCh:
			d.tx.Terminate()
			return
		case req := <-acks:
			d.acked(req)
			d.tx.Terminate()
			return
		case <-retrans.C:
			if !reliable {
				d.mu.Lock()
				ok := d.ok
				d.mu.Unlock()
				_ = d.tx.Respond(ok)
				interval = min(2*interval, sipmsg.T2)
			}
			retrans.Reset(interval)
		case <-deadline.C:
			d.call.Hangup(call.CauseACKTimeout)
			return
		case <-d.call.Done():
			if d.byeReceived.Load() {
				d.tx.Terminate()
			}
			return
		}
	}
}

func (d *dialog) markAcked() {
	d.ackOnce.Do(func() { close(d.ackCh) })
}

// acked takes an ACK; with a late offer it carries the caller's answer.
func (d *dialog) acked(req *sipmsg.Request) {
	if d.lateOffer && len(req.Body()) > 0 {
		if o, err := parseOffer(req.Body()); err == nil {
			d.mu.Lock()
			d.offer = o
			d.lateOffer = false
			d.mu.Unlock()
			d.sess.SetRemote(remoteOf(o))
		}
	}
	d.markAcked()
}

// modify handles a re-INVITE or UPDATE: hold/unhold, a new address or
// codec, or a session refresh without SDP.
func (d *dialog) modify(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s := d.s
	cseq := req.CSeq().SeqNo
	d.mu.Lock()
	if cseq <= d.remoteCSeq {
		d.mu.Unlock()
		s.respond(tx, req, 500, "Server Internal Error (CSeq out of order)", sipmsg.NewHeader("Retry-After", "1"))
		return
	}
	d.remoteCSeq = cseq
	var body []byte
	if b := req.Body(); len(b) > 0 {
		o, err := parseOffer(b)
		if err != nil {
			d.mu.Unlock()
			if errors.Is(err, errNoCodec) {
				s.respond(tx, req, 488, "Not Acceptable Here")
			} else {
				s.respond(tx, req, 400, "Bad Request (malformed SDP)")
			}
			return
		}
		d.offer = o
		body = d.sdp.answer(d.localIP, d.sess.LocalPort(), o)
	} else if d.offer != nil {
		// An offerless re-INVITE asks for our offer (RFC 3261 14.2).
		body = d.sdp.answer(d.localIP, d.sess.LocalPort(), d.offer)
	}
	o := d.offer
	d.mu.Unlock()
	if o != nil {
		d.sess.SetRemote(remoteOf(o))
		held := o.Direction == "sendonly" || o.Direction == "inactive"
		d.call.Event("hold", "", map[string]string{"held": strconv.FormatBool(held), "method": string(req.Method)})
	}
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", body)
	if body != nil {
		res.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	}
	d.addContact(res)
	if se, err := sessionExpires(req); err == nil && se > 0 {
		res.AppendHeader(sipmsg.NewHeader("Session-Expires", strconv.Itoa(se)+";refresher=uac"))
	}
	s.send(tx, res)
}

// request builds a request inside the dialog from our side (BYE, ACK,
// re-INVITE): to the far end's target, along the route set, with a new
// CSeq unless seq is given (an ACK repeats the INVITE's).
func (d *dialog) request(method sipmsg.RequestMethod, seq uint32) *sipmsg.Request {
	req := sipmsg.NewRequest(method, *d.target.Clone())
	req.AppendHeader(sipmsg.HeaderClone(d.local))
	req.AppendHeader(sipmsg.HeaderClone(d.remote))
	cid := sipmsg.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	if seq == 0 {
		d.mu.Lock()
		d.localCSeq++
		seq = d.localCSeq
		d.mu.Unlock()
	}
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range d.routes {
		req.AppendHeader(sipmsg.NewHeader("Route", r))
	}
	req.SetTransport(d.transport)
	req.SetDestination(d.dest)
	if d.outbound {
		// Our own Via (the address the far end can reach, not the
		// listener's wildcard), sent from the listening socket.
		req.PrependHeader(d.via())
		if d.laddr.IP != nil {
			d.laddr.Copy(&req.Laddr)
		}
	}
	return req
}

// via is a new top Via for a request we originate in an outbound dialog.
func (d *dialog) via() *sipmsg.ViaHeader {
	v := &sipmsg.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       strings.ToUpper(d.transport),
		Host:            d.hostString(),
		Port:            d.s.listenPort(),
	}
	v.Params.Add("branch", sipmsg.GenerateBranchN(16))
	v.Params.Add("rport", "")
	return v
}

// sendBye ends an answered call from our side.
func (d *dialog) sendBye(cause *call.Cause) {
	bye := d.request(sipmsg.BYE, 0)
	bye.AppendHeader(sipmsg.NewHeader("Reason", fmt.Sprintf("Q.850;cause=%d;text=%q", cause.Q850, cause.Name)))
	bye.SetBody(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	opt := sipgo.ClientRequestAddVia
	if d.outbound {
		opt = sipgo.ClientRequestBuild // request added our Via
	}
	if _, err := d.s.transact(ctx, bye, opt); err != nil {
		d.s.log.Debug("bye failed", "call_id", d.callID, "error", err)
	}
}

// transact sends a non-INVITE request (BYE, CANCEL) and waits for its
// final response.
func (s *Server) transact(ctx context.Context, req *sipmsg.Request, opt sipgo.ClientRequestOption) (*sipmsg.Response, error) {
	tx, err := s.client.TransactionRequest(ctx, req, opt)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func remoteOf(o *Offer) media.Remote {
	return media.Remote{
		Addr:     o.Addr,
		Codec:    o.Codec,
		DTMFPT:   o.DTMFPT,
		RTCPMux:  o.RTCPMux,
		SendOnly: o.Direction == "sendonly",
		Inactive: o.Direction == "inactive",
	}
}

// Option tags we implement; a Require naming anything else gets 420.
var supportedOptions = map[string]bool{"timer": true}

func unsupportedOptions(v string) string {
	var bad []string
	for _, opt := range strings.Split(v, ",") {
		opt = strings.TrimSpace(opt)
		if opt != "" && !supportedOptions[strings.ToLower(opt)] {
			bad = append(bad, opt)
		}
	}
	return strings.Join(bad, ", ")
}

func supportsTimer(req *sipmsg.Request) bool {
	for _, h := range req.GetHeaders("Supported") {
		for _, opt := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(opt), "timer") {
				return true
			}
		}
	}
	return false
}

// sessionExpires reads Session-Expires (or its compact form x); 0 if absent.
func sessionExpires(req *sipmsg.Request) (int, error) {
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x")
	}
	if h == nil {
		return 0, nil
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("session-expires %q", h.Value())
	}
	return n, nil
}

func randUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}
