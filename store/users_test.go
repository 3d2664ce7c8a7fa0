package store_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"hotline/store"
)

// fakeHash passes the store's PHC shape check; the store never verifies
// passwords, so it need not be a real hash.
const fakeHash = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"

func addUser(t *testing.T, s *store.Store, tenant, username, role string) *store.User {
	t.Helper()
	u, err := s.CreateUser(testCtx(t), store.NewUser{TenantID: tenant, Username: username, DisplayName: username, Role: role, PasswordHash: fakeHash})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func sessionID(t *testing.T) []byte {
	t.Helper()
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestCreateUserRules(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)
	u := addUser(t, s, "acme", "  Alice ", "agent")
	if u.Username != "alice" || u.TenantID != "acme" || u.Role != "agent" || u.Disabled || u.LastLoginAt != nil {
		t.Fatalf("created %+v", u)
	}
	// Same name, other case: taken. Same name in another tenant: fine.
	_, err := s.CreateUser(ctx, store.NewUser{TenantID: "acme", Username: "ALICE", Role: "admin", PasswordHash: fakeHash})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate username: %v, want ErrExists", err)
	}
	addUser(t, s, "globex", "alice", "supervisor")

	if _, err := s.CreateUser(ctx, store.NewUser{TenantID: "nope", Username: "x", Role: "agent", PasswordHash: fakeHash}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown tenant: %v, want ErrNotFound", err)
	}
	for _, bad := range []store.NewUser{
		{TenantID: "acme", Username: "bob", Role: "root", PasswordHash: fakeHash},
		{TenantID: "acme", Username: "", Role: "agent", PasswordHash: fakeHash},
		{TenantID: "acme", Username: "-bob", Role: "agent", PasswordHash: fakeHash},
		{TenantID: "acme", Username: "bob smith", Role: "agent", PasswordHash: fakeHash},
		{TenantID: "acme", Username: "bob", Role: "agent", PasswordHash: "plaintext"},
	} {
		if _, err := s.CreateUser(ctx, bad); err == nil || errors.Is(err, store.ErrExists) {
			t.Errorf("CreateUser(%+v) = %v, want a validation error", bad, err)
		}
	}
}

func TestUsersAreTenantScoped(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)
	addUser(t, s, "acme", "carol", "agent")
	addUser(t, s, "acme", "dave", "supervisor")
	addUser(t, s, "globex", "erin", "agent")

	if _, err := s.UserByUsername(ctx, "globex", "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("carol via globex: %v, want ErrNotFound", err)
	}
	u, err := s.UserByUsername(ctx, "acme", "Carol")
	if err != nil || u.Username != "carol" || u.PasswordHash != fakeHash {
		t.Fatalf("carol via acme: %+v, %v", u, err)
	}
	users, err := s.ListUsers(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Username != "carol" || users[1].Username != "dave" {
		t.Fatalf("acme users = %+v", users)
	}
	if n, err := s.CountUsers(ctx, "globex"); err != nil || n != 1 {
		t.Fatalf("globex count = %d, %v", n, err)
	}
}

func TestCreateUsersIfNone(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)
	seed := []store.NewUser{
		{TenantID: "acme", Username: "carol", Role: "agent", PasswordHash: fakeHash},
		{TenantID: "acme", Username: "dave", Role: "supervisor", PasswordHash: fakeHash},
	}
	// Concurrent starts seed once and never fail on each other's rows.
	var wg sync.WaitGroup
	results := make([]bool, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = s.CreateUsersIfNone(ctx, "acme", seed) })
	}
	wg.Wait()
	created := 0
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if results[i] {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d seeders created users, want 1", created)
	}
	if n, _ := s.CountUsers(ctx, "acme"); n != 2 {
		t.Fatalf("acme has %d users, want 2", n)
	}
	// A tenant with any user is left alone.
	addUser(t, s, "globex", "erin", "admin")
	if ok, err := s.CreateUsersIfNone(ctx, "globex", []store.NewUser{{TenantID: "globex", Username: "x", Role: "agent", PasswordHash: fakeHash}}); ok || err != nil {
		t.Fatalf("seeding a tenant with users: %v, %v", ok, err)
	}
	// All or nothing: one bad row creates none.
	if _, err := s.CreateUsersIfNone(ctx, "nope", seed); err == nil {
		t.Fatal("seeding with users of another tenant succeeded")
	}
}

func TestSessionLifecycleAndAudit(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)
	u := addUser(t, s, "acme", "carol", "agent")
	t0 := time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC)
	id := sessionID(t)
	sess := store.Session{ID: id, TenantID: "acme", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(8 * time.Hour),
		LastSeenAt: t0, UserAgent: "test\x00agent", IP: "192.0.2.7"}
	if err := s.StartSession(ctx, sess, "carol"); err != nil {
		t.Fatal(err)
	}
	got, gu, err := s.SessionUser(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.ID, id) || got.TenantID != "acme" || got.IP != "192.0.2.7" || got.UserAgent != "testagent" ||
		!got.CreatedAt.Equal(t0) || gu.Username != "carol" || gu.LastLoginAt == nil || !gu.LastLoginAt.Equal(t0) {
		t.Fatalf("session %+v user %+v", got, gu)
	}
	if err := s.TouchSession(ctx, id, t0.Add(time.Hour), t0.Add(9*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.SessionUser(ctx, id)
	if !got.LastSeenAt.Equal(t0.Add(time.Hour)) || !got.ExpiresAt.Equal(t0.Add(9*time.Hour)) {
		t.Fatalf("after touch: %+v", got)
	}

	// A session cannot be filed under another tenant than its user's.
	bad := sess
	bad.ID, bad.TenantID = sessionID(t), "globex"
	if err := s.StartSession(ctx, bad, "carol"); err == nil {
		t.Fatal("session of an acme user stored under globex")
	}

	if ended, err := s.EndSession(ctx, id, t0.Add(2*time.Hour), store.AuthLogout, ""); err != nil || !ended {
		t.Fatalf("EndSession = %v, %v", ended, err)
	}
	if ended, err := s.EndSession(ctx, id, t0.Add(2*time.Hour), store.AuthLogout, ""); err != nil || ended {
		t.Fatalf("second EndSession = %v, %v, want false", ended, err)
	}
	if _, _, err := s.SessionUser(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended session: %v", err)
	}

	if err := s.RecordAuthEvent(ctx, store.AuthEvent{TenantID: "acme", Username: "mallory", At: t0.Add(3 * time.Hour), Kind: store.AuthLoginFailed, IP: "198.51.100.1"}); err != nil {
		t.Fatal(err)
	}
	// Failures naming no real tenant have nowhere to go and are dropped.
	if err := s.RecordAuthEvent(ctx, store.AuthEvent{TenantID: "no-such\xff", At: t0, Kind: store.AuthLoginFailed}); err != nil {
		t.Fatal(err)
	}
	events, err := s.AuthEvents(ctx, "acme", 10)
	if err != nil {
		t.Fatal(err)
	}
	kinds := ""
	for _, e := range events {
		kinds += e.Kind + ","
	}
	if kinds != "login_failed,logout,login_ok," {
		t.Fatalf("audit kinds %q", kinds)
	}
	if events[0].UserID != nil || events[0].Username != "mallory" || events[0].IP != "198.51.100.1" {
		t.Fatalf("failed login event %+v", events[0])
	}
	if events[1].UserID == nil || *events[1].UserID != u.ID || events[1].IP != "192.0.2.7" || events[1].Username != "carol" {
		t.Fatalf("logout event %+v", events[1])
	}
	if other, _ := s.AuthEvents(ctx, "globex", 10); len(other) != 0 {
		t.Fatalf("globex sees %d acme events", len(other))
	}
}

func TestExpireSessions(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)
	u := addUser(t, s, "acme", "carol", "agent")
	t0 := time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC)
	start := func(created, seen, expires time.Time) []byte {
		id := sessionID(t)
		if err := s.StartSession(ctx, store.Session{ID: id, TenantID: "acme", UserID: u.ID, CreatedAt: created, ExpiresAt: expires}, "carol"); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSession(ctx, id, seen, expires); err != nil {
			t.Fatal(err)
		}
		return id
	}
	now := t0.Add(30 * time.Hour)
	live := start(now.Add(-time.Hour), now.Add(-time.Minute), now.Add(7*time.Hour))
	start(t0, t0, t0.Add(8*time.Hour))                                         // past its stored deadline
	start(now.Add(-10*time.Hour), now.Add(-9*time.Hour), now.Add(time.Hour))   // idle for 9 h (the rule, not the column)
	start(now.Add(-25*time.Hour), now.Add(-time.Minute), now.Add(7*time.Hour)) // older than 24 h
	n, err := s.ExpireSessions(ctx, now, 8*time.Hour, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("expired %d sessions, want 3", n)
	}
	if _, _, err := s.SessionUser(ctx, live); err != nil {
		t.Fatalf("live session swept: %v", err)
	}
	events, _ := s.AuthEvents(ctx, "acme", 100)
	expired := 0
	for _, e := range events {
		if e.Kind == store.AuthSessionExpired {
			expired++
		}
	}
	if expired != 3 {
		t.Fatalf("%d session_expired events, want 3", expired)
	}
}

func TestSetPasswordEndsSessions(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)
	u := addUser(t, s, "acme", "carol", "agent")
	id := sessionID(t)
	now := time.Now()
	if err := s.StartSession(ctx, store.Session{ID: id, TenantID: "acme", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, "carol"); err != nil {
		t.Fatal(err)
	}
	newHash := fakeHash + "x"
	if err := s.SetPassword(ctx, "acme", "CAROL", newHash); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session survived a password change: %v", err)
	}
	got, _ := s.UserByUsername(ctx, "acme", "carol")
	if got.PasswordHash != newHash {
		t.Fatalf("hash = %q", got.PasswordHash)
	}
	if err := s.SetPassword(ctx, "globex", "carol", newHash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("password of carol via globex: %v, want ErrNotFound", err)
	}
}
