package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/assist"
	"hotline/store"
	"hotline/store/storetest"
)

type countingAnswers struct {
	calls int
	err   error
	kind  string
}

func (c *countingAnswers) IntentAnswer(_ context.Context, tenant, intent string) (string, string, []byte, bool, error) {
	c.calls++
	if c.err != nil {
		return "", "", nil, false, c.err
	}
	if intent != "hours" {
		return "", "", nil, false, nil
	}
	return c.kind, tenant + " opens at nine", []byte("RIFF"), true, nil
}

// TestIntentAnswersCachesBriefly: a hit, a miss and a tenant are cached
// for the TTL and read again after it; errors are not cached.
func TestIntentAnswersCachesBriefly(t *testing.T) {
	src := &countingAnswers{kind: "audio"}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newIntentAnswers(src)
	a.now = func() time.Time { return now }
	ctx := context.Background()

	for range 3 {
		kind, text, wav, ok, err := a.Answer(ctx, "demo", "hours")
		if err != nil || !ok || kind != "audio" || text != "demo opens at nine" || string(wav) != "RIFF" {
			t.Fatalf("answer %q %q %q %v %v", kind, text, wav, ok, err)
		}
	}
	if _, text, _, _, _ := a.Answer(ctx, "acme", "hours"); text != "acme opens at nine" {
		t.Fatalf("acme got %q", text)
	}
	for range 2 {
		if _, _, _, ok, err := a.Answer(ctx, "demo", "unknown"); ok || err != nil {
			t.Fatalf("unknown intent: %v %v", ok, err)
		}
	}
	if src.calls != 3 {
		t.Fatalf("%d reads, want 3 (demo, acme, the miss)", src.calls)
	}
	// A supervisor replaces the clip with text: seen after the TTL.
	src.kind = "text"
	now = now.Add(answerTTL)
	if kind, _, _, _, _ := a.Answer(ctx, "demo", "hours"); kind != "text" || src.calls != 4 {
		t.Fatalf("after the TTL: %q, %d reads", kind, src.calls)
	}
	// A database failure is returned and not remembered.
	now = now.Add(answerTTL)
	src.err = errors.New("db down")
	if _, _, _, ok, err := a.Answer(ctx, "demo", "hours"); err == nil || ok {
		t.Fatalf("failure: %v %v", ok, err)
	}
	src.err = nil
	if _, _, _, ok, err := a.Answer(ctx, "demo", "hours"); err != nil || !ok || src.calls != 6 {
		t.Fatalf("after the failure: %v %v, %d reads", ok, err, src.calls)
	}
}

// TestAssistProposalsReachTheStore: the assist adapter stores a proposal
// once per question of a call, and skips calls that are not ours.
func TestAssistProposalsReachTheStore(t *testing.T) {
	db := storetest.NewStore(t)
	ctx := context.Background()
	if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := (&lateAssistStore{}).ProposeAnswer(ctx, assist.Proposal{}); !errors.Is(err, errAssistNoDB) {
		t.Fatalf("without the database: %v", err)
	}
	l := &lateAssistStore{db: db}
	call := uuid.New().String()
	p := assist.Proposal{TenantID: "demo", CallID: call, AgentID: "u-1", Intent: "opening-hours",
		Question: "when do you open", Answer: "at nine", StartMS: 1200, EndMS: 2500}
	for range 2 {
		if err := l.ProposeAnswer(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.ProposeAnswer(ctx, assist.Proposal{TenantID: "demo", CallID: "sip-call", Intent: "x", StartMS: 0, EndMS: 1}); err != nil {
		t.Fatalf("a call that is not ours: %v", err)
	}
	list, err := db.ListProposals(ctx, "demo", store.ProposalOpen, 10)
	if err != nil || len(list) != 1 || list[0].CallID.String() != call || list[0].StartMS != 1200 || list[0].Answer != "at nine" {
		t.Fatalf("proposals %+v %v", list, err)
	}
}
