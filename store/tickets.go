package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Ticket priorities, lowest first, and statuses: the only values the
// tickets table accepts.
const (
	TicketLow    = "low"
	TicketNormal = "normal"
	TicketHigh   = "high"
	TicketUrgent = "urgent"

	TicketNew      = "new"
	TicketOpen     = "open"
	TicketPending  = "pending"
	TicketResolved = "resolved"
	TicketClosed   = "closed"
)

// Limits of ticket text, in characters; the table checks the same.
const (
	MaxTicketSubject     = 200
	MaxTicketDescription = 10000
	MaxTicketComment     = 10000
	MaxTicketCategory    = 100
	MaxTicketCustomer    = 64
	MaxTicketTeam        = 64
)

// DefaultTicketSLA is how long after creation a ticket of each priority is
// due when the tenant has not set its own (ticket_sla rows).
func DefaultTicketSLA() map[string]time.Duration {
	return map[string]time.Duration{
		TicketUrgent: 4 * time.Hour,
		TicketHigh:   8 * time.Hour,
		TicketNormal: 24 * time.Hour,
		TicketLow:    72 * time.Hour,
	}
}

// TicketPriorities and TicketStatuses list the values in order.
func TicketPriorities() []string { return []string{TicketLow, TicketNormal, TicketHigh, TicketUrgent} }
func TicketStatuses() []string {
	return []string{TicketNew, TicketOpen, TicketPending, TicketResolved, TicketClosed}
}

// ValidTicketPriority and ValidTicketStatus report whether the table
// accepts the value.
func ValidTicketPriority(p string) bool {
	switch p {
	case TicketLow, TicketNormal, TicketHigh, TicketUrgent:
		return true
	}
	return false
}

func ValidTicketStatus(s string) bool {
	switch s {
	case TicketNew, TicketOpen, TicketPending, TicketResolved, TicketClosed:
		return true
	}
	return false
}

// ticketTransitions is the status life cycle. Nothing goes back to new;
// a resolved or closed ticket is reopened to open.
var ticketTransitions = map[string][]string{
	TicketNew:      {TicketOpen, TicketPending, TicketResolved, TicketClosed},
	TicketOpen:     {TicketPending, TicketResolved, TicketClosed},
	TicketPending:  {TicketOpen, TicketResolved, TicketClosed},
	TicketResolved: {TicketOpen, TicketClosed},
	TicketClosed:   {TicketOpen},
}

// TicketTransitionAllowed reports whether a ticket may move from one
// status to another (staying put is not a transition).
func TicketTransitionAllowed(from, to string) bool {
	for _, s := range ticketTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// ticketActive: the statuses in which a ticket can be overdue.
func ticketActive(status string) bool {
	return status == TicketNew || status == TicketOpen || status == TicketPending
}

// InvalidError is bad input: its message is meant for the client (HTTP
// 400), unlike the wrapped database errors around it.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// TicketActor is who makes a change, for the audit trail.
type TicketActor struct {
	UserID   uuid.UUID
	Username string
}

func (a TicketActor) id() *uuid.UUID {
	if a.UserID == uuid.Nil {
		return nil
	}
	return &a.UserID
}

// Ticket is one ticket with its assignee's and creator's names.
type Ticket struct {
	ID               uuid.UUID  `json:"id"`
	TenantID         string     `json:"tenant"`
	Number           int        `json:"number"`
	Ref              string     `json:"ref"` // "T-1001"
	Subject          string     `json:"subject"`
	Description      string     `json:"description"`
	Category         string     `json:"category"`
	Priority         string     `json:"priority"`
	Status           string     `json:"status"`
	CustomerNumber   string     `json:"customer_number"`
	AssigneeID       *uuid.UUID `json:"assignee_id"`
	AssigneeUsername string     `json:"assignee"`
	AssigneeName     string     `json:"assignee_name"`
	Team             string     `json:"team"`
	CallID           *uuid.UUID `json:"call_id"`
	ChatID           *uuid.UUID `json:"chat_id"`
	CreatedByID      *uuid.UUID `json:"created_by_id"`
	CreatedBy        string     `json:"created_by"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	DueAt            time.Time  `json:"due_at"`
	ResolvedAt       *time.Time `json:"resolved_at"`
	// Overdue: still new, open or pending after DueAt (as of the read).
	Overdue bool `json:"overdue"`
}

// TicketRef formats a ticket number as shown to people.
func TicketRef(n int) string { return "T-" + strconv.Itoa(n) }

// ParseTicketRef reads "T-1001" (any case) or "1001".
func ParseTicketRef(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[0] == 'T' || s[0] == 't') && s[1] == '-' {
		s = s[2:]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || strings.HasPrefix(s, "+") {
		return 0, false
	}
	return n, true
}

// TicketComment is a comment on a ticket.
type TicketComment struct {
	ID         int64      `json:"id"`
	TicketID   uuid.UUID  `json:"ticket_id"`
	AuthorID   *uuid.UUID `json:"author_id"`
	Author     string     `json:"author"`
	AuthorName string     `json:"author_name"`
	Body       string     `json:"body"`
	Internal   bool       `json:"internal"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Actions of ticket_events rows.
const (
	TicketActionCreate  = "create"
	TicketActionUpdate  = "update"
	TicketActionComment = "comment"
)

// TicketEvent is one row of a ticket's audit trail.
type TicketEvent struct {
	ID      int64      `json:"id"`
	ActorID *uuid.UUID `json:"actor_id"`
	Actor   string     `json:"actor"`
	At      time.Time  `json:"at"`
	Action  string     `json:"action"`
	Field   string     `json:"field,omitempty"`
	Old     string     `json:"old"`
	New     string     `json:"new"`
}

// NewTicket is what creating a ticket takes.
type NewTicket struct {
	TenantID       string
	Subject        string
	Description    string
	Category       string
	Priority       string // empty: normal
	CustomerNumber string
	AssigneeID     *uuid.UUID
	Team           string
	CallID         *uuid.UUID
	ChatID         *uuid.UUID // the web chat it was opened from
	Actor          TicketActor
	At             time.Time // zero: now
}

// TicketChange is a partial update: nil fields stay as they are. Set
// AssigneeSet to change the assignee (AssigneeID nil unassigns).
type TicketChange struct {
	Subject        *string
	Description    *string
	Category       *string
	Priority       *string
	Status         *string
	CustomerNumber *string
	Team           *string
	AssigneeSet    bool
	AssigneeID     *uuid.UUID
}

// Empty reports whether the change names no field.
func (c TicketChange) Empty() bool {
	return c.Subject == nil && c.Description == nil && c.Category == nil && c.Priority == nil &&
		c.Status == nil && c.CustomerNumber == nil && c.Team == nil && !c.AssigneeSet
}

// TicketFilter selects tickets for ListTickets; zero fields do not filter.
type TicketFilter struct {
	Statuses   []string
	Priority   string
	AssigneeID *uuid.UUID
	Unassigned bool
	Team       string
	Customer   string // part of the customer's number
	Query      string // part of the subject or description, or a ref like T-1001
	CallID     *uuid.UUID
	ChatID     *uuid.UUID
	Overdue    bool
	Now        time.Time // for Overdue; zero: now
	Sort       string    // "updated" (default, newest first) or "due" (soonest first)
	Limit      int       // 0: 50; at most 200
	Offset     int
}

func chars(s string) int { return utf8.RuneCountInString(s) }

// cleanField trims and makes text storable; it keeps inner newlines.
func cleanField(s string) string { return cleanText(strings.TrimSpace(s)) }

func checkLen(name, v string, limit int) error {
	if n := chars(v); n > limit {
		return invalidf("%s is %d characters long; at most %d", name, n, limit)
	}
	return nil
}

func validateSubject(s string) error {
	if s == "" {
		return invalidf("subject is empty")
	}
	return checkLen("subject", s, MaxTicketSubject)
}

const ticketColumns = `t.id, t.tenant_id, t.number, t.subject, t.description, t.category, t.priority, t.status,
	t.customer_number, t.assignee_id, coalesce(a.username, ''), coalesce(a.display_name, ''), t.team, t.call_id, t.chat_id,
	t.created_by, coalesce(c.username, ''), t.created_at, t.updated_at, t.due_at, t.resolved_at`

const ticketFrom = ` FROM tickets t
	LEFT JOIN users a ON a.id = t.assignee_id AND a.tenant_id = t.tenant_id
	LEFT JOIN users c ON c.id = t.created_by AND c.tenant_id = t.tenant_id`

func scanTicket(row pgx.Row, now time.Time) (*Ticket, error) {
	var t Ticket
	if err := row.Scan(&t.ID, &t.TenantID, &t.Number, &t.Subject, &t.Description, &t.Category, &t.Priority, &t.Status,
		&t.CustomerNumber, &t.AssigneeID, &t.AssigneeUsername, &t.AssigneeName, &t.Team, &t.CallID, &t.ChatID,
		&t.CreatedByID, &t.CreatedBy, &t.CreatedAt, &t.UpdatedAt, &t.DueAt, &t.ResolvedAt); err != nil {
		return nil, err
	}
	t.Ref = TicketRef(t.Number)
	t.Overdue = ticketActive(t.Status) && t.DueAt.Before(now)
	return &t, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ticketSLA is the tenant's due time for a priority.
func ticketSLA(ctx context.Context, q querier, tenantID, priority string) (time.Duration, error) {
	var minutes int
	err := q.QueryRow(ctx, "SELECT due_minutes FROM ticket_sla WHERE tenant_id = $1 AND priority = $2",
		tenantID, priority).Scan(&minutes)
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultTicketSLA()[priority], nil
	}
	if err != nil {
		return 0, err
	}
	return time.Duration(minutes) * time.Minute, nil
}

// TicketSLA returns the tenant's due time per priority (its own where set,
// the defaults elsewhere).
func (s *Store) TicketSLA(ctx context.Context, tenantID string) (map[string]time.Duration, error) {
	out := DefaultTicketSLA()
	rows, err := s.pool.Query(ctx, "SELECT priority, due_minutes FROM ticket_sla WHERE tenant_id = $1", tenantID)
	if err != nil {
		return nil, fmt.Errorf("store: ticket SLA of tenant %q: %w", tenantID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var m int
		if err := rows.Scan(&p, &m); err != nil {
			return nil, fmt.Errorf("store: ticket SLA of tenant %q: %w", tenantID, err)
		}
		out[p] = time.Duration(m) * time.Minute
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: ticket SLA of tenant %q: %w", tenantID, err)
	}
	return out, nil
}

// SetTicketSLA sets the tenant's due time for a priority (whole minutes,
// 1 minute to 1 year); it applies to tickets created (or re-prioritised)
// afterwards.
func (s *Store) SetTicketSLA(ctx context.Context, tenantID, priority string, d time.Duration) error {
	if !ValidTicketPriority(priority) {
		return invalidf("priority %q: want low, normal, high or urgent", priority)
	}
	m := int(d / time.Minute)
	if m < 1 || m > 525600 {
		return invalidf("SLA for %s: want 1 minute to 1 year, got %s", priority, d)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO ticket_sla (tenant_id, priority, due_minutes) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, priority) DO UPDATE SET due_minutes = EXCLUDED.due_minutes`, tenantID, priority, m)
	if err != nil {
		return fmt.Errorf("store: set ticket SLA of tenant %q: %w", tenantID, classify(err))
	}
	return nil
}

// ticketFK turns a foreign key violation on a ticket write into what the
// client did wrong.
func ticketFK(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23503" {
		switch {
		case strings.Contains(pg.ConstraintName, "assignee"):
			return invalidf("the assignee is not a user of this tenant")
		case strings.Contains(pg.ConstraintName, "tenant"), strings.Contains(pg.ConstraintName, "ticket_counters"):
			return fmt.Errorf("%w: no such tenant (%s)", ErrNotFound, pg.Message)
		}
	}
	var inv *InvalidError
	if errors.As(err, &inv) {
		return err
	}
	return classify(err)
}

// lockForChange begins the transaction of a change to one ticket, locks
// the ticket's row and runs check on it (the caller's permission), so the
// check sees the row the change will apply to. On an error nothing is
// left open.
func (s *Store) lockForChange(ctx context.Context, tenantID string, id uuid.UUID, what string, check func(*Ticket) error) (pgx.Tx, *Ticket, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("store: %s: begin: %w", what, err)
	}
	cur, err := lockTicket(ctx, tx, tenantID, id)
	if err != nil {
		err = fmt.Errorf("store: %s: %w", what, err)
	} else if check != nil {
		err = check(cur)
	}
	if err != nil {
		rollback(ctx, tx, &err, what)
		return nil, nil, err
	}
	return tx, cur, nil
}

// CreateTicket stores a new ticket with the next number of its tenant, a
// due time from the tenant's SLA for its priority, and the "create" audit
// row, all in one transaction.
func (s *Store) CreateTicket(ctx context.Context, nt NewTicket) (_ *Ticket, err error) {
	nt.Subject = cleanField(nt.Subject)
	nt.Description = cleanText(strings.TrimRight(nt.Description, " \t\r\n"))
	nt.Category = cleanField(nt.Category)
	nt.CustomerNumber = cleanField(nt.CustomerNumber)
	nt.Team = cleanField(nt.Team)
	if nt.Priority == "" {
		nt.Priority = TicketNormal
	}
	if err := validateSubject(nt.Subject); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name, v string
		limit   int
	}{
		{"description", nt.Description, MaxTicketDescription}, {"category", nt.Category, MaxTicketCategory},
		{"customer_number", nt.CustomerNumber, MaxTicketCustomer}, {"team", nt.Team, MaxTicketTeam},
	} {
		if err := checkLen(f.name, f.v, f.limit); err != nil {
			return nil, err
		}
	}
	if !ValidTicketPriority(nt.Priority) {
		return nil, invalidf("priority %q: want low, normal, high or urgent", nt.Priority)
	}
	at := nt.At
	if at.IsZero() {
		at = time.Now()
	}
	what := fmt.Sprintf("create ticket in tenant %q", nt.TenantID)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: %s: begin: %w", what, err)
	}
	defer rollback(ctx, tx, &err, what)
	var number int
	if err := tx.QueryRow(ctx, `INSERT INTO ticket_counters (tenant_id, last) VALUES ($1, 1001)
		ON CONFLICT (tenant_id) DO UPDATE SET last = ticket_counters.last + 1 RETURNING last`, nt.TenantID).Scan(&number); err != nil {
		return nil, fmt.Errorf("store: %s: number: %w", what, ticketFK(err))
	}
	sla, err := ticketSLA(ctx, tx, nt.TenantID, nt.Priority)
	if err != nil {
		return nil, fmt.Errorf("store: %s: SLA: %w", what, err)
	}
	var id uuid.UUID
	if err := tx.QueryRow(ctx, `INSERT INTO tickets (tenant_id, number, subject, description, category, priority,
			customer_number, assignee_id, team, call_id, chat_id, created_by, created_at, updated_at, due_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $14, $11, $12, $12, $13) RETURNING id`,
		nt.TenantID, number, nt.Subject, nt.Description, nt.Category, nt.Priority, nt.CustomerNumber,
		nt.AssigneeID, nt.Team, nt.CallID, nt.Actor.id(), at, at.Add(sla), nt.ChatID).Scan(&id); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, ticketFK(err))
	}
	if err := addTicketEvents(ctx, tx, nt.TenantID, id, nt.Actor, at, []TicketEvent{
		{Action: TicketActionCreate, New: TicketRef(number)},
	}); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, ticketFK(err))
	}
	t, err := scanTicket(tx.QueryRow(ctx, "SELECT "+ticketColumns+ticketFrom+" WHERE t.id = $1", id), time.Now())
	if err != nil {
		return nil, fmt.Errorf("store: %s: read back: %w", what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("store: %s: commit: %w", what, err)
	}
	return t, nil
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func addTicketEvents(ctx context.Context, tx execer, tenantID string, ticket uuid.UUID, actor TicketActor, at time.Time, evs []TicketEvent) error {
	for _, e := range evs {
		if _, err := tx.Exec(ctx, `INSERT INTO ticket_events (tenant_id, ticket_id, actor_id, actor_name, at, action, field, old_value, new_value)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, tenantID, ticket, actor.id(), cleanText(actor.Username), at,
			e.Action, e.Field, e.Old, e.New); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// GetTicket returns a ticket of the tenant; another tenant's is
// ErrNotFound like a missing one.
func (s *Store) GetTicket(ctx context.Context, tenantID string, id uuid.UUID) (*Ticket, error) {
	t, err := scanTicket(s.pool.QueryRow(ctx, "SELECT "+ticketColumns+ticketFrom+
		" WHERE t.tenant_id = $1 AND t.id = $2", tenantID, id), time.Now())
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: ticket %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: ticket %s: %w", id, err)
	}
	return t, nil
}

// TicketByNumber finds a ticket of the tenant by its number (1001 for
// T-1001).
func (s *Store) TicketByNumber(ctx context.Context, tenantID string, number int) (*Ticket, error) {
	t, err := scanTicket(s.pool.QueryRow(ctx, "SELECT "+ticketColumns+ticketFrom+
		" WHERE t.tenant_id = $1 AND t.number = $2", tenantID, number), time.Now())
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: ticket %s: %w", TicketRef(number), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: ticket %s: %w", TicketRef(number), err)
	}
	return t, nil
}

// ListTickets returns a page of the tenant's tickets and how many match
// in all.
func (s *Store) ListTickets(ctx context.Context, tenantID string, f TicketFilter) ([]Ticket, int, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 200)
	offset := max(f.Offset, 0)
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	for _, st := range f.Statuses {
		if !ValidTicketStatus(st) {
			return nil, 0, invalidf("status %q: want new, open, pending, resolved or closed", st)
		}
	}
	if f.Priority != "" && !ValidTicketPriority(f.Priority) {
		return nil, 0, invalidf("priority %q: want low, normal, high or urgent", f.Priority)
	}
	statuses := f.Statuses
	if statuses == nil {
		statuses = []string{}
	}
	ref, isRef := ParseTicketRef(f.Query)
	if !isRef {
		ref = 0
	}
	// strpos rather than LIKE, so text holding % or _ matches itself.
	where := ` WHERE t.tenant_id = $1
		AND (cardinality($2::text[]) = 0 OR t.status = ANY($2))
		AND ($3 = '' OR t.priority = $3)
		AND ($4::uuid IS NULL OR t.assignee_id = $4)
		AND (NOT $5 OR t.assignee_id IS NULL)
		AND ($6 = '' OR t.team = $6)
		AND ($7 = '' OR strpos(t.customer_number, $7) > 0)
		AND ($8 = '' OR strpos(lower(t.subject), lower($8)) > 0 OR strpos(lower(t.description), lower($8)) > 0 OR t.number = $9)
		AND ($10::uuid IS NULL OR t.call_id = $10)
		AND (NOT $11 OR (t.status IN ('new', 'open', 'pending') AND t.due_at < $12))
		AND ($13::uuid IS NULL OR t.chat_id = $13)`
	args := []any{tenantID, statuses, f.Priority, f.AssigneeID, f.Unassigned, strings.TrimSpace(f.Team),
		strings.TrimSpace(f.Customer), strings.TrimSpace(f.Query), ref, f.CallID, f.Overdue, now, f.ChatID}
	order := " ORDER BY t.updated_at DESC, t.id"
	if f.Sort == "due" {
		order = " ORDER BY t.due_at, t.id"
	}
	var total int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM tickets t"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: list tickets of tenant %q: count: %w", tenantID, err)
	}
	rows, err := s.pool.Query(ctx, "SELECT "+ticketColumns+ticketFrom+where+order+
		fmt.Sprintf(" LIMIT %d OFFSET %d", limit, offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list tickets of tenant %q: %w", tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ticket, error) {
		t, err := scanTicket(r, now)
		if err != nil {
			return Ticket{}, err
		}
		return *t, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: list tickets of tenant %q: %w", tenantID, err)
	}
	if out == nil {
		out = []Ticket{}
	}
	return out, total, nil
}

// lockTicket reads a ticket of the tenant for update inside tx.
func lockTicket(ctx context.Context, tx pgx.Tx, tenantID string, id uuid.UUID) (*Ticket, error) {
	t, err := scanTicket(tx.QueryRow(ctx, "SELECT "+ticketColumns+ticketFrom+
		" WHERE t.tenant_id = $1 AND t.id = $2 FOR UPDATE OF t", tenantID, id), time.Now())
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return t, err
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// UpdateTicket applies a change as actor. check, when not nil, sees the
// ticket as it is (locked) and may refuse the change with an error, which
// UpdateTicket returns unwrapped. Every field that changes writes an audit
// row with its old and new value in the same transaction; a change of
// priority moves the due time to the new priority's SLA from creation, a
// change of status checks the life cycle and keeps resolved_at. A change
// that changes nothing writes nothing.
func (s *Store) UpdateTicket(ctx context.Context, tenantID string, id uuid.UUID, ch TicketChange, actor TicketActor,
	at time.Time, check func(*Ticket) error) (_ *Ticket, err error) {
	if at.IsZero() {
		at = time.Now()
	}
	what := fmt.Sprintf("update ticket %s", id)
	tx, cur, err := s.lockForChange(ctx, tenantID, id, what, check)
	if err != nil {
		return nil, err
	}
	defer rollback(ctx, tx, &err, what)
	next := *cur
	var evs []TicketEvent
	text := func(field string, v *string, dst *string, limit int, trim bool) error {
		if v == nil {
			return nil
		}
		nv := cleanField(*v)
		if !trim {
			nv = cleanText(strings.TrimRight(*v, " \t\r\n"))
		}
		if field == "subject" {
			if err := validateSubject(nv); err != nil {
				return err
			}
		} else if err := checkLen(field, nv, limit); err != nil {
			return err
		}
		if nv != *dst {
			evs = append(evs, TicketEvent{Action: TicketActionUpdate, Field: field, Old: *dst, New: nv})
			*dst = nv
		}
		return nil
	}
	if err := text("subject", ch.Subject, &next.Subject, MaxTicketSubject, true); err != nil {
		return nil, err
	}
	if err := text("description", ch.Description, &next.Description, MaxTicketDescription, false); err != nil {
		return nil, err
	}
	if err := text("category", ch.Category, &next.Category, MaxTicketCategory, true); err != nil {
		return nil, err
	}
	if err := text("customer_number", ch.CustomerNumber, &next.CustomerNumber, MaxTicketCustomer, true); err != nil {
		return nil, err
	}
	if err := text("team", ch.Team, &next.Team, MaxTicketTeam, true); err != nil {
		return nil, err
	}
	if ch.Priority != nil && *ch.Priority != cur.Priority {
		p := *ch.Priority
		if !ValidTicketPriority(p) {
			return nil, invalidf("priority %q: want low, normal, high or urgent", p)
		}
		sla, err := ticketSLA(ctx, tx, tenantID, p)
		if err != nil {
			return nil, fmt.Errorf("store: %s: SLA: %w", what, err)
		}
		evs = append(evs, TicketEvent{Action: TicketActionUpdate, Field: "priority", Old: cur.Priority, New: p})
		next.Priority = p
		if due := cur.CreatedAt.Add(sla); !due.Equal(cur.DueAt) {
			evs = append(evs, TicketEvent{Action: TicketActionUpdate, Field: "due_at", Old: fmtTime(&cur.DueAt), New: fmtTime(&due)})
			next.DueAt = due
		}
	}
	if ch.Status != nil && *ch.Status != cur.Status {
		st := *ch.Status
		if !ValidTicketStatus(st) {
			return nil, invalidf("status %q: want new, open, pending, resolved or closed", st)
		}
		if !TicketTransitionAllowed(cur.Status, st) {
			return nil, invalidf("a %s ticket cannot become %s (allowed: %s)", cur.Status, st, strings.Join(ticketTransitions[cur.Status], ", "))
		}
		evs = append(evs, TicketEvent{Action: TicketActionUpdate, Field: "status", Old: cur.Status, New: st})
		next.Status = st
		var resolved *time.Time
		switch {
		case st == TicketResolved:
			resolved = &at
		case st == TicketClosed && cur.ResolvedAt != nil:
			resolved = cur.ResolvedAt
		case st == TicketClosed:
			resolved = &at
		}
		if fmtTime(resolved) != fmtTime(cur.ResolvedAt) {
			evs = append(evs, TicketEvent{Action: TicketActionUpdate, Field: "resolved_at", Old: fmtTime(cur.ResolvedAt), New: fmtTime(resolved)})
		}
		next.ResolvedAt = resolved
	}
	if ch.AssigneeSet && !sameID(ch.AssigneeID, cur.AssigneeID) {
		newName := ""
		if ch.AssigneeID != nil {
			if err := tx.QueryRow(ctx, "SELECT username FROM users WHERE tenant_id = $1 AND id = $2",
				tenantID, *ch.AssigneeID).Scan(&newName); errors.Is(err, pgx.ErrNoRows) {
				return nil, invalidf("the assignee is not a user of this tenant")
			} else if err != nil {
				return nil, fmt.Errorf("store: %s: assignee: %w", what, err)
			}
		}
		evs = append(evs, TicketEvent{Action: TicketActionUpdate, Field: "assignee", Old: cur.AssigneeUsername, New: newName})
		next.AssigneeID = ch.AssigneeID
	}
	if len(evs) == 0 {
		return cur, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE tickets SET subject = $3, description = $4, category = $5, priority = $6, status = $7,
			customer_number = $8, assignee_id = $9, team = $10, due_at = $11, resolved_at = $12, updated_at = $13
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, next.Subject, next.Description, next.Category, next.Priority,
		next.Status, next.CustomerNumber, next.AssigneeID, next.Team, next.DueAt, next.ResolvedAt, at); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, ticketFK(err))
	}
	if err := addTicketEvents(ctx, tx, tenantID, id, actor, at, evs); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	t, err := scanTicket(tx.QueryRow(ctx, "SELECT "+ticketColumns+ticketFrom+" WHERE t.id = $1", id), time.Now())
	if err != nil {
		return nil, fmt.Errorf("store: %s: read back: %w", what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("store: %s: commit: %w", what, err)
	}
	return t, nil
}

func sameID(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// AddTicketComment adds a comment as actor, touches the ticket's
// updated_at and writes the "comment" audit row, in one transaction. check
// is UpdateTicket's.
func (s *Store) AddTicketComment(ctx context.Context, tenantID string, id uuid.UUID, body string, internal bool,
	actor TicketActor, at time.Time, check func(*Ticket) error) (_ *TicketComment, err error) {
	body = cleanText(strings.TrimSpace(body))
	if body == "" {
		return nil, invalidf("comment body is empty")
	}
	if err := checkLen("comment body", body, MaxTicketComment); err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = time.Now()
	}
	what := fmt.Sprintf("comment on ticket %s", id)
	tx, _, err := s.lockForChange(ctx, tenantID, id, what, check)
	if err != nil {
		return nil, err
	}
	defer rollback(ctx, tx, &err, what)
	c := TicketComment{TicketID: id, AuthorID: actor.id(), Author: actor.Username, Body: body, Internal: internal, CreatedAt: at}
	if err := tx.QueryRow(ctx, `INSERT INTO ticket_comments (tenant_id, ticket_id, author_id, author_name, body, internal, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, tenantID, id, actor.id(), cleanText(actor.Username), body, internal, at).Scan(&c.ID); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, ticketFK(err))
	}
	if _, err := tx.Exec(ctx, "UPDATE tickets SET updated_at = $3 WHERE tenant_id = $1 AND id = $2", tenantID, id, at); err != nil {
		return nil, fmt.Errorf("store: %s: touch: %w", what, err)
	}
	kind := "public"
	if internal {
		kind = "internal"
	}
	if err := addTicketEvents(ctx, tx, tenantID, id, actor, at, []TicketEvent{
		{Action: TicketActionComment, Field: "comment", Old: kind, New: strconv.FormatInt(c.ID, 10)},
	}); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("store: %s: commit: %w", what, err)
	}
	return &c, nil
}

// TicketComments returns a ticket's comments, oldest first.
func (s *Store) TicketComments(ctx context.Context, tenantID string, id uuid.UUID) ([]TicketComment, error) {
	rows, err := s.pool.Query(ctx, `SELECT k.id, k.ticket_id, k.author_id, k.author_name, coalesce(u.display_name, ''), k.body, k.internal, k.created_at
		FROM ticket_comments k LEFT JOIN users u ON u.id = k.author_id AND u.tenant_id = k.tenant_id
		WHERE k.tenant_id = $1 AND k.ticket_id = $2 ORDER BY k.id`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("store: comments of ticket %s: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TicketComment, error) {
		var c TicketComment
		err := r.Scan(&c.ID, &c.TicketID, &c.AuthorID, &c.Author, &c.AuthorName, &c.Body, &c.Internal, &c.CreatedAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: comments of ticket %s: %w", id, err)
	}
	if out == nil {
		out = []TicketComment{}
	}
	return out, nil
}

// TicketEvents returns a ticket's audit trail, oldest first.
func (s *Store) TicketEvents(ctx context.Context, tenantID string, id uuid.UUID) ([]TicketEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, actor_id, actor_name, at, action, field, old_value, new_value
		FROM ticket_events WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("store: audit of ticket %s: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TicketEvent, error) {
		var e TicketEvent
		err := r.Scan(&e.ID, &e.ActorID, &e.Actor, &e.At, &e.Action, &e.Field, &e.Old, &e.New)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: audit of ticket %s: %w", id, err)
	}
	if out == nil {
		out = []TicketEvent{}
	}
	return out, nil
}
