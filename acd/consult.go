package acd

import "fmt"

// An attended transfer in the core is three events: the consulted agent is
// reserved (on call, reason consult), then either released or handed the
// call. Reserving through the engine, rather than leaving the agent
// available while a human talks to them, is what keeps a queue from
// offering them a caller in the middle of the consultation.

func (e *Engine) consultStarted(ev ConsultStarted) error {
	c := e.calls[ev.Call]
	if c == nil {
		return fmt.Errorf("acd: consult %s: %w", ev.Call, ErrUnknownCall)
	}
	if c.state != callConnected {
		return fmt.Errorf("acd: consult %s: %w: the call is not connected", ev.Call, ErrBadState)
	}
	if c.consult != nil {
		return fmt.Errorf("acd: consult %s: %w: already consulting %s", ev.Call, ErrBadState, c.consult.id)
	}
	t, err := e.loggedIn(ev.Target, "consult")
	if err != nil {
		return err
	}
	if t == c.agent {
		return fmt.Errorf("acd: consult %s: %w: %s has the call", ev.Call, ErrInvalid, t.id)
	}
	if t.state != StateAvailable {
		return fmt.Errorf("acd: consult %s: %w: agent %s is %s", ev.Call, ErrBadState, t.id, t.state)
	}
	c.consult, t.consultFor = t, c
	e.setState(t, StateOnCall, ReasonConsult)
	return nil
}

func (e *Engine) consultEnded(ev ConsultEnded) error {
	t, err := e.loggedIn(ev.Target, "consult end")
	if err != nil {
		return err
	}
	if t.consultFor == nil {
		return fmt.Errorf("acd: consult end %s: %w: not in a consultation", ev.Target, ErrBadState)
	}
	e.releaseConsult(t)
	return nil
}

// releaseConsult frees a consulted agent; they skip wrap-up and go where
// they asked to go meanwhile (break, offline) or back to available.
func (e *Engine) releaseConsult(t *agent) {
	t.consultFor.consult = nil
	t.consultFor = nil
	// Talking to a colleague is work: longest-idle counts from its end.
	t.lastEnd = e.now
	switch t.pending {
	case StateOffline:
		e.goOffline(t)
		return
	case StateBreak:
		reason := t.pendingReason
		t.pending, t.pendingReason = StateAvailable, ""
		e.setState(t, StateBreak, reason)
		return
	}
	e.setState(t, StateAvailable, ReasonConsultEnded)
}

func (e *Engine) handOver(ev CallHandedOver) error {
	c := e.calls[ev.Call]
	if c == nil {
		return fmt.Errorf("acd: hand over %s: %w", ev.Call, ErrUnknownCall)
	}
	t := c.consult
	if c.state != callConnected || t == nil || t.id != ev.Target {
		return fmt.Errorf("acd: hand over %s to %s: %w: no such consultation", ev.Call, ev.Target, ErrBadState)
	}
	a := c.agent
	c.consult, t.consultFor = nil, nil
	c.agent, t.call = t, c
	t.misses = 0
	t.callsToday++
	t.answeredAt = e.now
	t.workQueue = a.workQueue // a connected call has left its queue; it came from this one
	e.setState(t, StateOnCall, ReasonTransferred)
	e.agentLeaves(a, false)
	return nil
}
