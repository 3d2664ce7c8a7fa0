package queue

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/call"
	"hotline/store"
	"hotline/store/storetest"
)

// TestRowsInPostgreSQL runs the runtime against the real writer: an
// answered call and an abandoned one leave their entries, the queue log
// and the agent's states.
func TestRowsInPostgreSQL(t *testing.T) {
	db := storetest.NewStore(t)
	ctx := context.Background()
	if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}}, nil); err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, slog.New(slog.NewTextHandler(io.Discard, nil)), 1000)
	wctx, stopWriter := context.WithCancel(ctx)
	werr := make(chan error, 1)
	go func() { werr <- w.Run(wctx) }()
	t.Cleanup(func() {
		stopWriter()
		if err := <-werr; err != nil {
			t.Errorf("writer: %v", err)
		}
	})

	rt := start(t, Config{TenantID: "demo", ACD: oneQueue(acd.QueueConfig{Name: "general", RingTimeout: ring}), Sink: w, Connector: &talkConnector{talk: 20 * time.Millisecond}})
	abandoned := enter(t, rt, Entry{Queue: "general"})
	time.Sleep(50 * time.Millisecond)
	abandoned.c.Hangup(call.CauseCallerHangup)
	abandoned.wait(t, time.Second)

	login(t, rt, "alice", newPhone(t, rt, "alice", answer), "general")
	answered := enter(t, rt, Entry{Queue: "general"})
	answered.wait(t, 3*time.Second)
	if err := rt.Dispose(ctx, "alice", answered.id(), "resolved", ""); err != nil {
		t.Fatal(err)
	}
	// The conversation's end reaches the owner after Wait returns.
	time.Sleep(50 * time.Millisecond)
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatal(err)
	}

	check := func(c *caller, outcome string) {
		t.Helper()
		es, err := db.QueueEntries(ctx, "demo", uuid.MustParse(c.id()))
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Outcome != outcome || es[0].Queue != "general" || es[0].LeftAt.IsZero() {
			t.Errorf("entries of the %s call: %+v", outcome, es)
		}
	}
	check(abandoned, store.OutcomeAbandoned)
	check(answered, store.OutcomeAnswered)
	log, err := db.QueueLog(ctx, "demo", 0)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, r := range log {
		events = append(events, r.Event)
	}
	for _, want := range []string{"enter", "abandon", "offer", "connect", "complete_agent", "disposition", "agent_state"} {
		found := false
		for _, e := range events {
			found = found || e == want
		}
		if !found {
			t.Errorf("queue log %v lacks %s", events, want)
		}
	}
	states, err := db.AgentStateChanges(ctx, "demo")
	if err != nil || len(states) < 3 || states[0].State != "available" || states[0].UserID != "alice" {
		t.Errorf("agent states %+v, %v", states, err)
	}
	if ds, err := db.Dispositions(ctx, "demo", uuid.MustParse(answered.id())); err != nil || len(ds) != 1 {
		t.Errorf("dispositions %+v, %v", ds, err)
	}
}
