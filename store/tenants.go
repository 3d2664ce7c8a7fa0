package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Tenant is one customer of the platform, as configured.
type Tenant struct {
	ID       string `json:"id"` // slug: lower-case letters, digits, '-' and '_'
	Name     string `json:"name"`
	Timezone string `json:"timezone"` // IANA name; empty means UTC
}

// Number maps a dialled number (DID) to its tenant and entry flow.
type Number struct {
	Number   string `json:"number"` // E.164, e.g. +4930123456
	TenantID string `json:"tenant_id"`
	Flow     string `json:"flow"`
}

// syncLockKey serialises SyncTenants across processes so two instances
// starting together cannot interleave their deletes and upserts.
const syncLockKey int64 = 0x686f746c696e66

// SyncTenants makes the database match the configuration: tenants and
// numbers are upserted, and numbers that are no longer configured are
// removed, so a DID taken out of the config stops routing. Tenants are never
// deleted, because their call history must survive a config change.
func (s *Store) SyncTenants(ctx context.Context, tenants []Tenant, numbers []Number) (err error) {
	if err := validateSync(tenants, numbers); err != nil {
		return fmt.Errorf("store: sync tenants: %w", err)
	}
	ids := make([]string, len(tenants))
	names := make([]string, len(tenants))
	zones := make([]string, len(tenants))
	for i, t := range tenants {
		ids[i], names[i], zones[i] = t.ID, t.Name, t.Timezone
		if zones[i] == "" {
			zones[i] = "UTC"
		}
	}
	nums := make([]string, len(numbers))
	owners := make([]string, len(numbers))
	flows := make([]string, len(numbers))
	for i, n := range numbers {
		nums[i], owners[i], flows[i] = n.Number, n.TenantID, n.Flow
	}

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: sync tenants: begin: %w", err)
	}
	defer rollback(ctx, tx, &err, "sync tenants")
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", syncLockKey); err != nil {
		return fmt.Errorf("store: sync tenants: take advisory lock: %w", err)
	}

	// The server's own zone list is the one its date functions will use, so
	// a name it does not know would break reports later; reject it now.
	rows, err := tx.Query(ctx, `SELECT DISTINCT z FROM unnest($1::text[]) AS z
		WHERE z NOT IN (SELECT name FROM pg_timezone_names)`, zones)
	if err != nil {
		return fmt.Errorf("store: sync tenants: check timezones: %w", err)
	}
	bad, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("store: sync tenants: check timezones: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("store: sync tenants: unknown timezone(s) %s", strings.Join(bad, ", "))
	}

	if _, err := tx.Exec(ctx, `
		INSERT INTO tenants (id, name, timezone)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
		ON CONFLICT (id) DO UPDATE
		SET name = EXCLUDED.name, timezone = EXCLUDED.timezone, updated_at = now()
		WHERE (tenants.name, tenants.timezone) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.timezone)`,
		ids, names, zones); err != nil {
		return fmt.Errorf("store: sync tenants: upsert tenants: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM phone_numbers WHERE NOT (number = ANY($1::text[]))`, nums); err != nil {
		return fmt.Errorf("store: sync tenants: remove unconfigured numbers: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO phone_numbers (number, tenant_id, flow)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
		ON CONFLICT (number) DO UPDATE
		SET tenant_id = EXCLUDED.tenant_id, flow = EXCLUDED.flow, updated_at = now()
		WHERE (phone_numbers.tenant_id, phone_numbers.flow) IS DISTINCT FROM (EXCLUDED.tenant_id, EXCLUDED.flow)`,
		nums, owners, flows); err != nil {
		return fmt.Errorf("store: sync tenants: upsert numbers: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: sync tenants: commit: %w", err)
	}
	return nil
}

// validateSync catches config mistakes with messages that name the culprit,
// instead of a constraint violation naming an index.
func validateSync(tenants []Tenant, numbers []Number) error {
	known := make(map[string]bool, len(tenants))
	for _, t := range tenants {
		if !validSlug(t.ID) {
			return fmt.Errorf("tenant id %q: want 1-63 of a-z, 0-9, '-', '_' starting with a letter or digit", t.ID)
		}
		if known[t.ID] {
			return fmt.Errorf("tenant %q listed twice", t.ID)
		}
		known[t.ID] = true
	}
	seen := make(map[string]bool, len(numbers))
	for _, n := range numbers {
		if n.Number == "" {
			return fmt.Errorf("number with empty value for tenant %q", n.TenantID)
		}
		if seen[n.Number] {
			return fmt.Errorf("number %s listed twice", n.Number)
		}
		seen[n.Number] = true
		if !known[n.TenantID] {
			return fmt.Errorf("number %s: unknown tenant %q", n.Number, n.TenantID)
		}
	}
	return nil
}

func validSlug(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// LookupNumber returns the tenant and flow that a dialled number routes to.
func (s *Store) LookupNumber(ctx context.Context, number string) (*Number, error) {
	var n Number
	err := s.pool.QueryRow(ctx,
		"SELECT number, tenant_id, flow FROM phone_numbers WHERE number = $1", number,
	).Scan(&n.Number, &n.TenantID, &n.Flow)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: lookup number %s: %w", number, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: lookup number %s: %w", number, err)
	}
	return &n, nil
}
