package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
	"hotline/store/storetest"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func open(t testing.TB, url string) *store.Store {
	t.Helper()
	s, err := store.Open(testCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// withTenants returns a migrated store holding tenants "acme" and "globex".
func withTenants(t testing.TB) *store.Store {
	t.Helper()
	s := storetest.NewStore(t)
	err := s.SyncTenants(testCtx(t),
		[]store.Tenant{{ID: "acme", Name: "Acme"}, {ID: "globex", Name: "Globex", Timezone: "Europe/Berlin"}},
		[]store.Number{{Number: "+15550100", TenantID: "acme", Flow: "main"}, {Number: "+15550200", TenantID: "globex", Flow: "main"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenUnreachable(t *testing.T) {
	// Port 1 on loopback is never a PostgreSQL server.
	_, err := store.Open(testCtx(t), "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	t.Log(err)
	if _, err := store.Open(testCtx(t), ""); err == nil {
		t.Fatal("Open accepted an empty URL")
	}
}

func TestMigrateIdempotent(t *testing.T) {
	s := open(t, storetest.NewDB(t))
	ctx := testCtx(t)
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != 1 || !slices.IsSorted(applied) {
		t.Fatalf("first Migrate applied %v, want 1.. in order", applied)
	}
	again, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second Migrate applied %v, want nothing", again)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(applied) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(applied))
	}
}

func TestMigrateConcurrent(t *testing.T) {
	url := storetest.NewDB(t)
	const procs = 4
	stores := make([]*store.Store, procs)
	for i := range stores {
		stores[i] = open(t, url)
	}
	var wg sync.WaitGroup
	results := make([][]int, procs)
	errs := make([]error, procs)
	for i, s := range stores {
		wg.Go(func() { results[i], errs[i] = s.Migrate(testCtx(t)) })
	}
	wg.Wait()
	total := 0
	for i := range stores {
		if errs[i] != nil {
			t.Fatalf("Migrate %d: %v", i, errs[i])
		}
		if len(results[i]) > 0 {
			total++
		}
	}
	if total != 1 {
		t.Fatalf("%d of %d concurrent Migrate calls applied migrations, want exactly 1: %v", total, procs, results)
	}
}

func TestSyncTenants(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)

	n, err := s.LookupNumber(ctx, "+15550200")
	if err != nil || n.TenantID != "globex" || n.Flow != "main" {
		t.Fatalf("LookupNumber = %+v, %v", n, err)
	}

	// A call for globex must survive globex leaving the config.
	w, stop := startWriter(t, s, 100)
	id := uuid.New()
	w.CallStarted(store.CallStart{ID: id, TenantID: "globex", SIPCallID: "keep"})
	flush(t, w)
	stop()

	err = s.SyncTenants(ctx,
		[]store.Tenant{{ID: "acme", Name: "Acme Inc", Timezone: "America/New_York"}},
		[]store.Number{
			{Number: "+15550100", TenantID: "acme", Flow: "sales"},
			{Number: "+15550300", TenantID: "acme", Flow: "support"},
		})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupNumber(ctx, "+15550200"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unconfigured number still routes: %v", err)
	}
	if n, err := s.LookupNumber(ctx, "+15550100"); err != nil || n.Flow != "sales" {
		t.Fatalf("updated number = %+v, %v", n, err)
	}
	if _, err := s.LookupNumber(ctx, "+15550300"); err != nil {
		t.Fatalf("new number: %v", err)
	}
	var name, tz string
	if err := s.Pool().QueryRow(ctx, "SELECT name, timezone FROM tenants WHERE id = 'acme'").Scan(&name, &tz); err != nil {
		t.Fatal(err)
	}
	if name != "Acme Inc" || tz != "America/New_York" {
		t.Fatalf("tenant acme = %q %q", name, tz)
	}
	if _, err := s.GetCall(ctx, "globex", id); err != nil {
		t.Fatalf("sync lost a call of a removed tenant: %v", err)
	}

	bad := []struct {
		name    string
		tenants []store.Tenant
		numbers []store.Number
	}{
		{"unknown tenant", []store.Tenant{{ID: "acme"}}, []store.Number{{Number: "+1", TenantID: "nope"}}},
		{"bad timezone", []store.Tenant{{ID: "acme", Timezone: "Mars/Olympus"}}, nil},
		{"bad slug", []store.Tenant{{ID: "Acme Corp"}}, nil},
		{"duplicate number", []store.Tenant{{ID: "acme"}}, []store.Number{{Number: "+1", TenantID: "acme"}, {Number: "+1", TenantID: "acme"}}},
	}
	for _, tc := range bad {
		if err := s.SyncTenants(ctx, tc.tenants, tc.numbers); err == nil {
			t.Errorf("%s: SyncTenants succeeded", tc.name)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
	// A rejected sync must leave the previous state in place.
	if _, err := s.LookupNumber(ctx, "+15550300"); err != nil {
		t.Fatalf("failed sync changed numbers: %v", err)
	}
}

func TestTenantScoping(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)
	w, stop := startWriter(t, s, 100)
	defer stop()
	id := uuid.New()
	w.CallStarted(store.CallStart{ID: id, TenantID: "acme", SIPCallID: "scoped@x", FromNumber: "+4930111"})
	w.Event(store.Event{CallID: id, Kind: "prompt", Step: "welcome"})
	flush(t, w)

	if c, err := s.GetCall(ctx, "acme", id); err != nil || c.FromNumber != "+4930111" {
		t.Fatalf("owner GetCall = %+v, %v", c, err)
	}
	if _, err := s.GetCall(ctx, "globex", id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant GetCall err = %v, want ErrNotFound", err)
	}
	if calls, err := s.ListCalls(ctx, "globex", 10); err != nil || len(calls) != 0 {
		t.Fatalf("other tenant ListCalls = %d calls, %v", len(calls), err)
	}
	if _, err := s.CallEvents(ctx, "globex", id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant CallEvents err = %v, want ErrNotFound", err)
	}
	if ev, err := s.CallEvents(ctx, "acme", id); err != nil || len(ev) != 1 {
		t.Fatalf("owner CallEvents = %v, %v", ev, err)
	}

	// An event claiming another tenant than its call must be rejected by
	// the schema, not filed under the wrong tenant.
	w.Event(store.Event{CallID: id, TenantID: "globex", Kind: "forged"})
	flush(t, w)
	if st := w.Stats(); st.Failed != 1 {
		t.Fatalf("forged event: stats %+v, want Failed=1", st)
	}
}

func TestCloseOpenCalls(t *testing.T) {
	s := withTenants(t)
	ctx := testCtx(t)
	w, stop := startWriter(t, s, 100)
	defer stop()
	open1, open2, done := uuid.New(), uuid.New(), uuid.New()
	for _, id := range []uuid.UUID{open1, open2, done} {
		w.CallStarted(store.CallStart{ID: id, TenantID: "acme", SIPCallID: id.String(), StartedAt: time.Now().Add(-time.Minute)})
	}
	w.CallEnded(store.CallEnd{ID: done, HangupCause: "normal", HangupSide: store.HangupCaller, SIPCode: 200})
	flush(t, w)

	n, err := s.CloseOpenCalls(ctx, "crash-recovery")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("CloseOpenCalls closed %d, want 2", n)
	}
	for _, id := range []uuid.UUID{open1, open2} {
		c, err := s.GetCall(ctx, "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if c.EndedAt == nil || c.HangupCause != "crash-recovery" || c.HangupSide != store.HangupSystem || c.Duration < time.Minute-time.Second {
			t.Fatalf("closed call = %+v", c)
		}
	}
	c, err := s.GetCall(ctx, "acme", done)
	if err != nil || c.HangupCause != "normal" {
		t.Fatalf("ended call was touched: %+v, %v", c, err)
	}
	if n, err := s.CloseOpenCalls(ctx, "again"); err != nil || n != 0 {
		t.Fatalf("second CloseOpenCalls = %d, %v", n, err)
	}
}

func TestFindCallBySIPCallID(t *testing.T) {
	s := withTenants(t)
	w, stop := startWriter(t, s, 100)
	defer stop()
	old, recent := uuid.New(), uuid.New()
	w.CallStarted(store.CallStart{ID: old, TenantID: "acme", SIPCallID: "reused@host", StartedAt: time.Now().Add(-time.Hour)})
	w.CallStarted(store.CallStart{ID: recent, TenantID: "globex", SIPCallID: "reused@host"})
	flush(t, w)
	got, err := s.FindCallBySIPCallID(testCtx(t), "reused@host")
	if err != nil || got.ID != recent || got.TenantID != "globex" {
		t.Fatalf("FindCallBySIPCallID = %+v, %v (want the recent call)", got, err)
	}
	if _, err := s.FindCallBySIPCallID(testCtx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing Call-ID: %v", err)
	}
}
