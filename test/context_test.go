package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// contextOf returns a caller_context message's context.
func contextOf(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	cc, ok := m["context"].(map[string]any)
	if !ok {
		t.Fatalf("caller_context without a context: %v", m)
	}
	return cc
}

func crmOf(cc map[string]any) (status string, fields map[string]string) {
	crm, _ := cc["crm"].(map[string]any)
	status, _ = crm["status"].(string)
	fields = map[string]string{}
	list, _ := crm["fields"].([]any)
	for _, f := range list {
		fm, _ := f.(map[string]any)
		name, _ := fm["name"].(string)
		fields[name], _ = fm["value"].(string)
	}
	return status, fields
}

// complete waits for the complete caller context of callID.
func completeContext(t testing.TB, d *deskClient, callID string) map[string]any {
	t.Helper()
	m := d.expect("caller_context", 10*time.Second, func(m map[string]any) bool {
		cc, _ := m["context"].(map[string]any)
		return m["call"] == callID && cc["complete"] == true
	})
	return contextOf(t, m)
}

// TestCallerContext: the demo tenant's caller context (docs/assist.md) on
// the agent's WebSocket. A caller from +1212 (region east, alice's) who
// presses 0 is offered to alice with a caller_context right after the
// offer: number, region, IVR path and choice, queue and time in queue,
// then, complete, the demo CRM's customer fields in the configured order
// and no previous calls. Alice answers, talks and closes the call as
// resolved with a note; when the same number calls again, the context
// lists that call with its agent, queue and disposition, and so does the
// context bob gets when alice consults him about it.
func TestCallerContext(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "caller-context"})
	alice := demoDesk(t, srv, "alice", true)
	number := fmt.Sprintf("+1212555%04d", time.Now().UnixNano()%10000)

	ua := queueCallFrom(t, srv, number)
	offer := alice.expect("offer", 20*time.Second, nil)
	callID, _ := offer["call"].(string)
	// The first context comes with the offer, before any answer.
	first := alice.expect("caller_context", 5*time.Second, nil)
	if first["call"] != callID {
		t.Fatalf("caller_context %v for another call than the offer's %s", first, callID)
	}
	cc := contextOf(t, first)
	region, _ := cc["region"].(map[string]any)
	if cc["number"] != number || cc["dialled"] != demoNumber || region["name"] != "east" || region["country"] != "US" || cc["queue"] != "general" {
		t.Errorf("first context %v: want %s from east (US) calling %s, in general", cc, number, demoNumber)
	}
	if path := fmt.Sprint(cc["ivr_path"]); !strings.Contains(path, "main_menu") || !strings.Contains(path, "queue_general") {
		t.Errorf("IVR path %s: want main_menu ... queue_general", path)
	}
	if ch := fmt.Sprint(cc["choices"]); !strings.Contains(ch, "kind:menu") || !strings.Contains(ch, "value:0") {
		t.Errorf("choices %s: want the menu's key 0", ch)
	}
	if _, ok := cc["queued_at"].(string); !ok || cc["waiting"] != true {
		t.Errorf("queue clock: queued_at %v waiting %v", cc["queued_at"], cc["waiting"])
	}
	if cc["complete"] != true {
		cc = completeContext(t, alice, callID)
	}
	status, fields := crmOf(cc)
	if status != "ok" || fields["name"] == "" || fields["segment"] == "" || fields["city"] == "" {
		t.Fatalf("CRM %s %v: want the demo CRM's customer", status, cc["crm"])
	}
	crm, _ := cc["crm"].(map[string]any)
	list, _ := crm["fields"].([]any)
	if f, _ := list[0].(map[string]any); f["name"] != "name" || len(list) != 6 {
		t.Errorf("CRM fields %v: want the configured six, name first", list)
	}
	if prev, _ := cc["previous"].([]any); len(prev) != 0 || cc["previous_status"] != "ok" {
		t.Errorf("a first call's previous calls: %v (%v)", cc["previous"], cc["previous_status"])
	}
	name := fields["name"]
	t.Logf("caller context: %s from %v, CRM %v", number, region, fields)

	br := pickUp(t, alice, callID)
	wantTone(t, "alice hears the caller", br.recent(t, 4000, 10*time.Second), 440, 1000)
	alice.send(map[string]any{"type": "hangup", "call": callID})
	alice.expect("call_ended", 10*time.Second, nil)
	alice.expectState("wrap_up", 5*time.Second)
	alice.send(map[string]any{"type": "disposition", "call": callID, "code": "resolved", "note": "card unblocked"})
	alice.send(map[string]any{"type": "wrapup_done"})
	alice.expectState("available", 5*time.Second)
	if _, ok := ua.WaitBye(10 * time.Second); !ok {
		ua.Bye(demoNumber)
	}
	// The CDR writer batches: wait for the call's end and disposition.
	cid := uuid.MustParse(callID)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := srv.DB.GetCall(ctx, "demo", cid)
		d, _ := srv.DB.Dispositions(ctx, "demo", cid)
		cancel()
		if err == nil && c.EndedAt != nil && len(d) == 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the first call's CDR or disposition was not stored")
		}
	}

	ua2 := queueCallFrom(t, srv, number)
	defer ua2.Bye(demoNumber)
	offer = alice.expect("offer", 20*time.Second, nil)
	second, _ := offer["call"].(string)
	cc = completeContext(t, alice, second)
	prev, _ := cc["previous"].([]any)
	if len(prev) != 1 {
		t.Fatalf("previous calls %v: want the first call", cc["previous"])
	}
	p, _ := prev[0].(map[string]any)
	if p["id"] != callID || p["agent"] != "alice" || p["queue"] != "general" || p["disposition"] != "resolved" ||
		p["note"] != "card unblocked" || p["answered"] != true || p["direction"] != "inbound" {
		t.Errorf("previous call %v: want the first call, answered by alice in general, resolved with the note", p)
	}
	if _, fields := crmOf(cc); fields["name"] != name {
		t.Errorf("the CRM's name for the same number: %q, then %q", name, fields["name"])
	}

	// A colleague consulted about the call sees the same context with
	// the consult_offer, complete at once (the lookups are kept).
	pickUp(t, alice, second)
	bob := demoDesk(t, srv, "bob", true)
	alice.send(map[string]any{"type": "consult", "call": second, "agent": "bob"})
	bob.expect("consult_offer", 10*time.Second, nil)
	bc := contextOf(t, bob.expect("caller_context", 5*time.Second, nil))
	if _, fields := crmOf(bc); bc["complete"] != true || bc["number"] != number || fields["name"] != name || len(bc["previous"].([]any)) != 1 {
		t.Errorf("bob's context with the consult_offer: %v", bc)
	}
	alice.send(map[string]any{"type": "consult_cancel", "call": second})
	alice.expect("consult_ended", 10*time.Second, nil)
}

// TestCallerContextCRMUnavailable: a CRM that cannot be reached shows
// "unavailable" with a short reason, and the call goes on: the agent
// answers and talks.
func TestCallerContextCRMUnavailable(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "caller-context-down", Edit: func(t testing.TB, cfg map[string]any) {
		for _, tv := range listOf(cfg["tenants"]) {
			if tm, _ := tv.(map[string]any); tm["id"] == "demo" {
				// Port 9 (discard) on loopback: nothing listens.
				tm["crm"] = map[string]any{"url": "http://127.0.0.1:9/customer?number=${caller}", "timeout": "1s"}
			}
		}
	}})
	alice := demoDesk(t, srv, "alice", true)
	ua := queueCallFrom(t, srv, "+12125550199")
	defer ua.Bye(demoNumber)

	offer := alice.expect("offer", 20*time.Second, nil)
	callID, _ := offer["call"].(string)
	cc := completeContext(t, alice, callID)
	crm, _ := cc["crm"].(map[string]any)
	if crm["status"] != "unavailable" || crm["error"] == "" || strings.Contains(fmt.Sprint(crm["error"]), "127.0.0.1") {
		t.Errorf("CRM %v: want unavailable with a short reason and no URL", crm)
	}
	t.Logf("CRM down: %v", crm)
	br := pickUp(t, alice, callID)
	wantTone(t, "alice hears the caller", br.recent(t, 4000, 10*time.Second), 440, 1000)
}
