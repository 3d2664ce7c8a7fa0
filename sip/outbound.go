package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"hotline/call"
	"hotline/media"
)

// DialRequest places a call from Hotline.
type DialRequest struct {
	TenantID string
	// Target is a SIP URI, e.g. "sip:+15551234@127.0.0.1:5070"; a
	// ;transport=tcp parameter sends over TCP (UDP otherwise).
	Target string
	// From is the caller ID number (user part of From), FromName its
	// display name.
	From     string
	FromName string
	// Timeout is how long the far end may ring; 0: 30 s. Then the call is
	// cancelled with cause no-answer.
	Timeout time.Duration
	Prompts call.Prompts
	Music   *media.Prompt
	// Headers are extra headers on the INVITE (e.g. X- headers).
	Headers map[string]string
	// AuthUser and AuthPassword answer the trunk's digest challenge (401
	// or 407, once per INVITE); "": a challenge fails the call (rejected).
	// AuthRealm, if set, is the only realm they are given to.
	AuthUser     string
	AuthPassword string
	AuthRealm    string
	// ID is the call id to use (a UUID); "": a new one.
	ID string
	// Agent and Queue go into the call's Info (and its CDR): the agent who
	// placed the call and the queue it is for; "" none.
	Agent string
	Queue string
	// Callback marks a call placed for a caller's callback request.
	Callback bool
	// Refused, if set, is told the far end's final status when it refuses
	// the INVITE, and whether that answered our digest credentials (so a
	// 401/403/407 then means they were wrong), before the call is hung up.
	Refused func(status int, authenticated bool)
	// Created, if set, is called with the new call before the INVITE
	// goes out, so its owner sees every state change (a far end on the
	// same host may answer within a millisecond).
	Created func(c *call.Call)
	// Run runs once the far end answers; the server sends BYE when it
	// returns (unless the far end hung up). nil: the call stays up until
	// it is hung up.
	Run func(c *call.Call)
}

// DefaultDialTimeout is how long an outbound call rings without Timeout.
const DefaultDialTimeout = 30 * time.Second

var (
	// ErrClosing is Dial's error once the server shuts down.
	ErrClosing = errors.New("sip: server shutting down")
	// ErrNotServing is Dial's error before Serve has its listeners up.
	ErrNotServing = errors.New("sip: server not serving")
)

// Dial places a call to req.Target and returns it at once, in state Down.
// A goroutine owned by the server sends the INVITE, follows the far end's
// answers (Ringing on 180/183, Up on 200, the call hung up with a cause
// mapped from a failure response), runs req.Run once answered and hangs
// up. Hanging the call up before the answer cancels the INVITE. The CDR
// is written as for inbound calls, with the far end's final status as its
// SIP code.
func (s *Server) Dial(req DialRequest) (*call.Call, error) {
	select {
	case <-s.ready:
	default:
		return nil, ErrNotServing
	}
	var target sipmsg.Uri
	if err := sipmsg.ParseUri(req.Target, &target); err != nil {
		return nil, fmt.Errorf("sip dial: target %q: %w", req.Target, err)
	}
	if !strings.EqualFold(target.Scheme, "sip") || target.Host == "" || target.Port < 0 || target.Port > 65535 {
		return nil, fmt.Errorf("sip dial: target %q: need a sip: URI with a host", req.Target)
	}
	transport := "UDP"
	if t, ok := target.UriParams.Get("transport"); ok {
		switch strings.ToLower(t) {
		case "udp":
		case "tcp":
			transport = "TCP"
		default:
			return nil, fmt.Errorf("sip dial: target %q: transport %q not supported", req.Target, t)
		}
	}
	addr, err := resolveHost(target.Host)
	if err != nil {
		return nil, fmt.Errorf("sip dial: target %q: %w", req.Target, err)
	}
	port := target.Port
	if port == 0 {
		port = 5060
	}
	dst := netip.AddrPortFrom(addr, uint16(port))
	id := req.ID
	if id == "" {
		id = uuid.NewString()
	} else if _, err := uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("sip dial: id %q is not a UUID", id)
	}
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return nil, ErrClosing
	}

	d := &dialog{
		s:         s,
		callID:    uuid.NewString(),
		localTag:  sipmsg.GenerateTagN(16),
		outbound:  true,
		transport: transport,
		localIP:   s.localIPFor(dst.Addr()),
		target:    *target.Clone(),
		dest:      dst.String(),
		ackCh:     make(chan struct{}),
	}
	d.localCSeq = randUint32() & 0x7fff
	d.sdp.sessID = uint64(randUint32())
	user := req.From
	if user == "" {
		user = "hotline"
	}
	from := &sipmsg.FromHeader{
		DisplayName: req.FromName,
		Address:     sipmsg.Uri{Scheme: "sip", User: user, Host: d.hostString()},
	}
	from.Params.Add("tag", d.localTag)
	d.local = from
	d.remote = &sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: target.User, Host: target.Host, Port: target.Port}}

	sess, err := s.media.NewSession(media.SessionConfig{
		CallID: id,
		OnTimeout: func(reason string) {
			if c := d.call; c != nil {
				c.Hangup(call.CauseRTPTimeout)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("sip dial: %w: %v", call.CauseNoMediaPorts, err)
	}
	d.sess = sess
	info := call.Info{
		ID:         id,
		TenantID:   req.TenantID,
		From:       req.From,
		FromURI:    from.Address.String(),
		To:         target.User,
		SIPCallID:  d.callID,
		SourceAddr: dst.String(),
		Started:    time.Now(),
		Outbound:   true,
		Agent:      req.Agent,
		Queue:      req.Queue,
		Callback:   req.Callback,
	}
	c := call.New(context.Background(), info, call.Config{
		Media:   sess,
		Prompts: req.Prompts,
		Music:   req.Music,
		Events:  s.rec,
		Leg:     d,
		State:   call.StateDown,
	})
	d.call = c

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		sess.Close()
		return nil, ErrClosing
	}
	s.active.Add(1)
	s.calls.Add(1)
	s.dialogs[dialogKey(d.callID, d.localTag)] = d
	s.mu.Unlock()
	if req.Created != nil {
		req.Created(c)
	}
	go d.dial(req)
	return c, nil
}

// resolveHost is the address of a target's host: an IP literal, else the
// first address DNS gives (IPv4 preferred).
func resolveHost(host string) (netip.Addr, error) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %q: %v", h, err)
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	return addrs[0], nil
}

// dial is the owner goroutine of an outbound call.
func (d *dialog) dial(req DialRequest) {
	s, c := d.s, d.call
	defer s.calls.Done()
	defer s.active.Add(-1)
	defer func() {
		s.mu.Lock()
		delete(s.dialogs, dialogKey(d.callID, d.localTag))
		s.mu.Unlock()
	}()
	s.rec.CallStarted(c.Info)
	log := s.log.With("call", c.ID, "tenant", c.TenantID, "sip_call_id", d.callID, "outbound", true)

	if d.transport == "UDP" {
		d.laddr = s.udpSource()
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	code, established := d.sendInvite(req, timeout)
	if c.Cause() == nil && code == 200 {
		log.Info("call answered", "from", c.From, "to", c.To, "codec", d.codecName())
		if req.Run != nil {
			req.Run(c)
		} else {
			<-c.Done()
		}
		c.Hangup(call.CauseNormal)
	}
	cause := c.Cause()
	if cause == nil {
		// Cannot happen (sendInvite hangs up every call it does not answer),
		// but a CDR must never lack a cause.
		c.Hangup(call.CauseServerError)
		cause = c.Cause()
	}
	if established && !d.byeReceived.Load() && cause.Side != call.SideCallee {
		d.sendOutboundBye(cause, req)
	}
	if d.inviteTx != nil {
		d.inviteTx.Terminate()
	}
	stats := d.sess.Stats()
	d.sess.Close()
	s.rec.CallEnded(c, End{At: time.Now(), Cause: cause, SIPCode: code, Stats: stats})
	log.Info("call ended", "cause", cause.Name, "side", cause.Side, "code", code, "rx", stats.PacketsReceived, "tx", stats.PacketsSent, "lost", stats.PacketsLost, "jitter_ms", stats.JitterMs)
}

func (d *dialog) codecName() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.offer == nil {
		return ""
	}
	return d.offer.CodecName
}

// sendInvite sends the INVITE and follows it to its end: it returns the final
// status (408 for no answer at all, 503 when it could not be sent, as RFC
// 3261 8.1.3.1 has a UAC treat them) and whether a dialog was established
// (a 2xx, ACKed: it needs a BYE). Every call it does not answer is hung
// up with a cause. A 401/407 is answered once with req's credentials
// (digest, RFC 3261 22.2): a second challenge, or one without credentials,
// fails the call as rejected with the challenge's code.
func (d *dialog) sendInvite(req DialRequest, timeout time.Duration) (int, bool) {
	s, c := d.s, d.call
	keys := make([]string, 0, len(req.Headers))
	for k := range req.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d.mu.Lock()
	body := d.sdp.offer(d.localIP, d.sess.LocalPort())
	d.mu.Unlock()
	// build makes the INVITE: the first one, and the one answering a
	// challenge (same Call-ID and From tag, a new branch and CSeq+1).
	build := func() *sipmsg.Request {
		inv := d.request(sipmsg.INVITE, 0)
		inv.AppendHeader(d.contact())
		inv.AppendHeader(sipmsg.NewHeader("Allow", allowMethods))
		inv.AppendHeader(sipmsg.NewHeader("User-Agent", s.cfg.UserAgent))
		for _, k := range keys {
			inv.AppendHeader(sipmsg.NewHeader(k, req.Headers[k]))
		}
		inv.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
		inv.SetBody(body)
		return inv
	}
	deadline := time.Now().Add(timeout)
	inv := build()
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		tx, err := s.client.TransactionRequest(ctx, inv, sipgo.ClientRequestBuild)
		cancel()
		if err != nil {
			s.log.Info("outbound invite not sent", "call", c.ID, "target", inv.Recipient.String(), "error", err)
			c.Hangup(call.CauseCongestion)
			return 503, false
		}
		res, code := d.awaitFinal(tx, inv, max(time.Until(deadline), time.Millisecond))
		if res == nil {
			tx.Terminate()
			if c.Cause() == nil {
				if code == 408 {
					c.Hangup(call.CauseNoAnswer)
				} else {
					c.Hangup(call.CauseCongestion)
				}
			}
			return code, false
		}
		if !res.IsSuccess() {
			// The transaction layer ACKed it (RFC 3261 17.1.1.3), 401
			// and 407 included.
			if isChallenge(res) && attempt == 0 && req.AuthUser != "" && c.Cause() == nil {
				next := build()
				err := authorize(next, res, req.AuthUser, req.AuthPassword, req.AuthRealm)
				if err == nil {
					inv = next
					continue
				}
				s.log.Info("outbound challenge not answered", "call", c.ID, "code", res.StatusCode, "error", err)
			} else if isChallenge(res) {
				s.log.Info("outbound call challenged", "call", c.ID, "code", res.StatusCode, "credentials", req.AuthUser != "", "attempt", attempt+1)
			}
			if req.Refused != nil {
				req.Refused(res.StatusCode, attempt > 0)
			}
			c.Hangup(causeOfStatus(res.StatusCode))
			return res.StatusCode, false
		}
		d.established(tx, inv, res)
		// The transaction stays (Timer M) to catch 2xx retransmissions;
		// the owner ends it with the call.
		d.inviteTx = tx
		return res.StatusCode, true
	}
}

// sendOutboundBye ends an answered outbound call from our side, as
// sendBye does, answering the trunk's challenge to the BYE once.
func (d *dialog) sendOutboundBye(cause *call.Cause, req DialRequest) {
	build := func() *sipmsg.Request {
		bye := d.request(sipmsg.BYE, 0)
		bye.AppendHeader(sipmsg.NewHeader("Reason", fmt.Sprintf("Q.850;cause=%d;text=%q", cause.Q850, cause.Name)))
		bye.SetBody(nil)
		return bye
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	res, err := d.s.transact(ctx, build(), sipgo.ClientRequestBuild)
	if err == nil && isChallenge(res) && req.AuthUser != "" {
		bye := build()
		if err = authorize(bye, res, req.AuthUser, req.AuthPassword, req.AuthRealm); err == nil {
			_, err = d.s.transact(ctx, bye, sipgo.ClientRequestBuild)
		}
	}
	if err != nil {
		d.s.log.Debug("bye failed", "call_id", d.callID, "error", err)
	}
}

// awaitFinal reads the INVITE's responses until the final one. It rings
// the call on 180/183, hangs it up with no-answer after timeout, and sends
// CANCEL once the call is hung up (after a provisional response, as RFC
// 3261 9.1 requires). res is nil when no final response came; code is
// then 408 (timeout) or 503 (transport failure).
func (d *dialog) awaitFinal(tx sipmsg.ClientTransaction, inv *sipmsg.Request, timeout time.Duration) (*sipmsg.Response, int) {
	c := d.call
	ring := time.NewTimer(timeout)
	defer ring.Stop()
	var (
		provisional bool
		cancelled   bool
		giveUp      <-chan time.Time
	)
	done := c.Done()
	cancelNow := func() {
		if !cancelled {
			cancelled = true
			d.sendCancel(inv)
		}
	}
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				provisional = true
				if done == nil {
					cancelNow()
				} else if res.StatusCode == 180 || res.StatusCode == 183 {
					c.SetState(call.StateRinging)
				}
				continue
			}
			return res, res.StatusCode
		case <-tx.Done():
			if errors.Is(tx.Err(), sipmsg.ErrTransactionTimeout) {
				return nil, 408
			}
			return nil, 503
		case <-ring.C:
			c.Hangup(call.CauseNoAnswer)
		case <-done:
			done = nil
			if provisional {
				cancelNow()
			}
			// The far end owes a final response (487 after CANCEL); one
			// that never sends it is given up on after 64*T1.
			giveUp = time.After(64 * sipmsg.T1)
		case <-giveUp:
			return nil, 408
		}
	}
}

// sendCancel cancels the INVITE (RFC 3261 9.1): same Request-URI, top Via,
// Call-ID, From, To and CSeq number. It does not wait for the answer.
func (d *dialog) sendCancel(inv *sipmsg.Request) {
	cancel := sipmsg.NewRequest(sipmsg.CANCEL, *inv.Recipient.Clone())
	cancel.AppendHeader(sipmsg.HeaderClone(inv.Via()))
	cancel.AppendHeader(sipmsg.HeaderClone(inv.From()))
	cancel.AppendHeader(sipmsg.HeaderClone(inv.To()))
	cancel.AppendHeader(sipmsg.HeaderClone(inv.CallID()))
	cancel.AppendHeader(&sipmsg.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sipmsg.CANCEL})
	mf := sipmsg.MaxForwardsHeader(70)
	cancel.AppendHeader(&mf)
	for _, r := range inv.GetHeaders("Route") {
		cancel.AppendHeader(sipmsg.NewHeader("Route", r.Value()))
	}
	cancel.SetBody(nil)
	cancel.SetTransport(inv.Transport())
	cancel.SetDestination(inv.Destination())
	cancel.Laddr = inv.Laddr
	s := d.s
	go func() {
		ctx, stop := context.WithTimeout(context.Background(), 8*time.Second)
		defer stop()
		if _, err := s.transact(ctx, cancel, sipgo.ClientRequestBuild); err != nil {
			s.log.Debug("cancel failed", "call_id", d.callID, "error", err)
		}
	}()
}

// established takes the far end's 2xx: the dialog's remote tag, target and
// route set (RFC 3261 12.1.2), the ACK (sent again for each 2xx
// retransmission while the INVITE transaction lasts), and the media. The
// call is marked answered unless it was hung up meanwhile (the BYE follows
// then).
func (d *dialog) established(tx sipmsg.ClientTransaction, inv *sipmsg.Request, res *sipmsg.Response) {
	s, c := d.s, d.call
	if to := res.To(); to != nil {
		d.remote = sipmsg.HeaderClone(to).(*sipmsg.ToHeader)
		d.remoteTag, _ = to.Params.Get("tag")
	}
	if ct := res.Contact(); ct != nil {
		d.target = *ct.Address.Clone()
	}
	var rrs []string
	for _, h := range res.GetHeaders("Record-Route") {
		rrs = append(rrs, splitRoutes(h.Value())...)
	}
	d.routes = d.routes[:0]
	for i := len(rrs) - 1; i >= 0; i-- {
		d.routes = append(d.routes, rrs[i])
	}
	d.dest = d.nextHop()

	ack := d.request(sipmsg.ACK, inv.CSeq().SeqNo)
	ack.SetBody(nil)
	if err := s.client.WriteRequest(ack.Clone(), sipgo.ClientRequestBuild); err != nil {
		s.log.Info("outbound ack failed", "call", c.ID, "error", err)
	}
	tx.OnRetransmission(func(r *sipmsg.Response) {
		if r.IsSuccess() {
			_ = s.client.WriteRequest(ack.Clone(), sipgo.ClientRequestBuild)
		}
	})

	o, err := parseOffer(res.Body())
	if err != nil {
		// No usable answer: the dialog exists, so it ends with a BYE.
		c.Hangup(call.CauseCodecMismatch)
		return
	}
	d.mu.Lock()
	d.offer = o
	d.mu.Unlock()
	if c.Cause() != nil {
		return
	}
	d.sess.SetRemote(remoteOf(o))
	d.sess.Start()
	now := time.Now()
	c.MarkAnswered(now)
	s.rec.CallAnswered(c.ID, now)
}

// nextHop is where in-dialog requests go: the first route, else the
// remote target.
func (d *dialog) nextHop() string {
	u := d.target
	if len(d.routes) > 0 {
		var r sipmsg.Uri
		v := strings.TrimSpace(d.routes[0])
		if i, j := strings.Index(v, "<"), strings.Index(v, ">"); i >= 0 && j > i {
			v = v[i+1 : j]
		}
		if err := sipmsg.ParseUri(v, &r); err == nil && r.Host != "" {
			u = r
		}
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(u.Host, "["), "]"), fmt.Sprint(port))
}

// splitRoutes splits a Record-Route value holding several entries at the
// commas outside <> and quotes.
func splitRoutes(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '<':
			if !quoted {
				depth++
			}
		case '>':
			if !quoted && depth > 0 {
				depth--
			}
		case ',':
			if !quoted && depth == 0 {
				if s := strings.TrimSpace(v[start:i]); s != "" {
					out = append(out, s)
				}
				start = i + 1
			}
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// udpSource is the local address outbound UDP requests leave from: the
// listener's, so the far end sees the port it answers to and sends its
// requests to. sipgo registers the listener a moment after Serve starts
// it; until then (and if it never shows) the zero address lets sipgo pick
// a socket of its own, whose requests still carry our Via and Contact.
func (s *Server) udpSource() sipmsg.Addr {
	if s.udpLaddr.IP == nil {
		return sipmsg.Addr{}
	}
	key := s.udpLaddr.String()
	for range 100 {
		if c, err := s.ua.TransportLayer().GetConnection("udp", key); err == nil {
			c.TryClose() // GetConnection took a reference
			return s.udpLaddr
		}
		time.Sleep(10 * time.Millisecond)
	}
	return sipmsg.Addr{}
}
