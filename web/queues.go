package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"hotline/acd"
	"hotline/auth"
	"hotline/store"
)

// CallStore is what the call routes read; *store.Store implements it.
// Every method takes the tenant, so a handler cannot forget it.
type CallStore interface {
	ListCalls(ctx context.Context, tenantID string, limit int) ([]store.CallRecord, error)
	GetCall(ctx context.Context, tenantID string, id uuid.UUID) (*store.CallRecord, error)
	CallEvents(ctx context.Context, tenantID string, callID uuid.UUID) ([]store.Event, error)
	QueueEntries(ctx context.Context, tenantID string, callID uuid.UUID) ([]store.QueueEntry, error)
	Dispositions(ctx context.Context, tenantID string, callID uuid.UUID) ([]store.Disposition, error)
}

// agentRoutes registers the agent desk and the live ACD and call views.
func (s *Server) agentRoutes(mux *http.ServeMux) {
	agent := auth.RequireRole(auth.RoleAgent)
	super := auth.RequireRole(auth.RoleSupervisor)
	mux.Handle("GET /api/v1/agent/ws", agent(http.HandlerFunc(s.agentWS)))
	mux.Handle("GET /api/v1/queues", agent(http.HandlerFunc(s.listQueues)))
	mux.Handle("GET /api/v1/agents", agent(http.HandlerFunc(s.listAgents)))
	mux.Handle("GET /api/v1/wallboard", super(http.HandlerFunc(s.wallboard)))
	mux.Handle("GET /api/v1/wallboard/ws", super(http.HandlerFunc(s.wallboardWS)))
	mux.Handle("GET /api/v1/calls", super(http.HandlerFunc(s.listCalls)))
	mux.Handle("GET /api/v1/calls/{id}", super(http.HandlerFunc(s.getCall)))
}

type queueView struct {
	Name          string         `json:"name"`
	Waiting       int            `json:"waiting"`
	Ringing       int            `json:"ringing"`
	LongestWaitMs int64          `json:"longest_wait_ms"`
	Agents        map[string]int `json:"agents"`
	Answered      int            `json:"answered_today"`
	Abandoned     int            `json:"abandoned_today"`
	Missed        int            `json:"missed_today"`
	AHTMs         int64          `json:"aht_ms"`
	EWTMs         int64          `json:"ewt_ms"` // -1: unknown
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	out := []queueView{}
	if s.ACD != nil {
		if rt := s.ACD.ACD(p.TenantID); rt != nil {
			stats, err := rt.QueueStats(r.Context())
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			for _, q := range stats {
				ewt := q.EWT.Milliseconds()
				if q.EWT < 0 {
					ewt = -1
				}
				out = append(out, queueView{
					Name: q.Queue, Waiting: q.Waiting, Ringing: q.Ringing, LongestWaitMs: q.LongestWait.Milliseconds(),
					Agents: map[string]int{
						"offline": q.Agents.Offline, "available": q.Agents.Available, "ringing": q.Agents.Ringing,
						"on_call": q.Agents.OnCall, "wrap_up": q.Agents.WrapUp, "break": q.Agents.Break, "missed": q.Agents.Missed,
					},
					Answered: q.Answered, Abandoned: q.Abandoned, Missed: q.Missed, AHTMs: q.AHT.Milliseconds(), EWTMs: ewt,
				})
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"queues": out})
}

// agentView: agents see their colleagues' names and states; the details
// (reason, current call, counts) are for supervisors.
type agentView struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	State       string     `json:"state"`
	Reason      string     `json:"reason,omitempty"`
	Since       *time.Time `json:"since,omitempty"`
	Call        string     `json:"call,omitempty"`
	Queue       string     `json:"queue,omitempty"`
	CallsToday  *int       `json:"calls_today,omitempty"`
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if s.Auth == nil {
		writeError(w, http.StatusServiceUnavailable, "authentication is not configured on this server")
		return
	}
	users, err := s.Auth.ListUsers(r.Context(), p.TenantID)
	if err != nil {
		s.authFailed(w, r, err)
		return
	}
	views := map[string]acd.AgentView{}
	if s.ACD != nil {
		if rt := s.ACD.ACD(p.TenantID); rt != nil {
			vs, err := rt.Agents(r.Context())
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			for _, v := range vs {
				views[string(v.Agent)] = v
			}
		}
	}
	detail := p.Has(auth.RoleSupervisor)
	out := []agentView{}
	for _, u := range users {
		if u.Disabled {
			continue
		}
		av := agentView{ID: u.ID.String(), Username: u.Username, DisplayName: u.DisplayName, State: acd.StateOffline.String()}
		if v, ok := views[av.ID]; ok {
			av.State = v.State.String()
			if detail {
				since := v.Since.UTC()
				n := v.CallsToday
				av.Reason, av.Since, av.Call, av.Queue, av.CallsToday = v.Reason, &since, string(v.Call), v.Queue, &n
			}
		}
		out = append(out, av)
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if s.Calls == nil {
		writeError(w, http.StatusServiceUnavailable, "call records are not available on this server")
		return
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "limit must be a positive integer (at most 1000)")
			return
		}
		limit = n
	}
	calls, err := s.Calls.ListCalls(r.Context(), p.TenantID, limit)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if calls == nil {
		calls = []store.CallRecord{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls})
}

type eventView struct {
	Seq  int               `json:"seq"`
	At   time.Time         `json:"at"`
	Kind string            `json:"kind"`
	Step string            `json:"step,omitempty"`
	Data map[string]string `json:"data,omitempty"`
}

type entryView struct {
	Queue      string     `json:"queue"`
	EnteredAt  time.Time  `json:"entered_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	Agent      string     `json:"agent,omitempty"`
	LeftAt     *time.Time `json:"left_at,omitempty"`
	Outcome    string     `json:"outcome,omitempty"`
	WaitMs     int64      `json:"wait_ms"`
}

type dispositionView struct {
	Agent string    `json:"agent"`
	Code  string    `json:"code"`
	Note  string    `json:"note,omitempty"`
	At    time.Time `json:"at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if s.Calls == nil {
		writeError(w, http.StatusServiceUnavailable, "call records are not available on this server")
		return
	}
	// Another tenant's call and no call at all look the same: 404.
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "no such call")
		return
	}
	c, err := s.Calls.GetCall(r.Context(), p.TenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such call")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	evs, err := s.Calls.CallEvents(r.Context(), p.TenantID, id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	entries, err := s.Calls.QueueEntries(r.Context(), p.TenantID, id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	disps, err := s.Calls.Dispositions(r.Context(), p.TenantID, id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	ev := make([]eventView, len(evs))
	for i, e := range evs {
		ev[i] = eventView{Seq: e.Seq, At: e.At.UTC(), Kind: e.Kind, Step: e.Step, Data: e.Data}
	}
	qe := make([]entryView, len(entries))
	for i, e := range entries {
		qe[i] = entryView{Queue: e.Queue, EnteredAt: e.EnteredAt.UTC(), AnsweredAt: timePtr(e.AnsweredAt), Agent: e.AgentID,
			LeftAt: timePtr(e.LeftAt), Outcome: e.Outcome, WaitMs: e.Wait.Milliseconds()}
	}
	dv := make([]dispositionView, len(disps))
	for i, d := range disps {
		dv[i] = dispositionView{Agent: d.UserID, Code: d.Code, Note: d.Note, At: d.At.UTC()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"call": c, "events": ev, "queue_entries": qe, "dispositions": dv})
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if s.Logger != nil {
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeError(w, http.StatusInternalServerError, "internal error")
}

// OpenAPI descriptions of the routes above.

func objectOf(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props}
}

func okJSON(desc string, schema map[string]any) map[string]any {
	return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
}

func apiType(t string) map[string]any { return map[string]any{"type": t} }

func openAPIAgentWS() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary":     "The agent desk WebSocket (agent or higher); messages in docs/agent-protocol.md",
		"description": "Upgrade with the session cookie and our Origin, or a bearer token. The first message is hello.",
		"responses": map[string]any{
			"101": map[string]any{"description": "switched to the WebSocket protocol"},
			"403": errorResponse("cross-origin handshake"),
			"409": errorResponse("the tenant has no queues"),
		},
	})}
}

func openAPIQueues() map[string]any {
	q := objectOf(map[string]any{
		"name": apiType("string"), "waiting": apiType("integer"), "ringing": apiType("integer"), "longest_wait_ms": apiType("integer"),
		"agents":         map[string]any{"type": "object", "additionalProperties": apiType("integer"), "description": "agents serving the queue, by state"},
		"answered_today": apiType("integer"), "abandoned_today": apiType("integer"), "missed_today": apiType("integer"), "aht_ms": apiType("integer"),
		"ewt_ms": map[string]any{"type": "integer", "description": "estimated wait for a new caller; -1 unknown"},
	})
	return map[string]any{"get": secured(map[string]any{
		"summary":   "The caller's tenant's queues with live figures",
		"responses": map[string]any{"200": okJSON("queues in configuration order", objectOf(map[string]any{"queues": map[string]any{"type": "array", "items": q}}))},
	})}
}

func openAPIAgents() map[string]any {
	a := objectOf(map[string]any{
		"id": apiType("string"), "username": apiType("string"), "display_name": apiType("string"),
		"state":  map[string]any{"type": "string", "enum": []string{"offline", "available", "ringing", "on_call", "wrap_up", "break", "missed"}},
		"reason": apiType("string"), "since": map[string]any{"type": "string", "format": "date-time"}, "call": apiType("string"), "queue": apiType("string"), "calls_today": apiType("integer"),
	})
	return map[string]any{"get": secured(map[string]any{
		"summary":   "The tenant's users with their agent state; reason, since, call, queue and calls_today for supervisors only",
		"responses": map[string]any{"200": okJSON("users by username", objectOf(map[string]any{"agents": map[string]any{"type": "array", "items": a}}))},
	})}
}

func openAPICalls() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary":    "The tenant's most recent calls, newest first (supervisor or admin)",
		"parameters": []any{map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}},
		"responses": map[string]any{
			"200": okJSON("call records", objectOf(map[string]any{"calls": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}})),
			"400": errorResponse("bad limit"),
			"403": errorResponse("role below supervisor"),
		},
	})}
}

func openAPICall() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary":    "One call of the tenant with its timeline, queue entries and dispositions (supervisor or admin)",
		"parameters": []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string", "format": "uuid"}}},
		"responses": map[string]any{
			"200": okJSON("the call", objectOf(map[string]any{
				"call": map[string]any{"type": "object"}, "events": map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
				"queue_entries": map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
				"dispositions":  map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
			})),
			"403": errorResponse("role below supervisor"),
			"404": errorResponse("no such call in the caller's tenant"),
		},
	})}
}
