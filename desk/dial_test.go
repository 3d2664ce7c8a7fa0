package desk

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/call"
	"hotline/sip"
)

// fakeDialer plays the far end of outbound calls: each call rings, then
// ends as end says (nil: it rings until hung up), refusing it with status
// (after our credentials when authed) when not 0.
type fakeDialer struct {
	mu     sync.Mutex
	reqs   []sip.DialRequest
	end    *call.Cause
	status int
	authed bool
}

func (f *fakeDialer) Dial(req sip.DialRequest) (*call.Call, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	end, status, authed := f.end, f.status, f.authed
	f.mu.Unlock()
	c := call.New(context.Background(), call.Info{ID: req.ID, TenantID: req.TenantID, From: req.From, Outbound: true,
		Agent: req.Agent, Queue: req.Queue}, call.Config{State: call.StateDown})
	if req.Created != nil {
		req.Created(c)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		c.SetState(call.StateRinging)
		if end != nil {
			time.Sleep(10 * time.Millisecond)
			if status != 0 && req.Refused != nil {
				req.Refused(status, authed)
			}
			c.Hangup(end)
		}
	}()
	return c, nil
}

func (f *fakeDialer) placed() []sip.DialRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sip.DialRequest(nil), f.reqs...)
}

type fakeRouter struct{ err error }

func (r fakeRouter) Route(tenant, queue, number string) (Route, error) {
	if r.err != nil {
		return Route{}, r.err
	}
	cid := "+15550100"
	if queue == "general" {
		cid = "+15550111"
	}
	return Route{Trunk: "main", Target: "sip:" + number + "@127.0.0.1:5099", CallerID: cid, AuthUser: "acme", AuthPassword: "pw"}, nil
}

// TestDialOutFailures: the dial message places a call over the route with
// the route's caller ID (the queue's when the agent dials for one), and
// the page follows it with dial_progress to its failure (busy, auth
// failed), or its cancel by the agent; the agent is reserved (on call,
// outbound) meanwhile and free again after. A bad number, an agent on
// break, a queue the agent is not in, or no trunk place no call.
func TestDialOutFailures(t *testing.T) {
	rt := startRuntime(t)
	d := New(Config{Grace: time.Minute})
	defer d.Close()
	ctx := context.Background()
	out := newFakeOut()
	s, err := d.Open(ctx, rt, Identity{ID: "u1", Username: "alice", Tenant: "t1"}, Profile{Queues: []string{"general"}}, out)
	if err != nil {
		t.Fatal(err)
	}
	out.wait(t, "hello", nil)
	failed := func(reason string) Msg {
		t.Helper()
		m := out.wait(t, "dial_progress", func(m Msg) bool { return m["state"] == DialFailed || m["state"] == DialCancelled })
		if m["reason"] != reason {
			t.Fatalf("dial_progress %v, want reason %q", m, reason)
		}
		return m
	}

	// Outbound not configured.
	s.Handle(ctx, []byte(`{"type":"dial","number":"+15551234"}`))
	failed("no-trunk")

	fd := &fakeDialer{end: call.CauseBusy, status: 486}
	d.SetOutbound(Outbound{Dialer: fd, Router: fakeRouter{}})
	for _, bad := range []string{`"555-1234"`, `"1555@evil.example"`, `""`, `"` + strings.Repeat("1", 40) + `"`} {
		s.Handle(ctx, []byte(`{"type":"dial","number":`+bad+`}`))
		if m := failed("invalid-number"); !strings.HasPrefix(m["message"].(string), "Invalid number: ") {
			t.Errorf("message %q", m["message"])
		}
	}
	// On the login break.
	s.Handle(ctx, []byte(`{"type":"dial","number":"+15551234"}`))
	failed("not-available")
	s.Handle(ctx, []byte(`{"type":"dial","number":"+15551234","queue":"sales"}`))
	failed("bad-queue")
	if n := len(fd.placed()); n != 0 {
		t.Fatalf("%d calls placed, want none", n)
	}

	s.Handle(ctx, []byte(`{"type":"state","state":"available"}`))
	out.wait(t, "state", func(m Msg) bool { return m["state"] == "available" })

	// Busy.
	s.Handle(ctx, []byte(`{"type":"dial","number":"+15551234","queue":"general"}`))
	out.wait(t, "state", func(m Msg) bool { return m["state"] == "on_call" && m["reason"] == ReasonOutbound })
	dialing := out.wait(t, "dial_progress", func(m Msg) bool { return m["state"] == DialDialing })
	out.wait(t, "dial_progress", func(m Msg) bool { return m["state"] == DialRinging && m["call"] == dialing["call"] })
	// Free again (no wrap-up: nobody talked) before the page is told.
	out.wait(t, "state", func(m Msg) bool { return m["state"] == "available" })
	if m := failed("busy"); m["cause"] != "busy" || m["sip_code"] != 486 || m["call"] != dialing["call"] {
		t.Errorf("busy: %v", m)
	}
	req := fd.placed()[0]
	if req.Target != "sip:+15551234@127.0.0.1:5099" || req.From != "+15550111" || req.AuthUser != "acme" ||
		req.Agent != "u1" || req.Queue != "general" || req.ID != dialing["call"] {
		t.Errorf("dial request %+v", req)
	}

	// The carrier refuses our credentials.
	fd.mu.Lock()
	fd.end, fd.status, fd.authed = call.CauseRejected, 403, true
	fd.mu.Unlock()
	s.Handle(ctx, []byte(`{"type":"dial","number":"15551234"}`))
	out.wait(t, "state", func(m Msg) bool { return m["state"] == "available" })
	if m := failed("auth-failed"); !strings.Contains(m["message"].(string), "credentials (SIP 403)") {
		t.Errorf("auth failed: %v", m)
	}
	if got := fd.placed()[1].From; got != "+15550100" {
		t.Errorf("caller ID without a queue = %q, want the trunk's", got)
	}

	// The agent cancels while it rings; a second dial meanwhile is refused.
	fd.mu.Lock()
	fd.end = nil
	fd.mu.Unlock()
	s.Handle(ctx, []byte(`{"type":"dial","number":"15551234"}`))
	ringing := out.wait(t, "dial_progress", func(m Msg) bool { return m["state"] == DialRinging })
	s.Handle(ctx, []byte(`{"type":"dial","number":"15559999"}`))
	failed("not-available")
	s.Handle(ctx, []byte(`{"type":"transfer","call":"`+ringing["call"].(string)+`","queue":"general"}`))
	if m := out.wait(t, "error", nil); !strings.Contains(m["message"].(string), "not available on an outbound call") {
		t.Errorf("transfer: %v", m)
	}
	s.Handle(ctx, []byte(`{"type":"hangup","call":"`+ringing["call"].(string)+`"}`))
	out.wait(t, "state", func(m Msg) bool { return m["state"] == "available" })
	if m := out.wait(t, "dial_progress", func(m Msg) bool { return m["state"] == DialCancelled }); m["cause"] != call.CauseCancelled.Name {
		t.Errorf("cancelled: %v", m)
	}
	if n := len(fd.placed()); n != 3 {
		t.Errorf("%d calls placed, want 3", n)
	}

	// No route (no trunk for the tenant).
	d.SetOutbound(Outbound{Dialer: fd, Router: fakeRouter{err: errors.New("no outbound trunk")}})
	if _, err := d.DialOut(ctx, "t1", "u1", "15551234", DialOptions{}); !errors.Is(err, ErrNoRoute) {
		t.Errorf("DialOut without a trunk: %v", err)
	}
	failed("no-trunk")
	if _, err := d.DialOut(ctx, "t1", "nobody", "15551234", DialOptions{}); !errors.Is(err, ErrUnknownAgent) {
		t.Errorf("DialOut for an unknown agent: %v", err)
	}
}

func TestFailReason(t *testing.T) {
	for c, want := range map[*call.Cause]string{
		call.CauseBusy: "busy", call.CauseNoAnswer: "no-answer", call.CauseRejected: "rejected",
		call.CauseUnallocated: "unknown-number", call.CauseCongestion: "unavailable", call.CauseCodecMismatch: "error",
	} {
		if got := failReason(c, false); got != want {
			t.Errorf("failReason(%v) = %q, want %q", c, got, want)
		}
	}
	if got := failReason(call.CauseRejected, true); got != "auth-failed" {
		t.Errorf("refused after our credentials: %q, want auth-failed", got)
	}
}
