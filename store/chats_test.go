package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// TestChatRowsAndTranscript: a chat's row follows it through bot, queue
// and agent; its messages come back in order; the 4,000-character limit
// and tenant isolation hold in the database itself.
func TestChatRowsAndTranscript(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	at := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	c := store.Chat{ID: uuid.New(), TenantID: "demo", Channel: "web", Visitor: "Web visitor", Queue: "cards", StartedAt: at}
	if err := s.SaveChat(ctx, c); err != nil {
		t.Fatal(err)
	}
	lines := []store.ChatMessage{
		{Sender: "bot", Body: "Hi!"},
		{Sender: "visitor", Body: `<img src=x onerror="alert(1)">`},
		{Sender: "system", Body: "You are number 1 in line for a person."},
		{Sender: "agent", AgentID: "u-alice", Body: "Hello, Alice here."},
	}
	for i, m := range lines {
		m.TenantID, m.ChatID, m.At = "demo", c.ID, at.Add(time.Duration(i)*time.Second)
		if err := s.AddChatMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	q, a, e := at.Add(2*time.Second), at.Add(3*time.Second), at.Add(time.Minute)
	c.QueuedAt, c.AnsweredAt, c.EndedAt, c.AgentID, c.Outcome = &q, &a, &e, "u-alice", store.ChatAnswered
	if err := s.SaveChat(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, msgs, err := s.GetChat(ctx, "demo", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != "answered" || got.AgentID != "u-alice" || got.AnsweredAt == nil || !got.EndedAt.Equal(e) {
		t.Errorf("chat %+v", got)
	}
	if len(msgs) != len(lines) {
		t.Fatalf("%d messages, want %d", len(msgs), len(lines))
	}
	for i := range lines {
		if msgs[i].Sender != lines[i].Sender || msgs[i].Body != lines[i].Body {
			t.Errorf("message %d: %+v, want %+v", i, msgs[i], lines[i])
		}
	}
	if err := s.AddChatMessage(ctx, store.ChatMessage{TenantID: "demo", ChatID: c.ID, At: at, Sender: "visitor", Body: strings.Repeat("x", 4001)}); err == nil {
		t.Error("a 4,001-character message was stored")
	}
	if _, _, err := s.GetChat(ctx, "acme", c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("acme reads demo's chat: %v", err)
	}
	// Another tenant cannot take the id over.
	other := c
	other.TenantID, other.Outcome = "acme", store.ChatBot
	_ = s.SaveChat(ctx, other)
	if got, _, _ := s.GetChat(ctx, "demo", c.ID); got == nil || got.Outcome != "answered" {
		t.Errorf("demo's chat after acme's save: %+v", got)
	}
	mine, err := s.ListChats(ctx, store.ChatFilter{TenantID: "demo", AgentID: "u-alice"})
	if err != nil || len(mine) != 1 {
		t.Errorf("alice's chats: %v %v", mine, err)
	}
	if none, _ := s.ListChats(ctx, store.ChatFilter{TenantID: "demo", AgentID: "u-bob"}); len(none) != 0 {
		t.Errorf("bob's chats: %v", none)
	}
	if all, _ := s.ListChats(ctx, store.ChatFilter{TenantID: "acme"}); len(all) != 0 {
		t.Errorf("acme's chats: %v", all)
	}
}
