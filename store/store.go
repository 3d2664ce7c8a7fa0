// Package store persists Hotline's tenants, numbers and call detail records
// in PostgreSQL.
//
// The call path never talks to the database directly: it hands records to a
// Writer, which queues them in memory and writes them in batches, so a slow
// or unavailable database degrades reporting, never call handling.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
)

// storeError is a string type so sentinel errors can be constants: the
// package keeps no mutable globals, and errors.Is still works by equality.
type storeError string

func (e storeError) Error() string { return string(e) }

// ErrNotFound is returned (wrapped) when a record does not exist or belongs
// to another tenant; the two cases are deliberately indistinguishable so
// tenant-scoped APIs cannot be used to probe for other tenants' data.
const ErrNotFound = storeError("store: not found")

// Store is a handle on the Hotline database. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url (a postgres:// URL or a libpq
// keyword/value string) and checks that it answers, so a wrong URL or a
// stopped server is reported at startup rather than on the first call.
func Open(ctx context.Context, url string) (*Store, error) {
	if strings.TrimSpace(url) == "" {
		return nil, errors.New("store: empty database URL (set DATABASE_URL; `scripts/pg.sh` starts a local server and prints one)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: create pool for %s: %w", describe(cfg), err)
	}
	// Without a deadline of its own, a ping to a blackholed host would hang
	// for the kernel's TCP timeout (minutes).
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: cannot reach PostgreSQL at %s (is it running? `make db` starts one): %w", describe(cfg), err)
	}
	return &Store{pool: pool}, nil
}

// describe names the server without the password, for error messages that
// end up in logs.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Close waits for in-flight queries and closes all connections. A Writer
// using the store must have stopped first, or its remaining items are lost.
func (s *Store) Close() { s.pool.Close() }

// Pool exposes the connection pool for health checks and ad-hoc queries.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// cleanText makes SIP-supplied strings storable: PostgreSQL rejects invalid
// UTF-8 and NUL bytes, and a rejected CDR is worse than a mangled header.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}
