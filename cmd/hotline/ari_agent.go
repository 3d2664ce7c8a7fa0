package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"hotline/ari"
	"hotline/call"
	"hotline/desk"
)

// originateAgent rings an agent's softphone for an ARI application
// (endpoint Agent/USERNAME or WebRTC/USERNAME). An agent who is not
// logged in at a desk of the application's tenant is an invalid endpoint
// (400); otherwise the channel is returned at once, in state Down, and a
// goroutine owned by the call rings the agent (Ringing), connects their
// browser once they pick up (Up), runs the application and hangs up. A
// busy or unavailable agent, a declined or unanswered offer hang the
// channel up with busy, rejected or no-answer.
func (o originator) originateAgent(req ari.OriginateRequest, username string) (*call.Call, error) {
	if o.desk == nil {
		return nil, fmt.Errorf("%w: no agent desks", ari.ErrEndpoint)
	}
	if username == "" {
		return nil, fmt.Errorf("%w: %q: use Agent/USERNAME", ari.ErrEndpoint, req.Endpoint)
	}
	t, ok := o.reg.Tenant(req.Tenant)
	if !ok {
		return nil, fmt.Errorf("%w: unknown tenant", ari.ErrEndpoint)
	}
	name, num := callerID(req.CallerID)
	id := uuid.NewString()
	leg, err := o.desk.NewAgentLeg(req.Tenant, username, desk.RingRequest{
		CallID: id, Caller: cmp.Or(num, name, "ARI"), Timeout: req.Timeout,
	})
	if errors.Is(err, desk.ErrUnknownAgent) {
		return nil, fmt.Errorf("%w: agent %q is not logged in", ari.ErrEndpoint, username)
	}
	if err != nil {
		return nil, err
	}
	c := call.New(context.Background(), call.Info{ID: id, TenantID: req.Tenant, From: cmp.Or(num, name), To: username,
		Outbound: true, Started: time.Now()},
		call.Config{Media: leg, Prompts: t.Prompts, Music: t.Music, State: call.StateDown})
	if req.Created != nil {
		req.Created(c)
	}
	go runAgentCall(c, leg, req.Run)
	return c, nil
}

// runAgentCall is the owner goroutine of a call placed to an agent.
func runAgentCall(c *call.Call, leg *desk.AgentLeg, run func(*call.Call)) {
	defer leg.Close()
	ctx := c.Context()
	if err := leg.Ring(ctx); err != nil {
		c.Hangup(call.CauseOf(err))
		return
	}
	c.SetState(call.StateRinging)
	if err := leg.WaitAnswer(ctx); err != nil {
		c.Hangup(call.CauseOf(err))
		return
	}
	c.MarkAnswered(time.Now())
	// The agent's side ending (hang-up, browser gone) ends the call.
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-leg.Done():
			if leg.HungUp() {
				c.Hangup(call.CauseRemoteHangup)
			} else {
				c.Hangup(call.CauseRemoteHangup.With("agent connection lost"))
			}
		case <-stop:
		}
	}()
	if run != nil {
		run(c)
	} else {
		<-c.Done()
	}
	c.Hangup(call.CauseNormal)
	close(stop)
	<-watched
}
