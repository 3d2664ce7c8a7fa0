package desk

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// An attended transfer at the desk: agent A, talking with a caller, asks
// to consult agent B. The caller goes on hold (music), B's phone rings
// with a consult offer; once B picks up, A's and B's browsers are patched
// together. A then completes (the caller is bridged to B, A goes to
// wrap-up), cancels (B is released, A has the caller back), or hangs up,
// which completes the transfer as Asterisk's attended transfer does. B
// hanging up, declining or not answering gives the caller back to A.

// Why a consultation ended, as consult_ended's "reason" says.
const (
	consultCancelled = "cancelled"      // A cancelled it
	consultDeclined  = "declined"       // B declined the consult offer
	consultNoAnswer  = "no-answer"      // B did not pick up in time
	consultHungUp    = "hung-up"        // B hung up
	consultCallEnded = "call-ended"     // the caller hung up, or A's side failed
	consultFailed    = ""               // B's leg failed or B went away
	consultDone      = "transferred"    // completed: B has the caller
	consultRing      = 30 * time.Second // bound on B picking up and their browser answering
)

// consult starts A's consultation with agent name about t's call.
func (s *Session) consult(ctx context.Context, t *talk, name string) error {
	a := s.a
	if name == "" {
		return errors.New("consult: missing field agent")
	}
	b := a.d.agentNamed(a.id.Tenant, name)
	if b == nil || b.rt != a.rt {
		return fmt.Errorf("consult: agent %q is not logged in", name)
	}
	if b == a {
		return errors.New("consult: that is you")
	}
	t.mu.Lock()
	busy, connected := t.consult != nil, t.connected
	t.mu.Unlock()
	if !connected {
		return errors.New("consult: the call is not connected")
	}
	if busy {
		return errors.New("consult: a consultation is already in progress")
	}
	b.mu.Lock()
	free := b.sess != nil && b.talk == nil
	b.mu.Unlock()
	if !free {
		return fmt.Errorf("consult: agent %q is busy", name)
	}
	// The ACD reserves B first: it refuses an agent who is not available,
	// and from now on offers them no caller.
	if err := a.rt.Consult(ctx, a.id.ID, t.callID, b.id.ID); err != nil {
		return fmt.Errorf("consult: %w", err)
	}
	side := &talk{
		callID: t.callID, call: t.call, holder: &legHolder{}, owner: b, consultOf: t,
		answer: make(chan string, 1), ended: make(chan struct{}), accept: make(chan struct{}, 1), done: make(chan struct{}),
	}
	side.holder.t.Store(side)
	leg, err := a.d.newLeg(t.callID, side.holder)
	if err == nil {
		side.leg = leg
		err = s.claimConsult(t, side, b)
		if err != nil {
			leg.Close()
		}
	}
	if err != nil {
		a.rt.EndConsult(context.WithoutCancel(ctx), t.callID, b.id.ID, consultFailed)
		return fmt.Errorf("consult: %w", err)
	}
	if err := t.setHold(true); err != nil {
		side.end(consultFailed)
		close(side.done) // runConsult never ran
		s.a.d.releaseConsult(a, t, side)
		return fmt.Errorf("consult: %w", err)
	}
	a.send(Msg{"type": "held", "call": t.callID, "on": true})
	a.send(Msg{"type": "consult_ringing", "call": t.callID, "agent": b.id.Username})
	b.send(Msg{"type": "consult_offer", "call": t.callID, "from": a.id.Username, "from_name": a.id.DisplayName,
		"caller": t.call.From, "ring_timeout_ms": consultRing.Milliseconds()})
	// B sees who the caller is before picking up, as with an offer.
	if m := a.d.callerContextMsg(b, t.call); m != nil {
		b.send(m)
	}
	// Owned by the caller's talk: Connect's cleanup ends side and waits
	// for done.
	go a.d.runConsult(a, b, t, side)
	return nil
}

// claimConsult makes side B's current talk and t's consultation, unless
// either got busy meanwhile.
func (s *Session) claimConsult(t, side *talk, b *Agent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if b.talk != nil || b.sess == nil {
		return errors.New("the agent got busy")
	}
	if t.consult != nil || !t.connected {
		return errors.New("the call changed meanwhile")
	}
	b.talk, t.consult = side, side
	return nil
}

// runConsult rings B, connects B's browser and patches it to A's, then
// waits for the consultation to end; unless it became the call's leg, it
// releases B and gives the caller back to A.
func (d *Desk) runConsult(a, b *Agent, t, side *talk) {
	defer close(side.done)
	defer func() {
		side.mu.Lock()
		handed := side.handedOff
		side.mu.Unlock()
		if !handed {
			d.releaseConsult(a, t, side)
		}
	}()
	ctx, cancel := context.WithTimeout(t.call.Context(), consultRing)
	defer cancel()
	select {
	case <-side.accept:
	case <-side.ended:
		return
	case <-ctx.Done():
		side.end(consultNoAnswer)
		return
	}
	sdp, err := side.leg.Offer(ctx)
	if err != nil {
		side.end(consultFailed)
		return
	}
	if !b.send(Msg{"type": "webrtc_offer", "call": t.callID, "sdp": sdp, "consult": true}) {
		side.end(consultFailed)
		return
	}
	var answer string
	select {
	case answer = <-side.answer:
	case <-side.ended:
		return
	case <-ctx.Done():
		side.end(consultNoAnswer)
		return
	}
	if err := side.leg.SetAnswer(answer); err != nil {
		b.send(Msg{"type": "error", "call": t.callID, "message": err.Error()})
		side.end(consultFailed)
		return
	}
	aLeg, _ := t.current()
	side.mu.Lock()
	aLeg.Patch(side.leg)
	side.connected = true
	side.mu.Unlock()
	b.send(Msg{"type": "connected", "call": t.callID, "consult": true, "from": a.id.Username})
	a.send(Msg{"type": "consult_connected", "call": t.callID, "agent": b.id.Username})
	<-side.ended
}

// releaseConsult undoes a consultation that did not become a transfer.
func (d *Desk) releaseConsult(a *Agent, t, side *talk) {
	side.leg.Unpatch()
	side.leg.Close()
	reason := side.endedBy()
	b := side.owner
	b.mu.Lock()
	if b.talk == side {
		b.talk = nil
	}
	b.sendLocked(Msg{"type": "call_ended", "call": t.callID, "by": "consult", "reason": reason})
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.rt.EndConsult(ctx, t.callID, b.id.ID, reason); err != nil {
		d.log.Warn("ending a consultation", "call", t.callID, "agent", b.id.Username, "error", err)
	}
	t.mu.Lock()
	if t.consult == side {
		t.consult = nil
	}
	live := t.connected
	t.mu.Unlock()
	if !live {
		return // the caller is gone: Connect's cleanup tells A
	}
	if err := t.setHold(false); err == nil {
		a.send(Msg{"type": "held", "call": t.callID, "on": false})
	}
	a.send(Msg{"type": "consult_ended", "call": t.callID, "agent": b.id.Username, "reason": reason})
}

// completeConsult hands t's caller to the consulted agent.
func (s *Session) completeConsult(ctx context.Context, t *talk) error {
	a := s.a
	t.mu.Lock()
	side := t.consult
	t.mu.Unlock()
	if side == nil {
		return errors.New("consult_complete: no consultation in progress")
	}
	side.mu.Lock()
	ready := side.connected
	side.mu.Unlock()
	if !ready {
		return errors.New("consult_complete: the consulted agent has not picked up yet")
	}
	if _, err := a.rt.CompleteTransfer(ctx, a.id.ID, t.callID); err != nil {
		return fmt.Errorf("consult_complete: %w", err)
	}
	t.mu.Lock()
	m := t.monitor
	t.mu.Unlock()
	if m != nil {
		m.Stop("transferred") // its taps are on the leg that leaves
	}
	b := side.owner
	// From here on the caller's talk is B's: its leg, its owner, its
	// failure handling. A's leg is closed by Connect at the end.
	b.mu.Lock()
	t.mu.Lock()
	side.mu.Lock()
	side.handedOff = true
	side.mu.Unlock()
	aLeg := t.leg
	t.stopMusicLocked()
	t.held = false
	t.leg, t.owner, t.consult = side.leg, b, nil
	old := t.holder
	t.holder = side.holder
	side.holder.t.Store(t)
	old.t.Store(nil)
	if b.talk == side {
		b.talk = t
	}
	t.mu.Unlock()
	b.mu.Unlock()
	aLeg.Unpatch()
	side.leg.Attach(t.sess)
	a.d.recordingFor(t.call, t.sess, string(b.id.ID)) // b may play it back
	side.end(consultDone)
	<-side.done
	aLeg.Close()
	a.mu.Lock()
	if a.talk == t {
		a.talk = nil
	}
	a.sendLocked(Msg{"type": "call_ended", "call": t.callID, "by": byTransfer})
	a.mu.Unlock()
	b.send(Msg{"type": "transferred", "call": t.callID, "from": a.id.Username, "caller": t.call.From})
	a.d.assistFor(t.call, t.sess, b) // b gets the transcript and checklist so far
	return nil
}

// cancelConsult ends A's consultation; the caller comes back to A.
func (s *Session) cancelConsult(t *talk) error {
	t.mu.Lock()
	side := t.consult
	t.mu.Unlock()
	if side == nil {
		return errors.New("consult_cancel: no consultation in progress")
	}
	side.end(consultCancelled)
	<-side.done
	return nil
}
