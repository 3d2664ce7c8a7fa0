package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/auth"
	"hotline/store"
)

// newTranscriptAPI is the report API (demo: alice agent, sam supervisor,
// ada admin, calls d1 answered by alice and d2; acme: carol agent, dave
// supervisor, call a1) serving transcripts too, with d1 and a1 transcribed.
// bob, a demo agent, was on no call.
func newTranscriptAPI(t *testing.T) (*api, map[string]uuid.UUID) {
	t.Helper()
	a, ids := newReportAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Sessions live in the database, so a second service over it serves
	// the same logins.
	svc, err := auth.New(a.db, auth.Config{Password: auth.CheapParams(), Now: a.clk.Now, IdleTimeout: 8 * time.Hour, MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, "demo", auth.NewUser{Username: "bob", Role: auth.RoleAgent, Password: "bob-demo"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC)
	line := func(tenant, call, agent, side string, start int64, text string) store.TranscriptLine {
		return store.TranscriptLine{TenantID: tenant, CallID: ids[call], Side: side, AgentID: ids[agent].String(),
			StartMS: start, EndMS: start + 1500, At: at.Add(time.Duration(start) * time.Millisecond), Text: text}
	}
	if err := a.db.AddTranscriptLines(ctx, []store.TranscriptLine{
		line("demo", "d1", "alice", store.SideAgent, 3000, "I can refund the duplicate charge"),
		line("demo", "d1", "alice", store.SideCaller, 0, "I was billed twice for my order"),
		line("acme", "a1", "carol", store.SideCaller, 0, "Where is my parcel"),
	}); err != nil {
		t.Fatal(err)
	}
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry(), Auth: svc, Calls: a.db, Transcripts: a.db, ACD: fakeACDs{}}
	a.h = s.Handler()
	return a, ids
}

type transcriptView struct {
	Call  string
	Lines []struct {
		Side, Text string
		StartMS    int64 `json:"start_ms"`
		EndMS      int64 `json:"end_ms"`
		At         time.Time
		AgentID    string `json:"agent_id"`
	}
}

func TestCallTranscriptRoute(t *testing.T) {
	a, ids := newTranscriptAPI(t)
	sam, ada, alice, bob := bearer(a.login("demo", "sam")), bearer(a.login("demo", "ada")), bearer(a.login("demo", "alice")), bearer(a.login("demo", "bob"))
	dave, carol := bearer(a.login("acme", "dave")), bearer(a.login("acme", "carol"))
	path := "/api/v1/calls/" + ids["d1"].String() + "/transcript"

	for who, h := range map[string][]string{"supervisor": sam, "admin": ada, "agent on the call": alice} {
		rec := a.do("GET", path, "", h...)
		if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "private, no-store" {
			t.Fatalf("%s: %d %s", who, rec.Code, rec.Body)
		}
		v := decode[transcriptView](t, rec)
		if v.Call != ids["d1"].String() || len(v.Lines) != 2 {
			t.Fatalf("%s: %+v", who, v)
		}
		// In the order said, not as stored.
		l0, l1 := v.Lines[0], v.Lines[1]
		if l0.Side != "caller" || l0.Text != "I was billed twice for my order" || l0.StartMS != 0 || l0.EndMS != 1500 ||
			l0.AgentID != ids["alice"].String() || !l0.At.Equal(time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC)) ||
			l1.Side != "agent" || l1.StartMS != 3000 {
			t.Fatalf("%s: lines %+v", who, v.Lines)
		}
	}
	// An agent of the tenant who was not on the call.
	if rec := a.do("GET", path, "", bob...); rec.Code != http.StatusForbidden {
		t.Fatalf("other agent: %d %s", rec.Code, rec.Body)
	}
	// Another tenant's supervisor and agent: the same 404 as a call that
	// does not exist.
	none := a.do("GET", "/api/v1/calls/"+uuid.NewString()+"/transcript", "", dave...)
	for who, h := range map[string][]string{"acme supervisor": dave, "acme agent": carol} {
		rec := a.do("GET", path, "", h...)
		if rec.Code != http.StatusNotFound || rec.Body.String() != none.Body.String() {
			t.Fatalf("%s: %d %s (missing call: %d %s)", who, rec.Code, rec.Body, none.Code, none.Body)
		}
	}
	// A call of the tenant without a transcript.
	if rec := a.do("GET", "/api/v1/calls/"+ids["d2"].String()+"/transcript", "", sam...); rec.Code != http.StatusNotFound {
		t.Fatalf("untranscribed call: %d", rec.Code)
	}
	// carol reads her own call in acme.
	if v := decode[transcriptView](t, a.do("GET", "/api/v1/calls/"+ids["a1"].String()+"/transcript", "", carol...)); len(v.Lines) != 1 || v.Lines[0].Text != "Where is my parcel" {
		t.Fatalf("carol: %+v", v)
	}
	// A bad id: 400 saying why.
	rec := a.do("GET", "/api/v1/calls/not-a-call/transcript", "", sam...)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "not a UUID") {
		t.Fatalf("bad id: %d %s", rec.Code, rec.Body)
	}
	// Not logged in.
	if rec := a.do("GET", path, ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", rec.Code)
	}
}

func TestCallTranscriptWithoutStore(t *testing.T) {
	a := newAPI(t)
	rec := a.do("GET", "/api/v1/calls/"+uuid.NewString()+"/transcript", "", bearer(a.login("demo", "sam"))...)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("no store: %d %s", rec.Code, rec.Body)
	}
}

func TestCallSearchByText(t *testing.T) {
	a, ids := newTranscriptAPI(t)
	sam, dave := bearer(a.login("demo", "sam")), bearer(a.login("acme", "dave"))
	search := func(h []string, text string) []string {
		t.Helper()
		res := decode[struct {
			Calls []struct{ Call struct{ ID string } }
		}](t, a.do("GET", "/api/v1/calls/search?text="+url.QueryEscape(text), "", h...))
		var out []string
		for _, c := range res.Calls {
			out = append(out, c.Call.ID)
		}
		return out
	}
	// Words from both sides of d1, stemmed ("refunds", "charged").
	if got := search(sam, "Refunds charged twice"); len(got) != 1 || got[0] != ids["d1"].String() {
		t.Fatalf("demo: %v", got)
	}
	if got := search(sam, "parcel"); len(got) != 0 {
		t.Fatalf("demo finds acme's call: %v", got)
	}
	if got := search(dave, "billed"); len(got) != 0 {
		t.Fatalf("acme finds demo's call: %v", got)
	}
	if got := search(dave, "parcel"); len(got) != 1 || got[0] != ids["a1"].String() {
		t.Fatalf("acme: %v", got)
	}
	for _, bad := range []string{strings.Repeat("word ", 60), "\xff"} {
		rec := a.do("GET", "/api/v1/calls/search?text="+url.QueryEscape(bad), "", sam...)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "text") {
			t.Fatalf("text %q: %d %s", bad, rec.Code, rec.Body)
		}
	}
}
