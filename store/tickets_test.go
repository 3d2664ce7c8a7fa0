package store_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

func invalid(t *testing.T, err error, want string) {
	t.Helper()
	var inv *store.InvalidError
	if !errors.As(err, &inv) || !strings.Contains(inv.Msg, want) {
		t.Fatalf("error %v: want an InvalidError containing %q", err, want)
	}
}

func TestTicketLifeCycleAndAudit(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	alice := addUser(t, s, "demo", "alice", "agent")
	bob := addUser(t, s, "demo", "bob", "agent")
	sam := addUser(t, s, "demo", "sam", "supervisor")
	asAlice := store.TicketActor{UserID: alice.ID, Username: "alice"}
	asSam := store.TicketActor{UserID: sam.ID, Username: "sam"}
	call := uuid.New()
	at := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

	tk, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "  Card lost <b>x</b> ", Description: "line 1\nline 2\n",
		Category: "cards", Priority: store.TicketHigh, CustomerNumber: "+15551234", CallID: &call, Actor: asAlice, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Ref != "T-1001" || tk.Subject != "Card lost <b>x</b>" || tk.Description != "line 1\nline 2" || tk.Status != store.TicketNew ||
		tk.CreatedBy != "alice" || tk.AssigneeID != nil || *tk.CallID != call || !tk.DueAt.Equal(at.Add(8*time.Hour)) {
		t.Fatalf("created %+v", tk)
	}
	if tk.Overdue {
		t.Fatalf("a ticket due in 2030 is overdue: %+v", tk)
	}
	tk2, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "second", Actor: asAlice, At: at})
	if err != nil || tk2.Ref != "T-1002" || tk2.Priority != store.TicketNormal || !tk2.DueAt.Equal(at.Add(24*time.Hour)) {
		t.Fatalf("second %+v %v", tk2, err)
	}

	// Assign to bob, then bob opens and resolves it.
	later := at.Add(time.Hour)
	bobID := bob.ID
	up, err := s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{AssigneeSet: true, AssigneeID: &bobID}, asSam, later, nil)
	if err != nil || up.AssigneeUsername != "bob" || !up.UpdatedAt.Equal(later) {
		t.Fatalf("assign %+v %v", up, err)
	}
	open, resolved := store.TicketOpen, store.TicketResolved
	if _, err := s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{Status: &open}, store.TicketActor{UserID: bob.ID, Username: "bob"}, later, nil); err != nil {
		t.Fatal(err)
	}
	up, err = s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{Status: &resolved}, store.TicketActor{UserID: bob.ID, Username: "bob"}, later.Add(time.Minute), nil)
	if err != nil || up.Status != resolved || up.ResolvedAt == nil || !up.ResolvedAt.Equal(later.Add(time.Minute)) {
		t.Fatalf("resolve %+v %v", up, err)
	}
	// resolved → new is not a transition; nor is an unknown status.
	nw, bogus := store.TicketNew, "done"
	_, err = s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{Status: &nw}, asSam, later, nil)
	invalid(t, err, "cannot become new")
	_, err = s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{Status: &bogus}, asSam, later, nil)
	invalid(t, err, "status")
	// Reopening clears resolved_at.
	up, err = s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{Status: &open}, asSam, later, nil)
	if err != nil || up.ResolvedAt != nil {
		t.Fatalf("reopen %+v %v", up, err)
	}
	// Priority moves the due time from creation.
	urgent := store.TicketUrgent
	up, err = s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{Priority: &urgent}, asSam, later, nil)
	if err != nil || !up.DueAt.Equal(at.Add(4*time.Hour)) {
		t.Fatalf("urgent %+v %v", up, err)
	}
	// A change to the same values writes nothing.
	if _, err := s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{Priority: &urgent}, asSam, later, nil); err != nil {
		t.Fatal(err)
	}
	// check refuses under the lock, and nothing is written.
	refuse := errors.New("refused")
	subj := "changed"
	if _, err := s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{Subject: &subj}, asAlice, later,
		func(*store.Ticket) error { return refuse }); !errors.Is(err, refuse) {
		t.Fatalf("check: %v", err)
	}
	c, err := s.AddTicketComment(ctx, "demo", tk.ID, " <script>x</script> ", true, asSam, later, nil)
	if err != nil || c.Body != "<script>x</script>" || !c.Internal {
		t.Fatalf("comment %+v %v", c, err)
	}
	_, err = s.AddTicketComment(ctx, "demo", tk.ID, "  ", false, asSam, later, nil)
	invalid(t, err, "empty")

	evs, err := s.TicketEvents(ctx, "demo", tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Actor+":"+e.Action+":"+e.Field+":"+e.Old+">"+e.New)
	}
	want := []string{
		"alice:create::>T-1001",
		"sam:update:assignee:>bob",
		"bob:update:status:new>open",
		"bob:update:status:open>resolved",
		"bob:update:resolved_at:>2030-01-02T04:01:00Z",
		"sam:update:status:resolved>open",
		"sam:update:resolved_at:2030-01-02T04:01:00Z>",
		"sam:update:priority:high>urgent",
		"sam:update:due_at:2030-01-02T11:00:00Z>2030-01-02T07:00:00Z",
		"sam:comment:comment:internal>" + itoa(c.ID),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	cs, err := s.TicketComments(ctx, "demo", tk.ID)
	if err != nil || len(cs) != 1 || cs[0].Author != "sam" || cs[0].AuthorName != "sam" {
		t.Fatalf("comments %+v %v", cs, err)
	}

	// Tenant isolation: acme sees nothing, changes nothing, and its own
	// numbering starts at T-1001.
	if _, err := s.GetTicket(ctx, "acme", tk.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme get: %v", err)
	}
	if _, err := s.UpdateTicket(ctx, "acme", tk.ID, store.TicketChange{Subject: &subj}, asSam, later, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme update: %v", err)
	}
	if _, err := s.AddTicketComment(ctx, "acme", tk.ID, "hi", false, store.TicketActor{}, later, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme comment: %v", err)
	}
	if evs, _ := s.TicketEvents(ctx, "acme", tk.ID); len(evs) != 0 {
		t.Fatalf("acme sees the audit: %v", evs)
	}
	if l, n, err := s.ListTickets(ctx, "acme", store.TicketFilter{}); err != nil || n != 0 || len(l) != 0 {
		t.Fatalf("acme list %v %d %v", l, n, err)
	}
	carol := addUser(t, s, "acme", "carol", "agent")
	a1, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "acme", Subject: "acme's", Actor: store.TicketActor{UserID: carol.ID, Username: "carol"}})
	if err != nil || a1.Ref != "T-1001" {
		t.Fatalf("acme ticket %+v %v", a1, err)
	}
	// Nor can a demo ticket be assigned to acme's user.
	cid := carol.ID
	_, err = s.UpdateTicket(ctx, "demo", tk.ID, store.TicketChange{AssigneeSet: true, AssigneeID: &cid}, asSam, later, nil)
	invalid(t, err, "not a user of this tenant")
	_, err = s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "x", AssigneeID: &cid, Actor: asSam})
	invalid(t, err, "not a user of this tenant")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestTicketValidationAndSLA(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	_, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "   "})
	invalid(t, err, "subject is empty")
	_, err = s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: strings.Repeat("é", 201)})
	invalid(t, err, "at most 200")
	if _, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: strings.Repeat("é", 200)}); err != nil {
		t.Fatalf("200 characters (400 bytes): %v", err)
	}
	_, err = s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "x", Description: strings.Repeat("a", 10001)})
	invalid(t, err, "description")
	_, err = s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "x", Priority: "asap"})
	invalid(t, err, "priority")
	if _, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "nosuch", Subject: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}

	// The tenant's own SLA replaces the default for that priority.
	if err := s.SetTicketSLA(ctx, "demo", store.TicketUrgent, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	invalid(t, s.SetTicketSLA(ctx, "demo", "asap", time.Hour), "priority")
	invalid(t, s.SetTicketSLA(ctx, "demo", store.TicketLow, time.Second), "1 minute")
	sla, err := s.TicketSLA(ctx, "demo")
	if err != nil || sla[store.TicketUrgent] != 30*time.Minute || sla[store.TicketLow] != 72*time.Hour {
		t.Fatalf("sla %v %v", sla, err)
	}
	at := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	tk, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "x", Priority: store.TicketUrgent, At: at})
	if err != nil || !tk.DueAt.Equal(at.Add(30*time.Minute)) {
		t.Fatalf("urgent due %+v %v", tk, err)
	}
	if tk, _ := s.CreateTicket(ctx, store.NewTicket{TenantID: "acme", Subject: "x", Priority: store.TicketUrgent, At: at}); !tk.DueAt.Equal(at.Add(4 * time.Hour)) {
		t.Fatalf("acme keeps the default: %v", tk.DueAt)
	}
}

func TestTicketListFilters(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	alice := addUser(t, s, "demo", "alice", "agent")
	now := time.Now()
	aid := alice.ID
	call := uuid.New()
	mk := func(subject, priority, customer, team string, assignee *uuid.UUID, at time.Time) *store.Ticket {
		tk, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: subject, Priority: priority, CustomerNumber: customer,
			Team: team, AssigneeID: assignee, At: at, Actor: store.TicketActor{UserID: aid, Username: "alice"}})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	old := mk("Refund 100% please", store.TicketUrgent, "+15550001", "billing", &aid, now.Add(-5*time.Hour)) // overdue
	mid := mk("Address change", store.TicketLow, "+15550002", "", nil, now.Add(-time.Hour))
	newest := mk("Card_lost", store.TicketNormal, "+15559999", "cards", &aid, now)
	if _, err := s.UpdateTicket(ctx, "demo", newest.ID, store.TicketChange{}, store.TicketActor{}, now, nil); err != nil {
		t.Fatal(err)
	}
	closed := store.TicketClosed
	if _, err := s.UpdateTicket(ctx, "demo", mid.ID, store.TicketChange{Status: &closed}, store.TicketActor{}, now.Add(-30*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTicket(ctx, store.NewTicket{TenantID: "demo", Subject: "with call", CallID: &call}); err != nil {
		t.Fatal(err)
	}
	refs := func(f store.TicketFilter) string {
		t.Helper()
		l, total, err := s.ListTickets(ctx, "demo", f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tk := range l {
			out = append(out, tk.Subject)
		}
		return strings.Join(out, "|") + "#" + itoa(int64(total))
	}
	for _, c := range []struct {
		name string
		f    store.TicketFilter
		want string
	}{
		{"all, newest change first", store.TicketFilter{}, "with call|Card_lost|Address change|Refund 100% please#4"},
		{"active", store.TicketFilter{Statuses: []string{"new", "open", "pending"}}, "with call|Card_lost|Refund 100% please#3"},
		{"closed", store.TicketFilter{Statuses: []string{"closed"}}, "Address change#1"},
		{"mine", store.TicketFilter{AssigneeID: &aid}, "Card_lost|Refund 100% please#2"},
		{"unassigned", store.TicketFilter{Unassigned: true}, "with call|Address change#2"},
		{"priority", store.TicketFilter{Priority: "urgent"}, "Refund 100% please#1"},
		{"team", store.TicketFilter{Team: "cards"}, "Card_lost#1"},
		{"customer", store.TicketFilter{Customer: "999"}, "Card_lost#1"},
		{"q is literal, not a pattern", store.TicketFilter{Query: "100%"}, "Refund 100% please#1"},
		{"q underscore", store.TicketFilter{Query: "card_"}, "Card_lost#1"},
		{"q ref", store.TicketFilter{Query: "t-1002"}, "Address change#1"},
		{"overdue", store.TicketFilter{Overdue: true}, "Refund 100% please#1"},
		{"call", store.TicketFilter{CallID: &call}, "with call#1"},
		{"due order", store.TicketFilter{Sort: "due", Statuses: []string{"new"}}, "Refund 100% please|Card_lost|with call#3"},
		{"page", store.TicketFilter{Limit: 2, Offset: 1}, "Card_lost|Address change#4"},
		{"past the end", store.TicketFilter{Offset: 10}, "#4"},
	} {
		if got := refs(c.f); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	l, _, _ := s.ListTickets(ctx, "demo", store.TicketFilter{Query: "refund"})
	if len(l) != 1 || !l[0].Overdue || l[0].Ref != old.Ref {
		t.Fatalf("overdue flag %+v", l)
	}
	_, _, err := s.ListTickets(ctx, "demo", store.TicketFilter{Statuses: []string{"bogus"}})
	invalid(t, err, "status")
	if tk, err := s.TicketByNumber(ctx, "demo", 1002); err != nil || tk.ID != mid.ID {
		t.Fatalf("by number %v %v", tk, err)
	}
	if _, err := s.TicketByNumber(ctx, "acme", 1002); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme by number: %v", err)
	}
}
