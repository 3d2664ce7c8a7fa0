// Package auth is Hotline's authentication and authorisation policy: who
// a request is (a Principal, from a session), what that person may do
// (roles), and how passwords and sessions are handled.
//
// The rules every HTTP surface follows:
//
//   - A request is authenticated by the session token in the
//     hotline_session cookie (browsers) or an "Authorization: Bearer"
//     header (API clients, WebSocket clients). Tokens are never accepted in
//     URLs, where they would end up in logs and browser history.
//   - The tenant of a request is always the Principal's. Handlers never
//     read a tenant from the path, query or body, so a user of tenant A has
//     no way to even name tenant B's data.
//   - Roles are ordered: admin can do everything a supervisor can, a
//     supervisor everything an agent can. RequireRole(RoleSupervisor)
//     therefore admits supervisors and admins.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Roles, lowest first.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

// rank orders the roles; 0 is not a role.
func rank(role string) int {
	switch role {
	case RoleAgent:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// ValidRole reports whether role is one of the three roles.
func ValidRole(role string) bool { return rank(role) > 0 }

// Principal is the authenticated user a request acts for.
type Principal struct {
	UserID   string
	TenantID string
	Username string
	Role     string
}

// Has reports whether p's role includes role (admin ⊇ supervisor ⊇ agent).
func (p Principal) Has(role string) bool {
	r := rank(role)
	return r > 0 && rank(p.Role) >= r
}

// authError is a string type so sentinel errors can be constants: the
// package keeps no mutable globals, and errors.Is still works by equality.
type authError string

func (e authError) Error() string { return string(e) }

// Errors of authentication; all but ErrForbidden mean HTTP 401.
const (
	ErrInvalidCredentials = authError("invalid tenant, username or password")
	ErrNoSession          = authError("not logged in")
	ErrSessionInvalid     = authError("session unknown or ended; log in again")
	ErrSessionExpired     = authError("session expired; log in again")
	ErrCrossOrigin        = authError("cross-origin request refused")
	ErrForbidden          = authError("your role does not allow this")
)

// ThrottledError is returned by Login while the username or the client's
// address is locked out after too many failed attempts.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

// retryAfterSeconds rounds up so a client that waits exactly that long is
// not turned away again.
func (e *ThrottledError) retryAfterSeconds() int {
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

type ctxKey struct{}

// WithSession returns ctx carrying sess; Require does this for requests.
func WithSession(ctx context.Context, sess *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, sess)
}

// FromContext returns the Principal of an authenticated request.
func FromContext(ctx context.Context) (Principal, bool) {
	sess, ok := SessionFromContext(ctx)
	if !ok {
		return Principal{}, false
	}
	return sess.Principal, true
}

// SessionFromContext returns the whole session of an authenticated
// request, for handlers that need its expiry or want to end it.
func SessionFromContext(ctx context.Context) (*Session, bool) {
	sess, ok := ctx.Value(ctxKey{}).(*Session)
	return sess, ok && sess != nil
}

// RequireRole admits requests whose Principal has one of roles (with the
// hierarchy: RequireRole(RoleAgent) admits everyone). It answers 401 when
// the request carries no Principal, which means the handler was mounted
// without Require: failing closed beats serving anonymously.
//
// An unknown role name panics when the middleware is built, at startup,
// because a typo would otherwise lock everyone out at run time.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	if len(roles) == 0 {
		panic("auth.RequireRole: no roles given")
	}
	for _, r := range roles {
		if !ValidRole(r) {
			panic(fmt.Sprintf("auth.RequireRole: unknown role %q", r))
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				WriteError(w, ErrNoSession)
				return
			}
			for _, role := range roles {
				if p.Has(role) {
					next.ServeHTTP(w, r)
					return
				}
			}
			WriteError(w, ErrForbidden)
		})
	}
}

// StatusOf maps this package's errors to HTTP status codes; anything else
// is a server error.
func StatusOf(err error) int {
	var th *ThrottledError
	switch {
	case errors.As(err, &th):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrCrossOrigin):
		return http.StatusForbidden
	case errors.Is(err, ErrInvalidCredentials), errors.Is(err, ErrNoSession),
		errors.Is(err, ErrSessionInvalid), errors.Is(err, ErrSessionExpired):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// WriteError answers with err's status and a JSON {"error": message}, the
// format of every Hotline API error. 401s carry WWW-Authenticate and 429s
// Retry-After. Server errors get a generic message: their details belong
// in the log, not in the response.
func WriteError(w http.ResponseWriter, err error) {
	code := StatusOf(err)
	msg := err.Error()
	switch code {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
	case http.StatusTooManyRequests:
		var th *ThrottledError
		errors.As(err, &th)
		w.Header().Set("Retry-After", strconv.Itoa(th.retryAfterSeconds()))
	case http.StatusInternalServerError:
		msg = "internal error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
