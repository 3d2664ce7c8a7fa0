package chat

import (
	"context"
	"strings"
)

// BotAnswer is what the knowledge base found for a visitor's question.
type BotAnswer struct {
	ArticleID, Title, Body string
	Score                  float64
}

// Answerer answers visitors' questions before a person does: the
// knowledge base, wired in by the server. The bool says it is confident
// enough to show the answer; otherwise the visitor is offered a person.
// Answer may be slow (a search): the Service calls it off its owner
// goroutine, with a deadline.
type Answerer interface {
	Answer(ctx context.Context, tenant, text string) (BotAnswer, bool)
}

// FakeAnswerer is a tiny stand-in knowledge base for tests and for
// servers without one: an article answers when every one of its keywords
// is in the question.
type FakeAnswerer struct {
	Articles []FakeArticle
}

// FakeArticle is one canned answer.
type FakeArticle struct {
	ID, Title, Body string
	Keywords        []string
}

// DefaultFakeAnswerer knows two banking answers, matching the demo
// tenant's queues.
func DefaultFakeAnswerer() FakeAnswerer {
	return FakeAnswerer{Articles: []FakeArticle{
		{ID: "kb-lost-card", Title: "Blocking a lost or stolen card", Keywords: []string{"card", "lost"},
			Body: "Open the app, choose Cards, then Block card. The card is blocked at once; a new one arrives in 5 working days."},
		{ID: "kb-hours", Title: "Opening hours", Keywords: []string{"open"},
			Body: "Our agents answer chats and calls Monday to Friday, 8:00 to 20:00."},
	}}
}

func (f FakeAnswerer) Answer(_ context.Context, _ string, text string) (BotAnswer, bool) {
	words := strings.ToLower(text)
	for _, a := range f.Articles {
		hit := len(a.Keywords) > 0
		for _, k := range a.Keywords {
			if !strings.Contains(words, k) {
				hit = false
				break
			}
		}
		if hit {
			return BotAnswer{ArticleID: a.ID, Title: a.Title, Body: a.Body, Score: 1}, true
		}
	}
	return BotAnswer{}, false
}

// wantsPerson reports whether a visitor's message asks for a person
// rather than asking the bot ("agent", "person", "human").
func wantsPerson(text string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z')
	}) {
		switch w {
		case "agent", "person", "human", "operator":
			return true
		}
	}
	return false
}
