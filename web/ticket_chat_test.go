package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// addTicketChat stores a chat of the tenant with a short transcript.
func addTicketChat(t *testing.T, db *store.Store, tenant string) uuid.UUID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	c := store.Chat{ID: uuid.New(), TenantID: tenant, Channel: "web", Visitor: "Web visitor", Queue: "cards", StartedAt: at}
	if err := db.SaveChat(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i, m := range []store.ChatMessage{{Sender: "bot", Body: "Hi!"}, {Sender: "visitor", Body: "My card is stuck"}, {Sender: "agent", Body: "On it"}} {
		m.TenantID, m.ChatID, m.At = tenant, c.ID, at.Add(time.Duration(i)*time.Second)
		if err := db.AddChatMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	return c.ID
}

// TestTicketChatAPI: POST /api/v1/tickets takes a chat_id of the caller's
// tenant, refuses a malformed one, an unknown one and another tenant's
// with 400, and GET of the ticket links the chat's transcript.
func TestTicketChatAPI(t *testing.T) {
	a, _ := newTicketAPI(t)
	db := a.db
	demoChat, acmeChat := addTicketChat(t, db, "demo"), addTicketChat(t, db, "acme")
	alice, carol := a.login("demo", "alice"), a.login("acme", "carol")

	for _, c := range []struct{ chatID, want string }{
		{"not-a-uuid", "chat_id must be a chat's UUID"},
		{"12345", "chat_id must be a chat's UUID"},
		{uuid.NewString(), "no such chat"},
		{acmeChat.String(), "no such chat"}, // another tenant's chat is no chat
	} {
		rec := a.ticketCall(alice, "POST", "/api/v1/tickets", fmt.Sprintf(`{"subject":"x","chat_id":%q}`, c.chatID), 400)
		if e := decode[struct{ Error string }](t, rec).Error; e != c.want {
			t.Errorf("chat_id %q: error %q, want %q", c.chatID, e, c.want)
		}
	}
	if rec := a.ticketCall(alice, "GET", "/api/v1/tickets", "", 200); decode[struct{ Total int }](t, rec).Total != 0 {
		t.Fatalf("a refused ticket was stored: %s", rec.Body)
	}

	rec := a.ticketCall(alice, "POST", "/api/v1/tickets", fmt.Sprintf(`{"subject":"card stuck","chat_id":%q}`, demoChat), 201)
	tk := decode[struct {
		Ticket struct {
			ID     string  `json:"id"`
			ChatID *string `json:"chat_id"`
		}
	}](t, rec).Ticket
	if tk.ChatID == nil || *tk.ChatID != demoChat.String() {
		t.Fatalf("created %s", rec.Body)
	}
	rec = a.ticketCall(alice, "GET", "/api/v1/tickets/"+tk.ID, "", 200)
	v := decode[struct {
		Ticket struct {
			ChatID *string `json:"chat_id"`
		}
		Call any
		Chat *struct {
			ID       string
			URL      string
			Channel  string
			Visitor  string
			Messages int
		}
	}](t, rec)
	if v.Ticket.ChatID == nil || *v.Ticket.ChatID != demoChat.String() || v.Call != nil || v.Chat == nil ||
		v.Chat.ID != demoChat.String() || v.Chat.URL != "/api/v1/chats/"+demoChat.String() ||
		v.Chat.Channel != "web" || v.Chat.Visitor != "Web visitor" || v.Chat.Messages != 3 {
		t.Fatalf("ticket view %s", rec.Body)
	}
	// The list filters by chat.
	rec = a.ticketCall(alice, "GET", "/api/v1/tickets?chat="+demoChat.String(), "", 200)
	if decode[struct{ Total int }](t, rec).Total != 1 {
		t.Fatalf("list by chat %s", rec.Body)
	}
	a.ticketCall(alice, "GET", "/api/v1/tickets?chat=nope", "", 400)
	rec = a.ticketCall(carol, "GET", "/api/v1/tickets?chat="+demoChat.String(), "", 200)
	if decode[struct{ Total int }](t, rec).Total != 0 {
		t.Fatalf("acme lists demo's chat ticket %s", rec.Body)
	}
	// A ticket without a chat shows none.
	rec = a.ticketCall(alice, "POST", "/api/v1/tickets", `{"subject":"plain"}`, 201)
	id := decode[struct{ Ticket struct{ ID string } }](t, rec).Ticket.ID
	if rec := a.ticketCall(alice, "GET", "/api/v1/tickets/"+id, "", 200); !strings.Contains(rec.Body.String(), `"chat":null`) {
		t.Fatalf("plain ticket %s", rec.Body)
	}
	// The OpenAPI document names the field.
	if rec := a.do("GET", "/api/v1/openapi.json", ""); !strings.Contains(rec.Body.String(), "the web chat the ticket is about") {
		t.Error("openapi.json lacks chat_id")
	}
}
