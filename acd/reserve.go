package acd

import "fmt"

// A reservation takes an available agent out of the queues' rotation for
// work the ACD does not route: a call an ARI application places to the
// agent's softphone. Like a consultation it goes through the engine, so
// that no queue offers the agent a caller meanwhile.

// AgentReserved reserves Agent, who must be available, for a call outside
// the queues: on call with Reason ("reserved" when empty), offered nothing
// until AgentReleased.
type AgentReserved struct {
	Agent  AgentID
	Reason string
}

// AgentReleased ends Agent's reservation. Talked: the agent took the call,
// and goes to wrap-up as after a queue call (the longest wrap-up of their
// queues; none when those have none); otherwise (it rang out, was
// declined) they are free again at once. Lost: the agent's phone died,
// and they go to missed, as after losing a queue call. A break or logout
// asked for meanwhile takes effect as after a call.
type AgentReleased struct {
	Agent  AgentID
	Talked bool
	Lost   bool
}

// ReasonReserved is an AgentReserved without a reason of its own.
const ReasonReserved = "reserved"

func (AgentReserved) isEvent() {}
func (AgentReleased) isEvent() {}

func (e *Engine) reserve(ev AgentReserved) error {
	a, err := e.loggedIn(ev.Agent, "reserve")
	if err != nil {
		return err
	}
	if a.state != StateAvailable {
		return fmt.Errorf("acd: reserve %s: %w: agent is %s", ev.Agent, ErrBadState, a.state)
	}
	reason := ev.Reason
	if reason == "" {
		reason = ReasonReserved
	}
	a.reserved = true
	a.answeredAt = e.now
	e.setState(a, StateOnCall, reason)
	return nil
}

func (e *Engine) release(ev AgentReleased) error {
	a, err := e.loggedIn(ev.Agent, "release")
	if err != nil {
		return err
	}
	if !a.reserved {
		return fmt.Errorf("acd: release %s: %w: not reserved", ev.Agent, ErrBadState)
	}
	a.reserved = false
	// Not a queue's call: it counts in no queue's handle times.
	a.workQueue = nil
	a.lastEnd = e.now
	switch {
	case a.pending == StateOffline:
		e.goOffline(a)
	case ev.Lost:
		a.until = 0
		e.setState(a, StateMissed, ReasonAgentLost)
	case ev.Talked && e.reserveWrapUp(a) > 0:
		w := e.reserveWrapUp(a)
		a.until = e.now + w
		e.setState(a, StateWrapUp, ReasonCallEnded)
		e.after(w, tAgent, a.gen, a, nil)
	default:
		e.finishWork(a, ReasonCallEnded)
	}
	return nil
}

// reserveWrapUp is the wrap-up after a reserved call: the longest of the
// agent's queues.
func (e *Engine) reserveWrapUp(a *agent) int64 {
	var w int64
	for _, m := range a.members {
		w = max(w, m.q.wrapUp)
	}
	return w
}
