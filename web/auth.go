package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"hotline/auth"
	"hotline/store"
)

// maxBodyBytes bounds JSON request bodies; nothing this API takes is
// anywhere near it, and an unbounded body would be read into memory.
const maxBodyBytes = 64 << 10

// authRoutes registers login, logout, the caller's own session and user
// management. Role checks sit on each route; the session check is the
// gate's (see sessionGate), so a route added later cannot forget it.
func (s *Server) authRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/login", s.login)
	mux.HandleFunc("POST /api/v1/logout", s.logout)
	mux.HandleFunc("GET /api/v1/me", s.me)
	mux.Handle("GET /api/v1/users", auth.RequireRole(auth.RoleSupervisor)(http.HandlerFunc(s.listUsers)))
	mux.Handle("POST /api/v1/users", auth.RequireRole(auth.RoleAdmin)(http.HandlerFunc(s.createUser)))
}

// publicAPI lists the /api/v1 routes served without a session, by their
// mux pattern: logging in, health, the API description, and the catch-all
// 404 (the list of resources is public in the OpenAPI document anyway).
func publicAPI(pattern string) bool {
	switch pattern {
	case "POST /api/v1/login", "GET /api/v1/status", "GET /api/v1/openapi.json", "/api/v1/":
		return true
	}
	return false
}

// sessionGate requires a session for every /api/v1 route that publicAPI
// does not name, before the route's handler runs, and puts the Principal
// in the request context. Deciding by the matched pattern rather than by
// path prefix means path tricks ("/api/v1/../v1/users", "//api/v1/users")
// are judged by the route they would reach.
func (s *Server) sessionGate(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		path := pattern
		if _, p, ok := strings.Cut(pattern, " "); ok {
			path = p
		}
		if !strings.HasPrefix(path, "/api/v1/") || publicAPI(pattern) {
			mux.ServeHTTP(w, r)
			return
		}
		if s.Auth == nil {
			writeError(w, http.StatusServiceUnavailable, "authentication is not configured on this server")
			return
		}
		s.Auth.Require(mux).ServeHTTP(w, r)
	})
}

// userView is a user as the API shows it: never with a password hash.
type userView struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Role        string     `json:"role"`
	Tenant      string     `json:"tenant"`
	Disabled    bool       `json:"disabled"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
}

func viewUser(u *store.User) userView {
	created := u.CreatedAt
	return userView{
		ID: u.ID.String(), Username: u.Username, DisplayName: u.DisplayName, Role: u.Role,
		Tenant: u.TenantID, Disabled: u.Disabled, CreatedAt: &created, LastLoginAt: u.LastLoginAt,
	}
}

// sessionView answers login and /me.
type sessionView struct {
	User      userView  `json:"user"`
	Role      string    `json:"role"`
	Tenant    string    `json:"tenant"`
	ExpiresAt time.Time `json:"expires_at"`
	// Token is for API clients, which send it as "Authorization: Bearer";
	// only the login response has it.
	Token string `json:"token,omitempty"`
}

func viewSession(sess *auth.Session) sessionView {
	p := sess.Principal
	return sessionView{
		User:   userView{ID: p.UserID, Username: p.Username, DisplayName: sess.DisplayName, Role: p.Role, Tenant: p.TenantID},
		Role:   p.Role,
		Tenant: p.TenantID,
		// UTC so clients in any zone see the same string.
		ExpiresAt: sess.ExpiresAt.UTC(),
		Token:     sess.Token,
	}
}

// decodeJSON reads a request body holding exactly one JSON object into v,
// rejecting unknown fields, and on failure answers 400 (413 for an
// oversized body) with a message saying what is wrong. Unknown fields are
// errors, not ignored, so a client that believes it can choose something
// it cannot (a "tenant" on user creation, say) learns so at once.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			writeError(w, http.StatusBadRequest, "request body must hold a single JSON object")
			return false
		}
		return true
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "request body is empty; want a JSON object")
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit))
	case errors.As(err, &syntax):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, err))
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "malformed JSON: body ends in the middle of a value")
	case errors.As(err, &typ):
		if typ.Field == "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("request body must be a JSON object, not %s", typ.Value))
		} else {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("field %q must be a %s, not %s", typ.Field, typ.Type, typ.Value))
		}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this one.
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "json: ")+" (not accepted here)")
	default:
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
	}
	return false
}

// requireFields answers 400 naming every empty required field.
func requireFields(w http.ResponseWriter, fields ...[2]string) bool {
	var missing []string
	for _, f := range fields {
		if strings.TrimSpace(f[1]) == "" {
			missing = append(missing, f[0])
		}
	}
	if len(missing) > 0 {
		writeError(w, http.StatusBadRequest, "missing required field(s): "+strings.Join(missing, ", "))
		return false
	}
	return true
}

// authFailed answers an error from the auth package, logging server-side
// failures whose details the client does not get.
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	if auth.StatusOf(err) == http.StatusInternalServerError && s.Logger != nil {
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	auth.WriteError(w, err)
}

type loginRequest struct {
	Tenant   string `json:"tenant"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.Auth == nil {
		writeError(w, http.StatusServiceUnavailable, "authentication is not configured on this server")
		return
	}
	// Login CSRF: a foreign page must not log a browser into an account
	// of the attacker's choosing.
	if !auth.SameOrigin(r) {
		s.authFailed(w, r, auth.ErrCrossOrigin)
		return
	}
	var req loginRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if !requireFields(w, [2]string{"tenant", req.Tenant}, [2]string{"username", req.Username}, [2]string{"password", req.Password}) {
		return
	}
	sess, err := s.Auth.Login(r.Context(), req.Tenant, req.Username, req.Password, auth.ClientOf(r))
	if err != nil {
		s.authFailed(w, r, err)
		return
	}
	s.Auth.SetCookie(w, r, sess)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, viewSession(sess))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := auth.SessionFromContext(r.Context())
	if !ok {
		s.authFailed(w, r, auth.ErrNoSession)
		return
	}
	if err := s.Auth.Logout(r.Context(), sess, auth.ClientOf(r)); err != nil {
		s.authFailed(w, r, err)
		return
	}
	s.Auth.ClearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	sess, ok := auth.SessionFromContext(r.Context())
	if !ok {
		s.authFailed(w, r, auth.ErrNoSession)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, viewSession(sess))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		s.authFailed(w, r, auth.ErrNoSession)
		return
	}
	// The tenant is the caller's, whatever the query string says.
	users, err := s.Auth.ListUsers(r.Context(), p.TenantID)
	if err != nil {
		s.authFailed(w, r, err)
		return
	}
	out := make([]userView, len(users))
	for i := range users {
		out[i] = viewUser(&users[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

type createUserRequest struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Password    string `json:"password"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		s.authFailed(w, r, auth.ErrNoSession)
		return
	}
	var req createUserRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if !requireFields(w, [2]string{"username", req.Username}, [2]string{"role", req.Role}, [2]string{"password", req.Password}) {
		return
	}
	nu := auth.NewUser{Username: req.Username, DisplayName: req.DisplayName, Role: req.Role, Password: req.Password}
	if err := auth.ValidateNewUser(nu); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	u, err := s.Auth.CreateUser(r.Context(), p.TenantID, nu)
	if errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, fmt.Sprintf("user %q already exists", store.NormalizeUsername(req.Username)))
		return
	}
	if err != nil {
		s.authFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewUser(u))
}

// OpenAPI descriptions of the routes above, referenced from openAPIDoc.

func openAPIComponents() map[string]any {
	user := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"id":            map[string]any{"type": "string", "format": "uuid"},
			"username":      map[string]any{"type": "string"},
			"display_name":  map[string]any{"type": "string"},
			"role":          map[string]any{"type": "string", "enum": []string{"agent", "supervisor", "admin"}},
			"tenant":        map[string]any{"type": "string"},
			"disabled":      map[string]any{"type": "boolean"},
			"created_at":    map[string]any{"type": "string", "format": "date-time"},
			"last_login_at": map[string]any{"type": "string", "format": "date-time"},
		},
	}
	session := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"user":       map[string]any{"$ref": "#/components/schemas/User"},
			"role":       map[string]any{"type": "string"},
			"tenant":     map[string]any{"type": "string"},
			"expires_at": map[string]any{"type": "string", "format": "date-time", "description": "when the session ends unless used again (idle and absolute limits)"},
			"token":      map[string]any{"type": "string", "description": "login only: send as Authorization: Bearer <token>"},
		},
	}
	apiError := map[string]any{
		"type":       "object",
		"properties": map[string]any{"error": map[string]any{"type": "string"}},
	}
	return map[string]any{
		"schemas": map[string]any{"User": user, "Session": session, "Error": apiError},
		"securitySchemes": map[string]any{
			"cookie": map[string]any{"type": "apiKey", "in": "cookie", "name": auth.CookieName},
			"bearer": map[string]any{"type": "http", "scheme": "bearer"},
		},
	}
}

func jsonBody(ref string) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + ref}}}
}

func errorResponse(desc string) map[string]any {
	return map[string]any{"description": desc, "content": jsonBody("Error")}
}

// secured marks an operation as needing a session (cookie or bearer).
func secured(op map[string]any) map[string]any {
	op["security"] = []any{map[string]any{"cookie": []string{}}, map[string]any{"bearer": []string{}}}
	op["responses"].(map[string]any)["401"] = errorResponse("no session, or it expired")
	return op
}

func openAPILogin() map[string]any {
	return map[string]any{"post": map[string]any{
		"summary": "Log in; sets the hotline_session cookie and returns a bearer token",
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
			"type":     "object",
			"required": []string{"tenant", "username", "password"},
			"properties": map[string]any{
				"tenant":   map[string]any{"type": "string"},
				"username": map[string]any{"type": "string"},
				"password": map[string]any{"type": "string"},
			},
		}}}},
		"responses": map[string]any{
			"200": map[string]any{"description": "logged in", "content": jsonBody("Session")},
			"400": errorResponse("malformed JSON or missing fields"),
			"401": errorResponse("invalid tenant, username or password"),
			"429": errorResponse("too many failed attempts; see Retry-After"),
		},
	}}
}

func openAPILogout() map[string]any {
	return map[string]any{"post": secured(map[string]any{
		"summary":   "End the current session and clear the cookie",
		"responses": map[string]any{"204": map[string]any{"description": "logged out"}},
	})}
}

func openAPIMe() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary":   "The current session's user, role, tenant and expiry",
		"responses": map[string]any{"200": map[string]any{"description": "the session", "content": jsonBody("Session")}},
	})}
}

func openAPIUsers() map[string]any {
	return map[string]any{
		"get": secured(map[string]any{
			"summary": "The caller's tenant's users (supervisor or admin)",
			"responses": map[string]any{
				"200": map[string]any{"description": "users ordered by username", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
					"type":       "object",
					"properties": map[string]any{"users": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/User"}}},
				}}}},
				"403": errorResponse("role below supervisor"),
			},
		}),
		"post": secured(map[string]any{
			"summary": "Create a user in the caller's tenant (admin)",
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
				"type":                 "object",
				"required":             []string{"username", "role", "password"},
				"additionalProperties": false,
				"properties": map[string]any{
					"username":     map[string]any{"type": "string"},
					"display_name": map[string]any{"type": "string"},
					"role":         map[string]any{"type": "string", "enum": []string{"agent", "supervisor", "admin"}},
					"password":     map[string]any{"type": "string", "minLength": auth.MinPasswordLen},
				},
			}}}},
			"responses": map[string]any{
				"201": map[string]any{"description": "created", "content": jsonBody("User")},
				"400": errorResponse("malformed JSON, missing or invalid fields"),
				"403": errorResponse("role below admin"),
				"409": errorResponse("username taken in this tenant"),
			},
		}),
	}
}
