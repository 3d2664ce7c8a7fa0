package tenant

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"hotline/call"
	"hotline/ivr"
	"hotline/store"
)

type outcomeRows []store.AskOutcome

func (o *outcomeRows) AddAskOutcome(_ context.Context, r store.AskOutcome) error {
	*o = append(*o, r)
	return nil
}

// A call's ask outcomes are stored under its tenant and id; a call whose
// id is not a UUID (none of ours) is not stored. Without AskServices the
// environment has no transcriber, so ask steps queue.
func TestAskEnv(t *testing.T) {
	rows := &outcomeRows{}
	a := &AskServices{Outcomes: rows}
	id := uuid.New()
	c := call.New(context.Background(), call.Info{ID: id.String(), TenantID: "demo"}, call.Config{})
	var env ivr.Env
	a.askEnv(&env, &Tenant{ID: "demo"}, c)
	if env.Tenant != "demo" || env.AskLog == nil || env.Transcriber != nil {
		t.Fatalf("env %+v", env)
	}
	o := ivr.AskOutcome{Step: "q", Question: "my balance", Intent: "balance", Confidence: 0.9, Outcome: ivr.AskAnswered, Answer: "audio"}
	if err := env.AskLog.AskOutcome(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := store.AskOutcome{TenantID: "demo", CallID: id, Step: "q", Question: "my balance", Intent: "balance", Confidence: 0.9, Outcome: "answered", Answer: "audio"}
	if len(*rows) != 1 || (*rows)[0] != want {
		t.Errorf("stored %+v", *rows)
	}
	other := call.New(context.Background(), call.Info{ID: "c1", TenantID: "demo"}, call.Config{})
	a.askEnv(&env, &Tenant{ID: "demo"}, other)
	if err := env.AskLog.AskOutcome(context.Background(), o); err != nil || len(*rows) != 1 {
		t.Errorf("a call without a UUID: %v, %d rows", err, len(*rows))
	}
	var none *AskServices
	var bare ivr.Env
	none.askEnv(&bare, &Tenant{ID: "demo"}, c)
	if bare.AskLog != nil || bare.Tenant != "" {
		t.Errorf("nil services filled %+v", bare)
	}
}
