package ari

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// User is one ARI user of a tenant. The password is kept as given in the
// configuration (Asterisk's ari.conf password_format=plain): ARI clients
// send their credentials on every REST request, so a memory-hard hash
// (argon2id, as the agents' logins use) would cost tens of milliseconds
// and 64 MB per request and make the API an easy way to exhaust the host.
type User struct {
	Tenant   string
	Username string
	Password string
}

// principal is who made a request; it scopes everything to one tenant.
type principal struct {
	tenant, user string
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// tenantOf returns the authenticated tenant; routes run only behind
// authenticate, so it is always there.
func tenantOf(r *http.Request) string {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p.tenant
}

// users maps usernames to users. Usernames are unique across tenants
// (config checks it): basic auth carries no tenant, so the user names it.
type users map[string]User

func newUsers(list []User) (users, error) {
	m := users{}
	for _, u := range list {
		if u.Username == "" || u.Password == "" || u.Tenant == "" {
			return nil, fmt.Errorf("ari user %q of tenant %q: username, password and tenant are required", u.Username, u.Tenant)
		}
		if other, dup := m[u.Username]; dup {
			return nil, fmt.Errorf("ari user %q: defined for tenants %q and %q", u.Username, other.Tenant, u.Tenant)
		}
		m[u.Username] = u
	}
	return m, nil
}

// credentials reads basic auth, else the api_key=user:pass query
// parameter, as Asterisk does.
func credentials(r *http.Request) (user, pass string, ok bool) {
	if u, p, ok := r.BasicAuth(); ok {
		return u, p, true
	}
	if k := r.URL.Query().Get("api_key"); k != "" {
		return strings.Cut(k, ":")
	}
	return "", "", false
}

// check compares digests so neither the password's content nor its length
// shows in the timing; an unknown user costs the same as a wrong password.
func (us users) check(user, pass string) (User, bool) {
	u, known := us[user]
	want := sha256.Sum256([]byte(u.Password))
	got := sha256.Sum256([]byte(pass))
	match := subtle.ConstantTimeCompare(want[:], got[:]) == 1
	return u, known && match
}

// authenticate answers 401 with Asterisk's body (and a Basic challenge)
// unless the request carries a configured user's credentials.
func (us users) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, pass, ok := credentials(r)
		u, match := us.check(name, pass)
		if !ok || !match {
			w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
			writeError(w, http.StatusUnauthorized, "Authentication required")
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), principal{tenant: u.Tenant, user: u.Username})))
	})
}
