package queue

import (
	"context"
	"fmt"
	"slices"
	"time"

	"hotline/acd"
	"hotline/store"
)

// Requeue takes an answered caller back into line. A Connector returns it
// (as its error) when the agent is lost mid-call; Runtime.Transfer makes
// one for a blind transfer.
type Requeue struct {
	Queue  string  // "": the queue the call was answered from (or, with Agent, one of theirs)
	Agent  AgentID // offer to this agent only; "": any agent of Queue
	Front  bool    // ahead of the callers of the same priority
	Lost   bool    // the agent's phone died: they go to missed, not wrap-up
	Reason string  // for the queue log: "transfer", "agent-lost", ...
}

func (q *Requeue) Error() string {
	return fmt.Sprintf("queue: back in line (%s)", q.Reason)
}

// agentSkill is the pseudo-skill every agent has at login; requiring it
// routes a call to that agent alone.
func agentSkill(id AgentID) string { return "@agent:" + string(id) }

// Transfer is a blind transfer by the agent talking with callID: the
// conversation ends (wrap-up follows) and the caller waits in to.Queue or
// for to.Agent. A target agent must be logged in and available now, else
// nothing changes; should they become busy before the caller is back in
// line, the caller waits for them (a queue widening every skill away lets
// the queue's other agents take the call then).
func (r *Runtime) Transfer(ctx context.Context, id AgentID, callID string, to Requeue) error {
	if (to.Queue == "") == (to.Agent == "") {
		return fmt.Errorf("queue: transfer %s: want a queue or an agent", callID)
	}
	return r.do(ctx, func(time.Time) error {
		w := r.calls[acd.CallID(callID)]
		if w == nil || w.answeredBy != id || w.endTalk == nil {
			return fmt.Errorf("queue: transfer %s: %w", callID, ErrUnknownCall)
		}
		if to.Queue != "" && !slices.Contains(r.eng.Queues(), to.Queue) {
			return fmt.Errorf("queue: transfer %s: %w %q", callID, acd.ErrUnknownQueue, to.Queue)
		}
		if to.Agent != "" {
			if to.Agent == id {
				return fmt.Errorf("queue: transfer %s: to the agent who has it", callID)
			}
			if ag := r.agents[to.Agent]; ag == nil || len(ag.queues) == 0 {
				return fmt.Errorf("queue: transfer %s to %s: %w", callID, to.Agent, acd.ErrNotLoggedIn)
			}
			if st := r.agentState(to.Agent); st != acd.StateAvailable {
				return fmt.Errorf("queue: transfer %s: agent %s is %s, not available", callID, to.Agent, st)
			}
		}
		to.Lost = false
		if to.Reason == "" {
			to.Reason = "transfer"
		}
		w.moveTo = &to
		w.endTalk()
		return nil
	})
}

func (r *Runtime) agentState(id AgentID) acd.State {
	for _, v := range r.eng.Agents(nil) {
		if v.Agent == id {
			return v.State
		}
	}
	return acd.StateOffline
}

// requeue puts w, whose conversation just ended in the core, back in line.
func (r *Runtime) requeue(now time.Time, w *waiter, rq Requeue, talked time.Duration) {
	from, agent := w.entry.Queue, w.answeredBy
	queue, skills := rq.Queue, w.skills
	if rq.Agent != "" {
		if queue == "" {
			queue = from
			if ag := r.agents[rq.Agent]; ag != nil && len(ag.queues) > 0 && !slices.Contains(ag.queues, from) {
				queue = ag.queues[0]
			}
		}
		skills = append(slices.Clip(skills), acd.SkillReq{Skill: agentSkill(rq.Agent), Min: 1})
	}
	if queue == "" {
		queue = from
	}
	event, outcome := "transfer", store.OutcomeTransferred
	if rq.Lost {
		event, outcome = "requeue", store.OutcomeRequeued
	}
	// The answered stint was closed at the answer; its outcome now says
	// the caller did not leave with that agent.
	w.entry.Outcome = outcome
	r.saveEntry(w)
	data := map[string]string{"to": queue, "reason": rq.Reason, "talk_ms": ms(talked)}
	if rq.Agent != "" {
		data["to_agent"] = string(rq.Agent)
	}
	r.logRow(now, w.id, from, agent, event, data)
	w.c.Event("queue_"+event, w.step, map[string]string{"from": from, "queue": queue, "agent": string(rq.Agent), "reason": rq.Reason})

	w.answeredBy, w.endTalk, w.moveTo, w.consultee = "", nil, nil, ""
	w.openEntry(now, queue)
	r.saveEntry(w)
	r.logRow(now, w.id, queue, "", "enter", enterData(w, map[string]string{"from": from}))
	pos := 0
	if rq.Front {
		pos = 1
	}
	// No MaxWait: the caller already reached an agent once, and the
	// original bound would be spent.
	// A transfer to an agent names who takes the call: the region's
	// preference would only hold it back.
	region := w.region
	if rq.Agent != "" {
		region = ""
	}
	err := r.handle(acd.CallEnqueued{
		Call: w.id, Queue: queue, Priority: w.prio, Skills: skills, Position: pos, ExitStep: w.exitStep,
		Region: region,
	})
	if err != nil {
		r.finish(now, w, store.OutcomeRejected, Result{Outcome: Rejected, Reason: err.Error()})
	}
}
