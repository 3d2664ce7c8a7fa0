// Package storetest gives tests a private, throw-away PostgreSQL database,
// so test packages that `go test ./...` runs in parallel never see each
// other's rows.
//
// The server is taken from DATABASE_URL (as exported by `make test`), or
// postgres://postgres@127.0.0.1:5432/test when unset. Set
// HOTLINE_TEST_KEEP_DB=1 to keep the databases for inspection.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline/store"
)

// DefaultURL is used when DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

const prefix = "hotline_test_"

// staleAfter is how old a leftover test database (from a run that was
// killed before its cleanup) must be before another run drops it; it is
// well beyond the 25-minute test timeout so no live run loses its database.
const staleAfter = 3 * time.Hour

// BaseURL is the server that test databases are created on.
func BaseURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewDB creates an empty database for the test (or benchmark) and drops it
// when the test ends. It returns the new database's URL.
func NewDB(t testing.TB) string {
	t.Helper()
	base := BaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("storetest: cannot reach the test PostgreSQL server (DATABASE_URL=%q; run `make db` or export DATABASE_URL): %v", redact(base), err)
	}
	defer conn.Close(context.Background())

	dropStale(ctx, t, conn)

	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("storetest: random name: %v", err)
	}
	name := fmt.Sprintf("%s%d_%s", prefix, time.Now().Unix(), hex.EncodeToString(rnd[:]))
	// template0 because template1 refuses to be copied while anyone is
	// connected to it, which parallel test packages would trip over.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		t.Fatalf("storetest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if os.Getenv("HOTLINE_TEST_KEEP_DB") != "" {
			t.Logf("storetest: keeping database %s", name)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		// FORCE: a pool the test forgot to close must not leak the database.
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})

	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return u
}

// NewStore opens a migrated store on a fresh database and closes it when
// the test ends.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	u := NewDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return s
}

// dropStale is best effort: failing to tidy up after an old run must not
// fail this one.
func dropStale(ctx context.Context, t testing.TB, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'hotline\\_test\\_%'")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		stamp, _, _ := strings.Cut(strings.TrimPrefix(n, prefix), "_")
		sec, err := strconv.ParseInt(stamp, 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)) < staleAfter {
			continue
		}
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err == nil {
			t.Logf("storetest: dropped stale database %s", n)
		}
	}
}

// withDatabase points a connection string at another database, in either
// of the two forms pgx accepts.
func withDatabase(conn, db string) (string, error) {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return "", fmt.Errorf("parse DATABASE_URL: %w", err)
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	// Keyword/value form: a later keyword overrides an earlier one.
	return conn + " dbname=" + db, nil
}

func redact(conn string) string {
	u, err := url.Parse(conn)
	if err != nil || u.User == nil {
		return conn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
