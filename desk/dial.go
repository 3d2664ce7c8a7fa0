package desk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/call"
	"hotline/config"
	"hotline/media"
	"hotline/queue"
	"hotline/sip"
)

// Outbound calls placed for an agent (click to call from the agent page,
// and callbacks): the agent is reserved in the ACD (on call, reason
// "outbound") so that no queue offers them a caller meanwhile, the number
// is dialled over the tenant's outbound trunk, the page follows the
// progress (dial_progress), and once the far end answers the call is
// connected to the agent exactly as an answered queue call is (Connect):
// hold, mute, keypad, recording, hang-up, wrap-up and disposition all
// work the same. The reservation ends with the call: wrap-up as after a
// queue call when the far end answered, free at once otherwise.
// docs/outbound.md has the protocol and the configuration.

// Dialer places outbound SIP calls; *sip.Server implements it.
type Dialer interface {
	Dial(req sip.DialRequest) (*call.Call, error)
}

// Route is where a tenant's outbound call goes: the trunk's SIP URI for
// the number, its digest credentials, and the caller ID to send.
type Route struct {
	Trunk        string // the trunk's name, for logs
	Target       string // SIP URI of the number at the trunk
	CallerID     string // caller ID number; "" anonymous
	AuthUser     string
	AuthPassword string
	AuthRealm    string
	// The tenant's prompts and hold music: the agent's hold plays Music.
	Prompts call.Prompts
	Music   *media.Prompt
}

// Router picks the route of a tenant's call to number placed on behalf of
// queue ("" none). An error means the call cannot be placed (no trunk).
type Router interface {
	Route(tenant, queue, number string) (Route, error)
}

// Outbound configures outbound calls (SetOutbound).
type Outbound struct {
	Dialer Dialer
	Router Router
	// RingTimeout is how long the far end may ring; 0: sip.DefaultDialTimeout.
	RingTimeout time.Duration
}

// Errors DialOut returns before any call is placed. They are wrapped with
// the details; the agent's page gets a dial_progress "failed" as well.
var (
	ErrOutboundOff = errors.New("desk: outbound calls are not configured")
	ErrBadNumber   = errors.New("desk: invalid number")
	ErrNoRoute     = errors.New("desk: no outbound route")
	ErrAgentBusy   = errors.New("desk: agent cannot place a call now")
)

// DialOptions tune DialOut; the zero value places an ordinary call.
type DialOptions struct {
	// Queue is the queue the call is placed for: its trunk and caller ID
	// (config: queue trunk, caller_id), and the CDR's queue column.
	Queue string
	// CallerID overrides the route's caller ID number.
	CallerID string
	// CallID is the call's id (a UUID); "": a new one.
	CallID string
	// Timeout is how long the far end may ring; 0: Outbound.RingTimeout.
	Timeout time.Duration
	// Reason is the agent's reason while reserved; "": "outbound".
	Reason string
	// Reserved: the caller has already reserved the agent in the ACD (a
	// callback offered to them); DialOut then neither reserves nor
	// releases them.
	Reserved bool
	// Progress, if set, is told each step as the page is (dialing,
	// ringing, answered, then failed, cancelled or ended). It must not
	// block: it may run on the SIP server's goroutines.
	Progress func(DialProgress)
}

// DialProgress is a step of an outbound call, as the page's dial_progress
// message carries it.
type DialProgress struct {
	CallID string `json:"call,omitempty"`
	Number string `json:"number"`
	Queue  string `json:"queue,omitempty"`
	// State: dialing, ringing, answered, failed, cancelled or ended.
	State string `json:"state"`
	// Reason says why a call failed: invalid-number, no-trunk,
	// not-available, busy, no-answer, rejected, auth-failed,
	// unknown-number, unavailable or error.
	Reason  string `json:"reason,omitempty"`
	Cause   string `json:"cause,omitempty"` // the call's hangup cause (CDR name)
	SIPCode int    `json:"sip_code,omitempty"`
	Message string `json:"message,omitempty"` // for people
}

// DialResult is how an outbound call went.
type DialResult struct {
	CallID   string
	Answered bool        // the far end answered (the agent then wrapped up)
	Cause    *call.Cause // why the call ended
}

// Dial progress states.
const (
	DialDialing   = "dialing"
	DialRinging   = "ringing"
	DialAnswered  = "answered"
	DialFailed    = "failed"
	DialCancelled = "cancelled"
	DialEnded     = "ended"
)

// ReasonOutbound is an agent's reason while reserved for an outbound call.
const ReasonOutbound = "outbound"

// outboundState is the Desk's outbound configuration and the goroutines
// running the agents' outbound calls (owned by the Desk: Close stops them).
type outboundState struct {
	mu     sync.Mutex
	cfg    *Outbound
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// SetOutbound enables outbound calls (the dial message, DialOut).
func (d *Desk) SetOutbound(o Outbound) {
	d.out.mu.Lock()
	defer d.out.mu.Unlock()
	d.out.cfg = &o
	if d.out.ctx == nil {
		d.out.ctx, d.out.cancel = context.WithCancel(context.Background())
	}
}

func (s *outboundState) config() *Outbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// stop hangs up the outbound calls the pages started and waits for them.
func (s *outboundState) stop() {
	s.mu.Lock()
	// Under the lock: a dial sees the cancellation before it joins wg.
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// outCall is an agent's outbound call, from the dial to its end.
type outCall struct {
	id string // the call's id, fixed before the agent is claimed

	mu        sync.Mutex
	c         *call.Call
	cancelled bool // the agent hung up before the answer
	status    int  // the far end's refusal (final status), 0 none
	authed    bool // the refusal answered our digest credentials
}

// cancel ends the call before the answer (CANCEL once it rings).
func (o *outCall) cancel() {
	o.mu.Lock()
	o.cancelled = true
	c := o.c
	o.mu.Unlock()
	if c != nil {
		c.Hangup(call.CauseCancelled.With("cancelled by the agent"))
	}
}

// CheckNumber validates a number an agent dials: digits with an optional
// leading +, at most config.MaxDialNumber digits.
func CheckNumber(number string) error {
	if err := config.CheckPhoneNumber(number); err != nil {
		return fmt.Errorf("%w: %v", ErrBadNumber, err)
	}
	return nil
}

// DialOut places a call to number over the tenant's outbound trunk for
// agentID, an agent of tenant logged in at a desk and not on a call, and
// connects it to them once answered; it returns when the call is over
// (the agent is then in wrap-up if the far end answered). The agent's
// page follows it (dial_progress, then the usual webrtc_offer,
// connected, call_ended) and can cancel it before the answer (hangup).
//
// Unless opts.Reserved, the agent must be available: they are reserved in
// the ACD for the call's duration. Before a call is placed DialOut fails
// with ErrOutboundOff, ErrBadNumber, ErrUnknownAgent, ErrAgentBusy or
// ErrNoRoute (wrapped); once placed, the error is nil and the result says
// whether the far end answered and how the call ended. ctx ending hangs
// the call up.
func (d *Desk) DialOut(ctx context.Context, tenant string, agentID queue.AgentID, number string, opts DialOptions) (DialResult, error) {
	res := DialResult{CallID: opts.CallID}
	if res.CallID == "" {
		res.CallID = uuid.NewString()
	} else if _, err := uuid.Parse(res.CallID); err != nil {
		return res, fmt.Errorf("desk: dial: call id %q is not a UUID", res.CallID)
	}
	a := d.agent(tenant, agentID)
	if a == nil {
		return res, fmt.Errorf("%w: %s (%w)", ErrUnknownAgent, agentID, call.CauseUnallocated)
	}
	step := DialProgress{CallID: res.CallID, Number: number, Queue: opts.Queue}
	tell := func(p DialProgress) {
		a.send(Msg{"type": "dial_progress", "call": p.CallID, "number": p.Number, "queue": p.Queue, "state": p.State,
			"reason": p.Reason, "cause": p.Cause, "sip_code": p.SIPCode, "message": p.Message})
		if opts.Progress != nil {
			opts.Progress(p)
		}
	}
	refuse := func(reason string, err error) (DialResult, error) {
		p := step
		p.CallID, p.State, p.Reason, p.Message = "", DialFailed, reason, dialMessage(reason, 0, err)
		tell(p)
		return DialResult{}, err
	}

	out := d.out.config()
	if out == nil || out.Dialer == nil || out.Router == nil {
		return refuse("no-trunk", ErrOutboundOff)
	}
	if err := CheckNumber(number); err != nil {
		return refuse("invalid-number", err)
	}
	o := &outCall{id: res.CallID}
	a.mu.Lock()
	var busy error
	switch {
	case !a.loggedIn || a.sess == nil:
		busy = fmt.Errorf("%w: %s is not connected", ErrAgentBusy, a.id.Username)
	case a.talk != nil || a.ring != nil || a.dial != nil || len(a.ringing) > 0:
		busy = fmt.Errorf("%w: %s is on a call", ErrAgentBusy, a.id.Username)
	default:
		a.dial = o // from now on a second dial is refused
	}
	a.mu.Unlock()
	if busy != nil {
		return refuse("not-available", busy)
	}
	// release ends the call's hold on the agent, in this order: the ACD
	// reservation (wrap-up when they talked), the agent's outbound call,
	// then the page's last dial_progress, so that by then a new dial is
	// taken.
	reserved := false
	release := func(last DialProgress, talked, lost bool) {
		if reserved {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.rt.Release(rctx, agentID, talked, lost); err != nil && !errors.Is(err, acd.ErrNotLoggedIn) {
				d.log.Warn("releasing an agent after an outbound call", "agent", a.id.Username, "call", res.CallID, "error", err)
			}
		}
		a.mu.Lock()
		if a.dial == o {
			a.dial = nil
		}
		a.mu.Unlock()
		tell(last)
	}
	fail := func(reason string, err error) (DialResult, error) {
		p := step
		p.CallID, p.State, p.Reason, p.Message = "", DialFailed, reason, dialMessage(reason, 0, err)
		release(p, false, false)
		return DialResult{}, err
	}

	route, err := out.Router.Route(tenant, opts.Queue, number)
	if err != nil {
		return fail("no-trunk", fmt.Errorf("%w: %v", ErrNoRoute, err))
	}
	if !opts.Reserved {
		if err := a.rt.Reserve(ctx, agentID, cmp.Or(opts.Reason, ReasonOutbound)); err != nil {
			return fail("not-available", fmt.Errorf("%w: %v", ErrAgentBusy, err))
		}
		reserved = true
	}

	tell(withState(step, DialDialing))
	o.mu.Lock()
	cancelled := o.cancelled
	o.mu.Unlock()
	if cancelled {
		p := withState(step, DialCancelled)
		p.Cause, p.Message = call.CauseCancelled.Name, "Call cancelled."
		release(p, false, false)
		res.Cause = call.CauseCancelled
		return res, nil
	}
	var (
		mu        sync.Mutex
		finished  bool // DialOut stopped waiting for Run
		answered  bool // Run started
		connected = make(chan error, 1)
		stopWatch = func() {}
	)
	c, err := out.Dialer.Dial(sip.DialRequest{
		TenantID: tenant, Target: route.Target, From: cmp.Or(opts.CallerID, route.CallerID, "anonymous"),
		Timeout: cmp.Or(opts.Timeout, out.RingTimeout), Prompts: route.Prompts, Music: route.Music,
		AuthUser: route.AuthUser, AuthPassword: route.AuthPassword, AuthRealm: route.AuthRealm,
		ID: res.CallID, Agent: string(agentID), Queue: opts.Queue,
		Refused: func(status int, authenticated bool) {
			o.mu.Lock()
			o.status, o.authed = status, authenticated
			o.mu.Unlock()
		},
		Created: func(c *call.Call) {
			o.mu.Lock()
			o.c = c
			if o.cancelled {
				c.Hangup(call.CauseCancelled.With("cancelled by the agent"))
			}
			o.mu.Unlock()
			var once sync.Once
			stopWatch = c.Watch(func(st call.State) {
				if st == call.StateRinging {
					once.Do(func() { tell(withState(step, DialRinging)) })
				}
			})
		},
		Run: func(c *call.Call) {
			mu.Lock()
			if finished {
				mu.Unlock()
				return
			}
			answered = true
			mu.Unlock()
			tell(withState(step, DialAnswered))
			err := d.Connect(c.Context(), c, agentID)
			// The agent hanging up ends an outbound call: no survey.
			var hungUp *queue.AgentHangup
			if err != nil && !errors.As(err, &hungUp) && c.Context().Err() == nil {
				d.log.Info("outbound call not connected to the agent", "call", c.ID, "agent", a.id.Username, "error", err)
			}
			connected <- err
		},
	})
	if err != nil {
		p := step
		p.State, p.Reason = DialFailed, "unavailable"
		p.Message = dialMessage(p.Reason, 0, err)
		release(p, false, false)
		return res, fmt.Errorf("desk: dial %s: %w", res.CallID, err)
	}
	d.log.Info("outbound call placed", "call", c.ID, "agent", a.id.Username, "trunk", route.Trunk, "queue", opts.Queue)
	stop := context.AfterFunc(ctx, func() { c.Hangup(call.CauseShutdown) })

	<-c.Done()
	stop()
	stopWatch()
	mu.Lock()
	finished = true
	res.Answered = answered
	mu.Unlock()
	lost := false
	if res.Answered {
		var rq *queue.Requeue
		err := <-connected
		lost = errors.As(err, &rq) && rq.Lost
	}
	res.Cause = c.Cause()
	p := withState(step, DialEnded)
	if !res.Answered {
		o.mu.Lock()
		cancelled, status, authed := o.cancelled, o.status, o.authed
		o.mu.Unlock()
		p.Cause, p.SIPCode = res.Cause.Name, cmp.Or(status, res.Cause.SIPCode)
		if cancelled {
			p.State, p.Message = DialCancelled, "Call cancelled."
		} else {
			// Refused right after our digest answer: the credentials.
			authFailed := authed && (status == 401 || status == 403 || status == 407)
			p.State, p.Reason = DialFailed, failReason(res.Cause, authFailed)
			p.Message = dialMessage(p.Reason, p.SIPCode, res.Cause)
		}
	}
	release(p, res.Answered, lost)
	return res, nil
}

func withState(p DialProgress, state string) DialProgress {
	p.State = state
	return p
}

// failReason names why an unanswered call failed, for the page;
// authFailed: the trunk refused our digest credentials.
func failReason(c *call.Cause, authFailed bool) string {
	switch {
	case authFailed:
		return "auth-failed"
	case c == nil:
		return "error"
	case c.Name == call.CauseBusy.Name:
		return "busy"
	case c.Name == call.CauseNoAnswer.Name || c.Name == call.CauseNoUserResponse.Name:
		return "no-answer"
	case c.Name == call.CauseRejected.Name:
		return "rejected"
	case c.Name == call.CauseUnallocated.Name || c.Name == call.CauseNumberIncomplete.Name:
		return "unknown-number"
	case c.Name == call.CauseCongestion.Name || c.Name == call.CauseNoMediaPorts.Name || c.Name == call.CauseShutdown.Name:
		return "unavailable"
	}
	return "error"
}

// dialMessage is what the page shows for a failure (status: the SIP
// status, 0 unknown).
func dialMessage(reason string, status int, err error) string {
	code := ""
	if status != 0 {
		code = fmt.Sprintf(" (SIP %d)", status)
	}
	switch reason {
	case "invalid-number":
		if err != nil {
			msg := err.Error()
			if e := ErrBadNumber.Error() + ": "; len(msg) > len(e) && msg[:len(e)] == e {
				msg = msg[len(e):]
			}
			return "Invalid number: " + msg + "."
		}
		return "Invalid number."
	case "no-trunk":
		return "No outbound trunk is configured for calls from here; ask your administrator."
	case "not-available":
		return "You can place a call only while Available and not on a call."
	case "busy":
		return "The number is busy" + code + "."
	case "no-answer":
		return "No answer" + code + "."
	case "auth-failed":
		return "The carrier refused our credentials" + code + "; ask your administrator to check the trunk's username and password."
	case "rejected":
		return "The carrier rejected the call" + code + "."
	case "unknown-number":
		return "The number does not exist or is incomplete" + code + "."
	case "unavailable":
		return "The outbound trunk is unavailable" + code + "; try again later."
	}
	if err != nil {
		return "The call failed: " + err.Error() + "."
	}
	return "The call failed."
}

// dialOf is the agent's outbound call with id callID, or nil.
func (a *Agent) dialOf(callID string) *outCall {
	if callID == "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if o := a.dial; o != nil && o.id == callID {
		return o
	}
	return nil
}

// outbound handles the page's dial message and what differs on its
// outbound call; handled false leaves m to the usual handling.
func (s *Session) outbound(m in) (handled bool, err error) {
	a := s.a
	if m.Type == "dial" {
		return true, s.dial(m)
	}
	o := a.dialOf(m.Call)
	if o == nil {
		return false, nil
	}
	switch m.Type {
	case "hangup":
		a.mu.Lock()
		t := a.talk
		a.mu.Unlock()
		if t != nil && t.callID == m.Call && t.consultOf == nil {
			t.end(byAgent) // Connect returns; the call is hung up
			return true, nil
		}
		o.cancel()
		return true, nil
	case "transfer", "consult", "consult_complete", "consult_cancel":
		return true, fmt.Errorf("%s: not available on an outbound call", m.Type)
	}
	return false, nil
}

// dial is the page's dial message: the call runs in a goroutine owned by
// the Desk, and the page follows it through dial_progress.
func (s *Session) dial(m in) error {
	a := s.a
	d := a.d
	d.out.mu.Lock()
	ctx := d.out.ctx
	if ctx == nil || ctx.Err() != nil {
		d.out.mu.Unlock()
		a.send(Msg{"type": "dial_progress", "number": m.Number, "queue": m.Queue, "state": DialFailed,
			"reason": "no-trunk", "message": dialMessage("no-trunk", 0, nil)})
		return nil
	}
	d.out.wg.Add(1)
	d.out.mu.Unlock()
	if m.Queue != "" && !slices.Contains(a.prof.Queues, m.Queue) {
		d.out.wg.Done()
		a.send(Msg{"type": "dial_progress", "number": m.Number, "queue": m.Queue, "state": DialFailed,
			"reason": "bad-queue", "message": fmt.Sprintf("You are not a member of queue %q.", m.Queue)})
		return nil
	}
	go func() {
		defer d.out.wg.Done()
		res, err := d.DialOut(ctx, a.id.Tenant, a.id.ID, m.Number, DialOptions{Queue: m.Queue})
		if err != nil {
			d.log.Info("outbound call not placed", "agent", a.id.Username, "error", err)
			return
		}
		d.log.Info("outbound call over", "agent", a.id.Username, "call", res.CallID, "answered", res.Answered, "cause", res.Cause)
	}()
	return nil
}
