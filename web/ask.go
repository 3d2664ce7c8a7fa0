package web

import (
	"context"
	"net/http"
	"time"

	"hotline/auth"
	"hotline/store"
)

// AskStore reads the IVR ask steps' outcomes (docs/answers.md);
// *store.Store implements it, found on Calls like the reports' stores.
type AskStore interface {
	zoneStore
	AskReport(ctx context.Context, tenantID string, from, to time.Time) (*store.AskReport, error)
}

// askRoutes registers the robot's containment report, for supervisors.
func (s *Server) askRoutes(mux *http.ServeMux) {
	super := auth.RequireRole(auth.RoleSupervisor)
	mux.Handle("GET /api/v1/reports/ask", super(http.HandlerFunc(s.askReport)))
}

func (s *Server) askReport(w http.ResponseWriter, r *http.Request) {
	yearReport(s, w, r, "reports are not available on this server",
		func(ctx context.Context, st AskStore, tenant string, from, to time.Time) (any, error) {
			return st.AskReport(ctx, tenant, from, to)
		})
}

func openAPIAskReport() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary": "The IVR ask steps' containment: calls with an ask step, those whose every question the robot " +
			"answered and that never reached an agent (contained), and per intent the questions asked, answered, " +
			"queued (handed to an agent), hung up on, and succeeded (answered in a call that never reached an agent). " +
			"Questions that matched no intent are under intent \"\". Supervisors.",
		"parameters": []any{
			map[string]any{"name": "from", "in": "query", "required": true, "schema": apiType("string"), "description": "RFC 3339 time or YYYY-MM-DD (tenant's zone)"},
			map[string]any{"name": "to", "in": "query", "schema": apiType("string"), "description": "default: the end of from's day"},
		},
		"responses": map[string]any{
			"200": okJSON("containment and per-intent figures", objectOf(map[string]any{
				"from": apiType("string"), "to": apiType("string"),
				"calls": apiType("integer"), "contained": apiType("integer"), "containment": apiType("number"),
				"intents": map[string]any{"type": "array", "items": objectOf(map[string]any{
					"intent": apiType("string"), "asked": apiType("integer"), "answered": apiType("integer"),
					"queued": apiType("integer"), "hangups": apiType("integer"), "succeeded": apiType("integer"),
					"success_rate": apiType("number"),
				})},
			})),
			"400": errorResponse("a bad from/to"),
		},
	})}
}
