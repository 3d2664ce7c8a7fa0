package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hotline/auth"
	"hotline/store"
	"hotline/store/storetest"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

type fixture struct {
	db  *store.Store
	svc *auth.Service
	clk *fakeClock
}

// office is where the fixture's logins come from.
func office() auth.Client { return auth.Client{IP: "192.0.2.10", UserAgent: "test"} }

// newFixture returns a service over a fresh database with tenants demo
// (alice agent, sam supervisor, ada admin) and acme (carol agent, dave
// supervisor); each password is "<name>-demo".
func newFixture(t *testing.T, cfg auth.Config) *fixture {
	t.Helper()
	ctx := testCtx(t)
	db := storetest.NewStore(t)
	if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}, {ID: "acme", Name: "Acme"}}, nil); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	if cfg.Password == (auth.Params{}) {
		cfg.Password = auth.CheapParams()
	}
	cfg.Now = clk.Now
	svc, err := auth.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ tenant, name, role string }{
		{"demo", "alice", auth.RoleAgent}, {"demo", "sam", auth.RoleSupervisor}, {"demo", "ada", auth.RoleAdmin},
		{"acme", "carol", auth.RoleAgent}, {"acme", "dave", auth.RoleSupervisor},
	} {
		if _, err := svc.CreateUser(ctx, u.tenant, auth.NewUser{Username: u.name, Role: u.role, Password: u.name + "-demo"}); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{db: db, svc: svc, clk: clk}
}

func (f *fixture) login(t *testing.T, tenant, user string) *auth.Session {
	t.Helper()
	sess, err := f.svc.Login(testCtx(t), tenant, user, user+"-demo", office())
	if err != nil {
		t.Fatalf("login %s/%s: %v", tenant, user, err)
	}
	return sess
}

func (f *fixture) events(t *testing.T, tenant string) []store.AuthEvent {
	t.Helper()
	ev, err := f.db.AuthEvents(testCtx(t), tenant, 100)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestLoginOpensSessionStoredByHash(t *testing.T) {
	f := newFixture(t, auth.Config{})
	ctx := testCtx(t)
	sess, err := f.svc.Login(ctx, " Demo ", "Alice", "alice-demo", office())
	if err != nil {
		t.Fatal(err)
	}
	p := sess.Principal
	if p.TenantID != "demo" || p.Username != "alice" || p.Role != auth.RoleAgent || p.UserID == "" {
		t.Fatalf("principal %+v", p)
	}
	if len(sess.Token) != 43 || !sess.ExpiresAt.Equal(f.clk.Now().Add(8*time.Hour)) {
		t.Fatalf("token %q expires %v", sess.Token, sess.ExpiresAt)
	}
	// The database holds SHA-256(token), never the token.
	var id []byte
	var n int
	if err := f.db.Pool().QueryRow(ctx, "SELECT id, (SELECT count(*) FROM sessions) FROM sessions").Scan(&id, &n); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(sess.Token))
	if n != 1 || !bytes.Equal(id, sum[:]) || bytes.Contains(id, []byte(sess.Token)) {
		t.Fatalf("stored session id %x, want sha256 of the token", id)
	}
	got, err := f.svc.Authenticate(ctx, sess.Token)
	if err != nil || got.Principal != p || got.Token != "" {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	ev := f.events(t, "demo")
	if len(ev) != 1 || ev[0].Kind != store.AuthLoginOK || ev[0].IP != office().IP || ev[0].UserID == nil || ev[0].UserID.String() != p.UserID {
		t.Fatalf("audit %+v", ev)
	}
	u, _ := f.db.UserByUsername(ctx, "demo", "alice")
	if u.LastLoginAt == nil || !u.LastLoginAt.Equal(f.clk.Now()) {
		t.Fatalf("last login %v", u.LastLoginAt)
	}
}

func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	f := newFixture(t, auth.Config{})
	ctx := testCtx(t)
	if _, err := f.db.Pool().Exec(ctx, "INSERT INTO users (tenant_id, username, role, password_hash, disabled) SELECT tenant_id, 'gone', role, password_hash, true FROM users WHERE username = 'alice'"); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, tenant, user, pw string }{
		{"wrong password", "demo", "alice", "alice-dem0"},
		{"unknown user", "demo", "nobody", "alice-demo"},
		{"unknown tenant", "initech", "alice", "alice-demo"},
		{"user of another tenant", "acme", "alice", "alice-demo"},
		{"disabled user, right password", "demo", "gone", "alice-demo"},
		{"garbage tenant", "d\xffemo\x00", "alice", "alice-demo"},
		{"garbage username", "demo", "al ice\x00", "alice-demo"},
	}
	for _, c := range cases {
		_, err := f.svc.Login(ctx, c.tenant, c.user, c.pw, auth.Client{IP: "198.51.100.9"})
		if !errors.Is(err, auth.ErrInvalidCredentials) || err.Error() != "invalid tenant, username or password" {
			t.Errorf("%s: %v, want ErrInvalidCredentials", c.name, err)
		}
	}
	ev := f.events(t, "demo")
	var known, unknown int
	for _, e := range ev {
		if e.Kind != store.AuthLoginFailed {
			t.Fatalf("unexpected event %+v", e)
		}
		if e.UserID != nil {
			known++
		} else {
			unknown++
		}
	}
	// Wrong password and disabled name a user; the unknown and the garbage
	// usernames do not. Other tenants' failures are not filed under demo.
	if known != 2 || unknown != 2 {
		t.Fatalf("demo audit: %d failures naming a user, %d not; want 2 and 2 (%+v)", known, unknown, ev)
	}
}

// TestUnknownUserCostsAHash checks that a login for a username that does
// not exist spends as much time as a wrong password, so timing does not
// tell an attacker which usernames exist.
func TestUnknownUserCostsAHash(t *testing.T) {
	if testing.Short() {
		t.Skip("uses production hash parameters")
	}
	f := newFixture(t, auth.Config{Password: auth.DefaultParams()})
	ctx := testCtx(t)
	// The fixture's users were hashed with the production parameters too.
	measure := func(user string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			_, err := f.svc.Login(ctx, "demo", user, "not-the-password", auth.Client{IP: "198.51.100.1"})
			if !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := measure("alice"), measure("nobody")
	t.Logf("wrong password %v, unknown user %v", known, unknown)
	if unknown < known/2 {
		t.Fatalf("unknown user answered in %v, a wrong password in %v: usernames can be probed", unknown, known)
	}
}

func TestLoginThrottledPerUser(t *testing.T) {
	f := newFixture(t, auth.Config{})
	ctx := testCtx(t)
	for i := range 5 {
		if _, err := f.svc.Login(ctx, "demo", "alice", "guess", office()); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	// Locked now, even for the right password, and even from elsewhere.
	_, err := f.svc.Login(ctx, "demo", "ALICE", "alice-demo", auth.Client{IP: "203.0.113.5"})
	var th *auth.ThrottledError
	if !errors.As(err, &th) || th.RetryAfter != 30*time.Second {
		t.Fatalf("6th attempt: %v, want throttled for 30s", err)
	}
	if auth.StatusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("status %d", auth.StatusOf(err))
	}
	// Other users are not affected.
	f.login(t, "demo", "sam")
	f.clk.Advance(30 * time.Second)
	f.login(t, "demo", "alice")
	// Success forgets the failures.
	for i := range 5 {
		if _, err := f.svc.Login(ctx, "demo", "alice", "guess", office()); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("guess %d after success: %v", i+1, err)
		}
	}
}

func TestLoginThrottledPerAddress(t *testing.T) {
	f := newFixture(t, auth.Config{IPThrottle: auth.ThrottleConfig{Free: 3, Base: time.Minute, Max: time.Hour, Forget: time.Hour}})
	ctx := testCtx(t)
	sprayer := auth.Client{IP: "198.51.100.66"}
	for _, u := range []string{"a1", "a2", "a3"} {
		if _, err := f.svc.Login(ctx, "demo", u, "guess", sprayer); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("spray %s: %v", u, err)
		}
	}
	var th *auth.ThrottledError
	if _, err := f.svc.Login(ctx, "demo", "alice", "alice-demo", sprayer); !errors.As(err, &th) || th.RetryAfter != time.Minute {
		t.Fatalf("4th attempt from the address: %v", err)
	}
	// The user can still log in from elsewhere: the address is what is locked.
	f.login(t, "demo", "alice")
}

func TestSuccessfulLoginsDoNotThrottleAddress(t *testing.T) {
	f := newFixture(t, auth.Config{IPThrottle: auth.ThrottleConfig{Free: 2, Base: time.Minute, Max: time.Hour, Forget: time.Hour}})
	for range 10 {
		f.login(t, "demo", "alice") // a whole office behind one NAT
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	f := newFixture(t, auth.Config{IdleTimeout: 8 * time.Hour, MaxAge: 24 * time.Hour})
	ctx := testCtx(t)
	sess := f.login(t, "demo", "alice")
	f.clk.Advance(8*time.Hour - time.Minute)
	got, err := f.svc.Authenticate(ctx, sess.Token)
	if err != nil {
		t.Fatalf("used just before the idle timeout: %v", err)
	}
	if want := f.clk.Now().Add(8 * time.Hour); !got.ExpiresAt.Equal(want) {
		t.Fatalf("use moved expiry to %v, want %v", got.ExpiresAt, want)
	}
	f.clk.Advance(8*time.Hour - time.Minute)
	if _, err := f.svc.Authenticate(ctx, sess.Token); err != nil {
		t.Fatalf("second use within the idle timeout: %v", err)
	}
	f.clk.Advance(8 * time.Hour)
	if _, err := f.svc.Authenticate(ctx, sess.Token); !errors.Is(err, auth.ErrSessionExpired) {
		t.Fatalf("after 8 h idle: %v, want ErrSessionExpired", err)
	}
	// The expired session is gone, and its end audited once.
	if _, err := f.svc.Authenticate(ctx, sess.Token); !errors.Is(err, auth.ErrSessionInvalid) {
		t.Fatalf("expired token again: %v, want ErrSessionInvalid", err)
	}
	if ev := f.events(t, "demo"); ev[0].Kind != store.AuthSessionExpired || ev[1].Kind != store.AuthLoginOK {
		t.Fatalf("audit %+v", ev)
	}
}

func TestSessionAbsoluteTimeout(t *testing.T) {
	f := newFixture(t, auth.Config{IdleTimeout: 8 * time.Hour, MaxAge: 24 * time.Hour})
	ctx := testCtx(t)
	sess := f.login(t, "demo", "alice")
	start := f.clk.Now()
	for range 5 {
		f.clk.Advance(4 * time.Hour)
		got, err := f.svc.Authenticate(ctx, sess.Token)
		if err != nil {
			t.Fatalf("active session refused at %v: %v", f.clk.Now().Sub(start), err)
		}
		if got.ExpiresAt.After(start.Add(24 * time.Hour)) {
			t.Fatalf("expiry %v beyond the absolute limit", got.ExpiresAt)
		}
	}
	f.clk.Advance(4 * time.Hour) // 24 h after login, used every 4 h
	if _, err := f.svc.Authenticate(ctx, sess.Token); !errors.Is(err, auth.ErrSessionExpired) {
		t.Fatalf("at 24 h: %v, want ErrSessionExpired", err)
	}
}

func TestSweepDeletesExpiredSessions(t *testing.T) {
	f := newFixture(t, auth.Config{IdleTimeout: time.Hour, MaxAge: 2 * time.Hour})
	ctx := testCtx(t)
	f.login(t, "demo", "alice")
	f.clk.Advance(30 * time.Minute)
	live := f.login(t, "demo", "sam")
	f.clk.Advance(40 * time.Minute)
	f.svc.Sweep(ctx)
	var n int
	if err := f.db.Pool().QueryRow(ctx, "SELECT count(*) FROM sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d sessions after sweep, want 1", n)
	}
	if _, err := f.svc.Authenticate(ctx, live.Token); err != nil {
		t.Fatal(err)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	f := newFixture(t, auth.Config{})
	ctx := testCtx(t)
	a := f.login(t, "demo", "alice")
	b := f.login(t, "demo", "alice") // a second device
	got, err := f.svc.Authenticate(ctx, a.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(ctx, got, office()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, a.Token); !errors.Is(err, auth.ErrSessionInvalid) {
		t.Fatalf("after logout: %v", err)
	}
	if _, err := f.svc.Revalidate(ctx, got); !errors.Is(err, auth.ErrSessionInvalid) {
		t.Fatalf("revalidate after logout: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, b.Token); err != nil {
		t.Fatalf("other device logged out too: %v", err)
	}
	if ev := f.events(t, "demo"); ev[0].Kind != store.AuthLogout || ev[0].Username != "alice" {
		t.Fatalf("audit %+v", ev[0])
	}
}

func TestAccountChangesApplyToOpenSessions(t *testing.T) {
	f := newFixture(t, auth.Config{})
	ctx := testCtx(t)
	sess := f.login(t, "demo", "alice")
	if _, err := f.db.Pool().Exec(ctx, "UPDATE users SET role = 'supervisor' WHERE username = 'alice'"); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Authenticate(ctx, sess.Token)
	if err != nil || got.Principal.Role != auth.RoleSupervisor {
		t.Fatalf("after promotion: %+v, %v", got, err)
	}
	if _, err := f.db.Pool().Exec(ctx, "UPDATE users SET disabled = true WHERE username = 'alice'"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Revalidate(ctx, got); !errors.Is(err, auth.ErrSessionInvalid) {
		t.Fatalf("disabled user's session: %v", err)
	}
	if _, err := f.db.Pool().Exec(ctx, "UPDATE users SET disabled = false WHERE username = 'alice'"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetPassword(ctx, "demo", "alice", "new-secret-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, sess.Token); !errors.Is(err, auth.ErrSessionInvalid) {
		t.Fatalf("session survived a password change: %v", err)
	}
	if _, err := f.svc.Login(ctx, "demo", "alice", "alice-demo", office()); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if _, err := f.svc.Login(ctx, "demo", "alice", "new-secret-1", office()); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if err := f.svc.SetPassword(ctx, "demo", "alice", "short"); err == nil {
		t.Fatal("accepted a 5-character password")
	}
}

func TestMalformedTokens(t *testing.T) {
	f := newFixture(t, auth.Config{})
	ctx := testCtx(t)
	sess := f.login(t, "demo", "alice")
	if _, err := f.svc.Authenticate(ctx, ""); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("empty: %v", err)
	}
	for _, tok := range []string{"x", sess.Token + "A", sess.Token[:42] + "!", strings.Repeat("A", 43), "\x00\xff"} {
		if _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrSessionInvalid) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
}

func request(method, target string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

func TestAuthenticateRequestAndUpgrade(t *testing.T) {
	f := newFixture(t, auth.Config{})
	alice := f.login(t, "demo", "alice")
	sam := f.login(t, "demo", "sam")
	cookie := auth.CookieName + "=" + alice.Token
	bearer := "Bearer " + sam.Token

	check := func(name string, r *http.Request, want string, wantErr error) {
		t.Helper()
		sess, err := f.svc.AuthenticateRequest(r)
		if wantErr != nil {
			if !errors.Is(err, wantErr) {
				t.Errorf("%s: %v, want %v", name, err, wantErr)
			}
			return
		}
		if err != nil || sess.Principal.Username != want {
			t.Errorf("%s: %+v, %v, want %s", name, sess, err, want)
		}
	}
	check("nothing", request("GET", "/api/v1/me"), "", auth.ErrNoSession)
	check("cookie", request("GET", "/api/v1/me", "Cookie", cookie), "alice", nil)
	check("bearer", request("GET", "/api/v1/me", "Authorization", bearer), "sam", nil)
	check("lower-case scheme", request("GET", "/api/v1/me", "Authorization", "bearer "+sam.Token), "sam", nil)
	check("bearer wins over cookie", request("GET", "/api/v1/me", "Authorization", bearer, "Cookie", cookie), "sam", nil)
	check("basic auth is not a session", request("GET", "/api/v1/me", "Authorization", "Basic YTpi"), "", auth.ErrNoSession)
	check("token in the URL is ignored", request("GET", "/api/v1/me?access_token="+alice.Token), "", auth.ErrNoSession)
	check("cookie POST, same origin", request("POST", "http://example.com/api/v1/logout", "Cookie", cookie, "Origin", "http://example.com"), "alice", nil)
	check("cookie POST, no origin", request("POST", "/api/v1/logout", "Cookie", cookie), "alice", nil)
	check("cookie POST from another site", request("POST", "http://example.com/api/v1/logout", "Cookie", cookie, "Origin", "https://evil.example"), "", auth.ErrCrossOrigin)
	check("cookie POST from a sandbox", request("POST", "http://example.com/api/v1/logout", "Cookie", cookie, "Origin", "null"), "", auth.ErrCrossOrigin)
	check("cookie POST through a proxy", request("POST", "http://10.0.0.5:8080/api/v1/logout", "Cookie", cookie, "Origin", "https://hotline.example", "X-Forwarded-Host", "hotline.example"), "alice", nil)
	check("bearer POST from another site", request("POST", "http://example.com/api/v1/logout", "Authorization", bearer, "Origin", "https://evil.example"), "sam", nil)
	check("cookie GET from another site", request("GET", "http://example.com/api/v1/me", "Cookie", cookie, "Origin", "https://evil.example"), "alice", nil)

	upgrade := func(headers ...string) (*auth.Session, error) {
		return f.svc.AuthenticateUpgrade(request("GET", "http://example.com/ws/agent",
			append([]string{"Upgrade", "websocket", "Connection", "Upgrade"}, headers...)...))
	}
	if sess, err := upgrade("Cookie", cookie, "Origin", "http://example.com"); err != nil || sess.Principal.Username != "alice" {
		t.Errorf("upgrade with cookie: %+v, %v", sess, err)
	}
	if _, err := upgrade("Cookie", cookie, "Origin", "https://evil.example"); !errors.Is(err, auth.ErrCrossOrigin) {
		t.Errorf("cross-site upgrade (CSWSH): %v", err)
	}
	if sess, err := upgrade("Authorization", bearer); err != nil || sess.Principal.Username != "sam" {
		t.Errorf("upgrade with bearer: %+v, %v", sess, err)
	}
	if _, err := upgrade(); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("anonymous upgrade: %v", err)
	}
	if _, err := f.svc.AuthenticateUpgrade(request("GET", "/ws/agent", "Cookie", cookie)); err == nil {
		t.Error("a plain GET passed as an upgrade")
	}
}

func TestCookieAttributes(t *testing.T) {
	f := newFixture(t, auth.Config{MaxAge: 24 * time.Hour})
	sess := f.login(t, "demo", "alice")
	cookieOf := func(r *http.Request, set func(http.ResponseWriter, *http.Request)) *http.Cookie {
		rec := httptest.NewRecorder()
		set(rec, r)
		cs := rec.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("%d cookies set", len(cs))
		}
		return cs[0]
	}
	set := func(w http.ResponseWriter, r *http.Request) { f.svc.SetCookie(w, r, sess) }

	c := cookieOf(request("POST", "http://example.com/api/v1/login"), set)
	if c.Name != "hotline_session" || c.Value != sess.Token || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode ||
		c.Path != "/" || c.Secure || c.MaxAge != 24*3600 {
		t.Fatalf("plain HTTP cookie %+v", c)
	}
	tlsReq := request("POST", "https://example.com/api/v1/login")
	tlsReq.TLS = &tls.ConnectionState{}
	if c := cookieOf(tlsReq, set); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("TLS cookie %+v", c)
	}
	if c := cookieOf(request("POST", "http://example.com/api/v1/login", "X-Forwarded-Proto", "https"), set); !c.Secure {
		t.Fatalf("cookie behind a TLS proxy %+v", c)
	}
	clear := cookieOf(request("POST", "http://example.com/api/v1/logout"), f.svc.ClearCookie)
	if clear.Name != "hotline_session" || clear.Value != "" || clear.MaxAge >= 0 {
		t.Fatalf("cleared cookie %+v", clear)
	}
}

func TestRequireRole(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	serve := func(h http.Handler, role string) int {
		r := httptest.NewRequest("GET", "/", nil)
		if role != "" {
			r = r.WithContext(auth.WithSession(r.Context(), &auth.Session{Principal: auth.Principal{UserID: "u", TenantID: "demo", Username: "x", Role: role}}))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	want := map[string]map[string]int{ // required role -> caller role -> status
		auth.RoleAgent:      {"": 401, "agent": 204, "supervisor": 204, "admin": 204, "root": 403},
		auth.RoleSupervisor: {"": 401, "agent": 403, "supervisor": 204, "admin": 204, "root": 403},
		auth.RoleAdmin:      {"": 401, "agent": 403, "supervisor": 403, "admin": 204, "root": 403},
	}
	for required, byRole := range want {
		h := auth.RequireRole(required)(ok)
		for role, code := range byRole {
			if got := serve(h, role); got != code {
				t.Errorf("RequireRole(%s) for %q = %d, want %d", required, role, got, code)
			}
		}
	}
	// Several roles: any one suffices.
	if got := serve(auth.RequireRole(auth.RoleAdmin, auth.RoleAgent)(ok), auth.RoleAgent); got != 204 {
		t.Errorf("RequireRole(admin, agent) for agent = %d", got)
	}
	for _, bad := range [][]string{nil, {"supervsior"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RequireRole(%q) did not panic", bad)
				}
			}()
			auth.RequireRole(bad...)
		}()
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	auth.WriteError(rec, &auth.ThrottledError{RetryAfter: 1500 * time.Millisecond})
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Fatalf("throttled: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rec = httptest.NewRecorder()
	auth.WriteError(rec, auth.ErrSessionExpired)
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("expired: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	auth.WriteError(rec, errors.New("pq: connection refused to 10.0.0.3"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "10.0.0.3") {
		t.Fatalf("internal error leaks details: %d %s", rec.Code, rec.Body)
	}
}

func TestSeedUsersOnlyIntoEmptyTenant(t *testing.T) {
	f := newFixture(t, auth.Config{})
	ctx := testCtx(t)
	if err := f.db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}, {ID: "acme", Name: "Acme"}, {ID: "initech", Name: "Initech"}}, nil); err != nil {
		t.Fatal(err)
	}
	seed := []auth.NewUser{{Username: "peter", Role: auth.RoleAgent, Password: "peter-demo"}}
	if created, err := f.svc.SeedUsers(ctx, "initech", seed); err != nil || !created {
		t.Fatalf("first seed: %v, %v", created, err)
	}
	if created, err := f.svc.SeedUsers(ctx, "initech", []auth.NewUser{{Username: "bill", Role: auth.RoleAdmin, Password: "bill-demo"}}); err != nil || created {
		t.Fatalf("second seed: %v, %v", created, err)
	}
	if created, err := f.svc.SeedUsers(ctx, "demo", seed); err != nil || created {
		t.Fatalf("seed of a tenant with users: %v, %v", created, err)
	}
	if _, err := f.svc.Login(ctx, "initech", "peter", "peter-demo", office()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SeedUsers(ctx, "initech2", []auth.NewUser{{Username: "x", Role: "boss", Password: "12345678"}}); err == nil {
		t.Fatal("seeded an invalid role")
	}
}

func TestClientOf(t *testing.T) {
	r := request("GET", "/", "X-Forwarded-For", "203.0.113.99", "User-Agent", strings.Repeat("u", 600))
	r.RemoteAddr = "[::ffff:192.0.2.4]:5555"
	c := auth.ClientOf(r)
	if c.IP != "192.0.2.4" || len(c.UserAgent) != 512 {
		t.Fatalf("ClientOf = %+v", c)
	}
}
