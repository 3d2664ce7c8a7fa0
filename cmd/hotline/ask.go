package main

import (
	"context"

	"hotline/assist"
	"hotline/store"
	"hotline/tenant"
)

// askServices wires the IVR's ask steps (docs/flows.md): the live
// transcripts' speech workers hear the question, the knowledge base
// finds its intent, the learned or text answers are played, and the
// outcomes feed the containment report. db is filled in once the
// database is open, before any call is answered.
func askServices(trans *transcripts, kb *assist.Base, db *lateAskStore) *tenant.AskServices {
	a := &tenant.AskServices{Intents: kb, Answers: newIntentAnswers(db), Outcomes: db}
	if trans != nil && trans.asr != nil {
		a.Transcriber = trans.asr
	}
	return a
}

// lateAskStore lets the tenants load before the database is opened.
type lateAskStore struct{ db *store.Store }

func (l *lateAskStore) AddAskOutcome(ctx context.Context, o store.AskOutcome) error {
	if l.db == nil {
		return errAssistNoDB
	}
	return l.db.AddAskOutcome(ctx, o)
}

func (l *lateAskStore) IntentAnswer(ctx context.Context, tenantID, intent string) (kind, text string, wav []byte, ok bool, err error) {
	if l.db == nil {
		return "", "", nil, false, errAssistNoDB
	}
	return l.db.IntentAnswer(ctx, tenantID, intent)
}
