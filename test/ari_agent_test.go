package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	ari "github.com/CyCoreSystems/ari/v5"
)

// ariAgentPost does an authenticated POST below /ari as demo's application
// and returns the status and the decoded JSON body.
func ariAgentPost(t *testing.T, s *server, path string, q url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/ari%s?%s", s.HTTPPort, path, q.Encode()), nil)
	req.SetBasicAuth("demo", "demo-ari")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestARIAgentOriginate: an ARI application originates to an agent
// (Agent/alice): her page rings with the caller id, she answers, her
// browser gets a WebRTC leg and the channel comes up; the application
// bridges it with a SIP caller and they hear each other (caller 440 Hz,
// alice 1 kHz). The application hanging up the agent's channel ends
// alice's call (wrap-up) and leaves the caller up; alice hanging up ends
// the channel. Agents who are not logged in, or of another tenant, are
// invalid endpoints (400); a busy agent's channel is destroyed with
// cause 17.
func TestARIAgentOriginate(t *testing.T) {
	s := startServer(t, serverOptions{Name: "ari-agent"})
	alice := demoDesk(t, s, "alice", true)
	cl := connectARI(t, s, "hello")
	ev := collectARI(cl)

	// The caller reaches the application, which answers.
	ua, caller := answeredCaller(t, s, cl, ev)
	callerID := caller.ID()
	ua.RTP.Play(pcmSine(440, 90*time.Second))
	ua.RTP.Start()

	// ring has the application originate to alice and alice pick up with
	// browser b; it returns the agent channel's id and the call's id on
	// alice's desk.
	ring := func(b *fakeBrowser) (string, string) {
		t.Helper()
		out, err := cl.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "Agent/alice", App: "hello", AppArgs: "agent", CallerID: "Support <+15550199>"})
		if err != nil {
			t.Fatalf("originate Agent/alice: %v", err)
		}
		// The ACD reserves alice before her page rings: no queue caller meanwhile.
		alice.expect("state", 5*time.Second, func(m map[string]any) bool { return m["state"] == "on_call" && m["reason"] == "ari" })
		offer := alice.expect("offer", 5*time.Second, nil)
		call, _ := offer["call"].(string)
		if call == "" || offer["caller"] != "+15550199" {
			t.Fatalf("offer %v: want a call from +15550199", offer)
		}
		ev.wait(t, "Ringing of the agent channel", 5*time.Second, func(e ari.Event) bool {
			x, ok := e.(*ari.ChannelStateChange)
			return ok && x.Channel.ID == out.ID() && x.Channel.State == "Ringing"
		})
		alice.send(map[string]any{"type": "answer", "call": call})
		wo := alice.expect("webrtc_offer", 10*time.Second, nil)
		alice.send(map[string]any{"type": "webrtc_answer", "call": call, "sdp": b.answer(t, wo["sdp"].(string))})
		alice.expect("connected", 10*time.Second, func(m map[string]any) bool { return m["call"] == call })
		ev.wait(t, "StasisStart of the agent channel", 10*time.Second, forChannel("StasisStart", out.ID()))
		return out.ID(), call
	}

	ab := newFakeBrowser(t) // 1 kHz
	agentID, aliceCall := ring(ab)
	br, err := cl.Bridge().Create(ari.NewKey(ari.BridgeKey, "agent-"+randHex(4)), "mixing", "talk")
	if err != nil {
		t.Fatalf("bridge create: %v", err)
	}
	for _, id := range []string{callerID, agentID} {
		if err := br.AddChannel(id); err != nil {
			t.Fatalf("add %s: %v (ari/bridges.go must let any media.MixerLeg join)", id, err)
		}
	}
	wantTone(t, "alice hears the caller", ab.recent(t, 4000, 10*time.Second), 440, 1000)
	callerHearsTone(t, "the caller hears alice", ua, 1000, 440)

	// The application hangs up alice's channel: her call ends, she wraps
	// up, and the caller stays.
	if err := cl.Channel().Hangup(ari.NewKey(ari.ChannelKey, agentID), "normal"); err != nil {
		t.Fatalf("hangup agent channel: %v", err)
	}
	if m := alice.expect("call_ended", 10*time.Second, nil); m["call"] != aliceCall || m["by"] != "caller" {
		t.Errorf("call_ended %v: want call %s by caller", m, aliceCall)
	}
	alice.expectState("wrap_up", 5*time.Second)
	ev.wait(t, "ChannelDestroyed of the agent channel", 10*time.Second, forChannel("ChannelDestroyed", agentID))
	// Hung up while bridged: it leaves the bridge after the hang-up request, as in Asterisk.
	wantAgent := "ChannelStateChange(Ringing) ChannelStateChange(Up) StasisStart ChannelEnteredBridge ChannelHangupRequest ChannelLeftBridge StasisEnd ChannelDestroyed"
	if got := ev.types(agentID); got != wantAgent {
		t.Errorf("events of the agent channel:\n got %s\nwant %s", got, wantAgent)
	}
	if code, body := ariGet(t, s, "/channels/"+callerID); code != 200 {
		t.Fatalf("the caller's channel after the agent left: %d %s", code, body)
	}
	if _, ok := ua.WaitBye(time.Second); ok {
		t.Fatalf("the caller was hung up with the agent")
	}

	// Alice is busy (wrap-up, then on break): her channel is destroyed
	// with cause 17, and her page does not ring.
	code, body := ariAgentPost(t, s, "/channels", url.Values{"endpoint": {"Agent/alice"}, "app": {"hello"}})
	if code != 200 {
		t.Fatalf("originate to alice in wrap-up: %d %v, want 200 and a channel that is destroyed", code, body)
	}
	busyID, _ := body["id"].(string)
	d := ev.wait(t, "ChannelDestroyed of the busy agent's channel", 10*time.Second, forChannel("ChannelDestroyed", busyID)).(*ari.ChannelDestroyed)
	if d.Cause != 17 {
		t.Errorf("busy agent's channel destroyed with cause %d (%s), want 17", d.Cause, d.CauseTxt)
	}

	// Back to available: alice hangs up herself this time.
	alice.send(map[string]any{"type": "wrapup_done"})
	alice.expectState("available", 5*time.Second)
	ab2 := newFakeBrowser(t)
	agent2, call2 := ring(ab2)
	if err := br.AddChannel(agent2); err != nil {
		t.Fatalf("add %s: %v", agent2, err)
	}
	wantTone(t, "alice hears the caller again", ab2.recent(t, 4000, 10*time.Second), 440, 1000)
	// Keys and transfers are not for an application's call.
	alice.send(map[string]any{"type": "hold", "call": call2, "on": true})
	alice.expect("error", 5*time.Second, func(m map[string]any) bool { return m["call"] == call2 })
	alice.send(map[string]any{"type": "hangup", "call": call2})
	if m := alice.expect("call_ended", 10*time.Second, nil); m["by"] != "agent" {
		t.Errorf("call_ended %v: want by agent", m)
	}
	alice.expectState("wrap_up", 5*time.Second)
	d = ev.wait(t, "ChannelDestroyed after alice hung up", 10*time.Second, forChannel("ChannelDestroyed", agent2)).(*ari.ChannelDestroyed)
	if d.Cause != 16 {
		t.Errorf("channel destroyed with cause %d (%s) after alice hung up, want 16", d.Cause, d.CauseTxt)
	}
	if code, _ := ariGet(t, s, "/channels/"+callerID); code != 200 {
		t.Fatalf("the caller's channel after alice hung up: %d", code)
	}

	// Out of reach: bob is not logged in, acme's carol is another
	// tenant's (even logged in and available), and nobody is nobody.
	carol := openDesk(t, s, apiLogin(t, s, "acme", "carol", "carol-demo"), "carol")
	carol.expect("hello", 5*time.Second, nil)
	carol.send(map[string]any{"type": "state", "state": "available"})
	carol.expectState("available", 5*time.Second)
	for _, ep := range []string{"Agent/bob", "WebRTC/bob", "Agent/carol", "Agent/nobody", "Agent/"} {
		if code, body := ariAgentPost(t, s, "/channels", url.Values{"endpoint": {ep}, "app": {"hello"}}); code != 400 {
			t.Errorf("originate %s: %d %v, want 400", ep, code, body)
		}
	}
	// The endpoints list demo's trunk and its agents at a desk (alice
	// online), never acme's carol.
	epCode, epBody := ariGet(t, s, "/endpoints")
	var eps []struct{ Technology, Resource, State string }
	if err := json.Unmarshal(epBody, &eps); epCode != 200 || err != nil {
		t.Fatalf("endpoints: %d %s", epCode, epBody)
	}
	var agents []string
	for _, e := range eps {
		if e.Technology == "Agent" {
			agents = append(agents, e.Resource+":"+e.State)
		}
	}
	if got := strings.Join(agents, ","); got != "alice:online" {
		t.Errorf("agent endpoints = %q, want alice:online (and no acme agent): %s", got, epBody)
	}
	if code, _ := ariGet(t, s, "/endpoints/Agent/alice"); code != 200 {
		t.Errorf("GET /endpoints/Agent/alice: %d", code)
	}
	if code, _ := ariGet(t, s, "/endpoints/Agent/carol"); code != 404 {
		t.Errorf("GET /endpoints/Agent/carol (acme's): %d, want 404", code)
	}
	select {
	case m := <-carol.msgs:
		if m["type"] == "offer" || m["type"] == "state" {
			t.Errorf("carol got %v from demo's application", m)
		}
	case <-time.After(300 * time.Millisecond):
	}

	if err := br.Delete(); err != nil {
		t.Errorf("bridge delete: %v", err)
	}
	if err := cl.Channel().Hangup(ari.NewKey(ari.ChannelKey, callerID), "normal"); err != nil {
		t.Errorf("hangup caller: %v", err)
	}
	if _, ok := ua.WaitBye(10 * time.Second); !ok {
		t.Errorf("the caller got no BYE")
	}
}
