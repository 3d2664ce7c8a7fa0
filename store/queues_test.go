package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

func TestQueueRows(t *testing.T) {
	s := withTenants(t)
	w, _ := startWriter(t, s, 100)
	ctx := testCtx(t)
	call := uuid.New()
	t0 := time.Now().Truncate(time.Millisecond)
	// Three snapshots of one entry land in one batch: the last wins, and
	// nothing is written twice.
	e := store.QueueEntry{ID: uuid.New(), TenantID: "acme", CallID: call, Queue: "general", EnteredAt: t0}
	w.QueueEntry(e)
	e.OfferedAt = t0.Add(time.Second)
	w.QueueEntry(e)
	e.AnsweredAt, e.AgentID, e.LeftAt, e.Outcome, e.Wait = t0.Add(2*time.Second), "alice", t0.Add(2*time.Second), store.OutcomeAnswered, 2*time.Second
	w.QueueEntry(e)
	for i, ev := range []string{"enter", "offer", "connect"} {
		w.QueueLog(store.QueueLogRow{TenantID: "acme", At: t0.Add(time.Duration(i) * time.Second), CallID: call, Queue: "general", Agent: "alice", Event: ev, Data: map[string]string{"n": ev}})
	}
	w.QueueLog(store.QueueLogRow{TenantID: "acme", At: t0, Agent: "alice", Event: "agent_state"})
	w.AgentState(store.AgentStateChange{TenantID: "acme", UserID: "alice", State: "available", Reason: "login", At: t0})
	w.Disposition(store.Disposition{TenantID: "acme", CallID: call, UserID: "alice", Code: "resolved", Note: "card blocked", At: t0})
	flush(t, w)
	// A later snapshot of an earlier state must not undo the outcome.
	stale := e
	stale.LeftAt, stale.Outcome, stale.AnsweredAt = time.Time{}, "", time.Time{}
	w.QueueEntry(stale)
	flush(t, w)

	es, err := s.QueueEntries(ctx, "acme", call)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Outcome != store.OutcomeAnswered || es[0].AgentID != "alice" || es[0].Wait != 2*time.Second ||
		!es[0].OfferedAt.Equal(t0.Add(time.Second)) || !es[0].AnsweredAt.Equal(t0.Add(2*time.Second)) {
		t.Errorf("entries = %+v", es)
	}
	if other, _ := s.QueueEntries(ctx, "globex", call); len(other) != 0 {
		t.Errorf("another tenant sees %d entries", len(other))
	}
	log, err := s.QueueLog(ctx, "acme", 0)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, r := range log {
		events = append(events, r.Event)
	}
	if len(log) != 4 || log[1].Event != "enter" && log[0].Event != "enter" || log[3].Event != "connect" || log[3].Data["n"] != "connect" {
		t.Errorf("queue log %v", events)
	}
	if log[0].CallID != uuid.Nil && log[1].CallID != uuid.Nil {
		t.Errorf("the agent-only row has a call: %+v", log)
	}
	st, err := s.AgentStateChanges(ctx, "acme")
	if err != nil || len(st) != 1 || st[0].State != "available" || st[0].Reason != "login" {
		t.Errorf("agent states %+v, %v", st, err)
	}
	ds, err := s.Dispositions(ctx, "acme", call)
	if err != nil || len(ds) != 1 || ds[0].Code != "resolved" || ds[0].Note != "card blocked" {
		t.Errorf("dispositions %+v, %v", ds, err)
	}
	if st := w.Stats(); st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("writer stats %+v", st)
	}
}
