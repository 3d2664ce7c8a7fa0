package web

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"hotline/auth"
	"hotline/store"
)

// AssistStore reads what agent assist left on calls (docs/assist.md):
// checklists and after-call summaries. *store.Store implements it, found
// on Calls like the reports' stores.
type AssistStore interface {
	zoneStore
	CallChecklist(ctx context.Context, tenantID string, callID uuid.UUID) ([]store.ChecklistStep, error)
	GetSummary(ctx context.Context, tenantID string, callID uuid.UUID) (*store.CallSummary, error)
	ChecklistRates(ctx context.Context, tenantID string, from, to time.Time) ([]store.ChecklistRate, error)
}

// assistRoutes registers a call's assist record and the checklist report,
// for supervisors.
func (s *Server) assistRoutes(mux *http.ServeMux) {
	super := auth.RequireRole(auth.RoleSupervisor)
	mux.Handle("GET /api/v1/calls/{id}/assist", super(http.HandlerFunc(s.callAssist)))
	mux.Handle("GET /api/v1/reports/checklists", super(http.HandlerFunc(s.checklistReport)))
}

const assistUnavailable = "agent assist records are not available on this server"

type checklistStepView struct {
	Checklist string    `json:"checklist"`
	Step      string    `json:"step"`
	Done      bool      `json:"done"`
	By        string    `json:"by"`
	AgentID   string    `json:"agent_id"`
	Evidence  string    `json:"evidence"`
	At        time.Time `json:"at"`
}

func (s *Server) callAssist(w http.ResponseWriter, r *http.Request) {
	st, tenant, _, ok := tenantStore[AssistStore](s, w, r, assistUnavailable)
	if !ok {
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "call id "+quoteTrunc(r.PathValue("id"))+" is not a UUID")
		return
	}
	sum, err := st.GetSummary(r.Context(), tenant, id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	steps, err := st.CallChecklist(r.Context(), tenant, id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if sum == nil && len(steps) == 0 {
		writeError(w, http.StatusNotFound, "no assist record of this call")
		return
	}
	views := make([]checklistStepView, len(steps))
	for i, st := range steps {
		views[i] = checklistStepView{Checklist: st.Checklist, Step: st.Step, Done: st.Done, By: st.By, AgentID: st.AgentID,
			Evidence: st.Evidence, At: st.At.UTC()}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, map[string]any{"call": id.String(), "summary": sum, "checklist": views})
}

func (s *Server) checklistReport(w http.ResponseWriter, r *http.Request) {
	yearReport(s, w, r, assistUnavailable,
		func(ctx context.Context, st AssistStore, tenant string, from, to time.Time) (any, error) {
			rates, err := st.ChecklistRates(ctx, tenant, from, to)
			if err != nil {
				return nil, err
			}
			if rates == nil {
				rates = []store.ChecklistRate{}
			}
			return map[string]any{"from": from, "to": to, "steps": rates}, nil
		})
}

func openAPICallAssist() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary": "What agent assist left on a call: the after-call summary (intent, checklist completion, key phrases, " +
			"the agent's disposition) and the checklist's steps with who ticked them and the evidence. Supervisors.",
		"parameters": []any{
			map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string", "format": "uuid"}},
		},
		"responses": map[string]any{
			"200": okJSON("the call's assist record", objectOf(map[string]any{
				"call": apiType("string"), "summary": apiType("object"), "checklist": map[string]any{"type": "array", "items": apiType("object")},
			})),
			"400": errorResponse("the id is not a UUID"),
			"404": errorResponse("no assist record of this call in your tenant"),
		},
	})}
}

func openAPIChecklistReport() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary": "Checklist completion per checklist and step: calls that had the checklist, steps done (auto: by their " +
			"condition, the rest by hand) and the rate. Supervisors.",
		"parameters": []any{
			map[string]any{"name": "from", "in": "query", "required": true, "schema": apiType("string"), "description": "RFC 3339 time or YYYY-MM-DD (tenant's zone)"},
			map[string]any{"name": "to", "in": "query", "schema": apiType("string"), "description": "default: the end of from's day"},
		},
		"responses": map[string]any{
			"200": okJSON("completion rates", objectOf(map[string]any{"steps": map[string]any{"type": "array", "items": objectOf(map[string]any{
				"checklist": apiType("string"), "step": apiType("string"), "position": apiType("integer"), "calls": apiType("integer"),
				"done": apiType("integer"), "auto": apiType("integer"), "rate": apiType("number"),
			})}})),
			"400": errorResponse("a bad from/to"),
		},
	})}
}
