package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/auth"
	"hotline/store"
	"hotline/store/storetest"
)

// The server finds its TicketStore on Calls, which is a *store.Store.
var _ TicketStore = (*store.Store)(nil)

// newTicketAPI is newAPI with the store behind the call and ticket routes,
// and one call of demo's (from +15557777) with a complete recording.
func newTicketAPI(t *testing.T) (*api, uuid.UUID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := storetest.NewStore(t)
	if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}, {ID: "acme", Name: "Acme"}}, nil); err != nil {
		t.Fatal(err)
	}
	clk := &testClock{now: time.Now()}
	svc, err := auth.New(db, auth.Config{Password: auth.CheapParams(), Now: clk.Now, IdleTimeout: 8 * time.Hour, MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ tenant, name, role string }{
		{"demo", "alice", auth.RoleAgent}, {"demo", "bob", auth.RoleAgent}, {"demo", "sam", auth.RoleSupervisor}, {"demo", "ada", auth.RoleAdmin},
		{"acme", "carol", auth.RoleAgent}, {"acme", "dave", auth.RoleSupervisor},
	} {
		if _, err := svc.CreateUser(ctx, u.tenant, auth.NewUser{Username: u.name, DisplayName: strings.ToUpper(u.name[:1]) + u.name[1:], Role: u.role, Password: u.name + "-demo"}); err != nil {
			t.Fatal(err)
		}
	}
	call := uuid.New()
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	if _, err := db.Pool().Exec(ctx, `INSERT INTO calls (id, tenant_id, sip_call_id, from_number, to_number, started_at, answered_at, ended_at)
		VALUES ($1, 'demo', 'x', '+15557777', '+15550100', $2, $2, $3)`, call, start, start.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveRecording(ctx, store.Recording{TenantID: "demo", CallID: call, Path: "demo/x.wav", StartedAt: start,
		DurationMs: 30000, Status: store.RecordingComplete}); err != nil {
		t.Fatal(err)
	}
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry(), Auth: svc, Calls: db}
	return &api{t: t, h: s.Handler(), db: db, clk: clk}, call
}

type ticketJSON struct {
	ID             string     `json:"id"`
	Ref            string     `json:"ref"`
	Subject        string     `json:"subject"`
	Description    string     `json:"description"`
	Priority       string     `json:"priority"`
	Status         string     `json:"status"`
	Assignee       string     `json:"assignee"`
	CustomerNumber string     `json:"customer_number"`
	CallID         *string    `json:"call_id"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	DueAt          time.Time  `json:"due_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
}

func (a *api) ticketCall(token, method, path, body string, want int) *httptest.ResponseRecorder {
	a.t.Helper()
	rec := a.do(method, path, body, bearer(token)...)
	if rec.Code != want {
		a.t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, rec.Code, rec.Body, want)
	}
	return rec
}

func TestTicketAPILifeCycleAndRoles(t *testing.T) {
	a, call := newTicketAPI(t)
	alice, bob, sam := a.login("demo", "alice"), a.login("demo", "bob"), a.login("demo", "sam")
	evil := `<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script>`
	body, _ := json.Marshal(map[string]any{"subject": evil, "description": evil + "\nsecond line", "category": "cards",
		"priority": "high", "customer_number": "+15557777", "call_id": call.String()})
	rec := a.ticketCall(alice, "POST", "/api/v1/tickets", string(body), 201)
	tk := decode[struct{ Ticket ticketJSON }](t, rec).Ticket
	if tk.Subject != evil || tk.Ref != "T-1001" || tk.Status != "new" || tk.CreatedBy != "alice" || tk.CallID == nil || *tk.CallID != call.String() ||
		tk.DueAt.Sub(tk.CreatedAt) != 8*time.Hour {
		t.Fatalf("created %+v", tk)
	}
	if rec.Header().Get("Location") != "/api/v1/tickets/"+tk.ID {
		t.Fatalf("Location %q", rec.Header().Get("Location"))
	}
	// JSON keeps the text as it is; encoding/json escapes < and > so the
	// body cannot be sniffed as HTML either.
	if strings.Contains(rec.Body.String(), "<script>") {
		t.Fatalf("raw markup in the JSON: %s", rec.Body)
	}
	url := "/api/v1/tickets/" + tk.ID

	// Unassigned: any agent of the tenant may work on it.
	a.ticketCall(bob, "POST", url+"/comments", `{"body":"I'll look"}`, 201)
	// The supervisor assigns it to alice; now bob may not touch it.
	a.ticketCall(sam, "PATCH", url, `{"assignee":"alice"}`, 200)
	a.ticketCall(bob, "PATCH", url, `{"status":"open"}`, 403)
	a.ticketCall(bob, "POST", url+"/comments", `{"body":"sneaky"}`, 403)
	// ...but may read it, by id or by ref, and list it.
	a.ticketCall(bob, "GET", "/api/v1/tickets/t-1001", "", 200)
	a.ticketCall(alice, "PATCH", url, `{"status":"open","priority":"urgent"}`, 200)
	// Alice hands it to bob (an agent may reassign what is hers).
	a.ticketCall(alice, "PATCH", url, `{"assignee":"bob"}`, 200)
	a.ticketCall(alice, "PATCH", url, `{"status":"pending"}`, 403)
	a.ticketCall(sam, "POST", url+"/comments", `{"body":"<b>customer called again</b>","internal":true}`, 201)
	rec = a.ticketCall(bob, "PATCH", url, `{"status":"resolved"}`, 200)
	if up := decode[struct{ Ticket ticketJSON }](t, rec).Ticket; up.Status != "resolved" || up.ResolvedAt == nil || up.Assignee != "bob" {
		t.Fatalf("resolved %+v", up)
	}
	a.ticketCall(bob, "PATCH", url, `{"status":"new"}`, 400) // resolved → new
	a.ticketCall(bob, "PATCH", url, `{"status":"closed"}`, 200)
	a.ticketCall(bob, "PATCH", url, `{"status":"open"}`, 403) // agents do not reopen closed tickets
	a.ticketCall(sam, "PATCH", url, `{"status":"open"}`, 200)

	// Lists: mine, by status, overdue, by customer, free text.
	list := func(token, query string) (refs []string, total int) {
		t.Helper()
		rec := a.ticketCall(token, "GET", "/api/v1/tickets"+query, "", 200)
		v := decode[struct {
			Tickets []ticketJSON
			Total   int
		}](t, rec)
		for _, x := range v.Tickets {
			refs = append(refs, x.Ref)
		}
		return refs, v.Total
	}
	a.ticketCall(sam, "POST", "/api/v1/tickets", `{"subject":"Second","priority":"low"}`, 201)
	for _, c := range []struct {
		token, query, want string
	}{
		{bob, "?mine=true", "T-1001"},
		{alice, "?mine=true", ""},
		{alice, "", "T-1002 T-1001"},
		{sam, "?status=open", "T-1001"},
		{sam, "?status=new,closed", "T-1002"},
		{sam, "?status=active&priority=low", "T-1002"},
		{sam, "?assignee=bob", "T-1001"},
		{sam, "?assignee=none", "T-1002"},
		{sam, "?customer=7777", "T-1001"},
		{sam, "?q=" + "%3Cscript%3E", "T-1001"},
		{sam, "?q=T-1002", "T-1002"},
		{sam, "?overdue=true", ""},
		{sam, "?call=" + call.String(), "T-1001"},
		{sam, "?limit=1&offset=1", "T-1001"},
	} {
		refs, total := list(c.token, c.query)
		if strings.Join(refs, " ") != c.want {
			t.Errorf("list %s: %v (total %d), want %q", c.query, refs, total, c.want)
		}
	}
	if _, total := list(sam, "?limit=1"); total != 2 {
		t.Errorf("total %d, want 2", total)
	}

	// The ticket's view: comments, the audit trail, the call and its
	// recording.
	rec = a.ticketCall(alice, "GET", url, "", 200)
	v := decode[struct {
		Ticket   ticketJSON
		Comments []struct {
			Author, Body string
			Internal     bool
		}
		Events []struct{ Actor, Action, Field, Old, New string }
		Call   *struct {
			FromNumber string `json:"from_number"`
			DurationMs int64  `json:"duration_ms"`
		}
		Recording *struct {
			URL    string
			Status string
		}
		Permissions struct{ Change, Reopen bool }
	}](t, rec)
	if len(v.Comments) != 2 || v.Comments[1].Body != "<b>customer called again</b>" || !v.Comments[1].Internal || v.Comments[0].Author != "bob" {
		t.Errorf("comments %+v", v.Comments)
	}
	var trail []string
	for _, e := range v.Events {
		trail = append(trail, fmt.Sprintf("%s %s %s %s>%s", e.Actor, e.Action, e.Field, e.Old, e.New))
	}
	want := []string{"alice create  >T-1001", "bob comment comment public>", "sam update assignee >alice", "alice update priority high>urgent",
		"alice update due_at", "alice update status new>open", "alice update assignee alice>bob", "sam comment comment internal>",
		"bob update status open>resolved", "bob update resolved_at >", "bob update status resolved>closed", "sam update status closed>open", "sam update resolved_at"}
	if len(trail) != len(want) {
		t.Fatalf("audit trail:\n%s", strings.Join(trail, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(trail[i], want[i]) {
			t.Errorf("audit row %d %q, want %q...", i, trail[i], want[i])
		}
	}
	if v.Call == nil || v.Call.FromNumber != "+15557777" || v.Call.DurationMs != 30000 {
		t.Errorf("linked call %+v", v.Call)
	}
	if v.Recording == nil || v.Recording.URL != "/api/v1/calls/"+call.String()+"/recording" || v.Recording.Status != "complete" {
		t.Errorf("recording %+v", v.Recording)
	}
	if v.Permissions.Change || v.Permissions.Reopen {
		t.Errorf("alice's permissions on bob's ticket %+v", v.Permissions)
	}
	if v.Ticket.Status != "open" || v.Ticket.ResolvedAt != nil {
		t.Errorf("reopened %+v", v.Ticket)
	}
}

func TestTicketAPIBadInput(t *testing.T) {
	a, _ := newTicketAPI(t)
	alice := a.login("demo", "alice")
	for _, c := range []struct{ body, want string }{
		{`{"subject":""}`, "subject is empty"},
		{`{"subject":"   "}`, "subject is empty"},
		{`{"description":"x"}`, "subject is empty"},
		{fmt.Sprintf(`{"subject":%q}`, strings.Repeat("x", 201)), "at most 200"},
		{fmt.Sprintf(`{"subject":"x","description":%q}`, strings.Repeat("x", 10001)), "at most 10000"},
		{`{"subject":"x","priority":"asap"}`, "priority"},
		{`{"subject":"x","status":"new"}`, "unknown field"},
		{`{"subject":"x","tenant":"acme"}`, "unknown field"},
		{`{"subject":"x","call_id":"nope"}`, "call_id"},
		{`{"subject":"x","assignee":"carol"}`, "no such user"},
		{`{"subject":"x","assignee":"` + uuid.NewString() + `"}`, "not a user of this tenant"},
		{`{"subject":1}`, "must be a string"},
		{`[]`, "JSON object"},
		{``, "empty"},
	} {
		rec := a.do("POST", "/api/v1/tickets", c.body, bearer(alice)...)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("create %.60s: %d %s, want 400 %q", c.body, rec.Code, rec.Body, c.want)
		}
	}
	rec := a.ticketCall(alice, "POST", "/api/v1/tickets", `{"subject":"ok"}`, 201)
	url := "/api/v1/tickets/" + decode[struct{ Ticket ticketJSON }](t, rec).Ticket.ID
	for _, c := range []struct{ body, want string }{
		{`{}`, "nothing to change"},
		{`{"subject":""}`, "subject is empty"},
		{`{"status":"done"}`, "status"},
		{`{"priority":"asap"}`, "priority"},
		{`{"status":"new"}`, ""}, // no change: 200, see below
		{fmt.Sprintf(`{"description":%q}`, strings.Repeat("é", 10001)), "at most 10000"},
		{`{"assignee":"nobody"}`, "no such user"},
		{`{"id":"x"}`, "unknown field"},
	} {
		rec := a.do("PATCH", url, c.body, bearer(alice)...)
		if c.want == "" {
			if rec.Code != 200 {
				t.Errorf("patch %s: %d %s, want 200", c.body, rec.Code, rec.Body)
			}
			continue
		}
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("patch %.60s: %d %s, want 400 %q", c.body, rec.Code, rec.Body, c.want)
		}
	}
	a.ticketCall(alice, "PATCH", url, `{"status":"closed"}`, 200)
	if rec := a.do("PATCH", url, `{"status":"new"}`, bearer(a.login("demo", "sam"))...); rec.Code != 400 || !strings.Contains(rec.Body.String(), "closed ticket cannot become new") {
		t.Errorf("closed → new: %d %s", rec.Code, rec.Body)
	}
	for _, body := range []string{`{"body":""}`, `{"body":"  \n "}`, fmt.Sprintf(`{"body":%q}`, strings.Repeat("x", 10001))} {
		if rec := a.do("POST", url+"/comments", body, bearer(alice)...); rec.Code != 400 {
			t.Errorf("comment %.40s: %d %s", body, rec.Code, rec.Body)
		}
	}
	for _, q := range []string{"status=done", "priority=asap", "mine=maybe", "overdue=2", "limit=0", "limit=201", "offset=-1",
		"sort=name", "call=x", "assignee=nobody", "q=" + strings.Repeat("x", 201)} {
		if rec := a.do("GET", "/api/v1/tickets?"+q, "", bearer(alice)...); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("list ?%.40s: %d %s", q, rec.Code, rec.Body)
		}
	}
	// No session: 401, whatever the id.
	if rec := a.do("GET", url, ""); rec.Code != 401 {
		t.Errorf("anonymous: %d", rec.Code)
	}
}

func TestTicketAPITenantIsolation(t *testing.T) {
	a, call := newTicketAPI(t)
	alice, carol, dave := a.login("demo", "alice"), a.login("acme", "carol"), a.login("acme", "dave")
	body := fmt.Sprintf(`{"subject":"demo's secret","call_id":%q}`, call)
	rec := a.ticketCall(alice, "POST", "/api/v1/tickets", body, 201)
	id := decode[struct{ Ticket ticketJSON }](t, rec).Ticket.ID
	for _, tok := range []string{carol, dave} {
		for _, path := range []string{"/api/v1/tickets/" + id, "/api/v1/tickets/T-1001", "/api/v1/tickets/1001",
			"/api/v1/tickets/" + uuid.NewString(), "/api/v1/tickets/not-an-id", "/api/v1/tickets/T-0"} {
			for _, m := range []struct{ method, path, body string }{
				{"GET", path, ""}, {"PATCH", path, `{"status":"open"}`}, {"POST", path + "/comments", `{"body":"hi"}`},
			} {
				rec := a.do(m.method, m.path, m.body, bearer(tok)...)
				if rec.Code != 404 || strings.Contains(rec.Body.String(), "secret") || !strings.Contains(rec.Body.String(), "no such ticket") {
					t.Errorf("acme %s %s: %d %s, want 404", m.method, m.path, rec.Code, rec.Body)
				}
			}
		}
		if rec := a.ticketCall(tok, "GET", "/api/v1/tickets", "", 200); strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("acme's list shows demo's ticket: %s", rec.Body)
		}
	}
	// acme's ticket linked to demo's call id links to nothing, and numbers
	// start at T-1001 in acme too.
	rec = a.ticketCall(carol, "POST", "/api/v1/tickets", fmt.Sprintf(`{"subject":"mine","call_id":%q}`, call), 201)
	if tk := decode[struct{ Ticket ticketJSON }](t, rec).Ticket; tk.Ref != "T-1001" {
		t.Fatalf("acme's first ticket %+v", tk)
	}
	rec = a.ticketCall(carol, "GET", "/api/v1/tickets/T-1001", "", 200)
	v := decode[struct {
		Ticket    ticketJSON
		Call      any
		Recording any
	}](t, rec)
	if v.Ticket.Subject != "mine" || v.Call != nil || v.Recording != nil {
		t.Fatalf("acme sees demo's call through its ticket: %s", rec.Body)
	}
	// Nor can acme assign to demo's users.
	if rec := a.do("PATCH", "/api/v1/tickets/T-1001", `{"assignee":"alice"}`, bearer(dave)...); rec.Code != 400 {
		t.Fatalf("acme assigns to alice: %d %s", rec.Code, rec.Body)
	}
}

func TestTicketSLAAPI(t *testing.T) {
	a, _ := newTicketAPI(t)
	alice, sam, ada := a.login("demo", "alice"), a.login("demo", "sam"), a.login("demo", "ada")
	rec := a.ticketCall(alice, "GET", "/api/v1/tickets/sla", "", 200)
	if !strings.Contains(rec.Body.String(), `"urgent":240`) || !strings.Contains(rec.Body.String(), `"low":4320`) {
		t.Fatalf("defaults %s", rec.Body)
	}
	a.ticketCall(sam, "PUT", "/api/v1/tickets/sla", `{"due_minutes":{"urgent":60}}`, 403)
	a.ticketCall(ada, "PUT", "/api/v1/tickets/sla", `{"due_minutes":{"asap":60}}`, 400)
	a.ticketCall(ada, "PUT", "/api/v1/tickets/sla", `{"due_minutes":{"urgent":0}}`, 400)
	rec = a.ticketCall(ada, "PUT", "/api/v1/tickets/sla", `{"due_minutes":{"urgent":60}}`, 200)
	if !strings.Contains(rec.Body.String(), `"urgent":60`) {
		t.Fatalf("after PUT %s", rec.Body)
	}
	rec = a.ticketCall(alice, "POST", "/api/v1/tickets", `{"subject":"fire","priority":"urgent"}`, 201)
	if tk := decode[struct{ Ticket ticketJSON }](t, rec).Ticket; tk.DueAt.Sub(tk.CreatedAt) != time.Hour {
		t.Fatalf("urgent due after %s", tk.DueAt.Sub(tk.CreatedAt))
	}
	// The OpenAPI document describes the routes.
	rec = a.do("GET", "/api/v1/openapi.json", "")
	for _, p := range []string{`"/api/v1/tickets"`, `"/api/v1/tickets/{id}"`, `"/api/v1/tickets/{id}/comments"`, `"/api/v1/tickets/sla"`, `"TicketEvent"`} {
		if !strings.Contains(rec.Body.String(), p) {
			t.Errorf("openapi lacks %s", p)
		}
	}
}
