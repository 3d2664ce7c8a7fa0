package e2e

import (
	"strings"
	"testing"
	"time"
)

// Session timers (RFC 4028) are tolerated: the caller refreshes, we answer
// with the interval it asked for, and refuse one below our Min-SE.
func TestSessionTimers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "timers"})

	short := newUA(t, srv)
	short.Extra = "Session-Expires: 30\r\nSupported: timer\r\n"
	res := short.Invite(demoNumber, short.offer(true, "sendrecv"))
	if res.Code != 422 || res.Header("min-se") != "90" {
		t.Fatalf("Session-Expires 30: got %d Min-SE %q, want 422 Min-SE 90\n%s", res.Code, res.Header("min-se"), res)
	}

	ua := newUA(t, srv)
	ua.Extra = "Session-Expires: 1800;refresher=uac\r\nSupported: timer\r\n"
	res = ua.Invite(demoNumber, ua.offer(true, "sendrecv"))
	if res.Code != 200 {
		t.Fatalf("INVITE with Session-Expires: %d\n%s", res.Code, res)
	}
	if se := res.Header("session-expires"); !strings.HasPrefix(se, "1800") || !strings.Contains(se, "refresher=uac") {
		t.Errorf("200 Session-Expires = %q, want 1800;refresher=uac", se)
	}
	if !strings.Contains(strings.ToLower(res.Header("require")), "timer") {
		t.Errorf("200 lacks Require: timer for a caller that supports it")
	}
	ua.Ack(demoNumber)
	// The refresh: a re-INVITE with the same SDP keeps the call up.
	if res := ua.Reinvite(demoNumber, ua.offer(true, "sendrecv")); res.Code != 200 {
		t.Fatalf("refresh re-INVITE: %d\n%s", res.Code, res)
	}
	if code := ua.Bye(demoNumber); code != 200 {
		t.Fatalf("BYE: %d", code)
	}
	c := srv.findCall(t, ua.CallID, true, 10*time.Second)
	if c.HangupCause != "caller-hangup" {
		t.Errorf("hangup cause %q", c.HangupCause)
	}
}

// Beyond max_calls a new INVITE gets 503 with Retry-After, and calls are
// taken again as soon as one ends.
func TestOverloadMaxCalls(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "maxcalls", Edit: func(t testing.TB, cfg map[string]any) {
		cfg["limits"] = map[string]any{"max_calls": 2, "max_cps": 1000}
	}})
	var up []*sipUA
	for i := range 2 {
		ua := newUA(t, srv)
		if res := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); res.Code != 200 {
			t.Fatalf("call %d: %d", i+1, res.Code)
		}
		ua.Ack(demoNumber)
		up = append(up, ua)
	}
	extra := newUA(t, srv)
	res := extra.Invite(demoNumber, extra.offer(true, "sendrecv"))
	if res.Code != 503 || res.Header("retry-after") == "" {
		t.Fatalf("third call: %d Retry-After %q, want 503 with Retry-After\n%s", res.Code, res.Header("retry-after"), res)
	}
	srv.noCall(t, extra.CallID)
	if code := up[0].Bye(demoNumber); code != 200 {
		t.Fatalf("BYE: %d", code)
	}
	srv.findCall(t, up[0].CallID, true, 10*time.Second)
	again := newUA(t, srv)
	if res := again.Invite(demoNumber, again.offer(true, "sendrecv")); res.Code != 200 {
		t.Fatalf("after a call ended: %d, want 200", res.Code)
	}
	again.Ack(demoNumber)
	again.Bye(demoNumber)
	up[1].Bye(demoNumber)
}

// Beyond max_cps a burst is partly refused with 503, and a second later
// calls are taken again.
func TestOverloadCallRate(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "maxcps", Edit: func(t testing.TB, cfg map[string]any) {
		cfg["limits"] = map[string]any{"max_calls": 100, "max_cps": 8}
	}})
	codes := map[int]int{}
	var ok []*sipUA
	for range 12 {
		ua := newUA(t, srv)
		res := ua.Invite(demoNumber, ua.offer(true, "sendrecv"))
		codes[res.Code]++
		if res.Code == 200 {
			ua.Ack(demoNumber)
			ok = append(ok, ua)
		}
	}
	if codes[503] == 0 || codes[200] == 0 {
		t.Fatalf("burst of 12 at max_cps 8: responses %v, want some 200 and some 503", codes)
	}
	for _, ua := range ok {
		ua.Bye(demoNumber)
	}
	time.Sleep(1200 * time.Millisecond)
	ua := newUA(t, srv)
	if res := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); res.Code != 200 {
		t.Fatalf("a second after the burst: %d, want 200", res.Code)
	}
	ua.Ack(demoNumber)
	ua.Bye(demoNumber)
}
