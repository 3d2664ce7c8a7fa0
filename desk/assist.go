package desk

import (
	"context"
	"time"

	"hotline/assist"
	"hotline/call"
	"hotline/media"
)

// Assistant transcribes agent calls live; *assist.Live implements it.
type Assistant interface {
	Start(ctx context.Context, m assist.Meta, tap assist.Tap, h assist.Handler) *assist.Call
}

// assistFor starts c's live transcript on its first answer, or hands the
// running one to the agent taking the call over (a transfer), who gets
// the lines said so far.
func (d *Desk) assistFor(c *call.Call, sess *media.Session, a *Agent) *assist.Call {
	if d.cfg.Assist == nil {
		return nil
	}
	d.mu.Lock()
	ac := d.assists[c.ID]
	fresh := ac == nil
	if fresh {
		m := assist.Meta{TenantID: c.TenantID, CallID: c.ID, Journal: c.Journal(), Answered: time.Now()}
		ac = d.cfg.Assist.Start(c.Context(), m, sess, &assistRoute{d: d, tenant: c.TenantID, callID: c.ID})
		d.assists[c.ID] = ac
	}
	d.mu.Unlock()
	ac.SetAgent(string(a.id.ID), a.id.Username)
	ac.SetHeld(false)
	if fresh {
		d.recWG.Go(func() {
			<-c.Done()
			d.mu.Lock()
			delete(d.assists, c.ID)
			d.mu.Unlock()
		})
		return ac
	}
	replayAssist(c.ID, ac, a.send)
	return ac
}

// replayAssist sends what a call's assist has shown so far (the
// transcript, the checklist) to someone joining it: the agent taking a
// transfer, a supervisor starting to listen.
func replayAssist(callID string, ac *assist.Call, send func(Msg) bool) {
	if lines := ac.Lines(); len(lines) > 0 {
		send(transcriptMsg(callID, lines, true))
	}
	if s := ac.Checklist(); s != nil {
		send(checklistMsg(callID, s))
	}
}

func checklistMsg(callID string, s *assist.ChecklistState) Msg {
	return Msg{"type": "checklist", "call": callID, "checklist": s}
}

// assistOf returns callID's live transcript, nil when none runs.
func (d *Desk) assistOf(callID string) *assist.Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.assists[callID]
}

func transcriptMsg(callID string, lines []assist.Line, replay bool) Msg {
	return Msg{"type": "transcript", "call": callID, "lines": lines, "replay": replay}
}

// assistRoute sends a call's transcript to whoever is on the call now:
// its agent (the owner changes on a transfer) and a listening supervisor.
type assistRoute struct {
	d              *Desk
	tenant, callID string
}

func (r *assistRoute) send(msg Msg, supervisor bool) {
	t := r.d.talkOfCall(r.tenant, r.callID)
	if t == nil {
		return // between agents (requeued): the next one gets a replay
	}
	t.mu.Lock()
	owner, m := t.owner, t.monitor
	t.mu.Unlock()
	owner.send(msg)
	if m != nil && supervisor {
		m.out.Send(msg)
	}
}

func (r *assistRoute) Line(l assist.Line) {
	r.send(transcriptMsg(r.callID, []assist.Line{l}, false), true)
}

func (r *assistRoute) Cards(text string, rs []assist.Result) {
	r.send(Msg{"type": "kb_matches", "call": r.callID, "text": text, "matches": rs}, false)
}

func (r *assistRoute) Checklist(s *assist.ChecklistState) {
	r.send(checklistMsg(r.callID, s), true)
}

func (r *assistRoute) Unavailable(err error) {
	r.send(Msg{"type": "transcript_status", "call": r.callID, "state": "unavailable", "message": err.Error()}, true)
}
