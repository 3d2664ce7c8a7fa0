package queue

import (
	"context"
	"fmt"
	"time"

	"hotline/acd"
)

// Reserve takes agent id, who must be available, out of the queues'
// rotation for a call the ACD does not route (an ARI application ringing
// their softphone): on call with reason, offered nothing until Release.
func (r *Runtime) Reserve(ctx context.Context, id AgentID, reason string) error {
	return r.do(ctx, func(time.Time) error {
		if err := r.handle(acd.AgentReserved{Agent: id, Reason: reason}); err != nil {
			return fmt.Errorf("queue: reserve %s: %w", id, err)
		}
		return nil
	})
}

// Release ends Reserve: after a call the agent talked on (talked) they
// wrap up as after a queue call; lost (the phone died) sends them to
// missed; otherwise they are free at once.
func (r *Runtime) Release(ctx context.Context, id AgentID, talked, lost bool) error {
	return r.do(ctx, func(time.Time) error {
		if err := r.handle(acd.AgentReleased{Agent: id, Talked: talked, Lost: lost}); err != nil {
			return fmt.Errorf("queue: release %s: %w", id, err)
		}
		return nil
	})
}
