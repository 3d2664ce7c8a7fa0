package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// TestChecklistAndSummary: a call's checklist is replaced as it changes,
// completion rates count each call once per step (auto apart), the
// summary carries the agent's disposition, and another tenant sees none
// of it.
func TestChecklistAndSummary(t *testing.T) {
	s := recordingsDB(t) // tenants demo and acme
	ctx := testCtx(t)
	now := time.Now().UTC().Truncate(time.Second)
	steps := func(done ...bool) []store.ChecklistStep {
		ids := []string{"verify-identity", "block-card", "offer-replacement"}
		out := make([]store.ChecklistStep, len(ids))
		for i, id := range ids {
			out[i] = store.ChecklistStep{Checklist: "lost-card", Step: id, Position: i, At: now}
			if done[i] {
				out[i].Done, out[i].By, out[i].Evidence = true, "auto", "IVR: passed pin_verified"
			}
		}
		return out
	}
	c1, c2 := uuid.New(), uuid.New()
	if err := s.SaveChecklist(ctx, "demo", c1, steps(true, false, false)); err != nil {
		t.Fatal(err)
	}
	second := steps(true, true, false)
	second[1].By, second[1].AgentID, second[1].Evidence = "agent", "u-1", "ticked by the agent"
	if err := s.SaveChecklist(ctx, "demo", c1, second); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveChecklist(ctx, "demo", c2, steps(false, true, false)); err != nil {
		t.Fatal(err)
	}
	got, err := s.CallChecklist(ctx, "demo", c1)
	if err != nil || len(got) != 3 || !got[1].Done || got[1].By != "agent" || got[1].AgentID != "u-1" || got[2].Done {
		t.Fatalf("checklist of c1: %+v %v", got, err)
	}
	if other, err := s.CallChecklist(ctx, "acme", c1); err != nil || len(other) != 0 {
		t.Fatalf("acme reads demo's checklist: %+v %v", other, err)
	}
	rates, err := s.ChecklistRates(ctx, "demo", now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil || len(rates) != 3 {
		t.Fatalf("rates: %+v %v", rates, err)
	}
	if r := rates[0]; r.Step != "verify-identity" || r.Calls != 2 || r.Done != 1 || r.Auto != 1 || r.Rate != 0.5 {
		t.Errorf("verify-identity: %+v", r)
	}
	if r := rates[1]; r.Step != "block-card" || r.Done != 2 || r.Auto != 1 {
		t.Errorf("block-card: %+v", r)
	}
	if r, _ := s.ChecklistRates(ctx, "acme", now.Add(-time.Hour), now.Add(time.Hour)); len(r) != 0 {
		t.Errorf("acme's rates: %+v", r)
	}

	sum := store.CallSummary{TenantID: "demo", CallID: c1, Intent: "lost_card", Checklist: "lost-card", StepsDone: 2, StepsTotal: 3,
		KeyPhrases: []string{"I lost my credit card"}, Summary: "Lost or stolen card: 2 of 3 steps done."}
	if err := s.SaveSummary(ctx, sum); err != nil {
		t.Fatal(err)
	}
	sum.StepsDone = 3
	if err := s.SaveSummary(ctx, sum); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `INSERT INTO dispositions (id, tenant_id, call_id, user_id, code, at) VALUES ($1, 'demo', $2, 'u-1', 'resolved', now())`,
		uuid.New(), c1); err != nil {
		t.Fatal(err)
	}
	gs, err := s.GetSummary(ctx, "demo", c1)
	if err != nil || gs == nil || gs.StepsDone != 3 || gs.Disposition != "resolved" || gs.KeyPhrases[0] != "I lost my credit card" {
		t.Fatalf("summary: %+v %v", gs, err)
	}
	if gs, err := s.GetSummary(ctx, "acme", c1); err != nil || gs != nil {
		t.Fatalf("acme reads demo's summary: %+v %v", gs, err)
	}
}
