package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

type csatView struct {
	Group    string `json:"group"`
	TimeZone string `json:"time_zone"`
	Rows     []struct {
		Key, Label string
		Scores     int
		CSAT       *float64 `json:"csat"`
		AvgScore   *float64 `json:"avg_score"`
		YesShare   *float64 `json:"yes_share"`
	}
}

// The CSAT route: supervisors of the tenant only, their tenant's answers
// only, bad parameters refused with a message.
func TestCSATRoute(t *testing.T) {
	a, ids := newReportAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := store.NewWriter(a.db, nil, 100)
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stop(); <-done }()
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Date(2025, 3, 5, 10, 5, 0, 0, ny)
	answer := func(tenant string, call uuid.UUID, agent, question, kind, value string) {
		d := map[string]string{"survey": "csat", "question": question, "kind": kind, "method": "dtmf", "agent": agent, "queue": "sales"}
		if kind == "score" {
			d["score"] = value
		} else {
			d["yes"] = value
		}
		w.Event(store.Event{CallID: call, TenantID: tenant, At: at, Kind: store.EventSurveyAnswer, Step: "q", Data: d})
	}
	answer("demo", ids["d1"], ids["alice"].String(), "satisfied", "score", "5")
	answer("demo", ids["d1"], ids["alice"].String(), "resolved", "yesno", "true")
	answer("acme", ids["a1"], ids["carol"].String(), "satisfied", "score", "1")
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	const path = "/api/v1/reports/csat?from=2025-03-05"
	if rec := a.do("GET", path, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("without a session: %d", rec.Code)
	}
	if rec := a.do("GET", path, "", bearer(a.login("demo", "alice"))...); rec.Code != http.StatusForbidden {
		t.Errorf("as an agent: %d %s", rec.Code, rec.Body)
	}
	sam := bearer(a.login("demo", "sam"))
	rec := a.do("GET", path, "", sam...)
	rep := decode[csatView](t, rec)
	if rec.Code != 200 || rep.Group != "agent" || rep.TimeZone != "America/New_York" || len(rep.Rows) != 1 {
		t.Fatalf("report %d: %s", rec.Code, rec.Body)
	}
	r := rep.Rows[0]
	if r.Key != ids["alice"].String() || r.Label != "alice" || r.Scores != 1 || *r.CSAT != 1 || *r.AvgScore != 5 || *r.YesShare != 1 {
		t.Errorf("alice's row: %s", rec.Body)
	}
	// Acme's supervisor sees carol's answer only.
	rec = a.do("GET", path+"&group=queue", "", bearer(a.login("acme", "dave"))...)
	rep = decode[csatView](t, rec)
	if rec.Code != 200 || len(rep.Rows) != 1 || rep.Rows[0].Key != "sales" || *rep.Rows[0].CSAT != 0 || rep.Rows[0].YesShare != nil {
		t.Errorf("acme by queue: %d %s", rec.Code, rec.Body)
	}
	rec = a.do("GET", path+"&group=day&format=csv", "", sam...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "2025-03-05,2025-03-05,1,1,1,1,5,1,1,1") {
		t.Errorf("csv by day: %d %s", rec.Code, rec.Body)
	}

	for q, want := range map[string]string{
		"":                               "from is required",
		"?from=soon":                     "neither an RFC 3339 time nor a YYYY-MM-DD date",
		"?from=2025-03-05&to=2025-03-01": "to must be after from",
		"?from=2025-01-01&to=2025-06-01": "at most 93 days",
		"?from=2025-03-05&group=week":    `group \"week\": want agent, queue or day`,
		"?from=2025-03-05&format=xml":    "want json or csv",
		"?from=2025-03-05&to=2025-02-30": "to:",
	} {
		rec := a.do("GET", "/api/v1/reports/csat"+q, "", sam...)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d %s, want 400 with %q", q, rec.Code, rec.Body, want)
		}
	}
}
