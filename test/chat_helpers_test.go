package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// chatConfig turns web chat on for the demo tenant: pages of origins may
// embed the widget, and channel "wechat" posts replies to outbound.
func chatConfig(origins []string, outbound string) func(t testing.TB, cfg map[string]any) {
	return func(t testing.TB, cfg map[string]any) {
		for _, tn := range cfg["tenants"].([]any) {
			tm := tn.(map[string]any)
			if tm["id"] != "demo" {
				continue
			}
			ch := map[string]any{"enabled": true, "max_per_agent": 3, "origins": origins}
			if outbound != "" {
				ch["webhooks"] = []any{map[string]any{"name": "wechat", "secret": chatSecret, "outbound_url": outbound}}
			}
			tm["chat"] = ch
			return
		}
		t.Fatal("no demo tenant in the demo configuration")
	}
}

const chatSecret = "wechat-test-secret"

// chatRow waits for a chat's row to reach an outcome and returns it with
// its transcript, as PostgreSQL has them.
func chatRow(t *testing.T, srv *server, id string) (*store.Chat, []store.ChatMessage) {
	t.Helper()
	u, err := uuid.Parse(id)
	if err != nil {
		t.Fatalf("chat id %q: %v", id, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, msgs, err := srv.DB.GetChat(ctx, "demo", u)
		cancel()
		if err == nil && c.Outcome != "" {
			return c, msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat %s: no ended row in the database (%+v, %v)", id, c, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
