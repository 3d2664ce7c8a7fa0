package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// answerSource reads an intent's standard answer; *store.Store
// implements it.
type answerSource interface {
	IntentAnswer(ctx context.Context, tenantID, intent string) (kind, text string, wav []byte, ok bool, err error)
}

// intentAnswers is how the IVR's ask step finds what to play for an
// intent (docs/answers.md): the database's standard answer, kept for a
// few seconds, since every caller asking the common questions would
// otherwise read the same clip from the database.
type intentAnswers struct {
	src answerSource
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[answerKey]answerEntry
}

type answerKey struct{ tenant, intent string }

type answerEntry struct {
	kind, text string
	wav        []byte
	ok         bool
	until      time.Time
}

const (
	answerTTL = 5 * time.Second
	// maxCachedAnswers bounds the cache: tenants × intents asked within
	// the TTL; past it, expired entries go, and if that is not enough,
	// all of them (the next callers read the database again).
	maxCachedAnswers = 2048
)

func newIntentAnswers(src answerSource) *intentAnswers {
	return &intentAnswers{src: src, ttl: answerTTL, now: time.Now, entries: map[answerKey]answerEntry{}}
}

// Answer returns the intent's standard answer in the tenant: kind "audio"
// with wav an 8 kHz 16-bit mono WAV (text holds the reply's words), or
// kind "text" with text to synthesize after expanding its ${var}s from
// the call's variables. ok is false when the intent has no answer (the
// ask step then hands the caller to an agent); err is a database failure,
// which is not cached. An answer approved or changed reaches callers
// within answerTTL. The wav is shared between callers: read it only.
func (a *intentAnswers) Answer(ctx context.Context, tenant, intent string) (kind, text string, wav []byte, ok bool, err error) {
	k := answerKey{tenant, intent}
	now := a.now()
	a.mu.Lock()
	e, hit := a.entries[k]
	a.mu.Unlock()
	if hit && now.Before(e.until) {
		return e.kind, e.text, e.wav, e.ok, nil
	}
	kind, text, wav, ok, err = a.src.IntentAnswer(ctx, tenant, intent)
	if err != nil {
		return "", "", nil, false, fmt.Errorf("answer of intent %s: %w", intent, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// Expired entries go at every miss (a miss is at most one per intent
	// per ttl): they may hold clips of minutes, which must not stay.
	for k, e := range a.entries {
		if !now.Before(e.until) {
			delete(a.entries, k)
		}
	}
	if len(a.entries) >= maxCachedAnswers {
		clear(a.entries)
	}
	a.entries[k] = answerEntry{kind: kind, text: text, wav: wav, ok: ok, until: now.Add(a.ttl)}
	return kind, text, wav, ok, nil
}
