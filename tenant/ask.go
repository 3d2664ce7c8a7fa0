package tenant

import (
	"context"

	"github.com/google/uuid"

	"hotline/call"
	"hotline/ivr"
	"hotline/speech"
	"hotline/store"
)

// AskServices are what flows' ask steps use (ivr/ask.go): the free-speech
// transcriber, the knowledge base's intents, the intents' standard
// answers and the outcome log. A nil field makes ask steps hand callers
// to their queue step (Transcriber, Intents, Answers) or go unrecorded
// (Outcomes).
type AskServices struct {
	Transcriber speech.Transcriber
	Intents     ivr.IntentMatcher
	Answers     ivr.AnswerSource
	Outcomes    AskOutcomes
}

// AskOutcomes stores ask steps' outcomes; *store.Store implements it.
type AskOutcomes interface {
	AddAskOutcome(ctx context.Context, o store.AskOutcome) error
}

// askEnv fills the ask part of a call's flow environment.
func (a *AskServices) askEnv(env *ivr.Env, t *Tenant, c *call.Call) {
	if a == nil {
		return
	}
	env.Tenant = t.ID
	env.Transcriber, env.Intents, env.Answers = a.Transcriber, a.Intents, a.Answers
	if a.Outcomes != nil {
		env.AskLog = askLog{c: c, tenant: t.ID, out: a.Outcomes}
	}
}

// askLog records one call's ask outcomes.
type askLog struct {
	c      *call.Call
	tenant string
	out    AskOutcomes
}

func (l askLog) AskOutcome(ctx context.Context, o ivr.AskOutcome) error {
	id, err := uuid.Parse(l.c.ID)
	if err != nil {
		return nil // not a call of ours (calls have UUIDs): nothing to join it with
	}
	return l.out.AddAskOutcome(ctx, store.AskOutcome{TenantID: l.tenant, CallID: id, Step: o.Step, Question: o.Question,
		Intent: o.Intent, Confidence: o.Confidence, Outcome: o.Outcome, Answer: o.Answer})
}
