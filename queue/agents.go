package queue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/store"
)

// Agent is an agent logging in.
type Agent struct {
	ID       AgentID
	Endpoint AgentEndpoint  // may be nil until the phone connects (Attach)
	Skills   map[string]int // levels 1-100
	Queues   []acd.Membership
	// Available starts the agent ready for offers; otherwise on break
	// (reason "login").
	Available bool
	// Regions are the callers' regions the agent serves first (queues
	// with prefer_region). Skills named RegionSkill(r) (level any) add
	// region r too, so a profile carried as skills alone keeps them.
	Regions []string
}

// RegionSkill is the pseudo-skill that carries a region in an agent's
// skills (Agent.Skills), for wiring that passes skills only.
func RegionSkill(region string) string { return regionSkillPrefix + region }

const regionSkillPrefix = "@region:"

// Login logs an agent in.
func (r *Runtime) Login(ctx context.Context, a Agent) error {
	return r.do(ctx, func(time.Time) error {
		prev, had := r.agents[a.ID]
		// Registered first: the login itself may offer the agent a call.
		ag := &agentConn{ep: a.Endpoint}
		for _, m := range a.Queues {
			ag.queues = append(ag.queues, m.Queue)
		}
		r.agents[a.ID] = ag
		// The agent's own pseudo-skill lets a transfer to them ride the
		// core's skill routing: a call requiring it rings nobody else.
		skills := make(map[string]int, len(a.Skills)+1)
		regions := slices.Clone(a.Regions)
		for name, lvl := range a.Skills {
			if reg, ok := strings.CutPrefix(name, regionSkillPrefix); ok {
				regions = append(regions, reg)
				continue
			}
			skills[name] = lvl
		}
		slices.Sort(regions)
		regions = slices.Compact(regions)
		skills[agentSkill(a.ID)] = 1
		if err := r.handle(acd.AgentLogin{Agent: a.ID, Skills: skills, Queues: a.Queues, Available: a.Available, Regions: regions}); err != nil {
			if had {
				r.agents[a.ID] = prev
			} else {
				delete(r.agents, a.ID)
			}
			return err
		}
		return nil
	})
}

// Attach gives a logged-in agent a (new) phone, after a reconnect; nil
// detaches it, and offers then count as rejected until one is attached.
// The agent's state does not change, so a dropped WebSocket does not log
// the agent out or lose a call.
func (r *Runtime) Attach(ctx context.Context, id AgentID, ep AgentEndpoint) error {
	return r.do(ctx, func(time.Time) error {
		ag := r.agents[id]
		if ag == nil {
			return fmt.Errorf("queue: attach %s: %w", id, acd.ErrNotLoggedIn)
		}
		ag.ep = ep
		return nil
	})
}

// Logout logs an agent out; an offer ringing on them goes back to the
// front of the line.
func (r *Runtime) Logout(ctx context.Context, id AgentID) error {
	return r.do(ctx, func(time.Time) error {
		err := r.handle(acd.AgentLogout{Agent: id})
		if err == nil {
			delete(r.agents, id)
		}
		return err
	})
}

// SetState makes an agent available (acd.StateAvailable) or takes a break
// (acd.StateBreak with a reason code).
func (r *Runtime) SetState(ctx context.Context, id AgentID, state acd.State, reason string) error {
	return r.do(ctx, func(time.Time) error {
		return r.handle(acd.SetState{Agent: id, State: state, Reason: reason})
	})
}

// WrapUpDone ends an agent's after-call work early.
func (r *Runtime) WrapUpDone(ctx context.Context, id AgentID) error {
	return r.do(ctx, func(time.Time) error { return r.handle(acd.WrapUpDone{Agent: id}) })
}

// Answer is the agent picking up an offer: the caller's goroutine connects
// them. It fails when the offer is gone (answered elsewhere, withdrawn,
// the caller hung up).
func (r *Runtime) Answer(ctx context.Context, id AgentID, callID string) error {
	return r.do(ctx, func(now time.Time) error {
		w := r.calls[acd.CallID(callID)]
		if w == nil || w.answeredBy != "" {
			return fmt.Errorf("queue: answer %s: %w", callID, ErrUnknownCall)
		}
		if w.cb != nil {
			return r.callbackAnswer(now, w, id)
		}
		if err := r.handle(acd.OfferAnswered{Call: w.id, Agent: id}); err != nil {
			return err
		}
		w.answeredBy = id
		w.entry.AnsweredAt, w.entry.AgentID = now, string(id)
		r.closeEntry(now, w, store.OutcomeAnswered)
		r.logRow(now, w.id, w.entry.Queue, id, "connect", map[string]string{"wait_ms": ms(now.Sub(w.entered))})
		talk, end := context.WithCancel(w.ctx)
		w.endTalk = end
		w.final <- final{
			res:   Result{Outcome: Answered, Queue: w.entry.Queue, Agent: id, Wait: now.Sub(w.entered)},
			agent: id, talk: talk,
		}
		return nil
	})
}

// Reject is the agent declining an offer (or the phone answering busy).
func (r *Runtime) Reject(ctx context.Context, id AgentID, callID, reason string) error {
	return r.do(ctx, func(now time.Time) error {
		cid := acd.CallID(callID)
		err := r.handle(acd.OfferRejected{Call: cid, Agent: id, Reason: reason})
		if err == nil {
			queue := ""
			if w := r.calls[cid]; w != nil {
				queue = w.entry.Queue
			}
			r.logRow(now, cid, queue, id, "reject", map[string]string{"reason": reason})
		}
		return err
	})
}

// Hangup is the agent ending the conversation.
func (r *Runtime) Hangup(ctx context.Context, id AgentID, callID string) error {
	return r.do(ctx, func(time.Time) error {
		w := r.calls[r.callbackAlias(acd.CallID(callID))]
		if w == nil || w.answeredBy != id {
			return fmt.Errorf("queue: hang up %s: %w", callID, ErrUnknownCall)
		}
		w.endTalk()
		return nil
	})
}

// Dispose records the agent's disposition code for a call.
func (r *Runtime) Dispose(ctx context.Context, id AgentID, callID, code, note string) error {
	if code == "" {
		return fmt.Errorf("queue: disposition of %s: empty code", callID)
	}
	cid, err := uuid.Parse(callID)
	if err != nil {
		return fmt.Errorf("queue: disposition: call id %q: %w", callID, err)
	}
	return r.do(ctx, func(now time.Time) error {
		if r.cfg.Sink != nil {
			r.cfg.Sink.Disposition(store.Disposition{TenantID: r.cfg.TenantID, CallID: cid, UserID: string(id), Code: code, Note: note, At: now})
		}
		r.logRow(now, acd.CallID(callID), "", id, "disposition", map[string]string{"code": code})
		return nil
	})
}

// QueueStats returns every queue's live figures, in configuration order.
func (r *Runtime) QueueStats(ctx context.Context) ([]acd.QueueStats, error) {
	out := make(chan []acd.QueueStats, 1) // not a captured slice: see Board
	err := r.do(ctx, func(now time.Time) error {
		var stats []acd.QueueStats
		for _, q := range r.eng.Queues() {
			s, err := r.eng.QueueStats(now, q)
			if err != nil {
				return err
			}
			stats = append(stats, s)
		}
		out <- stats
		return nil
	})
	if err != nil {
		return nil, err
	}
	return <-out, nil
}

// Agents returns every known agent's view, by id.
func (r *Runtime) Agents(ctx context.Context) ([]acd.AgentView, error) {
	out := make(chan []acd.AgentView, 1) // not a captured slice: see Board
	err := r.do(ctx, func(time.Time) error {
		out <- r.eng.Agents(nil)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return <-out, nil
}
