package web

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"hotline/auth"
	"hotline/store"
)

// TranscriptStore reads calls' live transcripts (docs/transcripts.md);
// *store.Store implements it.
type TranscriptStore interface {
	// CallTranscript gives no lines, not an error, for a call without a
	// transcript and for another tenant's call.
	CallTranscript(ctx context.Context, tenantID string, callID uuid.UUID) ([]store.TranscriptLine, error)
}

// transcriptRoutes registers reading a call's transcript. As with
// recordings, any logged-in role reaches the handler, which decides per
// call: a supervisor or admin of the tenant, or an agent who was on it.
func (s *Server) transcriptRoutes(mux *http.ServeMux) {
	agent := auth.RequireRole(auth.RoleAgent)
	mux.Handle("GET /api/v1/calls/{id}/transcript", agent(http.HandlerFunc(s.callTranscript)))
}

// transcriptLineView is one line of the API, named as the lines of the
// sockets' "transcript" messages (assist.Line), so one renderer reads both.
type transcriptLineView struct {
	Side    string    `json:"side"`
	Text    string    `json:"text"`
	StartMS int64     `json:"start_ms"`
	EndMS   int64     `json:"end_ms"`
	At      time.Time `json:"at"`
	AgentID string    `json:"agent_id"`
}

func (s *Server) callTranscript(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if s.Transcripts == nil {
		writeError(w, http.StatusServiceUnavailable, "transcripts are not available on this server")
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "call id "+quoteTrunc(r.PathValue("id"))+" is not a UUID")
		return
	}
	lines, err := s.Transcripts.CallTranscript(r.Context(), p.TenantID, id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// Another tenant's call reads as no lines, so it gets the same 404 as
	// a call without a transcript: the answer does not tell that it exists.
	if len(lines) == 0 {
		writeError(w, http.StatusNotFound, "no transcript of this call")
		return
	}
	// The agents on the call are those any line names: caller lines carry
	// the agent who was listening, so an agent who only listened counts.
	if !p.Has(auth.RoleSupervisor) && !slices.ContainsFunc(lines, func(l store.TranscriptLine) bool { return l.AgentID == p.UserID }) {
		writeError(w, http.StatusForbidden, "only supervisors and the agents on the call may read its transcript")
		return
	}
	out := make([]transcriptLineView, len(lines))
	for i, l := range lines {
		out[i] = transcriptLineView{Side: l.Side, Text: l.Text, StartMS: l.StartMS, EndMS: l.EndMS, At: l.At.UTC(), AgentID: l.AgentID}
	}
	// What was said on a call is personal data: no shared cache may keep it.
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, map[string]any{"call": id.String(), "lines": out})
}

// quoteTrunc quotes a client's value for an error message, cut short so a
// long path does not come back whole.
func quoteTrunc(v string) string {
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return `"` + v + `"`
}

func openAPICallTranscript() map[string]any {
	line := objectOf(map[string]any{
		"side":     map[string]any{"type": "string", "enum": []any{store.SideCaller, store.SideAgent}},
		"text":     apiType("string"),
		"start_ms": map[string]any{"type": "integer", "description": "from the start of the call's transcript (its first answer)"},
		"end_ms":   apiType("integer"),
		"at":       map[string]any{"type": "string", "format": "date-time", "description": "wall clock of the phrase's end"},
		"agent_id": map[string]any{"type": "string", "description": "user id of the agent on the call when the line was said"},
	})
	return map[string]any{"get": secured(map[string]any{
		"summary": "A call's live transcript, caller and agent apart, in the order said (start_ms, then as stored). " +
			"Supervisors and admins of the tenant, and the agents on the call.",
		"parameters": []any{
			map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string", "format": "uuid"}},
		},
		"responses": map[string]any{
			"200": okJSON("the transcript", objectOf(map[string]any{
				"call": map[string]any{"type": "string", "format": "uuid"}, "lines": map[string]any{"type": "array", "items": line},
			})),
			"400": errorResponse("the id is not a UUID"),
			"403": errorResponse("an agent who was not on the call"),
			"404": errorResponse("no transcript of this call in your tenant"),
			"503": errorResponse("transcripts not configured"),
		},
	})}
}
