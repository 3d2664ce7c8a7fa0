package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTicketsPage is issue 9's ticket life cycle with permissions per
// tenant and role, in headless Chromium (test/browser/tickets.test.mjs) on
// the agent page that `hotline serve` ships: demo/alice creates a ticket
// whose subject and description hold <img onerror> and <script>, which
// the page shows as literal text without running (window.pwned stays
// undefined); demo/sam (supervisor) finds it in the list, assigns it to
// bob and comments; demo/bob finds it under "Assigned to me" and resolves
// it; alice then sees it read-only; acme/carol gets 404 for its id and ref.
// The API then confirms the end state and its audit trail.
//
// Screenshots go to $HOTLINE_BROWSER_OUT when set (kept), else to the
// test's temporary directory.
func TestTicketsPage(t *testing.T) {
	srv, b := startBrowserServer(t, serverOptions{Name: "tickets-page"})

	start := time.Now()
	events := runPageScript(t, 90*time.Second, "tickets.test.mjs", "the tickets page", b.vars(nil))
	t.Logf("browser script took %s", time.Since(start).Round(time.Millisecond))

	const img, script = `<img src=x onerror="window.pwned=1">`, `<script>window.pwned=2</script>`
	type injected struct {
		Pwned    any `json:"pwned"`
		Elements int `json:"elements"`
	}
	var alice struct {
		ID, Ref, Title, Description, Row string
		CallID                           string `json:"call_id"`
		Linked                           string `json:"linked"`
		Prefill                          struct{ Blank, Customer, Call string }
		injected
	}
	decodeEvent(t, events, "alice", &alice)
	const callID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b" // tickets.test.mjs's CALL_ID
	if alice.Prefill.Blank != "" || alice.Prefill.Customer != "+15557777" || !strings.Contains(alice.Prefill.Call, callID) ||
		alice.CallID != callID || !strings.Contains(alice.Linked, callID) {
		t.Errorf("create from a call: prefill %+v, ticket's call %q (%q), want +15557777 and %s", alice.Prefill, alice.CallID, alice.Linked, callID)
	}
	t.Logf("alice created %s: title %q", alice.Ref, alice.Title)
	if !strings.Contains(alice.Title, img) || !strings.Contains(alice.Row, img) || !strings.Contains(alice.Description, script) ||
		!strings.Contains(alice.Description, "\nSecond line "+img) {
		t.Errorf("alice's page does not show the markup as text: %+v", alice)
	}
	if alice.Pwned != nil || alice.Elements != 0 {
		t.Errorf("ticket text ran in alice's page: pwned %v, %d elements", alice.Pwned, alice.Elements)
	}

	var sam struct {
		Row      string   `json:"row"`
		Comments []string `json:"comments"`
		Facts    string   `json:"facts"`
		History  []string `json:"history"`
		injected
	}
	decodeEvent(t, events, "sam", &sam)
	t.Logf("sam: comments %q; history %q", sam.Comments, sam.History)
	if !strings.Contains(sam.Row, img) || len(sam.Comments) != 1 || !strings.HasPrefix(sam.Comments[0], "<b>Called back</b> "+img) ||
		!strings.Contains(strings.ToLower(sam.Facts), "bob") || sam.Pwned != nil || sam.Elements != 0 {
		t.Errorf("sam's view %+v", sam)
	}
	if len(sam.History) < 3 || !strings.Contains(strings.Join(sam.History, "|"), "changed assignee: — → bob") {
		t.Errorf("sam's history %q: want the creation, the assignment and the comment", sam.History)
	}

	var bob struct {
		Rows     []string `json:"rows"`
		Comments []string `json:"comments"`
		Facts    string   `json:"facts"`
		injected
	}
	decodeEvent(t, events, "bob", &bob)
	if len(bob.Rows) != 1 || bob.Rows[0] != alice.Ref || !strings.Contains(bob.Facts, "resolved") || len(bob.Comments) != 1 || bob.Pwned != nil || bob.Elements != 0 {
		t.Errorf("bob's view %+v", bob)
	}
	var aliceAfter struct {
		Status   string `json:"status"`
		Disabled bool   `json:"disabled"`
		Note     string `json:"note"`
	}
	decodeEvent(t, events, "alice_after", &aliceAfter)
	if aliceAfter.Status != "resolved" || !aliceAfter.Disabled || aliceAfter.Note == "" {
		t.Errorf("alice after the hand-over: %+v, want resolved and read-only", aliceAfter)
	}

	var carol struct {
		Status     string `json:"status"`
		ViewHidden bool   `json:"view_hidden"`
		Rows       int    `json:"rows"`
		Get        int    `json:"get"`
		GetRef     int    `json:"get_ref"`
		Patch      int    `json:"patch"`
		Comment    int    `json:"comment"`
	}
	decodeEvent(t, events, "carol", &carol)
	t.Logf("carol (acme): %+v", carol)
	if carol.Get != 404 || carol.GetRef != 404 || carol.Patch != 404 || carol.Comment != 404 || !carol.ViewHidden || carol.Rows != 0 ||
		!strings.Contains(carol.Status, "No such ticket") {
		t.Errorf("carol of acme reaches demo's ticket: %+v", carol)
	}
	var timing struct {
		Ms int64 `json:"ms"`
	}
	decodeEvent(t, events, "timing", &timing)
	t.Logf("the page flow took %d ms", timing.Ms)

	// The API agrees, and every change is in the audit trail.
	samAPI := apiLogin(t, srv, "demo", "sam", "sam-demo")
	var v struct {
		Ticket struct {
			Subject, Description, Status, Assignee, Priority, Ref string
			ResolvedAt                                            *time.Time `json:"resolved_at"`
		}
		Comments []struct {
			Author   string
			Internal bool
		}
		Events []struct{ Actor, Action, Field, Old, New string }
	}
	if code := samAPI.get(t, "/api/v1/tickets/"+alice.ID, &v); code != 200 {
		t.Fatalf("sam GET the ticket: %d", code)
	}
	if v.Ticket.Status != "resolved" || v.Ticket.Assignee != "bob" || v.Ticket.Priority != "high" || v.Ticket.ResolvedAt == nil ||
		v.Ticket.Subject != "Card blocked "+img {
		t.Errorf("ticket %+v", v.Ticket)
	}
	if len(v.Comments) != 1 || v.Comments[0].Author != "sam" || !v.Comments[0].Internal {
		t.Errorf("comments %+v", v.Comments)
	}
	var trail []string
	for _, e := range v.Events {
		trail = append(trail, e.Actor+" "+e.Action+" "+e.Field+" "+e.Old+">"+e.New)
	}
	want := []string{"alice create  >" + alice.Ref, "sam update assignee >bob", "sam comment comment internal>", "bob update status new>resolved", "bob update resolved_at >"}
	if len(trail) != len(want) {
		t.Fatalf("audit trail %q, want %q", trail, want)
	}
	for i := range want {
		if !strings.HasPrefix(trail[i], want[i]) {
			t.Errorf("audit row %d %q, want %q", i, trail[i], want[i])
		}
	}
	carolAPI := apiLogin(t, srv, "acme", "carol", "carol-demo")
	if code := carolAPI.get(t, "/api/v1/tickets/"+alice.ID, nil); code != 404 {
		t.Errorf("carol GET demo's ticket: %d, want 404", code)
	}
	for _, shot := range []string{"tickets-alice.png", "tickets-sam.png", "tickets-carol.png"} {
		if _, err := os.Stat(filepath.Join(b.out, shot)); err != nil {
			t.Errorf("screenshot: %v", err)
		}
	}
	t.Logf("screenshots in %s", b.out)
}
