package desk

import (
	"context"
	"sync"
	"time"

	"hotline/assist"
	"hotline/call"
)

// CallerContexts builds what an agent sees about a caller beside the
// softphone; *assist.ContextBuilder implements it. Local reads the call's
// own timeline (no I/O: it runs on the ACD's owner); Lookup fetches the
// rest (previous calls, the CRM) and may take the CRM's timeout.
type CallerContexts interface {
	Local(c *call.Call, now time.Time) assist.CallerContext
	Lookup(ctx context.Context, info call.Info) assist.Lookups
}

// contextCache holds each offered call's lookups, so a re-offer (ring
// timeout, a transfer to another agent) shows them at once instead of
// asking the CRM again.
type contextCache struct {
	mu    sync.Mutex
	calls map[string]*callerContext // by call id, until the call ends
}

type callerContext struct {
	done    bool
	lookups assist.Lookups
	waiting map[*Agent]bool // shown the partial version: they get the full one
}

// callerContextMsg is the caller_context message showing c to a, or nil
// when the desk builds no contexts. The first one for a call starts its
// lookups in a goroutine bounded by the call; until they are done, a
// gets a version with the lookups "loading" now and the full one later.
// It must not run under the cache's lock; it may run under a.mu.
func (d *Desk) callerContextMsg(a *Agent, c *call.Call) Msg {
	if d.cfg.Context == nil || c == nil {
		return nil
	}
	cc := d.cfg.Context.Local(c, time.Now())
	d.ctxs.mu.Lock()
	e := d.ctxs.calls[c.ID]
	fresh := e == nil
	if fresh {
		if d.ctxs.calls == nil {
			d.ctxs.calls = map[string]*callerContext{}
		}
		e = &callerContext{waiting: map[*Agent]bool{}}
		d.ctxs.calls[c.ID] = e
	}
	if e.done {
		cc.Apply(e.lookups)
	} else {
		e.waiting[a] = true
	}
	d.ctxs.mu.Unlock()
	if fresh {
		// Joined by Close, like the recordings: calls end before it.
		d.recWG.Go(func() { d.lookupContext(c, e) })
	}
	return contextMsg(c.ID, cc)
}

func contextMsg(callID string, cc assist.CallerContext) Msg {
	return Msg{"type": "caller_context", "call": callID, "context": cc}
}

// lookupContext runs c's lookups, sends the full context to the agents
// still showing the call, and forgets the call when it ends. An agent
// between the answer and the conversation (showing nothing for a moment)
// stays waiting: contextTalking sends theirs.
func (d *Desk) lookupContext(c *call.Call, e *callerContext) {
	l := d.cfg.Context.Lookup(c.Context(), c.Info)
	d.ctxs.mu.Lock()
	e.lookups, e.done = l, true
	waiting := make([]*Agent, 0, len(e.waiting))
	for a := range e.waiting {
		waiting = append(waiting, a)
	}
	d.ctxs.mu.Unlock()
	if c.Context().Err() == nil {
		for _, a := range waiting {
			a.mu.Lock()
			// An agent who declined, or whose offer went to someone
			// else, is not shown what the CRM knows of the caller.
			sent := a.showsCallLocked(c.ID) && a.sendLocked(d.fullContext(c, l))
			a.mu.Unlock()
			if sent {
				d.ctxs.mu.Lock()
				delete(e.waiting, a)
				d.ctxs.mu.Unlock()
			}
		}
	}
	<-c.Done()
	d.ctxs.mu.Lock()
	delete(d.ctxs.calls, c.ID)
	d.ctxs.mu.Unlock()
}

func (d *Desk) fullContext(c *call.Call, l assist.Lookups) Msg {
	cc := d.cfg.Context.Local(c, time.Now())
	cc.Apply(l)
	return contextMsg(c.ID, cc)
}

// contextTalking sends a the full context of c, now a's conversation,
// when a saw only the partial one and the lookups have finished since.
func (d *Desk) contextTalking(a *Agent, c *call.Call) {
	if d.cfg.Context == nil {
		return
	}
	d.ctxs.mu.Lock()
	e := d.ctxs.calls[c.ID]
	send := e != nil && e.done && e.waiting[a]
	if send {
		delete(e.waiting, a)
	}
	var l assist.Lookups
	if send {
		l = e.lookups
	}
	d.ctxs.mu.Unlock()
	if send {
		a.send(d.fullContext(c, l))
	}
}

// showsCallLocked says whether callID rings on a or is a's conversation
// (or consultation). a.mu must be held.
func (a *Agent) showsCallLocked(callID string) bool {
	if a.ringing[callID] {
		return true
	}
	return a.talk != nil && a.talk.callID == callID
}
