package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/call"
	"hotline/internal/inbox"
	"hotline/store"
)

// AgentID names an agent: the user's id.
type AgentID = acd.AgentID

// OfferInfo is what an agent's phone shows while an offer rings.
type OfferInfo struct {
	CallID string
	Caller string        // the caller's number
	Path   string        // the IVR steps the caller went through, joined by '>'
	Queue  string        // the queue the call is offered from
	Wait   time.Duration // time in the ACD so far, across overflows
	Region string        // the caller's region ("" unknown)
	// Call is the caller's call (its timeline gives the agent's caller
	// context); nil for a callback, whose caller is not on the line.
	Call *call.Call
}

// AgentEndpoint is a logged-in agent's phone (the WebRTC softphone, later a
// SIP phone). Offer starts ringing and must not wait for the agent: the
// answer or rejection comes back through Runtime.Answer or Runtime.Reject.
// An error means the phone cannot ring (disconnected): the offer counts as
// rejected and the caller keeps their place. Cancel stops a ringing offer,
// or tells the phone a call it answered is gone before it was connected.
type AgentEndpoint interface {
	Offer(ctx context.Context, offer OfferInfo) error
	Cancel(callID string)
}

// StateListener is an AgentEndpoint that wants its agent's state changes
// pushed (the desktop shows them) rather than polling Agents, which costs
// a pass over every agent. StateChanged runs on the owner: it must not
// block.
type StateListener interface {
	StateChanged(state acd.State, reason string, at time.Time)
}

// Connector joins an answered caller to the agent's media and blocks for
// the conversation. It must return when ctx ends: the caller hung up, or
// the agent did (Runtime.Hangup, Runtime.Transfer). Returning a *Requeue
// puts the caller back in line instead of ending their wait.
type Connector interface {
	Connect(ctx context.Context, c *call.Call, agent AgentID) error
}

// HoldConnector is the Connector used until the agent's media bridge
// exists: it connects nothing and holds the conversation open until either
// side ends it.
type HoldConnector struct{}

func (HoldConnector) Connect(ctx context.Context, _ *call.Call, _ AgentID) error {
	<-ctx.Done()
	return nil
}

// Channel is what a waiting caller hears; *call.Call implements it.
type Channel interface {
	Play(ctx context.Context, prompt string, interruptible bool) error
	Music(ctx context.Context, class string) error
}

// Sink records the ACD's rows; *store.Writer implements it without ever
// blocking the owner.
type Sink interface {
	QueueEntry(store.QueueEntry)
	AgentState(store.AgentStateChange)
	QueueLog(store.QueueLogRow)
	Disposition(store.Disposition)
}

// Config configures a Runtime.
type Config struct {
	TenantID string
	ACD      acd.Config
	// Music overrides, by queue, the hold music class a flow asks for.
	Music map[string]string
	// HasPrompt says which prompts the tenant has; announcements leave out
	// parts whose prompts are missing. nil: all exist.
	HasPrompt func(name string) bool
	Connector Connector // nil: HoldConnector
	Sink      Sink      // nil: nothing recorded
	Logger    *slog.Logger
}

// Error is a runtime failure kind; constants, so the package has no state.
type Error string

func (e Error) Error() string { return string(e) }

const (
	// ErrStopped is returned once the runtime's Run has ended.
	ErrStopped Error = "queue: runtime stopped"
	// ErrUnknownCall is returned for a call the runtime does not hold
	// (never queued, or already gone).
	ErrUnknownCall Error = "queue: unknown call"
)

// Runtime is one tenant's running ACD. Its methods are safe for concurrent
// use; Run must be running for them to take effect.
type Runtime struct {
	cfg Config
	log *slog.Logger

	inbox   *inbox.Inbox
	done    chan struct{}
	running atomic.Bool

	// Owned by the Run goroutine.
	ctx    context.Context
	eng    *acd.Engine
	acts   []acd.Action
	follow []acd.Event
	calls  map[acd.CallID]*waiter
	agents map[AgentID]*agentConn
	cb     callbacks // callback.go
}

type agentConn struct {
	ep     AgentEndpoint
	queues []string // in login order: a transfer to the agent enters the first
}

// New builds a runtime; the ACD configuration is validated here.
func New(cfg Config) (*Runtime, error) {
	eng, err := acd.New(cfg.ACD)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", cfg.TenantID, err)
	}
	if cfg.Connector == nil {
		cfg.Connector = HoldConnector{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	done := make(chan struct{})
	return &Runtime{
		cfg:    cfg,
		log:    cfg.Logger.With("tenant", cfg.TenantID),
		inbox:  inbox.New(done, ErrStopped),
		done:   done,
		eng:    eng,
		calls:  map[acd.CallID]*waiter{},
		agents: map[AgentID]*agentConn{},
	}, nil
}

// Queues lists the queue names in configuration order.
func (r *Runtime) Queues() []string { return r.eng.Queues() }

// Run owns the ACD until ctx ends. Callers still waiting then leave with
// QueueRejected (reason "shutdown"), so stop it after the calls.
func (r *Runtime) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("queue: Run called twice")
	}
	defer close(r.done)
	r.ctx = ctx
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		r.inbox.Drain()
		if at, ok := r.eng.NextDeadline(); ok {
			timer.Reset(max(time.Until(at), 0))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			r.shutdown()
			return nil
		case <-r.inbox.Wake():
		case <-timer.C:
			r.handle(acd.Tick{})
		}
	}
}

// shutdown refuses new inputs, runs those already in, then sends every
// caller still waiting back to their flow.
func (r *Runtime) shutdown() {
	r.inbox.Stop()
	r.inbox.Drain()
	now := time.Now()
	for _, w := range r.calls {
		if w.cb != nil {
			r.cbShutdown(w)
			continue
		}
		if w.answeredBy != "" {
			w.endTalk()
			continue
		}
		r.finish(now, w, store.OutcomeRejected, Result{Outcome: Rejected, Reason: "shutdown"})
	}
}

// submit queues fn for the owner; false once the runtime has stopped.
func (r *Runtime) submit(fn func(now time.Time)) bool { return r.inbox.Submit(fn) }

// do runs fn on the owner and waits for its result.
func (r *Runtime) do(ctx context.Context, fn func(now time.Time) error) error {
	return r.inbox.Do(ctx, fn)
}

// handle feeds ev to the core and carries out what it decides, including
// the events that carrying it out produces (an offer that cannot ring).
// The error is ev's own.
func (r *Runtime) handle(ev acd.Event) error {
	var first error
	for i := 0; ; i++ {
		var err error
		r.acts, err = r.eng.Handle(r.acts[:0], time.Now(), ev)
		if i == 0 {
			first = err
		} else if err != nil {
			r.log.Warn("acd follow-up event failed", "event", fmt.Sprintf("%T", ev), "error", err)
		}
		for _, a := range r.acts {
			r.apply(a)
		}
		if len(r.follow) == 0 {
			return first
		}
		ev = r.follow[0]
		r.follow = r.follow[1:]
	}
}

func (r *Runtime) logRow(at time.Time, callID acd.CallID, queue string, agent AgentID, event string, data map[string]string) {
	if r.cfg.Sink == nil {
		return
	}
	r.cfg.Sink.QueueLog(store.QueueLogRow{
		TenantID: r.cfg.TenantID, At: at, CallID: callUUID(callID), Queue: queue,
		Agent: string(agent), Event: event, Data: data,
	})
}

func (r *Runtime) saveEntry(w *waiter) {
	if r.cfg.Sink != nil {
		r.cfg.Sink.QueueEntry(w.entry)
	}
}

// callUUID maps a call id to the store's key; ids that are not UUIDs (none
// in production) are stored without a call.
func callUUID(id acd.CallID) uuid.UUID {
	u, err := uuid.Parse(string(id))
	if err != nil {
		return uuid.Nil
	}
	return u
}

func ms(d time.Duration) string { return fmt.Sprint(d.Milliseconds()) }

// apply carries out one action.
func (r *Runtime) apply(a acd.Action) {
	now := time.Now()
	w := r.calls[a.Call]
	if w != nil && w.cb != nil && r.callbackApply(now, w, a) {
		return
	}
	switch a.Kind {
	case acd.Offer:
		if w == nil {
			r.follow = append(r.follow, acd.OfferRejected{Call: a.Call, Agent: a.Agent, Reason: "no-caller"})
			return
		}
		if w.entry.OfferedAt.IsZero() {
			w.entry.OfferedAt = now
			r.saveEntry(w)
		}
		r.logRow(now, a.Call, a.Queue, a.Agent, "offer", nil)
		w.signal(signal{kind: sigOffered})
		ag := r.agents[a.Agent]
		if ag == nil || ag.ep == nil {
			r.follow = append(r.follow, acd.OfferRejected{Call: a.Call, Agent: a.Agent, Reason: "unreachable"})
			r.logRow(now, a.Call, a.Queue, a.Agent, "offer_failed", map[string]string{"error": "no endpoint"})
			return
		}
		info := OfferInfo{CallID: string(a.Call), Caller: w.caller, Path: w.path, Queue: a.Queue, Wait: now.Sub(w.entered), Region: w.region, Call: w.c}
		if err := ag.ep.Offer(r.ctx, info); err != nil {
			r.follow = append(r.follow, acd.OfferRejected{Call: a.Call, Agent: a.Agent, Reason: "unreachable"})
			r.logRow(now, a.Call, a.Queue, a.Agent, "offer_failed", map[string]string{"error": err.Error()})
		}
	case acd.CancelOffer:
		if ag := r.agents[a.Agent]; ag != nil && ag.ep != nil {
			ag.ep.Cancel(string(a.Call))
		}
		event := "cancel_offer"
		if a.Reason == acd.ReasonRingTimeout {
			event = "ring_no_answer"
		}
		queue := ""
		if w != nil {
			queue = w.entry.Queue
		}
		r.logRow(now, a.Call, queue, a.Agent, event, map[string]string{"reason": a.Reason})
	case acd.Overflow:
		if w == nil {
			return
		}
		from := w.entry.Queue
		r.closeEntry(now, w, store.OutcomeOverflow)
		w.openEntry(now, a.Queue)
		r.saveEntry(w)
		r.logRow(now, a.Call, from, "", "overflow", map[string]string{"to": a.Queue, "reason": a.Reason})
		w.c.Event("queue_overflow", w.step, map[string]string{"from": from, "queue": a.Queue, "reason": a.Reason})
	case acd.ExitToStep:
		if w != nil {
			r.finish(now, w, store.OutcomeExit, Result{Outcome: Exit, Step: a.Step, Reason: a.Reason})
		}
	case acd.Rejected:
		if w != nil {
			r.finish(now, w, store.OutcomeRejected, Result{Outcome: Rejected, Reason: a.Reason})
		}
	case acd.Announce:
		if w != nil {
			w.signal(signal{kind: sigAnnounce, position: a.Position, ewt: a.EWT})
		}
	case acd.AgentStateChanged:
		if ag := r.agents[a.Agent]; ag != nil {
			if l, ok := ag.ep.(StateListener); ok {
				l.StateChanged(a.To, a.Reason, now)
			}
		}
		if r.cfg.Sink != nil {
			r.cfg.Sink.AgentState(store.AgentStateChange{
				TenantID: r.cfg.TenantID, UserID: string(a.Agent), State: a.To.String(), Reason: a.Reason, At: now,
			})
		}
		r.logRow(now, a.Call, a.Queue, a.Agent, "agent_state",
			map[string]string{"from": a.From.String(), "to": a.To.String(), "reason": a.Reason})
	}
}

func (r *Runtime) closeEntry(now time.Time, w *waiter, outcome string) {
	w.entry.LeftAt = now
	w.entry.Outcome = outcome
	w.entry.Wait = now.Sub(w.entry.EnteredAt)
	r.saveEntry(w)
}

// finish ends a caller's wait without an agent and hands the result to
// its goroutine.
func (r *Runtime) finish(now time.Time, w *waiter, outcome string, res Result) {
	r.closeEntry(now, w, outcome)
	r.logRow(now, w.id, w.entry.Queue, "", outcome, map[string]string{"reason": res.Reason, "wait_ms": ms(w.entry.Wait)})
	delete(r.calls, w.id)
	res.Queue = w.entry.Queue
	res.Wait = now.Sub(w.entered)
	w.final <- final{res: res}
}
