package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// TestCallbackRows: a callback's life in rows: created waiting, a busy
// try (waiting again with its next try), an answered try (dialling, the
// agent and result call noted), finished completed once (a second finish
// changes nothing); lists per tenant and agent; another tenant's id is
// not found.
func TestCallbackRows(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)
	t0 := time.Now().Truncate(time.Millisecond)
	cb := store.Callback{ID: uuid.New(), TenantID: "acme", CallID: uuid.New(), Queue: "general", Number: "+15557001234", RequestedAt: t0}
	if err := s.CreateCallback(ctx, cb); err != nil {
		t.Fatal(err)
	}
	busy := store.CallbackAttempt{CallbackID: cb.ID, Attempt: 1, AgentID: "alice", CallID: uuid.New(), StartedAt: t0.Add(time.Second)}
	if err := s.SaveCallbackAttempt(ctx, busy, time.Time{}); err != nil {
		t.Fatal(err)
	}
	busy.EndedAt, busy.Result = t0.Add(2*time.Second), store.DispositionBusy
	if err := s.SaveCallbackAttempt(ctx, busy, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCallback(ctx, "acme", cb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.CallbackWaiting || got.Attempts != 1 || got.NextTryAt == nil || !got.NextTryAt.Equal(t0.Add(time.Minute)) || got.AgentID != "" {
		t.Errorf("after a busy try: %+v", got)
	}
	ok := store.CallbackAttempt{CallbackID: cb.ID, Attempt: 2, AgentID: "bob", CallID: uuid.New(), StartedAt: t0.Add(time.Minute), Result: "answered"}
	if err := s.SaveCallbackAttempt(ctx, ok, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetCallback(ctx, "acme", cb.ID)
	if got.Status != store.CallbackDialling || got.Attempts != 2 || got.AgentID != "bob" || got.ResultCallID == nil || *got.ResultCallID != ok.CallID || got.NextTryAt != nil {
		t.Errorf("after the answered try: %+v", got)
	}
	if done, err := s.FinishCallback(ctx, cb.ID, store.DispositionCompleted, t0.Add(2*time.Minute)); err != nil || !done {
		t.Fatalf("finish: %v %v", done, err)
	}
	if done, err := s.FinishCallback(ctx, cb.ID, store.DispositionCancelled, t0.Add(3*time.Minute)); err != nil || done {
		t.Errorf("second finish: %v %v, want no change", done, err)
	}
	got, _ = s.GetCallback(ctx, "acme", cb.ID)
	if got.Status != store.CallbackCompleted || got.Disposition != store.DispositionCompleted || got.FinishedAt == nil {
		t.Errorf("finished: %+v", got)
	}
	if _, err := s.GetCallback(ctx, "globex", cb.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant's callback: %v, want ErrNotFound", err)
	}

	open := store.Callback{ID: uuid.New(), TenantID: "acme", CallID: uuid.New(), Queue: "general", Number: "+15550001", RequestedAt: t0.Add(time.Second)}
	if err := s.CreateCallback(ctx, open); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    store.CallbackFilter
		want int
	}{{store.CallbackFilter{}, 2}, {store.CallbackFilter{Open: true}, 1}, {store.CallbackFilter{Agent: "bob"}, 1}, {store.CallbackFilter{Agent: "carol"}, 0}} {
		l, err := s.ListCallbacks(ctx, "acme", tc.f)
		if err != nil || len(l) != tc.want {
			t.Errorf("ListCallbacks(%+v) = %d rows, %v; want %d", tc.f, len(l), err, tc.want)
		}
	}
	if l, _ := s.ListCallbacks(ctx, "globex", store.CallbackFilter{}); len(l) != 0 {
		t.Errorf("globex sees %d of acme's callbacks", len(l))
	}
	o, err := s.OpenCallbacks(ctx, "acme")
	if err != nil || len(o) != 1 || o[0].ID != open.ID {
		t.Errorf("OpenCallbacks = %+v, %v; want the open one", o, err)
	}
}
