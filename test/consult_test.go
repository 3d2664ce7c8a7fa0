package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// TestAgentAttendedTransfer: alice talks with a caller, consults bob (the
// caller hears music, alice and bob hear each other), cancels (the caller
// is back with alice), consults again and completes: bob talks with the
// caller and alice wraps up. Tones: caller 440 Hz, alice 1 kHz, bob 700 Hz.
func TestAgentAttendedTransfer(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "deskconsult"})
	alice := demoDesk(t, srv, "alice", true)
	bob := demoDesk(t, srv, "bob", false)

	c := answerCall(t, srv, alice)
	ua, callID, ab, talk := c.ua, c.id, c.browser, c.talk

	// Bob on break cannot be consulted; nor can nobody.
	alice.send(map[string]any{"type": "consult", "call": callID, "agent": "bob"})
	alice.expect("error", 5*time.Second, func(m map[string]any) bool { return m["call"] == callID })
	alice.send(map[string]any{"type": "consult", "call": callID, "agent": "nobody"})
	alice.expect("error", 5*time.Second, func(m map[string]any) bool { return m["call"] == callID })
	// An available agent of another tenant is out of reach.
	dave := openDesk(t, srv, apiLogin(t, srv, "acme", "dave", "dave-demo"), "dave")
	dave.expect("hello", 5*time.Second, nil)
	dave.send(map[string]any{"type": "state", "state": "available"})
	dave.expectState("available", 5*time.Second)
	alice.send(map[string]any{"type": "consult", "call": callID, "agent": "dave"})
	alice.expect("error", 5*time.Second, func(m map[string]any) bool { return m["call"] == callID })
	bob.send(map[string]any{"type": "state", "state": "available"})
	bob.expectState("available", 5*time.Second)

	consult := func(bb *fakeBrowser) {
		t.Helper()
		alice.send(map[string]any{"type": "consult", "call": callID, "agent": "bob"})
		alice.expect("held", 5*time.Second, func(m map[string]any) bool { return m["on"] == true })
		alice.expect("consult_ringing", 5*time.Second, nil)
		// The ACD reserves bob (on_call, reason consult) before his phone rings.
		bob.expect("state", 5*time.Second, func(m map[string]any) bool { return m["state"] == "on_call" && m["reason"] == "consult" })
		co := bob.expect("consult_offer", 5*time.Second, nil)
		if co["call"] != callID || co["from"] != "alice" || co["caller"] != ua.From {
			t.Fatalf("consult_offer %v: want call %s from alice about %s", co, callID, ua.From)
		}
		bob.send(map[string]any{"type": "answer", "call": callID})
		bwo := bob.expect("webrtc_offer", 10*time.Second, nil)
		bob.send(map[string]any{"type": "webrtc_answer", "call": callID, "sdp": bb.answer(t, bwo["sdp"].(string))})
		bob.expect("connected", 10*time.Second, nil)
		alice.expect("consult_connected", 10*time.Second, nil)
		wantTone(t, "bob hears alice", bb.recent(t, 4000, 10*time.Second), 1000, 440)
		wantTone(t, "alice hears bob", ab.recent(t, 4000, 10*time.Second), 700, 440)
		held := callerRecent(t, ua, 8000, 10*time.Second)
		if a := max(toneAmp(held, 1000), toneAmp(held, 700)); a*4 > talk || rms(held) < 100 {
			t.Fatalf("during the consultation the caller hears an agent (%.0f; talking %.0f), level %.0f: want music", a, talk, rms(held))
		}
	}

	// Round one: consult, then cancel.
	bb1 := newFakeBrowserTone(t, 700)
	consult(bb1)
	// Hold and blind transfer wait until the consultation is over.
	alice.send(map[string]any{"type": "transfer", "call": callID, "queue": "cards"})
	alice.expect("error", 5*time.Second, nil)
	alice.send(map[string]any{"type": "consult_cancel", "call": callID})
	if m := alice.expect("consult_ended", 10*time.Second, nil); m["reason"] != "cancelled" {
		t.Errorf("consult_ended %v: want reason cancelled", m)
	}
	if m := bob.expect("call_ended", 10*time.Second, nil); m["by"] != "consult" {
		t.Errorf("bob's call_ended %v: want by consult", m)
	}
	bob.expectState("available", 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	wantTone(t, "the caller hears alice again", callerRecent(t, ua, 4000, 10*time.Second), 1000, 440)

	// Round two: consult, then complete.
	bb2 := newFakeBrowserTone(t, 700)
	consult(bb2)
	alice.send(map[string]any{"type": "consult_complete", "call": callID})
	// The ACD moves alice to wrap-up as it hands the call over, so that
	// state arrives before call_ended.
	alice.expectState("wrap_up", 5*time.Second)
	if m := alice.expect("call_ended", 10*time.Second, nil); m["by"] != "transfer" {
		t.Errorf("alice's call_ended %v: want by transfer", m)
	}
	if m := bob.expect("transferred", 10*time.Second, nil); m["call"] != callID || m["from"] != "alice" {
		t.Errorf("transferred %v", m)
	}
	time.Sleep(300 * time.Millisecond)
	wantTone(t, "the caller hears bob", callerRecent(t, ua, 4000, 10*time.Second), 700, 1000)
	wantTone(t, "bob hears the caller", bb2.recent(t, 4000, 10*time.Second), 440, 1000)

	// Bob owns the call now: hold works for him, and his hang-up ends it.
	bob.send(map[string]any{"type": "hold", "call": callID, "on": true})
	bob.expect("held", 5*time.Second, func(m map[string]any) bool { return m["on"] == true })
	bob.send(map[string]any{"type": "hold", "call": callID, "on": false})
	bob.expect("held", 5*time.Second, func(m map[string]any) bool { return m["on"] == false })
	bob.send(map[string]any{"type": "hangup", "call": callID})
	if m := bob.expect("call_ended", 10*time.Second, nil); m["by"] != "agent" {
		t.Errorf("bob's call_ended %v: want by agent", m)
	}
	bob.expectState("wrap_up", 5*time.Second)

	cid := uuid.MustParse(callID)
	var kinds []string
	var attended bool
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && !attended; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		evs, err := srv.DB.CallEvents(ctx, "demo", cid)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		kinds = kinds[:0]
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
			if e.Kind == "queue_transfer" && e.Data["kind"] == "attended" && e.Data["agent"] != "" {
				attended = true
			}
		}
	}
	if !attended {
		t.Errorf("call events %v: want an attended queue_transfer", kinds)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	entries, err := srv.DB.QueueEntries(ctx, "demo", cid)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Outcome != store.OutcomeAnswered {
		t.Errorf("queue entries %+v: want one, answered (an attended transfer does not queue again)", entries)
	}
	ua.Bye(demoNumber)
}
