package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// TestAskReportAPI: a supervisor reads the robot's containment in the
// tenant's day; an agent may not; another tenant sees none of it; a
// missing range is 400.
func TestAskReportAPI(t *testing.T) {
	a, _ := newReportAPI(t) // demo is in America/New_York
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	at := time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC)
	for _, o := range []store.AskOutcome{
		{TenantID: "demo", CallID: uuid.New(), Step: "ask", Question: "what is my balance", Intent: "balance", Confidence: 0.8, Outcome: store.AskAnswered, Answer: "audio", At: at},
		{TenantID: "demo", CallID: uuid.New(), Step: "ask", Question: "agent please", Outcome: store.AskAgentAsked, At: at},
		{TenantID: "demo", CallID: uuid.New(), Step: "ask", Question: "my balance", Intent: "balance", Confidence: 0.8, Outcome: store.AskAnswered, Answer: "text", At: at.Add(-12 * time.Hour)}, // the day before, New York time
	} {
		if err := a.db.AddAskOutcome(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	sam, alice, dave := bearer(a.login("demo", "sam")), bearer(a.login("demo", "alice")), bearer(a.login("acme", "dave"))
	for _, c := range []struct {
		path string
		h    []string
		code int
	}{
		{"/api/v1/reports/ask", sam, http.StatusBadRequest},
		{"/api/v1/reports/ask?from=2025-03-05&to=2025-03-01", sam, http.StatusBadRequest},
		{"/api/v1/reports/ask?from=2025-03-05", alice, http.StatusForbidden},
	} {
		if rec := a.do("GET", c.path, "", c.h...); rec.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.path, rec.Code, rec.Body, c.code)
		}
	}
	rep := decode[store.AskReport](t, a.do("GET", "/api/v1/reports/ask?from=2025-03-05", "", sam...))
	if rep.Calls != 2 || rep.Contained != 1 || rep.Containment != 0.5 || len(rep.Intents) != 2 {
		t.Fatalf("report %+v", rep)
	}
	if in := rep.Intents[0]; in.Intent != "" || in.Asked != 1 || in.Queued != 1 {
		t.Errorf("unmatched %+v", in)
	}
	if in := rep.Intents[1]; in.Intent != "balance" || in.Asked != 1 || in.Answered != 1 || in.SuccessRate != 1 {
		t.Errorf("balance %+v", in)
	}
	if rep := decode[store.AskReport](t, a.do("GET", "/api/v1/reports/ask?from=2025-03-05", "", dave...)); rep.Calls != 0 || len(rep.Intents) != 0 {
		t.Errorf("acme sees %+v", rep)
	}
}
