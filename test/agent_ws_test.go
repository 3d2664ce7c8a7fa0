package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// TestAgentDeskCall: alice, in the demo tenant, takes a queued caller at
// her desk (WebSocket + a pion PeerConnection standing in for Chromium):
// audio flows both ways, hold plays the music to the caller, the agent
// hangs up, wraps up with a disposition and is available again; the rows
// are in PostgreSQL. Then the REST views, and their tenant isolation.
func TestAgentDeskCall(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "desk"})
	alice := apiLogin(t, srv, "demo", "alice", "alice-demo")
	d := openDesk(t, srv, alice, "alice")
	hello := d.expect("hello", 5*time.Second, nil)
	if ag, _ := hello["agent"].(map[string]any); ag["username"] != "alice" || ag["tenant"] != "demo" {
		t.Fatalf("hello %v: want alice of demo", hello)
	}
	if qs := fmt.Sprint(hello["queues"]); !strings.Contains(qs, "general") {
		t.Fatalf("hello queues %s: want general among them", qs)
	}
	d.send(map[string]any{"type": "state", "state": "available"})
	d.expectState("available", 5*time.Second)

	ua := queueCall(t, srv)
	offer := d.expect("offer", 20*time.Second, nil)
	callID, _ := offer["call"].(string)
	if offer["caller"] != ua.From || offer["queue"] != "general" || !strings.Contains(fmt.Sprint(offer["ivr_path"]), "main_menu") {
		t.Fatalf("offer %v: want caller %s, queue general, an IVR path through main_menu", offer, ua.From)
	}
	if rt, _ := offer["ring_timeout_ms"].(float64); rt != 20000 {
		t.Errorf("offer ring_timeout_ms %v, want 20000 (general's)", offer["ring_timeout_ms"])
	}
	d.expectState("ringing", 5*time.Second)
	d.send(map[string]any{"type": "answer", "call": callID})
	wo := d.expect("webrtc_offer", 10*time.Second, nil)
	br := newFakeBrowser(t)
	d.send(map[string]any{"type": "webrtc_answer", "call": callID, "sdp": br.answer(t, wo["sdp"].(string))})
	d.expect("connected", 10*time.Second, nil)

	wantTone(t, "browser hears the caller", br.recent(t, 4000, 10*time.Second), 440, 1000)
	talk := wantTone(t, "caller hears the agent", callerRecent(t, ua, 4000, 10*time.Second), 1000, 440)

	d.send(map[string]any{"type": "hold", "call": callID, "on": true})
	d.expect("held", 5*time.Second, func(m map[string]any) bool { return m["on"] == true })
	time.Sleep(300 * time.Millisecond)
	held := callerRecent(t, ua, 8000, 10*time.Second)
	if a := toneAmp(held, 1000); a*4 > talk || rms(held) < 100 {
		t.Fatalf("on hold the caller hears 1 kHz at %.0f (talking: %.0f), level %.0f: want the music, not the agent", a, talk, rms(held))
	}
	t.Logf("on hold: 1 kHz %.0f, level %.0f", toneAmp(held, 1000), rms(held))
	d.send(map[string]any{"type": "hold", "call": callID, "on": false})
	d.expect("held", 5*time.Second, func(m map[string]any) bool { return m["on"] == false })
	time.Sleep(300 * time.Millisecond)
	wantTone(t, "caller hears the agent after hold", callerRecent(t, ua, 4000, 10*time.Second), 1000, 440)

	d.send(map[string]any{"type": "dtmf", "call": callID, "digits": "12#"})
	d.send(map[string]any{"type": "hangup", "call": callID})
	end := d.expect("call_ended", 10*time.Second, nil)
	if end["call"] != callID || end["by"] != "agent" {
		t.Errorf("call_ended %v: want by agent", end)
	}
	d.expectState("wrap_up", 5*time.Second)
	d.send(map[string]any{"type": "disposition", "call": callID, "code": "resolved", "note": "card unblocked"})
	d.send(map[string]any{"type": "wrapup_done"})
	d.expectState("available", 5*time.Second)

	cid := uuid.MustParse(callID)
	var disp []store.Disposition
	var entries []store.QueueEntry
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		if disp, err = srv.DB.Dispositions(ctx, "demo", cid); err != nil {
			t.Fatal(err)
		}
		if entries, err = srv.DB.QueueEntries(ctx, "demo", cid); err != nil {
			t.Fatal(err)
		}
		cancel()
		if len(disp) == 1 && len(entries) == 1 && entries[0].Outcome != "" {
			break
		}
	}
	if len(disp) != 1 || disp[0].Code != "resolved" || disp[0].Note != "card unblocked" {
		t.Errorf("dispositions %+v: want one, resolved", disp)
	}
	if len(entries) != 1 || entries[0].Outcome != store.OutcomeAnswered || entries[0].Queue != "general" || entries[0].AnsweredAt.IsZero() {
		t.Errorf("queue entries %+v: want one, general, answered", entries)
	}

	t.Run("rest", func(t *testing.T) { checkAgentREST(t, srv, alice, callID) })
	ua.Bye(demoNumber)
}

// checkAgentREST: the new routes, by role and tenant. A supervisor of acme
// sees nothing of demo's; an agent gets 403 on supervisor routes.
func checkAgentREST(t *testing.T, srv *server, alice *apiClient, callID string) {
	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	dave := apiLogin(t, srv, "acme", "dave", "dave-demo")
	carol := apiLogin(t, srv, "acme", "carol", "carol-demo")

	type queuesResp struct {
		Queues []struct {
			Name     string         `json:"name"`
			Agents   map[string]int `json:"agents"`
			Answered int            `json:"answered_today"`
		} `json:"queues"`
	}
	var qs queuesResp
	if code := sam.get(t, "/api/v1/queues", &qs); code != http.StatusOK {
		t.Fatalf("demo supervisor GET /queues: %d", code)
	}
	var names []string
	for _, q := range qs.Queues {
		names = append(names, q.Name)
		if q.Name == "general" && (q.Answered != 1 || q.Agents["available"] != 1) {
			t.Errorf("demo general: %+v: want 1 answered today, 1 agent available", q)
		}
	}
	if strings.Join(names, ",") != "cards,accounts,general" {
		t.Errorf("demo queues %v", names)
	}
	qs = queuesResp{}
	if code := dave.get(t, "/api/v1/queues", &qs); code != http.StatusOK {
		t.Fatalf("acme supervisor GET /queues: %d", code)
	}
	for _, q := range qs.Queues {
		if q.Name == "cards" || q.Name == "accounts" || q.Answered != 0 {
			t.Errorf("acme sees %+v: a demo queue or demo's figures", q)
		}
	}

	type agentsResp struct {
		Agents []struct {
			Username string `json:"username"`
			State    string `json:"state"`
			Call     string `json:"call"`
			Since    string `json:"since"`
		} `json:"agents"`
	}
	var as agentsResp
	if code := sam.get(t, "/api/v1/agents", &as); code != http.StatusOK {
		t.Fatalf("demo supervisor GET /agents: %d", code)
	}
	found := false
	for _, a := range as.Agents {
		if a.Username == "alice" {
			found = a.State == "available" && a.Since != ""
		}
		if a.Username == "carol" || a.Username == "dave" {
			t.Errorf("demo sees acme's %s", a.Username)
		}
	}
	if !found {
		t.Errorf("demo supervisor: alice not listed available with since: %+v", as)
	}
	as = agentsResp{}
	if code := dave.get(t, "/api/v1/agents", &as); code != http.StatusOK {
		t.Fatalf("acme supervisor GET /agents: %d", code)
	}
	for _, a := range as.Agents {
		if a.Username == "alice" || a.Username == "bob" || a.Username == "sam" {
			t.Errorf("acme sees demo's %s", a.Username)
		}
	}
	as = agentsResp{}
	if code := alice.get(t, "/api/v1/agents", &as); code != http.StatusOK {
		t.Fatalf("agent GET /agents: %d", code)
	}
	for _, a := range as.Agents {
		if a.Since != "" {
			t.Errorf("an agent sees details of %s", a.Username)
		}
	}

	var calls struct {
		Calls []struct {
			ID string `json:"id"`
		} `json:"calls"`
	}
	if code := sam.get(t, "/api/v1/calls?limit=10", &calls); code != http.StatusOK || len(calls.Calls) == 0 || calls.Calls[0].ID != callID {
		t.Errorf("demo supervisor GET /calls: %d %+v: want the call first", code, calls)
	}
	if code := sam.get(t, "/api/v1/calls?limit=x", nil); code != http.StatusBadRequest {
		t.Errorf("GET /calls?limit=x: %d, want 400", code)
	}
	var one struct {
		Call struct {
			ID string `json:"id"`
		} `json:"call"`
		Events       []map[string]any `json:"events"`
		QueueEntries []map[string]any `json:"queue_entries"`
		Dispositions []map[string]any `json:"dispositions"`
	}
	if code := sam.get(t, "/api/v1/calls/"+callID, &one); code != http.StatusOK || one.Call.ID != callID || len(one.Events) == 0 || len(one.Dispositions) != 1 {
		t.Errorf("demo supervisor GET /calls/{id}: %d, %d events, %d dispositions", code, len(one.Events), len(one.Dispositions))
	}
	calls.Calls = nil
	if code := dave.get(t, "/api/v1/calls", &calls); code != http.StatusOK {
		t.Errorf("acme supervisor GET /calls: %d", code)
	}
	for _, c := range calls.Calls {
		if c.ID == callID {
			t.Errorf("acme's supervisor sees demo's call")
		}
	}
	for path, want := range map[string]int{"/api/v1/calls/" + callID: 404, "/api/v1/calls/not-a-uuid": 404} {
		if code := dave.get(t, path, nil); code != want {
			t.Errorf("acme supervisor GET %s: %d, want %d", path, code, want)
		}
	}
	for _, c := range []*apiClient{alice, carol} {
		for _, path := range []string{"/api/v1/calls", "/api/v1/calls/" + callID} {
			if code := c.get(t, path, nil); code != http.StatusForbidden {
				t.Errorf("agent GET %s: %d, want 403", path, code)
			}
		}
	}
	anon := &apiClient{srv: srv, base: alice.base}
	for _, path := range []string{"/api/v1/queues", "/api/v1/agents", "/api/v1/calls", "/api/v1/calls/" + callID} {
		if code := anon.get(t, path, nil); code != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: %d, want 401", path, code)
		}
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	anon.get(t, "/api/v1/openapi.json", &doc)
	for _, p := range []string{"/api/v1/agent/ws", "/api/v1/queues", "/api/v1/agents", "/api/v1/calls", "/api/v1/calls/{id}"} {
		if doc.Paths[p] == nil {
			t.Errorf("OpenAPI document lacks %s", p)
		}
	}
}

// TestAgentWSBadInput: malformed messages get an error and the socket
// stays open; a handshake without a session is refused with 401, one with
// the cookie from a foreign origin with 403.
func TestAgentWSBadInput(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "deskbad"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, res, err := dialDesk(ctx, srv, nil, ""); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous handshake: %v %v, want 401", res, err)
	}
	alice := apiLogin(t, srv, "demo", "alice", "alice-demo")
	// A fresh deadline: the login (argon2id) may take seconds on a loaded
	// machine.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, res, err := dialDesk(ctx, srv, alice, "http://evil.example"); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin handshake: %v %v, want 403", res, err)
	}

	d := openDesk(t, srv, alice, "alice")
	d.expect("hello", 5*time.Second, nil)
	for _, bad := range []string{
		`not json`, `{"type":`, `[1,2]`, `{}`, `{"type":"bogus"}`, `{"type":"state","state":"sleeping"}`,
		`{"type":"answer"}`, `{"type":"answer","call":"00000000-0000-0000-0000-000000000000"}`,
		`{"type":"hold","call":"x","on":true}`, `{"type":"webrtc_answer","call":"x","sdp":"v=0"}`,
		`{"type":"dtmf","call":"x","digits":"12"}`, `{"type":"disposition","call":"x","code":"ok"}`,
		`{"type":"transfer","call":"x","queue":"cards"}`, `{"type":"state","state":1}`,
	} {
		d.sendRaw(bad)
		if m := d.expect("error", 5*time.Second, nil); m["message"] == "" {
			t.Errorf("%s: error without a message", bad)
		}
	}
	d.send(map[string]any{"type": "state", "state": "break", "reason": "lunch"})
	d.expect("state", 5*time.Second, func(m map[string]any) bool { return m["state"] == "break" && m["reason"] == "lunch" })
	srv.healthy(t)
}

// TestAgentBrowserClosesMidRing: alice and bob are available; the one the
// call rings on closes the browser; the caller keeps their place and is
// offered to the other.
func TestAgentBrowserClosesMidRing(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "deskring"})
	desks := map[string]*deskClient{}
	for _, u := range []string{"alice", "bob"} {
		desks[u] = demoDesk(t, srv, u, true)
	}
	ua := queueCall(t, srv)
	type got struct {
		who string
		m   map[string]any
	}
	first := make(chan got, 2)
	for who, d := range desks {
		go func() {
			for m := range d.msgs {
				if m["type"] == "offer" {
					first <- got{who, m}
					return
				}
			}
		}()
	}
	var ringing got
	select {
	case ringing = <-first:
	case <-time.After(20 * time.Second):
		t.Fatal("no offer to either agent")
	}
	callID := ringing.m["call"]
	other := map[string]string{"alice": "bob", "bob": "alice"}[ringing.who]
	t.Logf("%s rings; closing their browser", ringing.who)
	desks[ringing.who].close()

	select {
	case next := <-first:
		if next.who != other || next.m["call"] != callID {
			t.Fatalf("second offer %v to %s: want the same call to %s", next.m, next.who, other)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the caller was not offered to %s after %s's browser closed", other, ringing.who)
	}
	// The ACD's rows are written in batches; the entry shows up shortly.
	var entries []store.QueueEntry
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && len(entries) == 0; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		entries, err = srv.DB.QueueEntries(ctx, "demo", uuid.MustParse(callID.(string)))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(entries) != 1 || entries[0].Outcome != "" || entries[0].OfferedAt.IsZero() {
		t.Errorf("queue entries %+v: want the one entry, still waiting", entries)
	}
	ua.Bye(demoNumber)
}

// TestAgentBlindTransfer: alice answers a caller and transfers them to the
// cards queue; bob (default profile: every queue, the cards skill) gets the
// offer with the same caller, answers and hears the caller's 440 Hz tone;
// alice wraps up, and the first queue entry says transferred.
func TestAgentBlindTransfer(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "deskxfer"})
	alice := demoDesk(t, srv, "alice", true)
	// Bob stays on break (login) until alice has the call.
	bob := demoDesk(t, srv, "bob", false)

	ua := queueCall(t, srv)
	offer := alice.expect("offer", 20*time.Second, nil)
	callID, _ := offer["call"].(string)
	alice.send(map[string]any{"type": "answer", "call": callID})
	wo := alice.expect("webrtc_offer", 10*time.Second, nil)
	ab := newFakeBrowser(t)
	alice.send(map[string]any{"type": "webrtc_answer", "call": callID, "sdp": ab.answer(t, wo["sdp"].(string))})
	alice.expect("connected", 10*time.Second, nil)
	wantTone(t, "alice hears the caller", ab.recent(t, 4000, 10*time.Second), 440, 1000)

	bob.send(map[string]any{"type": "state", "state": "available"})
	bob.expectState("available", 5*time.Second)
	alice.send(map[string]any{"type": "transfer", "call": callID, "agent": "nobody"})
	if m := alice.expect("error", 5*time.Second, nil); m["call"] != callID {
		t.Errorf("transfer to nobody: %v", m)
	}
	alice.send(map[string]any{"type": "transfer", "call": callID, "queue": "cards"})
	end := alice.expect("call_ended", 10*time.Second, nil)
	if end["call"] != callID || end["by"] != "transfer" {
		t.Errorf("call_ended %v: want by transfer", end)
	}
	alice.expectState("wrap_up", 5*time.Second)

	bo := bob.expect("offer", 20*time.Second, nil)
	if bo["call"] != callID || bo["caller"] != ua.From || bo["queue"] != "cards" {
		t.Fatalf("bob's offer %v: want call %s from %s in cards", bo, callID, ua.From)
	}
	bob.send(map[string]any{"type": "answer", "call": callID})
	wo = bob.expect("webrtc_offer", 10*time.Second, nil)
	bb := newFakeBrowser(t)
	bob.send(map[string]any{"type": "webrtc_answer", "call": callID, "sdp": bb.answer(t, wo["sdp"].(string))})
	bob.expect("connected", 10*time.Second, nil)
	wantTone(t, "bob hears the caller", bb.recent(t, 4000, 10*time.Second), 440, 1000)

	var entries []store.QueueEntry
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		entries, err = srv.DB.QueueEntries(ctx, "demo", uuid.MustParse(callID))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 2 && entries[0].Outcome != "" && entries[1].Outcome != "" {
			break
		}
	}
	if len(entries) != 2 || entries[0].Outcome != store.OutcomeTransferred || entries[1].Queue != "cards" || entries[1].Outcome != store.OutcomeAnswered {
		t.Errorf("queue entries %+v: want general transferred, then cards answered", entries)
	}
	bob.send(map[string]any{"type": "hangup", "call": callID})
	bob.expect("call_ended", 10*time.Second, nil)
	ua.Bye(demoNumber)
}

// TestAgentBrowserClosesMidCall: alice talks with a caller and her browser
// closes; the caller goes back to the front of general and bob gets them.
func TestAgentBrowserClosesMidCall(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "desklost"})
	alice := demoDesk(t, srv, "alice", true)
	bob := demoDesk(t, srv, "bob", false)

	ua := queueCall(t, srv)
	callID, _ := alice.expect("offer", 20*time.Second, nil)["call"].(string)
	alice.send(map[string]any{"type": "answer", "call": callID})
	wo := alice.expect("webrtc_offer", 10*time.Second, nil)
	ab := newFakeBrowser(t)
	alice.send(map[string]any{"type": "webrtc_answer", "call": callID, "sdp": ab.answer(t, wo["sdp"].(string))})
	alice.expect("connected", 10*time.Second, nil)
	bob.send(map[string]any{"type": "state", "state": "available"})
	bob.expectState("available", 5*time.Second)
	alice.close()

	bo := bob.expect("offer", 20*time.Second, nil)
	if bo["call"] != callID || bo["caller"] != ua.From || bo["queue"] != "general" {
		t.Fatalf("bob's offer %v: want call %s back in general", bo, callID)
	}
	ua.Bye(demoNumber)
}
