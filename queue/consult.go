package queue

import (
	"context"
	"fmt"
	"time"

	"hotline/acd"
)

// An attended transfer: the agent talking with a caller consults a
// colleague (Consult), then either hands the caller over (CompleteTransfer)
// or takes them back (EndConsult). The runtime keeps the ACD's view (who
// is busy, who has the call, wrap-up) and the queue log; the media and
// the agents' pages are the Connector's business.

// Consult reserves target, who must be available, for a consultation by
// agent id about callID, which id is talking on.
func (r *Runtime) Consult(ctx context.Context, id AgentID, callID string, target AgentID) error {
	return r.do(ctx, func(now time.Time) error {
		w := r.calls[acd.CallID(callID)]
		if w == nil || w.answeredBy != id || w.endTalk == nil {
			return fmt.Errorf("queue: consult about %s: %w", callID, ErrUnknownCall)
		}
		if err := r.handle(acd.ConsultStarted{Call: w.id, Target: target}); err != nil {
			return fmt.Errorf("queue: consult about %s: %w", callID, err)
		}
		w.consultee = target
		r.logRow(now, w.id, w.entry.Queue, id, "consult", map[string]string{"to_agent": string(target)})
		w.c.Event("consult", w.step, map[string]string{"from": string(id), "to": string(target)})
		return nil
	})
}

// EndConsult releases the agent consulted about callID without a
// transfer. A call that is gone has released them already: no error.
func (r *Runtime) EndConsult(ctx context.Context, callID string, target AgentID, reason string) error {
	return r.do(ctx, func(now time.Time) error {
		w := r.calls[acd.CallID(callID)]
		if w == nil || w.consultee != target {
			return nil
		}
		w.consultee = ""
		if err := r.handle(acd.ConsultEnded{Target: target}); err != nil {
			return fmt.Errorf("queue: end consult about %s: %w", callID, err)
		}
		r.logRow(now, w.id, w.entry.Queue, target, "consult_end", map[string]string{"reason": reason})
		w.c.Event("consult_end", w.step, map[string]string{"agent": string(target), "reason": reason})
		return nil
	})
}

// CompleteTransfer hands callID from agent id to the agent consulted about
// it: they own the conversation from now (hang-up, hold, a further
// transfer) and id goes to wrap-up. It returns the new agent.
func (r *Runtime) CompleteTransfer(ctx context.Context, id AgentID, callID string) (AgentID, error) {
	var to AgentID
	err := r.do(ctx, func(now time.Time) error {
		w := r.calls[acd.CallID(callID)]
		if w == nil || w.answeredBy != id || w.endTalk == nil {
			return fmt.Errorf("queue: complete transfer of %s: %w", callID, ErrUnknownCall)
		}
		if w.consultee == "" {
			return fmt.Errorf("queue: complete transfer of %s: no consultation", callID)
		}
		to = w.consultee
		if err := r.handle(acd.CallHandedOver{Call: w.id, Target: to}); err != nil {
			return fmt.Errorf("queue: complete transfer of %s: %w", callID, err)
		}
		w.answeredBy, w.consultee = to, ""
		r.logRow(now, w.id, w.entry.Queue, id, "transfer", map[string]string{"to_agent": string(to), "kind": "attended"})
		w.c.Event("queue_transfer", w.step, map[string]string{"from": string(id), "agent": string(to), "kind": "attended", "queue": w.entry.Queue})
		return nil
	})
	return to, err
}
