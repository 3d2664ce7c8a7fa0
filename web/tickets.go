package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"hotline/auth"
	"hotline/store"
)

// TicketStore is what the ticket routes need; *store.Store implements it.
// Every method takes the tenant, so a handler cannot forget it.
type TicketStore interface {
	CreateTicket(ctx context.Context, nt store.NewTicket) (*store.Ticket, error)
	GetTicket(ctx context.Context, tenantID string, id uuid.UUID) (*store.Ticket, error)
	TicketByNumber(ctx context.Context, tenantID string, number int) (*store.Ticket, error)
	ListTickets(ctx context.Context, tenantID string, f store.TicketFilter) ([]store.Ticket, int, error)
	UpdateTicket(ctx context.Context, tenantID string, id uuid.UUID, ch store.TicketChange, actor store.TicketActor,
		at time.Time, check func(*store.Ticket) error) (*store.Ticket, error)
	AddTicketComment(ctx context.Context, tenantID string, id uuid.UUID, body string, internal bool, actor store.TicketActor,
		at time.Time, check func(*store.Ticket) error) (*store.TicketComment, error)
	TicketComments(ctx context.Context, tenantID string, id uuid.UUID) ([]store.TicketComment, error)
	TicketEvents(ctx context.Context, tenantID string, id uuid.UUID) ([]store.TicketEvent, error)
	TicketSLA(ctx context.Context, tenantID string) (map[string]time.Duration, error)
	SetTicketSLA(ctx context.Context, tenantID, priority string, d time.Duration) error
	UserByUsername(ctx context.Context, tenantID, username string) (*store.User, error)
	GetRecording(ctx context.Context, tenantID string, callID uuid.UUID) (*store.Recording, error)
}

// ticketRoutes registers the tickets API. Any logged-in role reaches the
// handlers; what an agent may change depends on the ticket (assigned to
// them or to nobody), so that check is the handler's, made under the
// ticket's row lock.
func (s *Server) ticketRoutes(mux *http.ServeMux) {
	agent := auth.RequireRole(auth.RoleAgent)
	admin := auth.RequireRole(auth.RoleAdmin)
	mux.Handle("POST /api/v1/tickets", agent(http.HandlerFunc(s.createTicket)))
	mux.Handle("GET /api/v1/tickets", agent(http.HandlerFunc(s.listTickets)))
	mux.Handle("GET /api/v1/tickets/sla", agent(http.HandlerFunc(s.ticketSLA)))
	mux.Handle("PUT /api/v1/tickets/sla", admin(http.HandlerFunc(s.setTicketSLA)))
	mux.Handle("GET /api/v1/tickets/{id}", agent(http.HandlerFunc(s.getTicket)))
	mux.Handle("PATCH /api/v1/tickets/{id}", agent(http.HandlerFunc(s.updateTicket)))
	mux.Handle("POST /api/v1/tickets/{id}/comments", agent(http.HandlerFunc(s.commentTicket)))
}

func (s *Server) tickets(w http.ResponseWriter) TicketStore {
	ts := s.Tickets
	if ts == nil {
		ts, _ = s.Calls.(TicketStore)
	}
	if ts == nil {
		writeError(w, http.StatusServiceUnavailable, "tickets are not available on this server")
	}
	return ts
}

// errNoTicket answers every ticket id the caller's tenant does not have:
// missing, malformed or another tenant's look the same.
const errNoTicket = "no such ticket"

// errTicketForbidden is an agent touching a colleague's ticket (of the
// same tenant, so its existence is no secret).
var errTicketForbidden = errors.New("agents may change only tickets assigned to them or to nobody")

var errReopenForbidden = errors.New("only supervisors may reopen a closed ticket")

// mayChange is the role rule: supervisors and admins change any ticket of
// their tenant, agents those assigned to them or to nobody.
func mayChange(p auth.Principal, t *store.Ticket) bool {
	return p.Has(auth.RoleSupervisor) || t.AssigneeID == nil || t.AssigneeID.String() == p.UserID
}

func actorOf(p auth.Principal) store.TicketActor {
	id, _ := uuid.Parse(p.UserID)
	return store.TicketActor{UserID: id, Username: p.Username}
}

// ticketFailed answers a store error: bad input 400, not found 404,
// refusals 403, anything else 500.
func (s *Server) ticketFailed(w http.ResponseWriter, r *http.Request, err error) {
	var inv *store.InvalidError
	switch {
	case errors.As(err, &inv):
		writeError(w, http.StatusBadRequest, inv.Msg)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, errNoTicket)
	case errors.Is(err, errTicketForbidden), errors.Is(err, errReopenForbidden):
		writeError(w, http.StatusForbidden, err.Error())
	default:
		s.serverError(w, r, err)
	}
}

// findTicket resolves the {id} of the path, a UUID or a ref like T-1001,
// in the caller's tenant; it answers 404 itself and returns nil then.
// ticketRequest is what a request about one ticket starts with: the
// caller, the store and the ticket ({id} of the path); t is nil when the
// answer (404, 503) was written.
func (s *Server) ticketRequest(w http.ResponseWriter, r *http.Request) (auth.Principal, TicketStore, *store.Ticket) {
	p, _ := auth.FromContext(r.Context())
	ts := s.tickets(w)
	if ts == nil {
		return p, nil, nil
	}
	return p, ts, s.findTicket(w, r, ts, p)
}

func (s *Server) findTicket(w http.ResponseWriter, r *http.Request, ts TicketStore, p auth.Principal) *store.Ticket {
	raw := r.PathValue("id")
	var t *store.Ticket
	var err error
	if id, perr := uuid.Parse(raw); perr == nil {
		t, err = ts.GetTicket(r.Context(), p.TenantID, id)
	} else if n, ok := store.ParseTicketRef(raw); ok {
		t, err = ts.TicketByNumber(r.Context(), p.TenantID, n)
	} else {
		err = store.ErrNotFound
	}
	if err != nil {
		s.ticketFailed(w, r, err)
		return nil
	}
	return t
}

// resolveAssignee reads an assignee given as a username or a user id; ""
// is nobody.
func resolveAssignee(ctx context.Context, ts TicketStore, tenantID, v string) (*uuid.UUID, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if id, err := uuid.Parse(v); err == nil {
		return &id, nil // the store checks it is a user of the tenant
	}
	u, err := ts.UserByUsername(ctx, tenantID, v)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &store.InvalidError{Msg: fmt.Sprintf("assignee %q: no such user in this tenant", v)}
	}
	if err != nil {
		return nil, err
	}
	return &u.ID, nil
}

type createTicketRequest struct {
	Subject        string `json:"subject"`
	Description    string `json:"description"`
	Category       string `json:"category"`
	Priority       string `json:"priority"`
	CustomerNumber string `json:"customer_number"`
	Assignee       string `json:"assignee"`
	Team           string `json:"team"`
	CallID         string `json:"call_id"`
	ChatID         string `json:"chat_id"`
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	ts := s.tickets(w)
	if ts == nil {
		return
	}
	var req createTicketRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	nt := store.NewTicket{TenantID: p.TenantID, Subject: req.Subject, Description: req.Description, Category: req.Category,
		Priority: req.Priority, CustomerNumber: req.CustomerNumber, Team: req.Team, Actor: actorOf(p)}
	if v := strings.TrimSpace(req.CallID); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "call_id must be a call's UUID")
			return
		}
		nt.CallID = &id
	}
	if v := strings.TrimSpace(req.ChatID); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "chat_id must be a chat's UUID")
			return
		}
		// Unlike a call's CDR, a chat's row is written as the chat starts,
		// well before an agent has it, so the link is checked now, in the
		// caller's tenant: another tenant's chat is no chat at all.
		cs := s.ticketChats(ts)
		if cs == nil {
			writeError(w, http.StatusServiceUnavailable, "chats are not available on this server")
			return
		}
		if _, _, err := cs.GetChat(r.Context(), p.TenantID, id); errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusBadRequest, "no such chat")
			return
		} else if err != nil {
			s.serverError(w, r, err)
			return
		}
		nt.ChatID = &id
	}
	var err error
	if nt.AssigneeID, err = resolveAssignee(r.Context(), ts, p.TenantID, req.Assignee); err != nil {
		s.ticketFailed(w, r, err)
		return
	}
	t, err := ts.CreateTicket(r.Context(), nt)
	if err != nil {
		s.ticketFailed(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tickets/"+t.ID.String())
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": t})
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	ts := s.tickets(w)
	if ts == nil {
		return
	}
	q := r.URL.Query()
	f := store.TicketFilter{Priority: q.Get("priority"), Query: q.Get("q"), Customer: q.Get("customer"), Team: q.Get("team")}
	bad := func(msg string) { writeError(w, http.StatusBadRequest, msg) }
	if v := q.Get("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			switch {
			case st == "active":
				f.Statuses = append(f.Statuses, store.TicketNew, store.TicketOpen, store.TicketPending)
			case store.ValidTicketStatus(st):
				f.Statuses = append(f.Statuses, st)
			default:
				bad(fmt.Sprintf("status %q: want new, open, pending, resolved, closed or active (comma-separated)", st))
				return
			}
		}
	}
	if f.Priority != "" && !store.ValidTicketPriority(f.Priority) {
		bad(fmt.Sprintf("priority %q: want low, normal, high or urgent", f.Priority))
		return
	}
	if chars := len([]rune(f.Query)); chars > 200 {
		bad("q is longer than 200 characters")
		return
	}
	flag := func(name string) (bool, bool) {
		switch q.Get(name) {
		case "", "false", "0":
			return false, true
		case "true", "1":
			return true, true
		}
		bad(name + " must be true or false")
		return false, false
	}
	mine, ok := flag("mine")
	if !ok {
		return
	}
	if f.Overdue, ok = flag("overdue"); !ok {
		return
	}
	assignee := q.Get("assignee")
	if mine {
		assignee = "me"
	}
	switch assignee {
	case "":
	case "none":
		f.Unassigned = true
	case "me":
		id, err := uuid.Parse(p.UserID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		f.AssigneeID = &id
	default:
		id, err := resolveAssignee(r.Context(), ts, p.TenantID, assignee)
		if err != nil {
			s.ticketFailed(w, r, err)
			return
		}
		f.AssigneeID = id
	}
	if v := q.Get("call"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			bad("call must be a call's UUID")
			return
		}
		f.CallID = &id
	}
	if v := q.Get("chat"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			bad("chat must be a chat's UUID")
			return
		}
		f.ChatID = &id
	}
	switch f.Sort = q.Get("sort"); f.Sort {
	case "", "updated", "due":
	default:
		bad("sort must be updated or due")
		return
	}
	f.Limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			bad("limit must be an integer from 1 to 200")
			return
		}
		f.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad("offset must be a non-negative integer")
			return
		}
		f.Offset = n
	}
	list, total, err := ts.ListTickets(r.Context(), p.TenantID, f)
	if err != nil {
		s.ticketFailed(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"tickets": list, "total": total, "limit": f.Limit, "offset": f.Offset})
}

// ticketCallView is the linked call as a ticket shows it.
type ticketCallView struct {
	ID          uuid.UUID  `json:"id"`
	FromNumber  string     `json:"from_number"`
	ToNumber    string     `json:"to_number"`
	StartedAt   time.Time  `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	DurationMs  int64      `json:"duration_ms"`
	HangupCause string     `json:"hangup_cause,omitempty"`
}

// ticketChatView is the linked chat as a ticket shows it: enough to name
// it, and where its transcript is.
type ticketChatView struct {
	ID        uuid.UUID  `json:"id"`
	URL       string     `json:"url"`
	Channel   string     `json:"channel"`
	Visitor   string     `json:"visitor"`
	Messages  int        `json:"messages"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// ticketChats is where ticket routes look chats up: the ticket store when
// it reads chats too (*store.Store does), else the call store.
func (s *Server) ticketChats(ts TicketStore) ChatStore {
	if cs, ok := ts.(ChatStore); ok {
		return cs
	}
	cs, _ := s.Calls.(ChatStore)
	return cs
}

type ticketRecordingView struct {
	URL        string `json:"url"`
	MetaURL    string `json:"meta_url"`
	Status     string `json:"status"`
	DurationMs int64  `json:"duration_ms"`
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	p, ts, t := s.ticketRequest(w, r)
	if t == nil {
		return
	}
	ctx := r.Context()
	comments, err := ts.TicketComments(ctx, p.TenantID, t.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	events, err := ts.TicketEvents(ctx, p.TenantID, t.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := map[string]any{"ticket": t, "comments": comments, "events": events, "call": nil, "recording": nil, "chat": nil,
		"permissions": map[string]bool{
			"change": mayChange(p, t),
			"reopen": p.Has(auth.RoleSupervisor),
		}}
	// The linked call, looked up in the caller's tenant only: an id of
	// another tenant's call links to nothing.
	if t.CallID != nil {
		if s.Calls != nil {
			c, err := s.Calls.GetCall(ctx, p.TenantID, *t.CallID)
			switch {
			case err == nil:
				out["call"] = ticketCallView{ID: c.ID, FromNumber: c.FromNumber, ToNumber: c.ToNumber, StartedAt: c.StartedAt.UTC(),
					AnsweredAt: c.AnsweredAt, EndedAt: c.EndedAt, DurationMs: c.DurationMs, HangupCause: c.HangupCause}
			case !errors.Is(err, store.ErrNotFound):
				s.serverError(w, r, err)
				return
			}
		}
		rec, err := ts.GetRecording(ctx, p.TenantID, *t.CallID)
		switch {
		case err == nil && rec.Status != store.RecordingDeleted:
			base := "/api/v1/calls/" + t.CallID.String() + "/recording"
			out["recording"] = ticketRecordingView{URL: base, MetaURL: base + "/meta", Status: rec.Status, DurationMs: rec.DurationMs}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			s.serverError(w, r, err)
			return
		}
	}
	// The linked chat, tenant-scoped like the call.
	if t.ChatID != nil {
		if cs := s.ticketChats(ts); cs != nil {
			c, msgs, err := cs.GetChat(ctx, p.TenantID, *t.ChatID)
			switch {
			case err == nil:
				out["chat"] = ticketChatView{ID: c.ID, URL: "/api/v1/chats/" + c.ID.String(), Channel: c.Channel, Visitor: c.Visitor,
					Messages: len(msgs), StartedAt: c.StartedAt.UTC(), EndedAt: c.EndedAt}
			case !errors.Is(err, store.ErrNotFound):
				s.serverError(w, r, err)
				return
			}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

type updateTicketRequest struct {
	Subject        *string `json:"subject"`
	Description    *string `json:"description"`
	Category       *string `json:"category"`
	Priority       *string `json:"priority"`
	Status         *string `json:"status"`
	CustomerNumber *string `json:"customer_number"`
	Team           *string `json:"team"`
	Assignee       *string `json:"assignee"`
}

// ticketCheck is the permission rule, run by the store under the row lock
// so a reassignment racing the change cannot slip past it.
func ticketCheck(p auth.Principal, status *string) func(*store.Ticket) error {
	return func(t *store.Ticket) error {
		if !mayChange(p, t) {
			return errTicketForbidden
		}
		if status != nil && t.Status == store.TicketClosed && *status != store.TicketClosed && !p.Has(auth.RoleSupervisor) {
			return errReopenForbidden
		}
		return nil
	}
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request) {
	p, ts, t := s.ticketRequest(w, r)
	if t == nil {
		return
	}
	var req updateTicketRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	ch := store.TicketChange{Subject: req.Subject, Description: req.Description, Category: req.Category, Priority: req.Priority,
		Status: req.Status, CustomerNumber: req.CustomerNumber, Team: req.Team}
	if req.Assignee != nil {
		id, err := resolveAssignee(r.Context(), ts, p.TenantID, *req.Assignee)
		if err != nil {
			s.ticketFailed(w, r, err)
			return
		}
		ch.AssigneeSet, ch.AssigneeID = true, id
	}
	if ch.Empty() {
		writeError(w, http.StatusBadRequest, "nothing to change: give subject, description, category, priority, status, customer_number, team or assignee")
		return
	}
	up, err := ts.UpdateTicket(r.Context(), p.TenantID, t.ID, ch, actorOf(p), time.Now(), ticketCheck(p, req.Status))
	if err != nil {
		s.ticketFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ticket": up})
}

type commentRequest struct {
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
}

func (s *Server) commentTicket(w http.ResponseWriter, r *http.Request) {
	p, ts, t := s.ticketRequest(w, r)
	if t == nil {
		return
	}
	var req commentRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	c, err := ts.AddTicketComment(r.Context(), p.TenantID, t.ID, req.Body, req.Internal, actorOf(p), time.Now(), ticketCheck(p, nil))
	if err != nil {
		s.ticketFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"comment": c})
}

// slaView is the SLA in whole minutes per priority.
func slaView(sla map[string]time.Duration) map[string]int64 {
	out := make(map[string]int64, len(sla))
	for k, d := range sla {
		out[k] = int64(d / time.Minute)
	}
	return out
}

func (s *Server) ticketSLA(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	ts := s.tickets(w)
	if ts == nil {
		return
	}
	sla, err := ts.TicketSLA(r.Context(), p.TenantID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"due_minutes": slaView(sla)})
}

func (s *Server) setTicketSLA(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	ts := s.tickets(w)
	if ts == nil {
		return
	}
	var req struct {
		DueMinutes map[string]int64 `json:"due_minutes"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if len(req.DueMinutes) == 0 {
		writeError(w, http.StatusBadRequest, "due_minutes must name at least one priority")
		return
	}
	for prio, m := range req.DueMinutes {
		if !store.ValidTicketPriority(prio) || m < 1 || m > 525600 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("due_minutes[%q] = %d: want a priority (low, normal, high, urgent) and 1 to 525600 minutes", prio, m))
			return
		}
	}
	for prio, m := range req.DueMinutes {
		if err := ts.SetTicketSLA(r.Context(), p.TenantID, prio, time.Duration(m)*time.Minute); err != nil {
			s.ticketFailed(w, r, err)
			return
		}
	}
	s.ticketSLA(w, r)
}

// OpenAPI descriptions of the routes above.

func openAPITicketSchemas() map[string]any {
	str := apiType("string")
	ts := func(desc string) map[string]any {
		return map[string]any{"type": []string{"string", "null"}, "format": "date-time", "description": desc}
	}
	id := func() map[string]any { return map[string]any{"type": []string{"string", "null"}, "format": "uuid"} }
	return map[string]any{
		"Ticket": objectOf(map[string]any{
			"id": map[string]any{"type": "string", "format": "uuid"}, "tenant": str,
			"number": apiType("integer"), "ref": map[string]any{"type": "string", "description": "T-<number>, per tenant"},
			"subject": map[string]any{"type": "string", "maxLength": store.MaxTicketSubject}, "description": map[string]any{"type": "string", "maxLength": store.MaxTicketDescription},
			"category": str, "priority": map[string]any{"type": "string", "enum": store.TicketPriorities()},
			"status": map[string]any{"type": "string", "enum": store.TicketStatuses()}, "customer_number": str,
			"assignee_id": id(), "assignee": map[string]any{"type": "string", "description": "username; empty: nobody"}, "assignee_name": str,
			"team": str, "call_id": id(), "chat_id": id(), "created_by_id": id(), "created_by": str,
			"created_at": ts("when created"), "updated_at": ts("last change or comment"), "due_at": ts("created_at + the tenant's SLA for the priority"),
			"resolved_at": ts("when resolved (kept when closed, cleared on reopen)"), "overdue": map[string]any{"type": "boolean", "description": "new, open or pending past due_at"},
		}),
		"TicketComment": objectOf(map[string]any{
			"id": apiType("integer"), "ticket_id": str, "author_id": id(), "author": str, "author_name": str,
			"body": str, "internal": apiType("boolean"), "created_at": ts(""),
		}),
		"TicketEvent": objectOf(map[string]any{
			"id": apiType("integer"), "actor_id": id(), "actor": str, "at": ts(""),
			"action": map[string]any{"type": "string", "enum": []string{store.TicketActionCreate, store.TicketActionUpdate, store.TicketActionComment}},
			"field":  str, "old": str, "new": str,
		}),
	}
}

// withTicketSchemas adds the ticket schemas to the document's components.
func withTicketSchemas(c map[string]any) map[string]any {
	schemas := c["schemas"].(map[string]any)
	for k, v := range openAPITicketSchemas() {
		schemas[k] = v
	}
	return c
}

func ticketIDParam() map[string]any {
	return map[string]any{"name": "id", "in": "path", "required": true, "description": "the ticket's UUID or its ref (T-1001)",
		"schema": map[string]any{"type": "string"}}
}

func ticketRef(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func openAPITickets() map[string]any {
	q := func(name, desc string, schema map[string]any) map[string]any {
		return map[string]any{"name": name, "in": "query", "description": desc, "schema": schema}
	}
	return map[string]any{
		"post": secured(map[string]any{
			"summary": "Create a ticket in the caller's tenant (any role); due_at comes from the tenant's SLA for the priority",
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
				"type": "object", "required": []string{"subject"}, "additionalProperties": false,
				"properties": map[string]any{
					"subject":         map[string]any{"type": "string", "minLength": 1, "maxLength": store.MaxTicketSubject},
					"description":     map[string]any{"type": "string", "maxLength": store.MaxTicketDescription},
					"category":        map[string]any{"type": "string", "maxLength": store.MaxTicketCategory},
					"priority":        map[string]any{"type": "string", "enum": store.TicketPriorities(), "default": store.TicketNormal},
					"customer_number": map[string]any{"type": "string", "maxLength": store.MaxTicketCustomer},
					"assignee":        map[string]any{"type": "string", "description": "username or user id of the tenant"},
					"team":            map[string]any{"type": "string", "maxLength": store.MaxTicketTeam},
					"call_id":         map[string]any{"type": "string", "format": "uuid", "description": "the call the ticket is about"},
					"chat_id":         map[string]any{"type": "string", "format": "uuid", "description": "the web chat the ticket is about (a chat of the caller's tenant)"},
				},
			}}}},
			"responses": map[string]any{
				"201": okJSON("created", objectOf(map[string]any{"ticket": ticketRef("Ticket")})),
				"400": errorResponse("malformed JSON, empty or too long subject, description over 10,000 characters, unknown priority or assignee, malformed call_id or chat_id, no such chat"),
			},
		}),
		"get": secured(map[string]any{
			"summary": "The caller's tenant's tickets, most recently changed first (any role)",
			"parameters": []any{
				q("status", "comma-separated statuses; active = new,open,pending", apiType("string")),
				q("assignee", "username or user id, me, or none", apiType("string")),
				q("mine", "true: assigned to me", apiType("boolean")),
				q("priority", "", map[string]any{"type": "string", "enum": store.TicketPriorities()}),
				q("q", "text in the subject or description, or a ref (T-1001)", map[string]any{"type": "string", "maxLength": 200}),
				q("customer", "part of the customer's number", apiType("string")),
				q("team", "", apiType("string")),
				q("call", "tickets of this call", map[string]any{"type": "string", "format": "uuid"}),
				q("chat", "tickets of this chat", map[string]any{"type": "string", "format": "uuid"}),
				q("overdue", "true: new, open or pending past their due time", apiType("boolean")),
				q("sort", "updated (default) or due", map[string]any{"type": "string", "enum": []string{"updated", "due"}}),
				q("limit", "", map[string]any{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
				q("offset", "", map[string]any{"type": "integer", "minimum": 0, "default": 0}),
			},
			"responses": map[string]any{
				"200": okJSON("a page of tickets", objectOf(map[string]any{
					"tickets": map[string]any{"type": "array", "items": ticketRef("Ticket")},
					"total":   map[string]any{"type": "integer", "description": "matching tickets in all"},
					"limit":   apiType("integer"), "offset": apiType("integer"),
				})),
				"400": errorResponse("bad filter value"),
			},
		}),
	}
}

func openAPITicket() map[string]any {
	return map[string]any{
		"get": secured(map[string]any{
			"summary":    "One ticket with its comments, audit trail and linked call (and its recording, when there is one) or chat",
			"parameters": []any{ticketIDParam()},
			"responses": map[string]any{
				"200": okJSON("the ticket", objectOf(map[string]any{
					"ticket":   ticketRef("Ticket"),
					"comments": map[string]any{"type": "array", "items": ticketRef("TicketComment")},
					"events":   map[string]any{"type": "array", "items": ticketRef("TicketEvent")},
					"call": map[string]any{"type": []string{"object", "null"}, "properties": map[string]any{
						"id": apiType("string"), "from_number": apiType("string"), "to_number": apiType("string"),
						"started_at": apiType("string"), "answered_at": apiType("string"), "ended_at": apiType("string"),
						"duration_ms": apiType("integer"), "hangup_cause": apiType("string")}},
					"recording": map[string]any{"type": []string{"object", "null"}, "properties": map[string]any{
						"url": apiType("string"), "meta_url": apiType("string"), "status": apiType("string"), "duration_ms": apiType("integer")}},
					"chat": map[string]any{"type": []string{"object", "null"}, "description": "the linked chat; url is its transcript", "properties": map[string]any{
						"id": apiType("string"), "url": apiType("string"), "channel": apiType("string"), "visitor": apiType("string"),
						"messages": apiType("integer"), "started_at": apiType("string"), "ended_at": apiType("string")}},
					"permissions": objectOf(map[string]any{"change": apiType("boolean"), "reopen": apiType("boolean")}),
				})),
				"404": errorResponse("no such ticket in the caller's tenant"),
			},
		}),
		"patch": secured(map[string]any{
			"summary": "Change a ticket: agents those assigned to them or to nobody, supervisors and admins any. " +
				"Status life cycle: new → open, pending, resolved, closed; open ↔ pending; open/pending → resolved, closed; resolved → open, closed; closed → open (supervisors). " +
				"Every changed field writes an audit row.",
			"parameters": []any{ticketIDParam()},
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
				"type": "object", "additionalProperties": false, "minProperties": 1,
				"properties": map[string]any{
					"subject": map[string]any{"type": "string", "minLength": 1, "maxLength": store.MaxTicketSubject}, "description": apiType("string"),
					"category": apiType("string"), "priority": map[string]any{"type": "string", "enum": store.TicketPriorities()},
					"status": map[string]any{"type": "string", "enum": store.TicketStatuses()}, "customer_number": apiType("string"),
					"team": apiType("string"), "assignee": map[string]any{"type": "string", "description": "username or user id; empty: nobody"},
				},
			}}}},
			"responses": map[string]any{
				"200": okJSON("the changed ticket", objectOf(map[string]any{"ticket": ticketRef("Ticket")})),
				"400": errorResponse("bad value, nothing to change, or a transition the life cycle does not allow"),
				"403": errorResponse("an agent changing a colleague's ticket, or reopening a closed one"),
				"404": errorResponse("no such ticket in the caller's tenant"),
			},
		}),
	}
}

func openAPITicketComments() map[string]any {
	return map[string]any{"post": secured(map[string]any{
		"summary":    "Comment on a ticket (same rule as changing it); internal comments are staff notes",
		"parameters": []any{ticketIDParam()},
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
			"type": "object", "required": []string{"body"}, "additionalProperties": false,
			"properties": map[string]any{"body": map[string]any{"type": "string", "minLength": 1, "maxLength": store.MaxTicketComment}, "internal": apiType("boolean")},
		}}}},
		"responses": map[string]any{
			"201": okJSON("the comment", objectOf(map[string]any{"comment": ticketRef("TicketComment")})),
			"400": errorResponse("empty or too long body"),
			"403": errorResponse("an agent commenting on a colleague's ticket"),
			"404": errorResponse("no such ticket in the caller's tenant"),
		},
	})}
}

func openAPITicketSLA() map[string]any {
	sla := objectOf(map[string]any{"due_minutes": map[string]any{"type": "object", "additionalProperties": apiType("integer"),
		"description": "minutes from creation to due, per priority (defaults: urgent 240, high 480, normal 1440, low 4320)"}})
	return map[string]any{
		"get": secured(map[string]any{
			"summary":   "The tenant's ticket SLA",
			"responses": map[string]any{"200": okJSON("the SLA", sla)},
		}),
		"put": secured(map[string]any{
			"summary":     "Set the tenant's ticket SLA for some priorities (admin); applies to tickets created or re-prioritised afterwards",
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": sla}}},
			"responses": map[string]any{
				"200": okJSON("the SLA", sla),
				"400": errorResponse("unknown priority or minutes out of range"),
				"403": errorResponse("role below admin"),
			},
		}),
	}
}
