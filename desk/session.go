package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"hotline/acd"
	"hotline/queue"
)

// Session is one connection of an agent's desk.
type Session struct {
	a   *Agent
	out Outbox
}

// in is a browser message: the union of every type's fields.
type in struct {
	Type      string          `json:"type"`
	State     string          `json:"state"`
	Reason    string          `json:"reason"`
	Call      string          `json:"call"`
	SDP       string          `json:"sdp"`
	Candidate json.RawMessage `json:"candidate"`
	On        *bool           `json:"on"`
	Paused    *bool           `json:"paused"`
	Digits    string          `json:"digits"`
	Code      string          `json:"code"`
	Note      string          `json:"note"`
	Queue     string          `json:"queue"`
	Agent     string          `json:"agent"`
	Number    string          `json:"number"` // dial (dial.go)
	Step      string          `json:"step"`   // checklist_tick
	Done      *bool           `json:"done"`   // checklist_tick
}

// maxDigits bounds one dtmf message: a phone number or a PIN, not a song.
const maxDigits = 32

// Handle carries out one browser message. A message that is malformed or
// refused gets an `error` back; the connection stays open.
func (s *Session) Handle(ctx context.Context, raw []byte) {
	var m in
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		s.fail("", fmt.Sprintf("malformed message: %v", err))
		return
	}
	if dec.More() {
		s.fail("", "one JSON object per message")
		return
	}
	if err := s.handle(ctx, m); err != nil {
		s.fail(m.Call, err.Error())
	}
}

func (s *Session) fail(call, msg string) {
	out := Msg{"type": "error", "message": msg}
	if call != "" {
		out["call"] = call
	}
	s.out.Send(out)
}

func (s *Session) handle(ctx context.Context, m in) error {
	a := s.a
	id := a.id.ID
	needCall := func() error {
		if m.Call == "" {
			return fmt.Errorf("%s: missing field call", m.Type)
		}
		return nil
	}
	if r := a.ringOf(m.Call); r != nil {
		return r.handle(m) // a call placed to the agent by an ARI application
	}
	if handled, err := s.outbound(m); handled {
		return err // dial, and what differs on an outbound call (dial.go)
	}
	switch m.Type {
	case "state":
		return s.setState(ctx, m.State, m.Reason)
	case "answer":
		if err := needCall(); err != nil {
			return err
		}
		if side := s.consultSide(m.Call); side != nil {
			select {
			case side.accept <- struct{}{}:
			default:
			}
			return nil
		}
		a.mu.Lock()
		delete(a.ringing, m.Call)
		a.mu.Unlock()
		if err := a.rt.Answer(ctx, id, m.Call); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		return nil
	case "reject":
		if err := needCall(); err != nil {
			return err
		}
		if side := s.consultSide(m.Call); side != nil {
			side.end(consultDeclined)
			return nil
		}
		a.mu.Lock()
		delete(a.ringing, m.Call)
		a.mu.Unlock()
		if err := a.rt.Reject(ctx, id, m.Call, "rejected"); err != nil {
			return fmt.Errorf("reject: %w", err)
		}
		return nil
	case "webrtc_answer":
		t, err := s.talkOf(m.Call)
		if err != nil {
			return err
		}
		if m.SDP == "" {
			return errors.New("webrtc_answer: missing field sdp")
		}
		return t.deliverAnswer(m.SDP)
	case "ice":
		t, err := s.talkOf(m.Call)
		if err != nil {
			return err
		}
		if len(m.Candidate) == 0 || string(m.Candidate) == "null" {
			return nil // end of candidates
		}
		leg, _ := t.current()
		return leg.AddCandidate(m.Candidate)
	case "hold":
		t, err := s.talkOf(m.Call)
		if err != nil {
			return err
		}
		if m.On == nil {
			return errors.New("hold: missing field on")
		}
		if err := t.notConsulting("hold"); err != nil {
			return err
		}
		if err := t.setHold(*m.On); err != nil {
			return err
		}
		a.send(Msg{"type": "held", "call": m.Call, "on": *m.On})
		return nil
	case "dtmf":
		t, err := s.talkOf(m.Call)
		if err != nil {
			return err
		}
		if t.consultOf != nil {
			return errors.New("dtmf: the caller is not on this consultation")
		}
		if m.Digits == "" || len(m.Digits) > maxDigits || strings.Trim(m.Digits, "0123456789*#ABCDabcd") != "" {
			return fmt.Errorf("dtmf: digits must be 1-%d of 0-9 * # A-D", maxDigits)
		}
		for _, d := range strings.ToUpper(m.Digits) {
			if err := t.call.Media().SendDigit(d, 100*time.Millisecond); err != nil {
				return fmt.Errorf("dtmf: %w", err)
			}
		}
		return nil
	case "hangup":
		if err := needCall(); err != nil {
			return err
		}
		if t, err := s.talkOf(m.Call); err == nil {
			if t.consultOf != nil {
				t.end(consultHungUp) // the consulted agent leaves; the caller goes back
				return nil
			}
			if t.consultReady() {
				// Hanging up during a consultation hands the caller over,
				// as an attended transfer in Asterisk does.
				return s.completeConsult(ctx, t)
			}
			t.end(byAgent)
		}
		if err := a.rt.Hangup(ctx, id, m.Call); err != nil {
			return fmt.Errorf("hangup: %w", err)
		}
		return nil
	case "disposition":
		if err := needCall(); err != nil {
			return err
		}
		if err := a.rt.Dispose(ctx, id, m.Call, m.Code, m.Note); err != nil {
			return fmt.Errorf("disposition: %w", err)
		}
		return nil
	case "wrapup_done":
		if err := a.rt.WrapUpDone(ctx, id); err != nil {
			return fmt.Errorf("wrapup_done: %w", err)
		}
		return nil
	case "transfer":
		return s.transfer(ctx, m)
	case "recording":
		t, err := s.talkOf(m.Call)
		if err != nil {
			return fmt.Errorf("recording: %w", err)
		}
		if t.consultOf != nil {
			return errors.New("recording: this is a consultation, not your call")
		}
		if m.Paused == nil {
			return errors.New("recording: missing field paused")
		}
		if err := t.setRecordingPaused(s.a.d, *m.Paused); err != nil {
			return err
		}
		a.send(Msg{"type": "recording", "call": m.Call, "paused": *m.Paused})
		return nil
	case "checklist_tick":
		t, err := s.talkOf(m.Call)
		if err != nil {
			return fmt.Errorf("checklist_tick: %w", err)
		}
		t.mu.Lock()
		ac := t.assist
		t.mu.Unlock()
		switch {
		case t.consultOf != nil:
			return errors.New("checklist_tick: this is a consultation, not your call")
		case ac == nil:
			return errors.New("checklist_tick: this call has no checklist")
		case m.Done == nil || m.Step == "":
			return errors.New("checklist_tick: want step and done")
		}
		if err := ac.Tick(m.Step, *m.Done, string(id)); err != nil {
			return fmt.Errorf("checklist_tick: %w", err)
		}
		return nil
	case "consult", "consult_complete", "consult_cancel":
		t, err := s.talkOf(m.Call)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Type, err)
		}
		if t.consultOf != nil {
			return fmt.Errorf("%s: this is a consultation, not your call", m.Type)
		}
		switch m.Type {
		case "consult":
			return s.consult(ctx, t, m.Agent)
		case "consult_complete":
			return s.completeConsult(ctx, t)
		}
		return s.cancelConsult(t)
	case "":
		return errors.New("message without a type")
	}
	return fmt.Errorf("unknown message type %q", m.Type)
}

func (s *Session) setState(ctx context.Context, state, reason string) error {
	a := s.a
	switch state {
	case "offline":
		if err := a.rt.Logout(ctx, a.id.ID); err != nil && !errors.Is(err, acd.ErrNotLoggedIn) {
			return fmt.Errorf("state offline: %w", err)
		}
		return nil
	case "available", "break":
	default:
		return fmt.Errorf("state: want available, break or offline, not %q", state)
	}
	if err := a.ensureLoggedIn(ctx); err != nil {
		return err
	}
	st := acd.StateAvailable
	if state == "break" {
		st = acd.StateBreak
		if reason == "" {
			reason = "break"
		}
	} else {
		reason = ""
	}
	if err := a.rt.SetState(ctx, a.id.ID, st, reason); err != nil {
		return fmt.Errorf("state %s: %w", state, err)
	}
	return nil
}

// talkOf is the agent's conversation with call.
func (s *Session) talkOf(call string) (*talk, error) {
	if call == "" {
		return nil, errors.New("missing field call")
	}
	s.a.mu.Lock()
	t := s.a.talk
	s.a.mu.Unlock()
	if t == nil || t.callID != call {
		return nil, fmt.Errorf("no conversation with call %q", call)
	}
	return t, nil
}

// consultSide is the agent's ringing or live consultation about call.
func (s *Session) consultSide(call string) *talk {
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	if t := s.a.talk; t != nil && t.callID == call && t.consultOf != nil {
		return t
	}
	return nil
}

// notConsulting refuses what cannot be done during a consultation, on
// either side.
func (t *talk) notConsulting(what string) error {
	if t.consultOf != nil {
		return fmt.Errorf("%s: this is a consultation, not your call", what)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.consult != nil {
		return fmt.Errorf("%s: complete or cancel the consultation first", what)
	}
	return nil
}

// consultReady: a consultation is in progress and the consulted agent is
// on the line.
func (t *talk) consultReady() bool {
	t.mu.Lock()
	side := t.consult
	t.mu.Unlock()
	if side == nil {
		return false
	}
	side.mu.Lock()
	defer side.mu.Unlock()
	return side.connected
}

// Close is the connection ending.
func (s *Session) Close() { s.a.disconnected(s) }

// transfer is a blind transfer of the agent's conversation to a queue or
// to another agent (by username) at a desk of the tenant.
func (s *Session) transfer(ctx context.Context, m in) error {
	a := s.a
	t, err := s.talkOf(m.Call)
	if err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	if err := t.notConsulting("transfer"); err != nil {
		return err
	}
	if (m.Queue == "") == (m.Agent == "") {
		return errors.New("transfer: want one of queue and agent")
	}
	to := queue.Requeue{Queue: m.Queue, Reason: "transfer"}
	if m.Agent != "" {
		b := a.d.agentNamed(a.id.Tenant, m.Agent)
		if b == nil || b.rt != a.rt {
			return fmt.Errorf("transfer: agent %q is not logged in", m.Agent)
		}
		to.Agent = b.id.ID
	}
	// Marked first: the runtime ending the conversation must find it a
	// transfer, or Connect would take it for a lost agent.
	if !t.markTransfer(true) {
		return errors.New("transfer: the conversation is over")
	}
	if err := a.rt.Transfer(ctx, a.id.ID, m.Call, to); err != nil {
		t.markTransfer(false)
		return fmt.Errorf("transfer: %w", err)
	}
	return nil
}
