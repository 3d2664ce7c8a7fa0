package desk

import (
	"context"
	"errors"
	"testing"
	"time"

	"hotline/acd"
	"hotline/call"
	"hotline/media"
)

// TestAgentLegRing: a call placed to an agent reserves them (on call,
// reason ari) and rings their page; declining, ringing out and going away
// end it with the right causes and free the agent; a busy or unknown
// agent cannot be rung.
func TestAgentLegRing(t *testing.T) {
	rt := startRuntime(t)
	d := New(Config{Grace: time.Minute})
	defer d.Close()
	ctx := context.Background()
	id := Identity{ID: "u1", Username: "alice", Tenant: "t1"}
	out := newFakeOut()
	s, err := d.Open(ctx, rt, id, Profile{Queues: []string{"general"}}, out)
	if err != nil {
		t.Fatal(err)
	}
	out.wait(t, "hello", nil)

	if _, err := d.NewAgentLeg("t1", "bob", RingRequest{CallID: "x"}); !errors.Is(err, ErrUnknownAgent) || call.CauseOf(err) != call.CauseUnallocated {
		t.Fatalf("unknown agent: %v", err)
	}
	if _, err := d.NewAgentLeg("t2", "alice", RingRequest{CallID: "x"}); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("another tenant's agent: %v", err)
	}
	// On the login break: busy.
	l, err := d.NewAgentLeg("t1", "alice", RingRequest{CallID: "c0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Ring(ctx); call.CauseOf(err) != call.CauseBusy {
		t.Fatalf("ringing an agent on break: %v, want busy", err)
	}
	l.Close()
	s.Handle(ctx, []byte(`{"type":"state","state":"available"}`))
	out.wait(t, "state", func(m Msg) bool { return m["state"] == "available" })

	ring := func(callID string, timeout time.Duration) *AgentLeg {
		t.Helper()
		l, err := d.NewAgentLeg("t1", "alice", RingRequest{CallID: callID, Caller: "+15550199", Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Ring(ctx); err != nil {
			t.Fatalf("ring: %v", err)
		}
		out.wait(t, "state", func(m Msg) bool { return m["state"] == "on_call" && m["reason"] == "ari" })
		if o := out.wait(t, "offer", nil); o["call"] != callID || o["caller"] != "+15550199" {
			t.Fatalf("offer %v", o)
		}
		return l
	}
	released := func() {
		t.Helper()
		out.wait(t, "state", func(m Msg) bool { return m["state"] == "available" })
	}

	// Declined.
	l = ring("c1", time.Minute)
	// A second call finds her busy.
	l2, _ := d.NewAgentLeg("t1", "alice", RingRequest{CallID: "c9"})
	if err := l2.Ring(ctx); call.CauseOf(err) != call.CauseBusy {
		t.Fatalf("second ring: %v, want busy", err)
	}
	l2.Close()
	s.Handle(ctx, []byte(`{"type":"hold","call":"c1","on":true}`))
	out.wait(t, "error", func(m Msg) bool { return m["call"] == "c1" })
	s.Handle(ctx, []byte(`{"type":"reject","call":"c1"}`))
	if err := l.WaitAnswer(ctx); call.CauseOf(err) != call.CauseRejected {
		t.Fatalf("declined: %v, want rejected", err)
	}
	l.Close()
	released()

	// Rings out.
	l = ring("c2", 100*time.Millisecond)
	if err := l.WaitAnswer(ctx); call.CauseOf(err) != call.CauseNoAnswer {
		t.Fatalf("rang out: %v, want no-answer", err)
	}
	l.Close()
	out.wait(t, "offer_cancelled", func(m Msg) bool { return m["call"] == "c2" })
	released()

	// The call ends while ringing (the application hung up).
	l = ring("c3", time.Minute)
	cctx, cancel := context.WithCancelCause(ctx)
	cancel(call.CauseNormal)
	if err := l.WaitAnswer(cctx); call.CauseOf(err) != call.CauseNormal {
		t.Fatalf("hung up while ringing: %v", err)
	}
	l.Close()
	out.wait(t, "offer_cancelled", func(m Msg) bool { return m["call"] == "c3" })
	released()

	// The page goes away while ringing.
	l = ring("c4", time.Minute)
	s.Close()
	if err := l.WaitAnswer(ctx); call.CauseOf(err) != call.CauseNoAnswer {
		t.Fatalf("disconnected: %v, want no-answer", err)
	}
	l.Close()
	if st := agentState(t, rt, id.ID); st != acd.StateAvailable {
		t.Fatalf("after a ring to a vanished page: %v, want available", st)
	}

	// The leg as media: no digits, no DTMF, empty stats before WebRTC.
	if err := l.SendDigit('1', 100*time.Millisecond); err == nil {
		t.Error("SendDigit: want an error")
	}
	select {
	case <-l.Digits():
		t.Error("Digits fired")
	default:
	}
	if l.Stats() != (media.Stats{}) {
		t.Error("stats before any media")
	}
}
