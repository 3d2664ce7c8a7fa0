package queue

import (
	"context"
	"time"

	"hotline/acd"
)

// Board is a tenant's live picture for supervisors (the wallboard): every
// queue's figures and every known agent's state with the caller they are
// talking to, taken in one pass of the owner so the two agree.
type Board struct {
	At     time.Time
	Queues []acd.QueueStats
	Agents []BoardAgent
}

// BoardAgent is an agent's view with what the runtime knows of their call.
type BoardAgent struct {
	acd.AgentView
	Caller string // the number of the caller on Call (or Consult), if any
}

// Board returns the live picture.
func (r *Runtime) Board(ctx context.Context) (Board, error) {
	// The owner hands the board over through out: do may return on ctx
	// before the closure runs, and the closure must then not write into
	// a board this goroutine is reading.
	out := make(chan Board, 1)
	err := r.do(ctx, func(now time.Time) error {
		var b Board
		b.At = now
		for _, q := range r.eng.Queues() {
			s, err := r.eng.QueueStats(now, q)
			if err != nil {
				return err
			}
			b.Queues = append(b.Queues, s)
		}
		views := r.eng.Agents(nil)
		b.Agents = make([]BoardAgent, len(views))
		for i, v := range views {
			b.Agents[i].AgentView = v
			id := v.Call
			if id == "" {
				id = v.Consult
			}
			if w := r.calls[id]; w != nil {
				b.Agents[i].Caller = w.caller
			}
		}
		out <- b
		return nil
	})
	if err != nil {
		return Board{}, err
	}
	return <-out, nil
}
