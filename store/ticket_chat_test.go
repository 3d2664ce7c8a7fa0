package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// TestTicketChatLink: a ticket opened from a chat keeps the chat's id
// through create, get and list, the list filters by it, and another
// tenant's list filtered by the same id finds nothing.
func TestTicketChatLink(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	alice := addUser(t, s, "demo", "alice", "agent")
	at := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	c := store.Chat{ID: uuid.New(), TenantID: "demo", Channel: "web", Visitor: "Web visitor", StartedAt: at}
	if err := s.SaveChat(ctx, c); err != nil {
		t.Fatal(err)
	}
	tk, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "card stuck", ChatID: &c.ID,
		Actor: store.TicketActor{UserID: alice.ID, Username: "alice"}, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if tk.ChatID == nil || *tk.ChatID != c.ID || tk.CallID != nil {
		t.Fatalf("created %+v", tk)
	}
	other, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "unrelated", At: at})
	if err != nil || other.ChatID != nil {
		t.Fatalf("ticket without a chat: %+v %v", other, err)
	}
	got, err := s.GetTicket(ctx, "demo", tk.ID)
	if err != nil || got.ChatID == nil || *got.ChatID != c.ID {
		t.Fatalf("get %+v %v", got, err)
	}
	list, total, err := s.ListTickets(ctx, "demo", store.TicketFilter{ChatID: &c.ID})
	if err != nil || total != 1 || len(list) != 1 || list[0].ID != tk.ID || *list[0].ChatID != c.ID {
		t.Fatalf("list by chat: %d %+v %v", total, list, err)
	}
	if _, total, err := s.ListTickets(ctx, "demo", store.TicketFilter{}); err != nil || total != 2 {
		t.Fatalf("unfiltered list: %d %v", total, err)
	}
	// acme filtering by demo's chat finds nothing, and acme's own ticket
	// with the same id (it links to nothing there) is acme's alone.
	if list, total, err := s.ListTickets(ctx, "acme", store.TicketFilter{ChatID: &c.ID}); err != nil || total != 0 || len(list) != 0 {
		t.Fatalf("acme lists demo's chat ticket: %d %+v %v", total, list, err)
	}
	acmeTk, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "acme", Subject: "acme's", ChatID: &c.ID, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if list, total, err := s.ListTickets(ctx, "demo", store.TicketFilter{ChatID: &c.ID}); err != nil || total != 1 || list[0].ID != tk.ID {
		t.Fatalf("demo's list by chat after acme's ticket: %d %+v %v", total, list, err)
	}
	if _, err := s.GetTicket(ctx, "demo", acmeTk.ID); err == nil {
		t.Fatal("demo reads acme's ticket")
	}
}
