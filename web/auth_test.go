package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/auth"
	"hotline/store"
	"hotline/store/storetest"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type api struct {
	t   *testing.T
	h   http.Handler
	db  *store.Store
	clk *testClock
}

// newAPI serves the handler over a fresh database holding tenants demo
// (alice, bob agents; sam supervisor; ada admin) and acme (carol agent,
// dave supervisor, olga admin); each password is "<name>-demo".
func newAPI(t *testing.T) *api {
	t.Helper()
	return newAPIWith(t, nil)
}

// newAPIWith is newAPI with more of the server: with, unless nil, sets
// the stores a test needs on s, over the same database and clock,
// before the handler is built.
func newAPIWith(t *testing.T, with func(s *Server, db *store.Store, clk *testClock)) *api {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := storetest.NewStore(t)
	if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}, {ID: "acme", Name: "Acme"}}, nil); err != nil {
		t.Fatal(err)
	}
	clk := &testClock{now: time.Date(2030, 5, 6, 8, 0, 0, 0, time.UTC)}
	svc, err := auth.New(db, auth.Config{Password: auth.CheapParams(), Now: clk.Now, IdleTimeout: 8 * time.Hour, MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ tenant, name, role string }{
		{"demo", "alice", auth.RoleAgent}, {"demo", "bob", auth.RoleAgent}, {"demo", "sam", auth.RoleSupervisor}, {"demo", "ada", auth.RoleAdmin},
		{"acme", "carol", auth.RoleAgent}, {"acme", "dave", auth.RoleSupervisor}, {"acme", "olga", auth.RoleAdmin},
	} {
		if _, err := svc.CreateUser(ctx, u.tenant, auth.NewUser{Username: u.name, DisplayName: strings.ToUpper(u.name[:1]) + u.name[1:], Role: u.role, Password: u.name + "-demo"}); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry(), Auth: svc}
	if with != nil {
		with(s, db, clk)
	}
	return &api{t: t, h: s.Handler(), db: db, clk: clk}
}

// do sends a request; headers are name, value pairs.
func (a *api) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	return rec
}

// login returns the bearer token of a fresh session.
func (a *api) login(tenant, user string) string {
	a.t.Helper()
	rec := a.do("POST", "/api/v1/login", fmt.Sprintf(`{"tenant":%q,"username":%q,"password":%q}`, tenant, user, user+"-demo"))
	if rec.Code != http.StatusOK {
		a.t.Fatalf("login %s/%s: %d %s", tenant, user, rec.Code, rec.Body)
	}
	var body struct{ Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Token == "" {
		a.t.Fatalf("login body %s: %v", rec.Body, err)
	}
	return body.Token
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("response %d %q: %v", rec.Code, rec.Body, err)
	}
	return v
}

func sessionCookie(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == auth.CookieName {
			return c
		}
	}
	return nil
}

func TestLoginMeLogoutWithCookie(t *testing.T) {
	a := newAPI(t)
	rec := a.do("POST", "/api/v1/login", `{"tenant":"demo","username":"Sam","password":"sam-demo"}`)
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("login: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	body := decode[sessionView](t, rec)
	if body.User.Username != "sam" || body.User.DisplayName != "Sam" || body.User.ID == "" || body.Role != "supervisor" ||
		body.Tenant != "demo" || !body.ExpiresAt.Equal(a.clk.Now().Add(8*time.Hour)) || len(body.Token) != 43 {
		t.Fatalf("login body %+v", body)
	}
	c := sessionCookie(rec)
	if c == nil || c.Value != body.Token || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Fatalf("cookie %+v", c)
	}
	cookie := []string{"Cookie", auth.CookieName + "=" + c.Value}

	rec = a.do("GET", "/api/v1/me", "", cookie...)
	me := decode[sessionView](t, rec)
	if rec.Code != 200 || me.User.Username != "sam" || me.Role != "supervisor" || me.Tenant != "demo" || me.Token != "" {
		t.Fatalf("me: %d %s", rec.Code, rec.Body)
	}
	rec = a.do("GET", "/api/v1/me", "", bearer(body.Token)...)
	if rec.Code != 200 {
		t.Fatalf("me with bearer: %d %s", rec.Code, rec.Body)
	}

	rec = a.do("POST", "/api/v1/logout", "", cookie...)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	if c := sessionCookie(rec); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %+v", c)
	}
	if rec := a.do("GET", "/api/v1/me", "", cookie...); rec.Code != http.StatusUnauthorized {
		t.Fatalf("me after logout: %d", rec.Code)
	}
	if rec := a.do("GET", "/api/v1/me", "", bearer(body.Token)...); rec.Code != http.StatusUnauthorized {
		t.Fatalf("bearer after logout: %d", rec.Code)
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	a := newAPI(t)
	r := httptest.NewRequest("POST", "https://hotline.example/api/v1/login", strings.NewReader(`{"tenant":"demo","username":"alice","password":"alice-demo"}`))
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r) // httptest sets r.TLS for https targets
	if c := sessionCookie(rec); rec.Code != 200 || c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("TLS login: %d cookie %+v", rec.Code, c)
	}
}

func TestLoginRejections(t *testing.T) {
	a := newAPI(t)
	for _, c := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"empty body", ``, 400, "request body is empty"},
		{"not JSON", `tenant=demo&username=alice`, 400, "malformed JSON"},
		{"truncated", `{"tenant":"demo","username":`, 400, "malformed JSON"},
		{"array", `[1,2]`, 400, "must be a JSON object"},
		{"wrong type", `{"tenant":"demo","username":"alice","password":12345678}`, 400, `field "password" must be a string`},
		{"two objects", `{"tenant":"demo"}{"tenant":"acme"}`, 400, "single JSON object"},
		{"unknown field", `{"tenant":"demo","username":"alice","password":"alice-demo","role":"admin"}`, 400, `unknown field "role"`},
		{"missing password", `{"tenant":"demo","username":"alice"}`, 400, "missing required field(s): password"},
		{"all missing", `{}`, 400, "missing required field(s): tenant, username, password"},
		{"blank tenant", `{"tenant":"  ","username":"alice","password":"x"}`, 400, "tenant"},
		{"wrong password", `{"tenant":"demo","username":"bob","password":"nope"}`, 401, "invalid tenant, username or password"},
		{"unknown user", `{"tenant":"demo","username":"zed","password":"zed-demo"}`, 401, "invalid tenant, username or password"},
		{"right password, other tenant", `{"tenant":"acme","username":"alice","password":"alice-demo"}`, 401, "invalid tenant, username or password"},
		{"oversized", `{"tenant":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "larger than"},
	} {
		rec := a.do("POST", "/api/v1/login", c.body)
		msg := decode[map[string]string](t, rec)["error"]
		if rec.Code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q, want %d containing %q", c.name, rec.Code, msg, c.code, c.want)
		}
		if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
		if sessionCookie(rec) != nil {
			t.Errorf("%s: a cookie was set", c.name)
		}
	}
	// The /api/v1/ catch-all answers other methods with 404.
	if rec := a.do("GET", "/api/v1/login", ""); rec.Code < 400 || sessionCookie(rec) != nil {
		t.Errorf("GET login: %d", rec.Code)
	}
}

func TestLoginThrottleAnswers429(t *testing.T) {
	a := newAPI(t)
	for i := range 5 {
		if rec := a.do("POST", "/api/v1/login", `{"tenant":"demo","username":"bob","password":"guess"}`); rec.Code != 401 {
			t.Fatalf("guess %d: %d", i+1, rec.Code)
		}
	}
	rec := a.do("POST", "/api/v1/login", `{"tenant":"demo","username":"bob","password":"bob-demo"}`)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "30" {
		t.Fatalf("6th attempt: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	a.clk.Advance(30 * time.Second)
	a.login("demo", "bob")
}

// TestEveryRouteEnforcesRoles walks each route with each kind of caller.
func TestEveryRouteEnforcesRoles(t *testing.T) {
	a := newAPI(t)
	n := 0
	newUser := func() string {
		n++
		return fmt.Sprintf(`{"username":"new%d","role":"agent","password":"password-%d"}`, n, n)
	}
	routes := []struct {
		method, path string
		body         func() string
		want         map[string]int // caller -> status
	}{
		{"GET", "/api/v1/me", nil, map[string]int{"anon": 401, "alice": 200, "sam": 200, "ada": 200}},
		{"POST", "/api/v1/logout", nil, map[string]int{"anon": 401, "alice": 204, "sam": 204, "ada": 204}},
		{"GET", "/api/v1/users", nil, map[string]int{"anon": 401, "alice": 403, "sam": 200, "ada": 200}},
		{"POST", "/api/v1/users", newUser, map[string]int{"anon": 401, "alice": 403, "sam": 403, "ada": 201}},
		{"GET", "/api/v1/status", nil, map[string]int{"anon": 200, "alice": 200, "sam": 200, "ada": 200}},
		{"GET", "/api/v1/openapi.json", nil, map[string]int{"anon": 200, "alice": 200, "sam": 200, "ada": 200}},
		{"GET", "/healthz", nil, map[string]int{"anon": 200, "alice": 200}},
	}
	for _, rt := range routes {
		for caller, want := range rt.want {
			var headers []string
			if caller != "anon" {
				headers = bearer(a.login("demo", caller))
			}
			body := ""
			if rt.body != nil {
				body = rt.body()
			}
			rec := a.do(rt.method, rt.path, body, headers...)
			if rec.Code != want {
				t.Errorf("%s %s as %s: %d %s, want %d", rt.method, rt.path, caller, rec.Code, rec.Body, want)
			}
			if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error"`) {
				t.Errorf("%s %s as %s: error without a JSON message: %s", rt.method, rt.path, caller, rec.Body)
			}
		}
	}
	// A garbage or unknown token is no better than none.
	for _, tok := range []string{"garbage", strings.Repeat("A", 43)} {
		if rec := a.do("GET", "/api/v1/users", "", bearer(tok)...); rec.Code != 401 {
			t.Errorf("token %q: %d", tok, rec.Code)
		}
	}
}

func TestTenantIsolation(t *testing.T) {
	a := newAPI(t)
	usernames := func(rec *httptest.ResponseRecorder) []string {
		t.Helper()
		if rec.Code != 200 {
			t.Fatalf("list users: %d %s", rec.Code, rec.Body)
		}
		body := decode[struct{ Users []userView }](t, rec)
		var names []string
		for _, u := range body.Users {
			names = append(names, u.Tenant+"/"+u.Username)
		}
		return names
	}

	dave := bearer(a.login("acme", "dave"))
	want := []string{"acme/carol", "acme/dave", "acme/olga"}
	for _, path := range []string{"/api/v1/users", "/api/v1/users?tenant=demo", "/api/v1/users?tenant_id=demo"} {
		if got := usernames(a.do("GET", path, "", dave...)); !slices.Equal(got, want) {
			t.Errorf("acme supervisor GET %s sees %v, want %v", path, got, want)
		}
	}
	// A forged tenant header does nothing either.
	if got := usernames(a.do("GET", "/api/v1/users", "", append(dave, "X-Tenant", "demo")...)); !slices.Equal(got, want) {
		t.Errorf("with X-Tenant: %v", got)
	}

	// A demo agent cannot create users, in demo or anywhere.
	alice := bearer(a.login("demo", "alice"))
	if rec := a.do("POST", "/api/v1/users", `{"username":"mole","role":"admin","password":"password-1"}`, alice...); rec.Code != 403 {
		t.Fatalf("agent creating a user: %d %s", rec.Code, rec.Body)
	}

	// A demo admin naming acme in the body is refused, and acme is untouched.
	ada := bearer(a.login("demo", "ada"))
	for _, field := range []string{"tenant", "tenant_id"} {
		rec := a.do("POST", "/api/v1/users", fmt.Sprintf(`{"username":"mole","role":"admin","password":"password-1",%q:"acme"}`, field), ada...)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "unknown field") {
			t.Fatalf("forged %s: %d %s", field, rec.Code, rec.Body)
		}
	}
	rec := a.do("POST", "/api/v1/users?tenant=acme", `{"username":"mole","role":"admin","password":"password-1"}`, append(ada, "X-Tenant", "acme")...)
	if rec.Code != 201 || decode[userView](t, rec).Tenant != "demo" {
		t.Fatalf("admin create with forged query and header: %d %s", rec.Code, rec.Body)
	}
	if got := usernames(a.do("GET", "/api/v1/users", "", dave...)); !slices.Equal(got, want) {
		t.Fatalf("acme's users changed: %v", got)
	}
	if got := usernames(a.do("GET", "/api/v1/users", "", ada...)); !slices.Contains(got, "demo/mole") || slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "acme/") }) {
		t.Fatalf("demo users %v", got)
	}
	// And a demo token stays demo's when it logs in as acme's user name.
	if rec := a.do("POST", "/api/v1/login", `{"tenant":"acme","username":"ada","password":"ada-demo"}`); rec.Code != 401 {
		t.Fatalf("demo credentials against acme: %d", rec.Code)
	}
}

func TestCreateUser(t *testing.T) {
	a := newAPI(t)
	ada := bearer(a.login("demo", "ada"))
	rec := a.do("POST", "/api/v1/users", `{"username":"Nina","display_name":"Nina N","role":"supervisor","password":"nina-demo"}`, ada...)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	u := decode[userView](t, rec)
	if u.Username != "nina" || u.DisplayName != "Nina N" || u.Role != "supervisor" || u.Tenant != "demo" || u.ID == "" {
		t.Fatalf("created %+v", u)
	}
	if strings.Contains(rec.Body.String(), "argon2") || strings.Contains(rec.Body.String(), "nina-demo") {
		t.Fatalf("response leaks the password: %s", rec.Body)
	}
	a.login("demo", "nina")
}

func TestCreateUserRejections(t *testing.T) {
	a := newAPI(t)
	ada := bearer(a.login("demo", "ada"))
	for _, c := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"malformed", `{"username":`, 400, "malformed JSON"},
		{"missing", `{"username":"x"}`, 400, "missing required field(s): role, password"},
		{"bad role", `{"username":"x","role":"root","password":"password-1"}`, 400, "want agent, supervisor or admin"},
		{"short password", `{"username":"x","role":"agent","password":"short"}`, 400, "at least 8"},
		{"bad username", `{"username":"x y","role":"agent","password":"password-1"}`, 400, "username"},
		{"wrong type", `{"username":"x","role":["agent"],"password":"password-1"}`, 400, `field "role"`},
		{"duplicate", `{"username":"ALICE","role":"agent","password":"password-1"}`, 409, `"alice" already exists`},
		{"password hash smuggled", `{"username":"x","role":"agent","password":"password-1","password_hash":"$argon2id$"}`, 400, "unknown field"},
	} {
		rec := a.do("POST", "/api/v1/users", c.body, ada...)
		msg := decode[map[string]string](t, rec)["error"]
		if rec.Code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q, want %d containing %q", c.name, rec.Code, msg, c.code, c.want)
		}
	}
}

func TestListUsersShowsNoHashes(t *testing.T) {
	a := newAPI(t)
	rec := a.do("GET", "/api/v1/users", "", bearer(a.login("demo", "sam"))...)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "argon2") || strings.Contains(rec.Body.String(), "password") {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	users := decode[struct{ Users []userView }](t, rec).Users
	if len(users) != 4 || users[0].Username != "ada" {
		t.Fatalf("users %+v", users)
	}
	// sam's own login is recorded; nobody else has logged in.
	for _, u := range users {
		if (u.Username == "sam") != (u.LastLoginAt != nil) {
			t.Errorf("%s last login %v", u.Username, u.LastLoginAt)
		}
	}
}

func TestSessionExpiryOverHTTP(t *testing.T) {
	a := newAPI(t)
	rec := a.do("POST", "/api/v1/login", `{"tenant":"demo","username":"alice","password":"alice-demo"}`)
	cookie := []string{"Cookie", auth.CookieName + "=" + sessionCookie(rec).Value}
	a.clk.Advance(7 * time.Hour)
	if rec := a.do("GET", "/api/v1/me", "", cookie...); rec.Code != 200 {
		t.Fatalf("after 7 h: %d", rec.Code)
	}
	a.clk.Advance(8 * time.Hour)
	rec = a.do("GET", "/api/v1/me", "", cookie...)
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), "expired") {
		t.Fatalf("after 8 h idle: %d %s", rec.Code, rec.Body)
	}
	if c := sessionCookie(rec); c == nil || c.MaxAge >= 0 {
		t.Fatalf("expired session's cookie not cleared: %+v", c)
	}
}

func TestCrossOriginCookieRequestsRefused(t *testing.T) {
	a := newAPI(t)
	rec := a.do("POST", "http://hotline.example/api/v1/login", `{"tenant":"demo","username":"alice","password":"alice-demo"}`, "Origin", "https://evil.example")
	if rec.Code != 403 || sessionCookie(rec) != nil {
		t.Fatalf("cross-site login: %d %s", rec.Code, rec.Body)
	}
	rec = a.do("POST", "http://hotline.example/api/v1/login", `{"tenant":"demo","username":"alice","password":"alice-demo"}`, "Origin", "http://hotline.example")
	cookie := []string{"Cookie", auth.CookieName + "=" + sessionCookie(rec).Value}
	if rec := a.do("POST", "http://hotline.example/api/v1/logout", "", append(cookie, "Origin", "https://evil.example")...); rec.Code != 403 {
		t.Fatalf("cross-site logout: %d", rec.Code)
	}
	if rec := a.do("GET", "http://hotline.example/api/v1/me", "", cookie...); rec.Code != 200 {
		t.Fatalf("session ended by a cross-site request: %d", rec.Code)
	}
}

func TestGateCoversPathVariants(t *testing.T) {
	a := newAPI(t)
	for _, path := range []string{"/api/v1//users", "/api/v1/./users", "/api/v1/x/../users", "/API/v1/users"} {
		rec := a.do("GET", path, "")
		if rec.Code == 200 {
			t.Errorf("anonymous GET %s: 200 %s", path, rec.Body)
		}
	}
	if rec := a.do("GET", "/api/v1/nothing", ""); rec.Code != 404 {
		t.Errorf("unknown resource: %d", rec.Code)
	}
}

func TestNoAuthServiceFailsClosed(t *testing.T) {
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry()}
	h := s.Handler()
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/me"}, {"GET", "/api/v1/users"}, {"POST", "/api/v1/users"}, {"POST", "/api/v1/login"}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader("{}")))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s without auth: %d", c.method, c.path, rec.Code)
		}
	}
}

func TestOpenAPIDescribesAuth(t *testing.T) {
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry()}
	rec := get(t, s.Handler(), "/api/v1/openapi.json")
	doc := decode[struct {
		Paths      map[string]map[string]any
		Components struct{ SecuritySchemes map[string]any }
	}](t, rec)
	for path, methods := range map[string][]string{
		"/api/v1/login": {"post"}, "/api/v1/logout": {"post"}, "/api/v1/me": {"get"}, "/api/v1/users": {"get", "post"}, "/api/v1/status": {"get"},
	} {
		for _, m := range methods {
			if doc.Paths[path][m] == nil {
				t.Errorf("openapi lacks %s %s", m, path)
			}
		}
	}
	if doc.Components.SecuritySchemes["cookie"] == nil || doc.Components.SecuritySchemes["bearer"] == nil {
		t.Errorf("security schemes %v", doc.Components.SecuritySchemes)
	}
}
