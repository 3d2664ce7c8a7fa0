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

// dialog is one inbound call's SIP side. Its owner is the goroutine that
// runs onInvite for it: that goroutine answers, runs the flow, hangs up and
// writes the end of the CDR.
type dialog struct {
	s         *Server
	callID    string
	localTag  string
	remoteTag string
	invite    *sipmsg.Request // with our To tag
	tx        sipmsg.ServerTransaction
	source    netip.AddrPort
	transport string
	localIP   netip.Addr

	mu         sync.Mutex
	sdp        sdpBuilder
	offer      *Offer
	ok         *sipmsg.Response // our 200, resent until ACKed
	localCSeq  uint32
	remoteCSeq uint32

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
		ackCh:     make(chan struct{}),
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

	code := d.answer(route.AnswerDelay, se)
	if code == 200 {
		now := time.Now()
		c.MarkAnswered(now)
		s.rec.CallAnswered(info.ID, now)
		if offer != nil {
			sess.SetRemote(remoteOf(offer))
		}
		sess.Start()
		go d.awaitAck()
		log.Info("call answered", "from", info.From, "did", info.To, "codec", codec)
		route.Run(c)
		// The flow ended by itself (hangup step, end of flow): we hang up.
		c.Hangup(call.CauseNormal)
	}
	cause := c.Cause()
	if code == 200 && cause.Side != call.SideCaller {
		d.sendBye(cause)
	}
	stats := sess.Stats()
	sess.Close()
	if code != 200 {
		cause = call.CauseOf(context.Cause(c.Context()))
	}
	s.rec.CallEnded(c, End{At: time.Now(), Cause: cause, SIPCode: code, Stats: stats})
	log.Info("call ended", "cause", cause.Name, "side", cause.Side, "rx", stats.PacketsReceived, "tx", stats.PacketsSent, "lost", stats.PacketsLost, "jitter_ms", stats.JitterMs)
}

// answer rings for delay, then sends 200 with our SDP. It returns the final
// status the caller got.
func (d *dialog) answer(delay time.Duration, se int) int {
	s := d.s
	ringing := sipmsg.NewResponseFromRequest(d.invite, 180, "Ringing", nil)
	d.addContact(ringing)
	s.send(d.tx, ringing)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-d.call.Done():
			t.Stop()
			return d.unanswered()
		}
	}
	if d.call.Cause() != nil {
		return d.unanswered()
	}
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
	if se > 0 {
		// The caller refreshes; we only tolerate the timer (RTP timeout
		// catches a dead peer anyway).
		res.AppendHeader(sipmsg.NewHeader("Session-Expires", strconv.Itoa(se)+";refresher=uac"))
		if supportsTimer(d.invite) {
			res.AppendHeader(sipmsg.NewHeader("Require", "timer"))
		}
	}
	d.mu.Lock()
	d.ok = res
	d.mu.Unlock()
	if err := d.tx.Respond(res); err != nil {
		// The transaction ended under us: the caller cancelled.
		if d.call.Cause() == nil {
			d.call.Hangup(call.CauseCancelled)
		}
		return 487
	}
	s.metrics.Responses[200].Add(1)
	return 200
}

// unanswered ends a call that ended while ringing. A CANCEL was answered
// 487 by the transaction layer; any other end (shutdown) is ours to answer.
func (d *dialog) unanswered() int {
	c := d.call.Cause()
	if c == call.CauseCancelled || c.SIPCode == 0 {
		return 487
	}
	d.s.respond(d.tx, d.invite, c.SIPCode, c.Reason)
	return c.SIPCode
}

func (d *dialog) addContact(res *sipmsg.Response) {
	u := sipmsg.Uri{Scheme: "sip", User: "hotline", Host: d.localIP.Unmap().String(), Port: d.s.listenPort()}
	if d.localIP.Is6() && !d.localIP.Is4In6() {
		u.Host = "[" + d.localIP.String() + "]"
	}
	if d.transport != "" && !strings.EqualFold(d.transport, "udp") {
		u.UriParams = sipmsg.HeaderParams{}
		u.UriParams.Add("transport", strings.ToLower(d.transport))
	}
	res.AppendHeader(&sipmsg.ContactHeader{Address: u})
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

// sendBye ends an answered call from our side.
func (d *dialog) sendBye(cause *call.Cause) {
	s := d.s
	target := d.invite.From().Address
	if ct := d.invite.Contact(); ct != nil {
		target = ct.Address
	}
	bye := sipmsg.NewRequest(sipmsg.BYE, *target.Clone())
	from := d.invite.To().AsFrom()
	to := d.invite.From().AsTo()
	bye.AppendHeader(&from)
	bye.AppendHeader(&to)
	cid := sipmsg.CallIDHeader(d.callID)
	bye.AppendHeader(&cid)
	d.mu.Lock()
	d.localCSeq++
	seq := d.localCSeq
	d.mu.Unlock()
	bye.AppendHeader(&sipmsg.CSeqHeader{SeqNo: seq, MethodName: sipmsg.BYE})
	mf := sipmsg.MaxForwardsHeader(70)
	bye.AppendHeader(&mf)
	for _, rr := range d.invite.GetHeaders("Record-Route") {
		bye.AppendHeader(sipmsg.NewHeader("Route", rr.Value()))
	}
	bye.AppendHeader(sipmsg.NewHeader("Reason", fmt.Sprintf("Q.850;cause=%d;text=%q", cause.Q850, cause.Name)))
	bye.SetBody(nil)
	bye.SetTransport(d.transport)
	// Symmetric signalling: the caller's source is reachable even when its
	// Contact holds a private address.
	bye.SetDestination(d.source.String())
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	tx, err := s.client.TransactionRequest(ctx, bye, sipgo.ClientRequestAddVia)
	if err != nil {
		s.log.Debug("bye failed", "call_id", d.callID, "error", err)
		return
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return
		case <-tx.Done():
			return
		case <-ctx.Done():
			return
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
