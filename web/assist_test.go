package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"hotline/store"
)

// TestAssistAPI: a supervisor reads a call's summary and checklist and
// the completion report; an agent may not; another tenant's supervisor
// gets 404; bad ids and ranges get 400.
func TestAssistAPI(t *testing.T) {
	a, ids := newReportAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	at := time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC)
	if err := a.db.SaveChecklist(ctx, "demo", ids["d1"], []store.ChecklistStep{
		{Checklist: "lost-card", Step: "verify-identity", Position: 0, Done: true, By: "auto", Evidence: "IVR: passed pin_verified", At: at},
		{Checklist: "lost-card", Step: "block-card", Position: 1, At: at},
	}); err != nil {
		t.Fatal(err)
	}
	if err := a.db.SaveSummary(ctx, store.CallSummary{TenantID: "demo", CallID: ids["d1"], Intent: "lost_card", Checklist: "lost-card",
		StepsDone: 1, StepsTotal: 2, Summary: "Lost or stolen card: 1 of 2 steps done."}); err != nil {
		t.Fatal(err)
	}
	sam, alice, dave := bearer(a.login("demo", "sam")), bearer(a.login("demo", "alice")), bearer(a.login("acme", "dave"))
	v := decode[struct {
		Summary   store.CallSummary
		Checklist []checklistStepView
	}](t, a.do("GET", "/api/v1/calls/"+ids["d1"].String()+"/assist", "", sam...))
	if v.Summary.Intent != "lost_card" || v.Summary.StepsDone != 1 || len(v.Checklist) != 2 || v.Checklist[0].Evidence != "IVR: passed pin_verified" {
		t.Errorf("assist record: %+v", v)
	}
	for _, c := range []struct {
		path string
		h    []string
		code int
	}{
		{"/api/v1/calls/" + ids["d1"].String() + "/assist", alice, http.StatusForbidden},
		{"/api/v1/calls/" + ids["d1"].String() + "/assist", dave, http.StatusNotFound},
		{"/api/v1/calls/" + ids["d2"].String() + "/assist", sam, http.StatusNotFound},
		{"/api/v1/calls/nope/assist", sam, http.StatusBadRequest},
		{"/api/v1/reports/checklists", sam, http.StatusBadRequest},
		{"/api/v1/reports/checklists?from=2025-03-05", alice, http.StatusForbidden},
	} {
		if rec := a.do("GET", c.path, "", c.h...); rec.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.path, rec.Code, rec.Body, c.code)
		}
	}
	rep := decode[struct{ Steps []store.ChecklistRate }](t, a.do("GET", "/api/v1/reports/checklists?from=2025-03-05", "", sam...))
	if len(rep.Steps) != 2 || rep.Steps[0].Step != "verify-identity" || rep.Steps[0].Rate != 1 || rep.Steps[1].Rate != 0 {
		t.Errorf("report: %+v", rep)
	}
	if rep := decode[struct{ Steps []store.ChecklistRate }](t, a.do("GET", "/api/v1/reports/checklists?from=2025-03-05", "", dave...)); len(rep.Steps) != 0 {
		t.Errorf("acme sees demo's checklists: %+v", rep)
	}
}
