package store_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"hotline/store"
)

// TestAnswerProposalsAndIntentAnswers: one open proposal per question of
// a call, approval stores the clip as the intent's answer and closes the
// proposal once, a text answer replaces the clip, and another tenant sees
// and changes nothing.
func TestAnswerProposalsAndIntentAnswers(t *testing.T) {
	s := recordingsDB(t) // tenants demo and acme
	ctx := testCtx(t)
	call := uuid.New()
	p := store.AnswerProposal{TenantID: "demo", Intent: "opening-hours", CallID: call, AgentID: "u-1",
		Question: "when are you open", Answer: "from nine to five", StartMS: 4000, EndMS: 6500}
	if ok, err := s.ProposeAnswer(ctx, p); err != nil || !ok {
		t.Fatalf("propose: %v %v", ok, err)
	}
	// The caller asking again in the same call adds no second open one.
	again := p
	again.Answer = "nine to five"
	if ok, err := s.ProposeAnswer(ctx, again); err != nil || ok {
		t.Fatalf("second open proposal of the call: %v %v", ok, err)
	}
	// Another call's reply is kept even though the first is open.
	other := p
	other.CallID, other.Answer = uuid.New(), "we open at nine"
	if ok, err := s.ProposeAnswer(ctx, other); err != nil || !ok {
		t.Fatalf("other call: %v %v", ok, err)
	}
	if _, err := s.ProposeAnswer(ctx, store.AnswerProposal{TenantID: "demo", Intent: "x", CallID: call, StartMS: 5, EndMS: 5}); err == nil {
		t.Fatal("empty span accepted")
	}

	list, err := s.ListProposals(ctx, "demo", store.ProposalOpen, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	var first store.AnswerProposal
	for _, q := range list {
		if q.CallID == call {
			first = q
		}
	}
	if first.Answer != "from nine to five" || first.StartMS != 4000 || first.EndMS != 6500 || first.Status != store.ProposalOpen {
		t.Fatalf("proposal %+v", first)
	}
	if l, _ := s.ListProposals(ctx, "acme", "", 10); len(l) != 0 {
		t.Fatalf("acme lists demo's proposals: %+v", l)
	}
	if _, err := s.GetProposal(ctx, "acme", first.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme reads demo's proposal: %v", err)
	}
	if _, err := s.ApproveProposal(ctx, "acme", first.ID, "eve", []byte("RIFF"), ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme approves demo's proposal: %v", err)
	}

	wav := []byte("RIFF....WAVEfake")
	intent, err := s.ApproveProposal(ctx, "demo", first.ID, "sue", wav, first.Answer)
	if err != nil || intent != "opening-hours" {
		t.Fatalf("approve: %q %v", intent, err)
	}
	if _, err := s.ApproveProposal(ctx, "demo", first.ID, "sue", wav, ""); !errors.Is(err, store.ErrProposalClosed) {
		t.Fatalf("approved twice: %v", err)
	}
	got, _ := s.GetProposal(ctx, "demo", first.ID)
	if got.Status != store.ProposalApproved || got.ReviewedBy != "sue" || got.ReviewedAt == nil {
		t.Fatalf("approved proposal %+v", got)
	}
	kind, text, audio, ok, err := s.IntentAnswer(ctx, "demo", "opening-hours")
	if err != nil || !ok || kind != store.AnswerAudio || string(audio) != string(wav) || text != "from nine to five" {
		t.Fatalf("answer %q %q %d %v %v", kind, text, len(audio), ok, err)
	}
	if _, _, _, ok, err := s.IntentAnswer(ctx, "acme", "opening-hours"); ok || err != nil {
		t.Fatalf("acme reads demo's answer: %v %v", ok, err)
	}
	// With the first approved, the same call may propose again.
	if ok, err := s.ProposeAnswer(ctx, again); err != nil || !ok {
		t.Fatalf("propose after approval: %v %v", ok, err)
	}

	// A second approval replaces the first clip.
	var second store.AnswerProposal
	list, _ = s.ListProposals(ctx, "demo", store.ProposalOpen, 10)
	for _, q := range list {
		if q.CallID != call {
			second = q
		}
	}
	if _, err := s.ApproveProposal(ctx, "demo", second.ID, "sue", []byte("second"), second.Answer); err != nil {
		t.Fatal(err)
	}
	if _, _, audio, _, _ := s.IntentAnswer(ctx, "demo", "opening-hours"); string(audio) != "second" {
		t.Fatalf("answer not replaced: %q", audio)
	}
	list, _ = s.ListProposals(ctx, "demo", store.ProposalOpen, 10)
	if len(list) != 1 {
		t.Fatalf("open proposals %d", len(list))
	}
	if err := s.RejectProposal(ctx, "acme", list[0].ID, "eve"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme rejects: %v", err)
	}
	if err := s.RejectProposal(ctx, "demo", list[0].ID, "sue"); err != nil {
		t.Fatal(err)
	}
	if err := s.RejectProposal(ctx, "demo", list[0].ID, "sue"); !errors.Is(err, store.ErrProposalClosed) {
		t.Fatalf("rejected twice: %v", err)
	}
	if l, _ := s.ListProposals(ctx, "demo", store.ProposalRejected, 10); len(l) != 1 {
		t.Fatalf("rejected %d", len(l))
	}

	// Text answers (variables filled by the ask step) replace the clip.
	if err := s.SetTextAnswer(ctx, "demo", "balance", "Your balance is ${crm.balance}", "sue"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTextAnswer(ctx, "demo", "opening-hours", "We are open from nine to five.", "sue"); err != nil {
		t.Fatal(err)
	}
	kind, text, audio, ok, _ = s.IntentAnswer(ctx, "demo", "opening-hours")
	if !ok || kind != store.AnswerText || audio != nil || text != "We are open from nine to five." {
		t.Fatalf("text answer %q %q %d", kind, text, len(audio))
	}
	answers, err := s.ListIntentAnswers(ctx, "demo")
	if err != nil || len(answers) != 2 || answers[0].Intent != "balance" || answers[0].Kind != store.AnswerText ||
		answers[0].ApprovedBy != "sue" {
		t.Fatalf("answers %+v %v", answers, err)
	}
	if l, _ := s.ListIntentAnswers(ctx, "acme"); len(l) != 0 {
		t.Fatalf("acme lists demo's answers: %+v", l)
	}
	if err := s.DeleteIntentAnswer(ctx, "acme", "balance"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme deletes demo's answer: %v", err)
	}
	if err := s.DeleteIntentAnswer(ctx, "demo", "balance"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok, _ := s.IntentAnswer(ctx, "demo", "balance"); ok {
		t.Fatal("deleted answer still there")
	}
}
