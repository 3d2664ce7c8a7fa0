package desk

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"hotline/assist"
	"hotline/call"
	"hotline/queue"
)

// An offer is followed by the caller's context at once, with the CRM
// "loading" while it is slow; the full one follows to the agents the call
// still rings on, not to one whose offer was withdrawn; a re-offer gets
// the cached lookups without asking the CRM again; the cache goes with
// the call.
func TestOfferSendsCallerContext(t *testing.T) {
	release := make(chan struct{})
	var asked atomic.Int32
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, `{"name":"Ada","segment":"gold"}`)
	}))
	defer crm.Close()
	builder := assist.NewContextBuilder(assist.ContextConfig{CRM: map[string]assist.CRMConfig{
		"t1": {URL: crm.URL + "/?n=${caller}", Timeout: 5 * time.Second},
	}})
	rt := startRuntime(t)
	d := New(Config{Grace: 100 * time.Millisecond, Context: builder})
	defer d.Close()
	ctx := context.Background()
	open := func(id, name string) (*Session, *fakeOut) {
		out := newFakeOut()
		s, err := d.Open(ctx, rt, Identity{ID: queue.AgentID(id), Username: name, Tenant: "t1"}, Profile{Queues: []string{"general"}}, out)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		out.wait(t, "hello", nil)
		return s, out
	}
	alice, aliceOut := open("u1", "alice")
	bob, bobOut := open("u2", "bob")

	callCtx, hangup := context.WithCancel(ctx)
	defer hangup()
	c := call.New(callCtx, call.Info{ID: "c1", TenantID: "t1", From: "+15551234", To: "+15550100", Started: time.Now()}, call.Config{})
	c.Event("step", "main_menu", map[string]string{"kind": "menu"})
	c.Event("menu", "main_menu", map[string]string{"choice": "2", "next": "q"})
	c.Event("queue", "q", map[string]string{"queue": "general"})

	ctxOf := func(m Msg) assist.CallerContext {
		t.Helper()
		cc, ok := m["context"].(assist.CallerContext)
		if !ok || m["call"] != "c1" {
			t.Fatalf("caller_context %v", m)
		}
		return cc
	}
	offer := func(s *Session, out *fakeOut) assist.CallerContext {
		t.Helper()
		if err := s.a.Offer(ctx, queue.OfferInfo{CallID: "c1", Caller: c.From, Queue: "general", Call: c}); err != nil {
			t.Fatal(err)
		}
		out.wait(t, "offer", nil)
		return ctxOf(out.wait(t, "caller_context", nil))
	}
	first := offer(alice, aliceOut)
	if first.Complete || first.CRM.Status != assist.CRMLoading || first.Number != "+15551234" ||
		first.Queue != "general" || len(first.Choices) != 1 || first.Choices[0].Value != "2" {
		t.Fatalf("first version %+v", first)
	}
	if p := offer(bob, bobOut); p.Complete || p.CRM.Status != assist.CRMLoading {
		t.Fatalf("bob's first version %+v", p)
	}
	alice.a.Cancel("c1") // rings on bob only now
	close(release)
	full := ctxOf(bobOut.wait(t, "caller_context", nil))
	if !full.Complete || full.CRM.Status != assist.CRMOK || len(full.CRM.Fields) != 2 || full.CRM.Fields[0].Value != "Ada" {
		t.Fatalf("full version %+v", full)
	}
	time.Sleep(100 * time.Millisecond)
	aliceOut.mu.Lock()
	for _, m := range aliceOut.msgs {
		if m["type"] == "caller_context" {
			t.Errorf("alice, whose offer was withdrawn, got %v", m)
		}
	}
	aliceOut.mu.Unlock()

	// Offered again (bob did not answer): complete at once, CRM not asked again.
	again := offer(alice, aliceOut)
	if !again.Complete || again.CRM.Status != assist.CRMOK || asked.Load() != 1 {
		t.Fatalf("re-offer %+v (CRM asked %d times)", again, asked.Load())
	}

	hangup()
	deadline := time.Now().Add(2 * time.Second)
	for {
		d.ctxs.mu.Lock()
		n := len(d.ctxs.calls)
		d.ctxs.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ended call's context is still cached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without a builder, or for a callback (no call on the line), an offer
// is sent alone.
func TestOfferWithoutCallerContext(t *testing.T) {
	rt := startRuntime(t)
	for _, cfg := range []Config{{}, {Context: assist.NewContextBuilder(assist.ContextConfig{})}} {
		cfg.Grace = 100 * time.Millisecond
		d := New(cfg)
		out := newFakeOut()
		s, err := d.Open(context.Background(), rt, Identity{ID: "u1", Username: "alice", Tenant: "t1"}, Profile{Queues: []string{"general"}}, out)
		if err != nil {
			t.Fatal(err)
		}
		out.wait(t, "hello", nil)
		var c *call.Call
		if cfg.Context == nil {
			c = call.New(t.Context(), call.Info{ID: "c1", TenantID: "t1"}, call.Config{})
		}
		if err := s.a.Offer(context.Background(), queue.OfferInfo{CallID: "c1", Call: c}); err != nil {
			t.Fatal(err)
		}
		out.wait(t, "offer", nil)
		time.Sleep(50 * time.Millisecond)
		out.mu.Lock()
		for _, m := range out.msgs {
			if m["type"] == "caller_context" {
				t.Errorf("config %+v: got %v", cfg, m)
			}
		}
		out.mu.Unlock()
		s.Close()
		d.Close()
	}
}
