package queue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/call"
	"hotline/store"
)

// fakeDialer fails the first fails tries, then "answers" at once.
type fakeDialer struct {
	mu    sync.Mutex
	fails int
	dials []CallbackDial
}

func (d *fakeDialer) DialCallback(_ context.Context, req CallbackDial) (*call.Call, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials = append(d.dials, req)
	if len(d.dials) <= d.fails {
		return nil, errors.New("trunk down")
	}
	c := call.New(context.Background(), call.Info{ID: uuid.NewString(), TenantID: req.TenantID, Outbound: true}, call.Config{State: call.StateDown})
	c.SetState(call.StateUp)
	return c, nil
}

func (d *fakeDialer) tries() []CallbackDial {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]CallbackDial(nil), d.dials...)
}

// fakeCallbackStore keeps the final dispositions.
type fakeCallbackStore struct {
	mu       sync.Mutex
	finished map[uuid.UUID]string
	attempts []store.CallbackAttempt
}

func (s *fakeCallbackStore) CreateCallback(context.Context, store.Callback) error { return nil }
func (s *fakeCallbackStore) SaveCallbackAttempt(_ context.Context, a store.CallbackAttempt, _ time.Time) error {
	s.mu.Lock()
	s.attempts = append(s.attempts, a)
	s.mu.Unlock()
	return nil
}
func (s *fakeCallbackStore) FinishCallback(_ context.Context, id uuid.UUID, d string, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished == nil {
		s.finished = map[uuid.UUID]string{}
	}
	if _, done := s.finished[id]; done {
		return false, nil
	}
	s.finished[id] = d
	return true, nil
}
func (s *fakeCallbackStore) disposition(id uuid.UUID) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished[id]
}

func callbackRuntime(t *testing.T, d *fakeDialer, st *fakeCallbackStore, retries int) (*Runtime, *talkConnector) {
	t.Helper()
	conn := &talkConnector{talk: 20 * time.Millisecond}
	cfg := oneQueue(acd.QueueConfig{Name: "q"})
	cfg.Miss.RejectBackoff = time.Minute // a declining agent is not offered it again at once
	rt := start(t, Config{ACD: cfg, Connector: conn})
	rt.EnableCallbacks(CallbackSetup{
		Queues: map[string]CallbackOptions{"q": {Key: '*', Retries: retries, RetryGap: 100 * time.Millisecond, RingTimeout: time.Second}},
		Dialer: d, Store: st,
	})
	t.Cleanup(rt.CallbacksWait)
	return rt, conn
}

func restore(t *testing.T, rt *Runtime, number string) store.Callback {
	t.Helper()
	cb := store.Callback{ID: uuid.New(), CallID: uuid.New(), Queue: "q", Number: number, RequestedAt: time.Now()}
	if err := rt.RestoreCallback(context.Background(), cb, "+15551234", "+15550100", "main>q"); err != nil {
		t.Fatal(err)
	}
	return cb
}

func stats(t *testing.T, rt *Runtime) acd.QueueStats {
	t.Helper()
	s, err := rt.QueueStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s[0]
}

// TestCallbackRetriesThenGivesUp: every try fails; after 1 + retries tries
// the callback ends "failed", the agent is free, and the queue's figures
// count it neither answered nor abandoned.
func TestCallbackRetriesThenGivesUp(t *testing.T) {
	d, st := &fakeDialer{fails: 100}, &fakeCallbackStore{}
	rt, _ := callbackRuntime(t, d, st, 2)
	cb := restore(t, rt, "+15557001234")
	if s := stats(t, rt); s.Waiting != 1 {
		t.Fatalf("waiting %d, want the callback", s.Waiting)
	}
	p := newPhone(t, rt, "alice", answer)
	if err := rt.Login(context.Background(), Agent{ID: "alice", Endpoint: p, Queues: []acd.Membership{{Queue: "q"}}, Available: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the callback to fail", func() bool { return st.disposition(cb.ID) == "failed" })
	if n := len(d.tries()); n != 3 {
		t.Errorf("%d tries, want 3", n)
	}
	offs := p.offers()
	if len(offs) != 3 || offs[0].Caller != "Callback to +15557001234" || offs[0].CallID != cb.CallID.String() {
		t.Errorf("offers %+v: want 3 of the callback", offs)
	}
	s := stats(t, rt)
	if s.Waiting != 0 || s.Answered != 0 || s.Abandoned != 0 || s.Agents.Available != 1 {
		t.Errorf("after giving up: %+v", s)
	}
}

// TestCallbackRetryKeepsFrontAndCompletes: the first try fails; while the
// callback waits out its gap a caller who came later is served, then the
// callback (ahead of a third, still later caller) goes through.
func TestCallbackRetryKeepsFrontAndCompletes(t *testing.T) {
	d, st := &fakeDialer{fails: 1}, &fakeCallbackStore{}
	rt, conn := callbackRuntime(t, d, st, 3)
	cb := restore(t, rt, "+15557001234")
	p := newPhone(t, rt, "alice", answer)
	if err := rt.Login(context.Background(), Agent{ID: "alice", Endpoint: p, Queues: []acd.Membership{{Queue: "q"}}, Available: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the callback to complete", func() bool { return st.disposition(cb.ID) == "completed" })
	if tries := d.tries(); len(tries) != 2 || tries[1].Agent != "alice" || tries[1].Number != "+15557001234" || tries[1].Queue != "q" {
		t.Errorf("tries %+v: want 2 by alice", tries)
	}
	if got := conn.agents(); len(got) != 1 || got[0] != "alice" {
		t.Errorf("connected %v, want alice once", got)
	}
	var sawCallback bool
	for _, o := range p.offers() {
		sawCallback = sawCallback || strings.HasPrefix(o.Caller, "Callback to")
	}
	if !sawCallback {
		t.Error("no callback offer")
	}
	if s := stats(t, rt); s.Waiting != 0 || s.Abandoned != 0 || s.Answered != 1 {
		t.Errorf("after the callback: %+v", s)
	}
}

// TestCallbackRejectedStaysInLine: the agent declines the offer; the
// callback stays first in line and a colleague gets it; a cancel after it
// completed finds nothing.
func TestCallbackRejectedStaysInLine(t *testing.T) {
	d, st := &fakeDialer{}, &fakeCallbackStore{}
	rt, conn := callbackRuntime(t, d, st, 0)
	cb := restore(t, rt, "+15557001234")
	bob := newPhone(t, rt, "bob", reject)
	if err := rt.Login(context.Background(), Agent{ID: "bob", Endpoint: bob, Queues: []acd.Membership{{Queue: "q"}}, Available: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's offer", func() bool { return len(bob.offers()) > 0 })
	alice := newPhone(t, rt, "alice", answer)
	if err := rt.Login(context.Background(), Agent{ID: "alice", Endpoint: alice, Queues: []acd.Membership{{Queue: "q"}}, Available: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the callback to complete", func() bool { return st.disposition(cb.ID) == "completed" })
	if got := conn.agents(); len(got) != 1 || got[0] != "alice" {
		t.Errorf("connected %v, want alice", got)
	}
	if err := rt.CancelCallback(context.Background(), cb.ID); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("cancel after completion: %v, want ErrUnknownCall", err)
	}
}

// TestCallbackCancelWhileWaiting: a supervisor's cancel takes the callback
// out of line; it is recorded cancelled and never dialled.
func TestCallbackCancelWhileWaiting(t *testing.T) {
	d, st := &fakeDialer{}, &fakeCallbackStore{}
	rt, _ := callbackRuntime(t, d, st, 0)
	cb := restore(t, rt, "+15557001234")
	if err := rt.CancelCallback(context.Background(), cb.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the cancel to be recorded", func() bool { return st.disposition(cb.ID) == "cancelled" })
	if s := stats(t, rt); s.Waiting != 0 || s.Abandoned != 0 {
		t.Errorf("after the cancel: %+v", s)
	}
	if len(d.tries()) != 0 {
		t.Error("a cancelled callback was dialled")
	}
}

// TestCallbackNumbers: withheld or odd caller numbers are not offered for
// confirmation (the caller must key one), and numbers are read digit by
// digit.
func TestCallbackNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"+15557001234": "+15557001234", "5551234": "5551234",
		"anonymous": "", "": "", "12": "", "+1555 123": "", "1555;x=y": "", "+": "",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := spell("+1555"); got != "plus 1 5 5 5" {
		t.Errorf("spell = %q", got)
	}
}
