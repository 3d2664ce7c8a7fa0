package acd

import "fmt"

// A callback is a waiting call whose caller hung up after asking to be
// called back: it keeps its order key, so it is offered when the caller
// would have been, and counts as waiting. The engine needs no caller leg to
// route it; the wiring dials the caller once the offered agent accepts.
// When the dial fails, the call goes back to the front of its priority but
// is "held" (offered nothing) until the wiring's retry gap has passed, so
// the agent who accepted is free for other callers meanwhile.

// CallbackConverted turns waiting Call into a callback: the caller's own
// bound on the wait (CallEnqueued.MaxWait) and the queue's max wait no
// longer apply (a callback has no caller to send on to a flow step; the
// wiring expires callbacks itself), and position announcements stop. The
// call keeps its place in line and any offer ringing for it.
type CallbackConverted struct {
	Call CallID
}

// CallbackRequeue is a callback the agent accepted (OfferAnswered) but
// whose dial failed (busy, no answer): the agent is free at once (no
// wrap-up, the answer is not counted), and the call goes back to the
// front of its priority in the queue it was answered from, held until
// CallbackReady.
type CallbackRequeue struct {
	Call CallID
}

// CallbackReady makes a held callback offerable again at its place.
type CallbackReady struct {
	Call CallID
}

// CallbackRemoved takes a callback out of the ACD without counting it
// abandoned: cancelled, expired, or given up after its last try. An offer
// ringing for it is withdrawn; an agent who had accepted it is free at once.
type CallbackRemoved struct {
	Call CallID
}

// Reasons for callbacks.
const (
	ReasonCallbackFailed  = "callback-failed"  // the agent's callback could not reach the caller
	ReasonCallbackRemoved = "callback-removed" // the callback was cancelled or expired
)

func (CallbackConverted) isEvent() {}
func (CallbackRequeue) isEvent()   {}
func (CallbackReady) isEvent()     {}
func (CallbackRemoved) isEvent()   {}

func (e *Engine) callback(ev Event) error {
	var id CallID
	var what string
	switch ev := ev.(type) {
	case CallbackConverted:
		id, what = ev.Call, "callback convert"
	case CallbackRequeue:
		id, what = ev.Call, "callback requeue"
	case CallbackReady:
		id, what = ev.Call, "callback ready"
	case CallbackRemoved:
		id, what = ev.Call, "callback remove"
	}
	c := e.calls[id]
	if c == nil {
		return fmt.Errorf("acd: %s %s: %w", what, id, ErrUnknownCall)
	}
	switch ev.(type) {
	case CallbackConverted:
		if c.q == nil {
			return fmt.Errorf("acd: %s %s: %w: the call was answered", what, id, ErrBadState)
		}
		// New generations stale the deadline, max-wait and announcement
		// timers; widening is re-armed below.
		c.life++
		c.gen++
		c.hasDeadline, c.deadlineDue, c.maxWaitDue = false, false, false
		if c.annMark {
			c.annMark = false
			c.q.annLeft--
		}
		grouped := c.g != nil
		if grouped {
			e.groupRemove(c)
		}
		e.applyWiden(c)
		if grouped {
			e.groupAdd(c)
			e.pendCall(c)
		}
	case CallbackRequeue:
		if c.state != callConnected || c.consult != nil {
			return fmt.Errorf("acd: %s %s: %w: not an accepted callback", what, id, ErrBadState)
		}
		a := c.agent
		q := a.workQueue
		e.unanswer(c, a, q)
		e.freeAgent(a)
		c.agent = nil
		c.order = e.frontOrder()
		c.q, c.state = q, callHeld
		c.line.key = key{-c.prio, c.order, c.seq}
		q.line.insert(&c.line)
	case CallbackReady:
		if c.state != callHeld {
			return fmt.Errorf("acd: %s %s: %w: not held", what, id, ErrBadState)
		}
		c.state = callWaiting
		e.applyWiden(c)
		e.groupAdd(c)
		e.pendCall(c)
	case CallbackRemoved:
		switch c.state {
		case callConnected:
			if c.consult != nil {
				return fmt.Errorf("acd: %s %s: %w: in a consultation", what, id, ErrBadState)
			}
			a := c.agent
			e.unanswer(c, a, a.workQueue)
			e.freeAgent(a)
			e.freeCall(c)
			return nil
		case callRinging:
			for _, a := range c.ringing {
				e.emit(Action{Kind: CancelOffer, Call: c.id, Agent: a.id, Reason: ReasonCallbackRemoved})
				a.call = nil
				e.setState(a, StateAvailable, ReasonCallbackRemoved)
			}
		}
		e.leaveQueue(c)
		e.freeCall(c)
	}
	return nil
}

// unanswer takes back what answering c counted in q: the callback did not
// reach the caller.
func (e *Engine) unanswer(c *call, a *agent, q *queue) {
	if q == nil || q.st.answered == 0 {
		return // a new day began since the answer
	}
	wait := a.answeredAt - c.entered
	q.st.answered--
	q.st.answerWait -= wait
	if wait <= q.sl && q.st.answeredInSL > 0 {
		q.st.answeredInSL--
	}
	if a.callsToday > 0 {
		a.callsToday--
	}
}

// freeAgent ends a's part in a callback that never reached the caller: no
// wrap-up and no handle time, but a break or logout asked for meanwhile
// takes effect.
func (e *Engine) freeAgent(a *agent) {
	a.call = nil
	a.workQueue = nil
	if a.pending == StateOffline {
		e.goOffline(a)
		return
	}
	e.finishWork(a, ReasonCallbackFailed)
}

// Held says whether call is a callback waiting out its retry gap.
func (e *Engine) Held(id CallID) bool {
	c := e.calls[id]
	return c != nil && c.state == callHeld
}
