package desk

import (
	"context"
	"hotline/webrtc"
	"sync"
	"testing"
	"time"

	"hotline/acd"
	"hotline/queue"
)

// fakeOut records what a connection would have been sent.
type fakeOut struct {
	mu     sync.Mutex
	msgs   []Msg
	closed string
	kick   chan struct{}
}

func newFakeOut() *fakeOut { return &fakeOut{kick: make(chan struct{}, 64)} }

func (o *fakeOut) Send(m Msg) bool {
	o.mu.Lock()
	o.msgs = append(o.msgs, m)
	o.mu.Unlock()
	select {
	case o.kick <- struct{}{}:
	default:
	}
	return true
}

func (o *fakeOut) Close(reason string) {
	o.mu.Lock()
	o.closed = reason
	o.mu.Unlock()
}

// wait returns the first message of typ matching ok, failing after 2 s.
func (o *fakeOut) wait(t *testing.T, typ string, ok func(Msg) bool) Msg {
	t.Helper()
	deadline := time.After(2 * time.Second)
	for {
		o.mu.Lock()
		for i, m := range o.msgs {
			if m["type"] == typ && (ok == nil || ok(m)) {
				o.msgs = o.msgs[i+1:]
				o.mu.Unlock()
				return m
			}
		}
		o.mu.Unlock()
		select {
		case <-o.kick:
		case <-deadline:
			o.mu.Lock()
			defer o.mu.Unlock()
			t.Fatalf("no %s message; have %v", typ, o.msgs)
		}
	}
}

func startRuntime(t *testing.T) *queue.Runtime {
	t.Helper()
	rt, err := queue.New(queue.Config{TenantID: "t1", ACD: acd.Config{Queues: []acd.QueueConfig{{Name: "general"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return rt
}

func agentState(t *testing.T, rt *queue.Runtime, id queue.AgentID) acd.State {
	t.Helper()
	vs, err := rt.Agents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Agent == id {
			return v.State
		}
	}
	return acd.StateOffline
}

// TestDeskSessionLifecycle: hello first, states pushed, bad messages
// answered with errors, a second connection takes the agent over, and a
// disconnected agent is logged out after the grace period unless back.
func TestDeskSessionLifecycle(t *testing.T) {
	rt := startRuntime(t)
	d := New(Config{Grace: 100 * time.Millisecond, ICEServers: []webrtc.ICEServer{{URLs: []string{"turn:turn.example.org"}, Username: "u", Credential: "c"}}})
	defer d.Close()
	ctx := context.Background()
	id := Identity{ID: "u1", Username: "alice", Tenant: "t1"}
	prof := Profile{Queues: []string{"general"}}

	out := newFakeOut()
	s, err := d.Open(ctx, rt, id, prof, out)
	if err != nil {
		t.Fatal(err)
	}
	h := out.wait(t, "hello", nil)
	if h["state"] != "break" {
		t.Fatalf("hello %v: want state break (login)", h)
	}
	// The browser needs the same STUN/TURN servers, in RTCIceServer's shape.
	if ice, _ := h["ice_servers"].([]Msg); len(ice) != 1 || ice[0]["username"] != "u" || ice[0]["credential"] != "c" {
		t.Fatalf("hello ice_servers = %#v", h["ice_servers"])
	}
	s.Handle(ctx, []byte(`{"type":"state","state":"available"}`))
	out.wait(t, "state", func(m Msg) bool { return m["state"] == "available" })
	for _, bad := range []string{`nope`, `{"type":"x"}`, `{"type":"answer"}`, `{"type":"hangup","call":"c"}`, `{} {}`} {
		s.Handle(ctx, []byte(bad))
		out.wait(t, "error", nil)
	}

	// A second tab takes over; the first is told to close.
	out2 := newFakeOut()
	s2, err := d.Open(ctx, rt, id, prof, out2)
	if err != nil {
		t.Fatal(err)
	}
	if h := out2.wait(t, "hello", nil); h["state"] != "available" {
		t.Fatalf("hello on takeover %v: want available", h)
	}
	out.mu.Lock()
	closed := out.closed
	out.mu.Unlock()
	if closed == "" {
		t.Fatal("the superseded connection was not closed")
	}
	s.Close() // the old socket ending changes nothing
	time.Sleep(250 * time.Millisecond)
	if st := agentState(t, rt, id.ID); st != acd.StateAvailable {
		t.Fatalf("after the old socket closed: %v, want available", st)
	}

	// Reconnecting within the grace period keeps the agent.
	s2.Close()
	out3 := newFakeOut()
	s3, err := d.Open(ctx, rt, id, prof, out3)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	if st := agentState(t, rt, id.ID); st != acd.StateAvailable {
		t.Fatalf("after reconnecting: %v, want available", st)
	}
	s3.Close()
	deadline := time.Now().Add(2 * time.Second)
	for agentState(t, rt, id.ID) != acd.StateOffline {
		if time.Now().After(deadline) {
			t.Fatal("not logged out after the grace period")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
