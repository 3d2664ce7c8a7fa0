package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// callbackServer is the demo with an outbound trunk to a SIPp UAS
// standing in for the caller's phone, callbacks on the general queue
// (retry gap gap) and no wrap-up, so the next offer follows at once.
func callbackServer(t *testing.T, name string, uasPort int, gap time.Duration) *server {
	t.Helper()
	return startServer(t, serverOptions{Name: name, Edit: func(t testing.TB, cfg map[string]any) {
		demo := tenantOf(t, cfg, "demo")
		trunks, _ := demo["trunks"].(map[string]any)
		if trunks == nil {
			trunks = map[string]any{}
			demo["trunks"] = trunks
		}
		trunks["outbound"] = []any{map[string]any{"name": "phones", "address": fmt.Sprintf("127.0.0.1:%d", uasPort), "caller_id": "+15550100"}}
		for _, q := range listOf(demo["queues"]) {
			if qm := q.(map[string]any); qm["name"] == "general" {
				qm["wrap_up"] = "0s"
				qm["callback"] = map[string]any{"key": "*", "retries": 2, "retry_gap": gap.String(), "ring_timeout": "10s"}
			}
		}
	}})
}

// callbackCaller is the number the SIPp caller (test/sipp/uac.xml) calls
// from: the number called back.
const callbackCaller = "+15557001234"

// askCallback is a SIPp caller (test/sipp/uac.xml, keys as RFC 4733
// events) who presses 0 for the general queue, * while waiting, and 1 to
// confirm the number they call from; Hotline hangs up. It returns the
// call's record.
func askCallback(t *testing.T, srv *server) *store.CallRecord {
	t.Helper()
	data := uacData("0 101", offerPCMUEvents, 0,
		pauseFor(menuOpens(t)),
		playPcap(dtmfCaptureFile('0')), // main menu: 0 for an agent (general)
		pauseFor(5*time.Second),
		playPcap(dtmfCaptureFile('*')), // while waiting: a callback, please
		pauseFor(2*time.Second),
		playPcap(dtmfCaptureFile('1')), // "we will call you back at ...": 1 confirms
	)
	data["ServerHangsUp"], data["ByeTimeout"] = true, 60000
	res := srv.mustSIPp(t, sippRun{Scenario: "uac.xml", Service: demoNumber, Data: data, Timeout: 90 * time.Second})
	c := srv.findCall(t, res.CallID, true, 10*time.Second)
	ev := srv.events(t, c)
	if len(eventsOf(ev, "callback_requested")) != 1 {
		t.Fatalf("the caller's timeline has no callback_requested:\n%s", formatEvents(ev))
	}
	return c
}

func waitKind(t *testing.T, srv *server, c *store.CallRecord, kind string, timeout time.Duration) store.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ev := eventsOf(srv.events(t, c), kind); len(ev) > 0 {
			return ev[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event within %v; events:\n%s", kind, timeout, formatEvents(srv.events(t, c)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// takeCallback has agent (just offered the callback) accept it, answers
// the WebRTC leg of the call placed to the UAS, and checks the audio both
// ways: the browser's 1 kHz goes to the caller's phone and comes back
// (the UAS echoes it). It returns the outbound call's id.
func takeCallback(t *testing.T, agent *deskClient, offer map[string]any) (string, *fakeBrowser) {
	t.Helper()
	agent.send(map[string]any{"type": "answer", "call": offer["call"]})
	wo := agent.expect("webrtc_offer", 30*time.Second, nil)
	outID, _ := wo["call"].(string)
	b := newFakeBrowser(t)
	agent.send(map[string]any{"type": "webrtc_answer", "call": outID, "sdp": b.answer(t, wo["sdp"].(string))})
	agent.expect("connected", 10*time.Second, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		x := b.recent(t, 4000, 10*time.Second)
		if toneAmp(x, 1000) >= 1500 || time.Now().After(deadline) {
			wantTone(t, "the agent hears their voice back through the caller's phone", x, 1000)
			break
		}
	}
	return outID, b
}

func waitCallback(t *testing.T, srv *server, status string, timeout time.Duration) store.Callback {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		list, err := srv.DB.ListCallbacks(ctx, "demo", store.CallbackFilter{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].Status == status {
			return list[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("callbacks %+v: want one %s", list, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func queueEntryOutcomes(t *testing.T, srv *server, callID uuid.UUID) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	es, err := srv.DB.QueueEntries(ctx, "demo", callID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Outcome)
	}
	return out
}

// TestCallbackKeepsPlace: a SIPp caller asks for a callback and hangs up; a
// second caller waits; when the agent (on break so far) becomes available
// the callback is offered first, "Callback to" the caller's number; on
// accept Hotline dials the caller's phone (a SIPp UAS) over the tenant's
// trunk and connects it to the agent with audio both ways; then the
// waiting caller is offered. The callback is recorded completed after one
// try, the first caller's queue stint is 'callback' (not abandoned), and
// the outbound CDR is a 'callback' call with the agent and queue.
func TestCallbackKeepsPlace(t *testing.T) {
	needSIPp(t)
	uas := startSIPpUAS(t)
	srv := callbackServer(t, "callback", uas.Port, 2*time.Second)
	alice := demoDesk(t, srv, "alice", false)

	c1 := askCallback(t, srv)
	ua2 := queueCall(t, srv)
	c2 := srv.findCall(t, ua2.CallID, false, 10*time.Second)
	waitKind(t, srv, c2, "queue", 10*time.Second)

	// Both wait: the callback counts as waiting, ahead of the caller.
	var stats struct {
		Queues []struct {
			Name      string `json:"name"`
			Waiting   int    `json:"waiting"`
			Abandoned int    `json:"abandoned_today"`
		} `json:"queues"`
	}
	sup := apiLogin(t, srv, "demo", "sam", "sam-demo")
	if code := sup.get(t, "/api/v1/queues", &stats); code != 200 {
		t.Fatalf("GET /api/v1/queues: %d", code)
	}
	for _, q := range stats.Queues {
		if q.Name == "general" && (q.Waiting != 2 || q.Abandoned != 0) {
			t.Errorf("general: waiting %d abandoned %d, want 2 and 0", q.Waiting, q.Abandoned)
		}
	}

	alice.send(map[string]any{"type": "state", "state": "available"})
	offer := alice.expect("offer", 20*time.Second, nil)
	if offer["call"] != c1.ID.String() || !strings.HasPrefix(fmt.Sprint(offer["caller"]), "Callback to "+callbackCaller) {
		t.Fatalf("first offer %v: want the callback of %s (%s)", offer, c1.ID, callbackCaller)
	}
	outID, _ := takeCallback(t, alice, offer)
	alice.send(map[string]any{"type": "hangup", "call": outID})

	next := alice.expect("offer", 20*time.Second, nil)
	if next["call"] != c2.ID.String() {
		t.Fatalf("second offer %v: want the waiting caller %s", next, c2.ID)
	}
	alice.send(map[string]any{"type": "reject", "call": next["call"]})
	ua2.Bye(demoNumber)

	cb := waitCallback(t, srv, store.CallbackCompleted, 15*time.Second)
	if cb.Attempts != 1 || cb.Disposition != store.DispositionCompleted || cb.Number != callbackCaller || cb.CallID != c1.ID ||
		cb.ResultCallID == nil || cb.ResultCallID.String() != outID || cb.Queue != "general" {
		t.Errorf("callback %+v: want completed after 1 try to %s, result call %s", cb, callbackCaller, outID)
	}
	if got := queueEntryOutcomes(t, srv, c1.ID); len(got) != 1 || got[0] != store.OutcomeCallback {
		t.Errorf("first caller's queue entries %v, want [callback]", got)
	}
	var out *store.CallRecord
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, _ = srv.DB.GetCall(ctx, "demo", uuid.MustParse(outID))
		cancel()
		if (out != nil && out.Direction == "callback") || time.Now().After(end) {
			break
		}
	}
	aliceID := userID(t, apiLogin(t, srv, "demo", "alice", "alice-demo"))
	if out == nil || out.Direction != "callback" || out.ToNumber != callbackCaller || out.AgentID != aliceID || out.Queue != "general" {
		t.Errorf("outbound CDR %+v: want direction callback to %s by alice (%s) for general", out, callbackCaller, aliceID)
	}
}

// TestCallbackRetry: the caller's phone is busy on the first try; the
// agent is freed, the callback waits out the retry gap at the front of the
// line, then the second try gets through and completes.
func TestCallbackRetry(t *testing.T) {
	needSIPp(t)
	const gap = 3 * time.Second
	port := allocPorts(t, 1, true)
	srv := callbackServer(t, "callback-retry", port, gap)
	alice := demoDesk(t, srv, "alice", false)
	c1 := askCallback(t, srv)
	// Started now, so that SIPp's run time covers the tries only.
	uas := startCallbackUAS(t, port, "dial_busy_then_answer.xml", "-m", "2", "-rtp_echo")

	alice.send(map[string]any{"type": "state", "state": "available"})
	offer := alice.expect("offer", 20*time.Second, nil)
	if offer["call"] != c1.ID.String() {
		t.Fatalf("offer %v: want the callback of %s", offer, c1.ID)
	}
	alice.send(map[string]any{"type": "answer", "call": offer["call"]})
	// Busy: alice is free again at once, and nothing is offered during the gap.
	busyAt := time.Now()
	alice.expectState("available", 15*time.Second)
	again := alice.expect("offer", 20*time.Second, nil)
	if d := time.Since(busyAt); again["call"] != c1.ID.String() || d < gap-time.Second {
		t.Fatalf("retry offer %v after %v: want the same callback after the %v gap", again, d, gap)
	}
	outID, _ := takeCallback(t, alice, again)
	alice.send(map[string]any{"type": "hangup", "call": outID})
	cb := waitCallback(t, srv, store.CallbackCompleted, 15*time.Second)
	if cb.Attempts != 2 || cb.Disposition != store.DispositionCompleted {
		t.Errorf("callback %+v: want completed on the second try", cb)
	}
	uas.wait(t)
}

// deleteAPI sends DELETE path as c and returns the status and the JSON body.
func deleteAPI(t *testing.T, c *apiClient, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, c.base+path, nil)
	req.AddCookie(c.cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("DELETE %s: %v", path, err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// TestCallbackCancel: a waiting callback is listed for the supervisor
// (not for an agent who did not take it), another tenant's supervisor and
// an agent cannot cancel it (404, 403), the supervisor can: it leaves the
// queue's figures without counting abandoned and is recorded cancelled.
func TestCallbackCancel(t *testing.T) {
	needSIPp(t)
	srv := callbackServer(t, "callback-cancel", allocPorts(t, 1, false), time.Second)
	c1 := askCallback(t, srv)

	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	alice := apiLogin(t, srv, "demo", "alice", "alice-demo")
	dave := apiLogin(t, srv, "acme", "dave", "dave-demo")
	var list struct {
		Callbacks []store.Callback `json:"callbacks"`
	}
	if code := sam.get(t, "/api/v1/callbacks?open=true", &list); code != 200 || len(list.Callbacks) != 1 {
		t.Fatalf("supervisor's list: %d %+v, want the waiting callback", code, list.Callbacks)
	}
	cb := list.Callbacks[0]
	if cb.Status != store.CallbackWaiting || cb.Number != callbackCaller || cb.CallID != c1.ID || cb.Queue != "general" {
		t.Errorf("callback %+v: want waiting, %s, call %s, general", cb, callbackCaller, c1.ID)
	}
	list.Callbacks = nil
	if code := alice.get(t, "/api/v1/callbacks", &list); code != 200 || len(list.Callbacks) != 0 {
		t.Errorf("agent's list: %d %+v, want none of hers", code, list.Callbacks)
	}
	if code := sam.get(t, "/api/v1/callbacks?open=maybe", nil); code != 400 {
		t.Errorf("open=maybe: %d, want 400", code)
	}
	path := "/api/v1/callbacks/" + cb.ID.String()
	if code, body := deleteAPI(t, dave, path); code != 404 {
		t.Errorf("another tenant's DELETE: %d %v, want 404", code, body)
	}
	if code, body := deleteAPI(t, alice, path); code != 403 {
		t.Errorf("an agent's DELETE: %d %v, want 403", code, body)
	}
	if code, body := deleteAPI(t, sam, "/api/v1/callbacks/not-a-uuid"); code != 404 || body["error"] == nil {
		t.Errorf("DELETE of a malformed id: %d %v, want 404 with an error", code, body)
	}
	if code, body := deleteAPI(t, sam, path); code != 200 || body["status"] != store.CallbackCancelled {
		t.Fatalf("supervisor's DELETE: %d %v, want 200 cancelled", code, body)
	}
	if code, body := deleteAPI(t, sam, path); code != 409 {
		t.Errorf("second DELETE: %d %v, want 409", code, body)
	}
	got := waitCallback(t, srv, store.CallbackCancelled, 10*time.Second)
	if got.Disposition != store.DispositionCancelled || got.FinishedAt == nil || got.Attempts != 0 {
		t.Errorf("cancelled callback %+v", got)
	}
	var stats struct {
		Queues []struct {
			Name      string `json:"name"`
			Waiting   int    `json:"waiting"`
			Abandoned int    `json:"abandoned_today"`
		} `json:"queues"`
	}
	if code := sam.get(t, "/api/v1/queues", &stats); code != 200 {
		t.Fatalf("GET /api/v1/queues: %d", code)
	}
	for _, q := range stats.Queues {
		if q.Name == "general" && (q.Waiting != 0 || q.Abandoned != 0) {
			t.Errorf("general after the cancel: waiting %d abandoned %d, want 0 and 0", q.Waiting, q.Abandoned)
		}
	}
	if got := queueEntryOutcomes(t, srv, c1.ID); len(got) != 1 || got[0] != store.OutcomeCallback {
		t.Errorf("queue entries %v, want [callback]", got)
	}
}

// TestCallbackRestart: a callback waiting when the server crashes is put
// back in line by the next run: the agent is offered it, and it is still
// open in the records.
func TestCallbackRestart(t *testing.T) {
	needSIPp(t)
	srv := callbackServer(t, "callback-restart", allocPorts(t, 1, false), time.Second)
	c1 := askCallback(t, srv)
	waitCallback(t, srv, store.CallbackWaiting, 5*time.Second)
	srv.kill9(t)
	srv.restart(t)

	alice := demoDesk(t, srv, "alice", true)
	offer := alice.expect("offer", 20*time.Second, nil)
	if offer["call"] != c1.ID.String() || !strings.HasPrefix(fmt.Sprint(offer["caller"]), "Callback to "+callbackCaller) {
		t.Fatalf("offer after the restart %v: want the callback of %s", offer, c1.ID)
	}
	alice.send(map[string]any{"type": "reject", "call": offer["call"]})
	if cb := waitCallback(t, srv, store.CallbackWaiting, 5*time.Second); cb.FinishedAt != nil {
		t.Errorf("callback %+v: want still open", cb)
	}
}

// startCallbackUAS is startDialUAS on a port chosen before the server's
// configuration was written, with time for a callback's tries.
func startCallbackUAS(t *testing.T, port int, scenario string, extra ...string) *dialUAS {
	t.Helper()
	u, dir := newDialUAS(t, port)
	u.start(t, dir, []string{"-sf", renderScenario(t, scenario, dir, map[string]any{})}, 0, 90*time.Second, extra...)
	return u
}
