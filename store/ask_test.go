package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// TestAskReport: containment counts the calls whose every ask was
// answered and that no agent answered; per intent, questions asked,
// answered, queued and succeeded; other tenants and times are left out.
func TestAskReport(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	at := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
	add := func(tenant string, call uuid.UUID, intent, outcome, answer string, when time.Time) {
		t.Helper()
		if err := s.AddAskOutcome(ctx, store.AskOutcome{TenantID: tenant, CallID: call, Step: "ask", Question: "q " + intent,
			Intent: intent, Confidence: 0.75, Outcome: outcome, Answer: answer, At: when}); err != nil {
			t.Fatal(err)
		}
	}
	contained, twice, queued, agentLater, hungUp := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	add("demo", contained, "balance", store.AskAnswered, "audio", at)
	add("demo", twice, "balance", store.AskAnswered, "text", at)
	add("demo", twice, "hours", store.AskAnswered, "audio", at.Add(time.Minute))
	add("demo", queued, "balance", store.AskQueued, "", at)
	add("demo", agentLater, "hours", store.AskAnswered, "audio", at) // answered, then asked for an agent in the menu
	add("demo", hungUp, "", store.AskHangup, "", at)
	add("demo", uuid.New(), "balance", store.AskAnswered, "audio", at.Add(48*time.Hour)) // out of range
	add("acme", uuid.New(), "balance", store.AskQueued, "", at)
	for _, c := range []uuid.UUID{queued, agentLater} {
		if _, err := s.Pool().Exec(ctx, `INSERT INTO queue_entries (id, tenant_id, call_id, queue, entered_at, answered_at, left_at, outcome)
			VALUES ($1, 'demo', $2, 'general', $3, $3, $3, 'answered')`, uuid.New(), c, at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddAskOutcome(ctx, store.AskOutcome{TenantID: "demo", CallID: contained, Outcome: "maybe"}); err == nil {
		t.Error("unknown outcome stored")
	}

	rep, err := s.AskReport(ctx, "demo", at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Calls != 5 || rep.Contained != 2 || rep.Containment != 0.4 {
		t.Errorf("calls %d contained %d (%g), want 5, 2 (0.4)", rep.Calls, rep.Contained, rep.Containment)
	}
	want := []store.AskIntent{
		{Intent: "balance", Asked: 3, Answered: 2, Queued: 1, Succeeded: 2, SuccessRate: 2.0 / 3},
		{Intent: "hours", Asked: 2, Answered: 2, Succeeded: 1, SuccessRate: 0.5},
		{Intent: "", Asked: 1, Hangups: 1},
	}
	if len(rep.Intents) != len(want) {
		t.Fatalf("intents %+v", rep.Intents)
	}
	for i, w := range want {
		if rep.Intents[i] != w {
			t.Errorf("intent %d = %+v, want %+v", i, rep.Intents[i], w)
		}
	}

	got, err := s.AskOutcomes(ctx, "demo", twice)
	if err != nil || len(got) != 2 || got[0].Answer != "text" || got[1].Intent != "hours" || got[0].Confidence != 0.75 {
		t.Fatalf("outcomes %+v %v", got, err)
	}
	if _, err := s.AskReport(ctx, "demo", at, at); err == nil {
		t.Error("empty range accepted")
	}
}
