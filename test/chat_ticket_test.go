package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// checkChatTicket checks the end of chat.test.mjs: the ticket alice made
// from the chat's tab was prefilled from the chat, is stored linked to the
// chat with the visitor's first line as its subject, and shows the chat's
// transcript with the visitor's markup as text.
func checkChatTicket(t *testing.T, srv *server, events map[string]json.RawMessage, chatID, markup string) {
	t.Helper()
	const question = "How do I block my lost card?"
	var form struct{ Subject, Description, Customer, Link string }
	decodeEvent(t, events, "ticket_form", &form)
	if form.Subject != question || !strings.Contains(form.Description, question) || !strings.Contains(form.Description, markup) ||
		form.Customer != "Web visitor" || !strings.Contains(form.Link, chatID) {
		t.Errorf("the ticket form from the chat: %+v", form)
	}
	var view struct {
		Ticket struct {
			Ref     string
			Subject string
			ChatID  string `json:"chat_id"`
		}
		Summary  string
		Lines    []string
		Pwned    any
		Elements int
	}
	decodeEvent(t, events, "ticket", &view)
	t.Logf("ticket %s from the chat; %q; %d transcript lines", view.Ticket.Ref, view.Summary, len(view.Lines))
	if view.Ticket.ChatID != chatID || !strings.Contains(view.Summary, "Chat transcript") ||
		!strings.Contains(strings.Join(view.Lines, "\n"), markup) {
		t.Errorf("the ticket view: %+v", view)
	}
	if view.Pwned != nil || view.Elements != 0 {
		t.Errorf("chat text ran in the ticket view: pwned %v, %d elements", view.Pwned, view.Elements)
	}

	id, err := uuid.Parse(chatID)
	if err != nil {
		t.Fatalf("chat id %q: %v", chatID, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, total, err := srv.DB.ListTickets(ctx, "demo", store.TicketFilter{ChatID: &id})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(list) != 1 {
		t.Fatalf("%d tickets of chat %s in PostgreSQL, want 1: %+v", total, chatID, list)
	}
	tk := list[0]
	if tk.ChatID == nil || *tk.ChatID != id || tk.Subject != question || tk.CallID != nil || tk.CreatedBy != "alice" ||
		tk.CustomerNumber != "Web visitor" || !strings.Contains(tk.Description, markup) || tk.Ref != view.Ticket.Ref {
		t.Errorf("ticket row %+v", tk)
	}
}
