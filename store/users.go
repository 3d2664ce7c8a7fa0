package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrExists is returned (wrapped) when a user with that username already
// exists in the tenant.
const ErrExists = storeError("store: already exists")

// Kinds of auth_events rows, the only values the table accepts.
const (
	AuthLoginOK        = "login_ok"
	AuthLoginFailed    = "login_failed"
	AuthLogout         = "logout"
	AuthSessionExpired = "session_expired"
)

// User is a person who logs in to one tenant.
type User struct {
	ID          uuid.UUID  `json:"id"`
	TenantID    string     `json:"tenant"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Role        string     `json:"role"`
	Disabled    bool       `json:"disabled"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
	// Never marshalled, so a handler that returns a User cannot leak it.
	PasswordHash string `json:"-"`
}

// NewUser is what creating a user needs; the password is already hashed,
// because hashing policy belongs to the auth package.
type NewUser struct {
	TenantID     string
	Username     string // normalised with NormalizeUsername
	DisplayName  string
	Role         string // "agent", "supervisor" or "admin"
	PasswordHash string
}

// Session is a stored login. ID is the SHA-256 of the token the client
// holds; the token itself never reaches the database.
type Session struct {
	ID         []byte
	TenantID   string
	UserID     uuid.UUID
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	UserAgent  string
	IP         string // empty when unknown
}

// AuthEvent is one row of the authentication audit trail.
type AuthEvent struct {
	TenantID string     `json:"tenant"`
	UserID   *uuid.UUID `json:"user_id,omitempty"` // nil for an unknown username
	Username string     `json:"username"`
	At       time.Time  `json:"at"`
	Kind     string     `json:"kind"` // AuthLoginOK, AuthLoginFailed, AuthLogout, AuthSessionExpired
	IP       string     `json:"ip,omitempty"`
}

// NormalizeUsername is applied on every write and lookup, so usernames are
// case-insensitive and stray spaces from copy and paste do not matter.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateUsername explains what a username may contain, for the CLI and
// the API; the database enforces the same rule.
func ValidateUsername(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("username %q: want 1-64 characters", s)
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '.' || r == '_' || r == '@' || r == '-') && i > 0:
		default:
			return fmt.Errorf("username %q: want lower-case letters, digits, '.', '_', '@', '-', starting with a letter or digit", s)
		}
	}
	return nil
}

// ValidRole reports whether the users table accepts the role.
func ValidRole(role string) bool {
	switch role {
	case "agent", "supervisor", "admin":
		return true
	}
	return false
}

func validateNewUser(u NewUser) error {
	if err := ValidateUsername(u.Username); err != nil {
		return err
	}
	if !ValidRole(u.Role) {
		return fmt.Errorf("role %q: want agent, supervisor or admin", u.Role)
	}
	if !strings.HasPrefix(u.PasswordHash, "$") {
		return errors.New("password hash is not a PHC string")
	}
	if len(u.DisplayName) > 200 {
		return errors.New("display name longer than 200 bytes")
	}
	return nil
}

const userColumns = `id, tenant_id, username, display_name, role, password_hash, disabled,
	created_at, updated_at, last_login_at`

func scanUser(row pgx.Row) (*User, error) {
	var u User
	if err := row.Scan(&u.ID, &u.TenantID, &u.Username, &u.DisplayName, &u.Role, &u.PasswordHash,
		&u.Disabled, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt); err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser adds a user. A taken username is ErrExists, an unknown tenant
// ErrNotFound.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	nu.Username = NormalizeUsername(nu.Username)
	nu.DisplayName = cleanText(strings.TrimSpace(nu.DisplayName))
	if err := validateNewUser(nu); err != nil {
		return nil, fmt.Errorf("store: create user in tenant %q: %w", nu.TenantID, err)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `INSERT INTO users (tenant_id, username, display_name, role, password_hash)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+userColumns,
		nu.TenantID, nu.Username, nu.DisplayName, nu.Role, nu.PasswordHash))
	if err != nil {
		return nil, fmt.Errorf("store: create user %q in tenant %q: %w", nu.Username, nu.TenantID, classify(err))
	}
	return u, nil
}

// classify maps constraint violations to the package's sentinel errors,
// keeping the original error in the chain for logs.
func classify(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w (%s)", ErrExists, pg.Message)
		case "23503": // foreign_key_violation: the tenant does not exist
			return fmt.Errorf("%w: no such tenant (%s)", ErrNotFound, pg.Message)
		}
	}
	return err
}

// CreateUsersIfNone creates the users only when the tenant has none yet,
// all or nothing, and reports whether it did. It is for seeding demo
// accounts: a tenant whose users were since changed or deleted is left
// alone, and two servers starting together seed it once.
func (s *Store) CreateUsersIfNone(ctx context.Context, tenantID string, seed []NewUser) (created bool, err error) {
	users := make([]NewUser, len(seed))
	copy(users, seed)
	for i := range users {
		users[i].Username = NormalizeUsername(users[i].Username)
		if users[i].TenantID != tenantID {
			return false, fmt.Errorf("store: seed users of tenant %q: user %q is for tenant %q", tenantID, users[i].Username, users[i].TenantID)
		}
		if err := validateNewUser(users[i]); err != nil {
			return false, fmt.Errorf("store: seed users of tenant %q: %w", tenantID, err)
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("store: seed users of tenant %q: begin: %w", tenantID, err)
	}
	defer rollback(ctx, tx, &err, fmt.Sprintf("seed users of tenant %q", tenantID))
	// Locking the tenant row serialises concurrent seeders of this tenant
	// without blocking anyone else.
	var found string
	if err := tx.QueryRow(ctx, "SELECT id FROM tenants WHERE id = $1 FOR UPDATE", tenantID).Scan(&found); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return false, fmt.Errorf("store: seed users of tenant %q: %w", tenantID, ErrNotFound)
		}
		return false, fmt.Errorf("store: seed users of tenant %q: lock tenant: %w", tenantID, err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1)", tenantID).Scan(&exists); err != nil {
		return false, fmt.Errorf("store: seed users of tenant %q: count users: %w", tenantID, err)
	}
	if exists {
		return false, nil
	}
	for _, u := range users {
		if _, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, username, display_name, role, password_hash)
			VALUES ($1, $2, $3, $4, $5)`, u.TenantID, u.Username, cleanText(u.DisplayName), u.Role, u.PasswordHash); err != nil {
			return false, fmt.Errorf("store: seed user %q of tenant %q: %w", u.Username, tenantID, classify(err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("store: seed users of tenant %q: commit: %w", tenantID, err)
	}
	return true, nil
}

// UserByUsername returns a user of the tenant; an unknown username (or
// tenant) is ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, tenantID, username string) (*User, error) {
	username = NormalizeUsername(username)
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+
		" FROM users WHERE tenant_id = $1 AND username = $2", tenantID, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: user %q of tenant %q: %w", username, tenantID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: user %q of tenant %q: %w", username, tenantID, err)
	}
	return u, nil
}

// ListUsers returns the tenant's users ordered by username.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]User, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+
		" FROM users WHERE tenant_id = $1 ORDER BY username", tenantID)
	if err != nil {
		return nil, fmt.Errorf("store: list users of tenant %q: %w", tenantID, err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) {
		u, err := scanUser(r)
		if err != nil {
			return User{}, err
		}
		return *u, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list users of tenant %q: %w", tenantID, err)
	}
	return users, nil
}

// CountUsers returns how many users the tenant has.
func (s *Store) CountUsers(ctx context.Context, tenantID string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM users WHERE tenant_id = $1", tenantID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users of tenant %q: %w", tenantID, err)
	}
	return n, nil
}

// SetPassword replaces a user's password hash and ends all of the user's
// sessions, so a password changed because it leaked locks the holder out.
func (s *Store) SetPassword(ctx context.Context, tenantID, username, hash string) (err error) {
	username = NormalizeUsername(username)
	if !strings.HasPrefix(hash, "$") {
		return fmt.Errorf("store: set password of %q in tenant %q: hash is not a PHC string", username, tenantID)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: set password of %q in tenant %q: begin: %w", username, tenantID, err)
	}
	defer rollback(ctx, tx, &err, fmt.Sprintf("set password of %q in tenant %q", username, tenantID))
	var id uuid.UUID
	err = tx.QueryRow(ctx, `UPDATE users SET password_hash = $3, updated_at = now()
		WHERE tenant_id = $1 AND username = $2 RETURNING id`, tenantID, username, hash).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: set password of %q in tenant %q: %w", username, tenantID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: set password of %q in tenant %q: %w", username, tenantID, err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2", tenantID, id); err != nil {
		return fmt.Errorf("store: set password of %q in tenant %q: end sessions: %w", username, tenantID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: set password of %q in tenant %q: commit: %w", username, tenantID, err)
	}
	return nil
}

// StartSession stores a new session and, in the same statement, stamps the
// user's last login and writes the login_ok audit row, so the audit trail
// cannot miss a session that exists.
func (s *Store) StartSession(ctx context.Context, sess Session, username string) error {
	if len(sess.ID) != 32 {
		return fmt.Errorf("store: start session for user %s: id must be 32 bytes, got %d", sess.UserID, len(sess.ID))
	}
	_, err := s.pool.Exec(ctx, `WITH s AS (
			INSERT INTO sessions (id, tenant_id, user_id, created_at, expires_at, last_seen_at, user_agent, ip)
			VALUES ($1, $2, $3, $4, $5, $4, $6, NULLIF($7, '')::inet)
			RETURNING tenant_id, user_id, created_at, ip
		), u AS (
			UPDATE users SET last_login_at = $4 WHERE tenant_id = $2 AND id = $3
		)
		INSERT INTO auth_events (tenant_id, user_id, username, at, kind, ip)
		SELECT tenant_id, user_id, $8, created_at, 'login_ok', ip FROM s`,
		sess.ID, sess.TenantID, sess.UserID, sess.CreatedAt, sess.ExpiresAt,
		cleanText(sess.UserAgent), sess.IP, NormalizeUsername(username))
	if err != nil {
		return fmt.Errorf("store: start session for user %s of tenant %q: %w", sess.UserID, sess.TenantID, classify(err))
	}
	return nil
}

// SessionUser returns a session with its user, who is read afresh on every
// call so a role change or a disabled account takes effect at once. An
// unknown id is ErrNotFound; expiry is the caller's decision.
func (s *Store) SessionUser(ctx context.Context, id []byte) (*Session, *User, error) {
	var sess Session
	var u User
	err := s.pool.QueryRow(ctx, `SELECT s.id, s.tenant_id, s.user_id, s.created_at, s.expires_at,
			s.last_seen_at, s.user_agent, coalesce(host(s.ip), ''),
			u.id, u.tenant_id, u.username, u.display_name, u.role, u.password_hash, u.disabled,
			u.created_at, u.updated_at, u.last_login_at
		FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
		WHERE s.id = $1`, id).Scan(
		&sess.ID, &sess.TenantID, &sess.UserID, &sess.CreatedAt, &sess.ExpiresAt,
		&sess.LastSeenAt, &sess.UserAgent, &sess.IP,
		&u.ID, &u.TenantID, &u.Username, &u.DisplayName, &u.Role, &u.PasswordHash, &u.Disabled,
		&u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: session: %w", err)
	}
	return &sess, &u, nil
}

// TouchSession records activity: the session was seen at seen and now
// expires at expires.
func (s *Store) TouchSession(ctx context.Context, id []byte, seen, expires time.Time) error {
	if _, err := s.pool.Exec(ctx, "UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1",
		id, seen, expires); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// EndSession deletes a session and writes the audit row of the given kind
// (AuthLogout or AuthSessionExpired) in one statement. It reports whether
// the session existed, so of two concurrent enders only one audits.
func (s *Store) EndSession(ctx context.Context, id []byte, at time.Time, kind, ip string) (bool, error) {
	if kind != AuthLogout && kind != AuthSessionExpired {
		return false, fmt.Errorf("store: end session: kind %q is neither %s nor %s", kind, AuthLogout, AuthSessionExpired)
	}
	tag, err := s.pool.Exec(ctx, `WITH gone AS (
			DELETE FROM sessions WHERE id = $1 RETURNING tenant_id, user_id, ip
		)
		INSERT INTO auth_events (tenant_id, user_id, username, at, kind, ip)
		SELECT g.tenant_id, g.user_id, coalesce(u.username, ''), $2, $3, coalesce(NULLIF($4, '')::inet, g.ip)
		FROM gone g LEFT JOIN users u ON u.id = g.user_id`, id, at, kind, ip)
	if err != nil {
		return false, fmt.Errorf("store: end session: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// ExpireSessions deletes every session that is past its stored deadline,
// idle since before now-idle, or created before now-maxAge (so shortening
// the timeouts applies to sessions already open), auditing each one. It
// returns how many it deleted. A zero idle or maxAge disables that rule.
func (s *Store) ExpireSessions(ctx context.Context, now time.Time, idle, maxAge time.Duration) (int64, error) {
	idleCut, maxCut := time.Time{}, time.Time{}
	if idle > 0 {
		idleCut = now.Add(-idle)
	}
	if maxAge > 0 {
		maxCut = now.Add(-maxAge)
	}
	tag, err := s.pool.Exec(ctx, `WITH gone AS (
			DELETE FROM sessions
			WHERE expires_at <= $1 OR last_seen_at <= $2 OR created_at <= $3
			RETURNING tenant_id, user_id, ip
		)
		INSERT INTO auth_events (tenant_id, user_id, username, at, kind, ip)
		SELECT g.tenant_id, g.user_id, coalesce(u.username, ''), $1, 'session_expired', g.ip
		FROM gone g LEFT JOIN users u ON u.id = g.user_id`, now, idleCut, maxCut)
	if err != nil {
		return 0, fmt.Errorf("store: expire sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RecordAuthEvent appends to the audit trail. An event for a tenant that
// does not exist is dropped silently: failed logins name whatever tenant
// the client typed, and there is no tenant to file those under.
func (s *Store) RecordAuthEvent(ctx context.Context, e AuthEvent) error {
	switch e.Kind {
	case AuthLoginOK, AuthLoginFailed, AuthLogout, AuthSessionExpired:
	default:
		return fmt.Errorf("store: record auth event: unknown kind %q", e.Kind)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO auth_events (tenant_id, user_id, username, at, kind, ip)
		SELECT $1, $2, $3, $4, $5, NULLIF($6, '')::inet
		WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1)`,
		cleanText(e.TenantID), e.UserID, cleanText(e.Username), e.At, e.Kind, e.IP); err != nil {
		return fmt.Errorf("store: record auth event %s for tenant %q: %w", e.Kind, e.TenantID, err)
	}
	return nil
}

// AuthEvents returns a tenant's most recent audit rows, newest first.
// limit <= 0 means 100; it is capped at 1000.
func (s *Store) AuthEvents(ctx context.Context, tenantID string, limit int) ([]AuthEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, user_id, username, at, kind, coalesce(host(ip), '')
		FROM auth_events WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: auth events of tenant %q: %w", tenantID, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuthEvent, error) {
		var e AuthEvent
		err := r.Scan(&e.TenantID, &e.UserID, &e.Username, &e.At, &e.Kind, &e.IP)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: auth events of tenant %q: %w", tenantID, err)
	}
	return events, nil
}

// ValidTenantID reports whether s could name a tenant, so callers can turn
// away garbage (which PostgreSQL might reject as invalid text) before a
// lookup.
func ValidTenantID(s string) bool { return validSlug(s) }
