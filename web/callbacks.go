package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"hotline/auth"
	"hotline/queue"
	"hotline/store"
)

// CallbackStore reads and finishes callbacks (docs/callbacks.md);
// *store.Store implements it and is found on Server.Calls.
type CallbackStore interface {
	ListCallbacks(ctx context.Context, tenantID string, f store.CallbackFilter) ([]store.Callback, error)
	GetCallback(ctx context.Context, tenantID string, id uuid.UUID) (*store.Callback, error)
	FinishCallback(ctx context.Context, id uuid.UUID, disposition string, at time.Time) (bool, error)
}

// errNoCallback answers every callback id the caller's tenant does not
// have: missing, malformed or another tenant's look the same.
const errNoCallback = "no such callback"

func (s *Server) callbackRoutes(mux *http.ServeMux) {
	agent := auth.RequireRole(auth.RoleAgent)
	supervisor := auth.RequireRole(auth.RoleSupervisor)
	mux.Handle("GET /api/v1/callbacks", agent(http.HandlerFunc(s.listCallbacks)))
	mux.Handle("DELETE /api/v1/callbacks/{id}", supervisor(http.HandlerFunc(s.cancelCallback)))
}

func (s *Server) callbacks(w http.ResponseWriter) CallbackStore {
	cs, _ := s.Calls.(CallbackStore)
	if cs == nil {
		writeError(w, http.StatusServiceUnavailable, "callbacks are not available on this server")
	}
	return cs
}

// listCallbacks: supervisors see the tenant's callbacks, agents those they
// took. ?open=true keeps the unfinished.
func (s *Server) listCallbacks(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	cs := s.callbacks(w)
	if cs == nil {
		return
	}
	f := store.CallbackFilter{}
	switch r.URL.Query().Get("open") {
	case "", "false":
	case "true":
		f.Open = true
	default:
		writeError(w, http.StatusBadRequest, "open: want true or false")
		return
	}
	if !p.Has(auth.RoleSupervisor) {
		f.Agent = p.UserID
	}
	list, err := cs.ListCallbacks(r.Context(), p.TenantID, f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if list == nil {
		list = []store.Callback{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"callbacks": list})
}

// cancelCallback takes a waiting callback out of line and records it
// cancelled; one already finished answers 409.
func (s *Server) cancelCallback(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	cs := s.callbacks(w)
	if cs == nil {
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, errNoCallback)
		return
	}
	cb, err := cs.GetCallback(r.Context(), p.TenantID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, errNoCallback)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	case cb.FinishedAt != nil:
		writeError(w, http.StatusConflict, "the callback is already over ("+cb.Disposition+")")
		return
	}
	if s.ACD != nil {
		if rt := s.ACD.ACD(p.TenantID); rt != nil {
			err := rt.CancelCallback(r.Context(), id)
			switch {
			case err == nil:
				// The runtime records it too, later: the first write wins,
				// and this one makes the answer hold for the next request.
				if _, err := cs.FinishCallback(r.Context(), id, store.DispositionCancelled, time.Now()); err != nil {
					s.serverError(w, r, err)
					return
				}
				writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": store.CallbackCancelled})
				return
			case !errors.Is(err, queue.ErrUnknownCall):
				writeError(w, http.StatusConflict, err.Error())
				return
			}
		}
	}
	// Not in line (the server restarted and did not restore it): the
	// record alone is closed.
	done, err := cs.FinishCallback(r.Context(), id, store.DispositionCancelled, time.Now())
	switch {
	case err != nil:
		s.serverError(w, r, err)
	case !done:
		writeError(w, http.StatusConflict, "the callback is already over")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": store.CallbackCancelled})
	}
}

func openAPICallbacks() map[string]any {
	item := objectOf(map[string]any{
		"id": apiType("string"), "call_id": apiType("string"), "queue": apiType("string"), "number": apiType("string"),
		"requested_at": apiType("string"), "status": map[string]any{"type": "string", "enum": []string{
			store.CallbackWaiting, store.CallbackDialling, store.CallbackCompleted, store.CallbackFailed, store.CallbackCancelled}},
		"attempts": apiType("integer"), "next_try_at": apiType("string"), "agent_id": apiType("string"),
		"result_call_id": apiType("string"), "disposition": apiType("string"), "finished_at": apiType("string"),
	})
	return map[string]any{"get": secured(map[string]any{
		"summary": "Callbacks callers asked for from a queue, newest first: supervisors see the tenant's, agents those they took",
		"parameters": []any{map[string]any{"name": "open", "in": "query", "schema": map[string]any{"type": "boolean"},
			"description": "only callbacks not finished yet"}},
		"responses": map[string]any{
			"200": okJSON("the callbacks", objectOf(map[string]any{"callbacks": map[string]any{"type": "array", "items": item}})),
			"400": errorResponse("bad query parameter"),
		},
	})}
}

func openAPICallback() map[string]any {
	return map[string]any{"delete": secured(map[string]any{
		"summary":    "Cancel a waiting callback (supervisor): it leaves the line and is recorded cancelled",
		"parameters": []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": apiType("string")}},
		"responses": map[string]any{
			"200": okJSON("cancelled", objectOf(map[string]any{"id": apiType("string"), "status": apiType("string")})),
			"403": errorResponse("not a supervisor"),
			"404": errorResponse("no such callback in the caller's tenant"),
			"409": errorResponse("the callback is over, or an agent is calling now"),
		},
	})}
}
