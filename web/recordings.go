package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"hotline/auth"
	"hotline/store"
)

// Recordings is what the recording routes need; *recordings.Manager
// implements it. Every lookup takes the tenant, so a handler cannot forget
// it.
type Recordings interface {
	// RecordingInfo is store.ErrNotFound for no recording and for another
	// tenant's.
	RecordingInfo(ctx context.Context, tenantID string, callID uuid.UUID) (*store.Recording, error)
	// OpenRecording returns the recording as a WAV stream (decrypted on
	// the fly when encrypted at rest).
	OpenRecording(ctx context.Context, rec *store.Recording) (io.ReadSeekCloser, error)
	AuditRecordingAccess(ctx context.Context, a store.RecordingAccess) error
}

// recordingRoutes registers playback. Any logged-in role reaches the
// handlers, which decide per recording: a supervisor or admin of the
// tenant, or an agent who was on the call. The decision needs the
// recording's agents, so it cannot be a route-level role check.
func (s *Server) recordingRoutes(mux *http.ServeMux) {
	agent := auth.RequireRole(auth.RoleAgent)
	mux.Handle("GET /api/v1/calls/{id}/recording", agent(http.HandlerFunc(s.playRecording)))
	mux.Handle("GET /api/v1/calls/{id}/recording/meta", agent(http.HandlerFunc(s.recordingMeta)))
}

// authorizeRecording finds the recording and decides, writing the audit
// row either way. It writes the refusal itself and returns nil then.
// Another tenant's recording and a missing one get the same 404, and the
// audit row stays in the requester's tenant, so neither the answer nor
// the trail reveals that the other tenant's call exists.
//
// An allowed access is audited before a byte is served: if the audit
// cannot be written, the recording is not served (fail closed).
func (s *Server) authorizeRecording(w http.ResponseWriter, r *http.Request, action string) (*store.Recording, store.RecordingAccess) {
	p, _ := auth.FromContext(r.Context())
	a := store.RecordingAccess{TenantID: p.TenantID, Username: p.Username, Role: p.Role,
		Range: r.Header.Get("Range"), RemoteAddr: auth.ClientOf(r).IP}
	if s.Recordings == nil {
		writeError(w, http.StatusServiceUnavailable, "recordings are not available on this server")
		return nil, a
	}
	if uid, err := uuid.Parse(p.UserID); err == nil {
		a.UserID = &uid
	}
	deny := func(code int, reason, msg string) {
		a.Action, a.StatusCode, a.Reason = store.AccessDenied, code, reason
		if err := s.Recordings.AuditRecordingAccess(r.Context(), a); err != nil {
			s.logAuditFailure(r, err)
		}
		writeError(w, code, msg)
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		deny(http.StatusNotFound, "malformed call id", "no such recording")
		return nil, a
	}
	a.CallID = &id
	rec, err := s.Recordings.RecordingInfo(r.Context(), p.TenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		deny(http.StatusNotFound, "no recording of this call in the tenant", "no such recording")
		return nil, a
	}
	if err != nil {
		s.serverError(w, r, err)
		return nil, a
	}
	a.RecordingID = &rec.ID
	if !p.Has(auth.RoleSupervisor) && !slices.Contains(rec.AgentIDs, p.UserID) {
		deny(http.StatusForbidden, "agent was not on the call", "only supervisors and the agents on the call may access its recording")
		return nil, a
	}
	if action != store.AccessMeta {
		switch rec.Status {
		case store.RecordingDeleted:
			deny(http.StatusGone, "deleted by retention", "the recording was deleted by the retention policy")
			return nil, a
		case store.RecordingActive:
			deny(http.StatusConflict, "still recording", "the call is still being recorded")
			return nil, a
		}
	}
	a.Action, a.StatusCode = action, http.StatusOK
	if err := s.Recordings.AuditRecordingAccess(r.Context(), a); err != nil {
		s.logAuditFailure(r, err)
		writeError(w, http.StatusServiceUnavailable, "access cannot be audited right now; try again")
		return nil, a
	}
	return rec, a
}

func (s *Server) logAuditFailure(r *http.Request, err error) {
	if s.Logger != nil {
		s.Logger.Error("recording access audit failed", "path", r.URL.Path, "error", err)
	}
}

func (s *Server) recordingMeta(w http.ResponseWriter, r *http.Request) {
	rec, _ := s.authorizeRecording(w, r, store.AccessMeta)
	if rec == nil {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"recording": rec})
}

// playRecording serves the WAV with range requests (seeking in a player,
// resumed downloads) through http.ServeContent; for an encrypted
// recording the ReadSeeker decrypts only the chunks a range touches.
func (s *Server) playRecording(w http.ResponseWriter, r *http.Request) {
	download := r.URL.Query().Get("download") == "1"
	action := store.AccessPlay
	if download {
		action = store.AccessDownload
	}
	rec, _ := s.authorizeRecording(w, r, action)
	if rec == nil {
		return
	}
	rs, err := s.Recordings.OpenRecording(r.Context(), rec)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	defer rs.Close()
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	// Call audio is personal data: no shared cache may keep it.
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if download {
		h.Set("Content-Disposition", `attachment; filename="call-`+rec.CallID.String()+`.wav"`)
	}
	http.ServeContent(w, r, "", rec.UpdatedAt, rs)
}

// OpenAPI descriptions of the routes above.

func openAPIRecording() map[string]any {
	return map[string]any{"get": map[string]any{
		"summary": "A call's recording as audio/wav (stereo: caller left, agent right). Range requests are answered (206). " +
			"Supervisors and admins of the tenant, and the agents on the call; every attempt is audited.",
		"parameters": []any{
			map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string", "format": "uuid"}},
			map[string]any{"name": "download", "in": "query", "schema": map[string]any{"type": "string", "enum": []any{"1"}},
				"description": "1: send Content-Disposition: attachment (audited as a download)"},
			map[string]any{"name": "Range", "in": "header", "schema": map[string]any{"type": "string"}},
		},
		"responses": map[string]any{
			"200": map[string]any{"description": "the whole WAV", "content": map[string]any{"audio/wav": map[string]any{}}},
			"206": map[string]any{"description": "the requested range", "content": map[string]any{"audio/wav": map[string]any{}}},
			"403": map[string]any{"description": "an agent who was not on the call"},
			"404": map[string]any{"description": "no recording of this call in your tenant"},
			"409": map[string]any{"description": "the call is still being recorded"},
			"410": map[string]any{"description": "deleted by the retention policy"},
			"503": map[string]any{"description": "recordings not configured, or the access could not be audited"},
		},
	}}
}

func openAPIRecordingMeta() map[string]any {
	return map[string]any{"get": map[string]any{
		"summary": "A call's recording metadata (duration, size, SHA-256 of the audio, paused spans, status); audited like playback.",
		"parameters": []any{
			map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string", "format": "uuid"}},
		},
		"responses": map[string]any{
			"200": okJSON("the recording", objectOf(map[string]any{"recording": objectOf(map[string]any{
				"id": map[string]any{"type": "string"}, "call_id": map[string]any{"type": "string"},
				"agent_ids":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
				"started_at": map[string]any{"type": "string", "format": "date-time"}, "duration_ms": map[string]any{"type": "integer"},
				"size_bytes": map[string]any{"type": "integer"}, "sha256": map[string]any{"type": "string"},
				"encrypted": map[string]any{"type": "boolean"}, "key_id": map[string]any{"type": "string"},
				"paused_spans": map[string]any{"type": "array", "items": objectOf(map[string]any{
					"start_ms": map[string]any{"type": "integer"}, "end_ms": map[string]any{"type": "integer"}})},
				"dropped_frames": map[string]any{"type": "integer"},
				"status":         map[string]any{"type": "string", "enum": []any{"recording", "complete", "incomplete", "deleted"}},
			})})),
			"403": map[string]any{"description": "an agent who was not on the call"},
			"404": map[string]any{"description": "no recording of this call in your tenant"},
		},
	}}
}
