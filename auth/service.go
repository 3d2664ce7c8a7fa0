package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/store"
)

// CookieName is the session cookie.
const CookieName = "hotline_session"

// tokenBytes of randomness make a token; 256 bits cannot be guessed, so
// the session table needs no protection against enumeration.
const tokenBytes = 32

// MinPasswordLen is the shortest password CreateUser and SetPassword take.
const MinPasswordLen = 8

// Config tunes a Service. Zero values take the defaults documented on
// each field.
type Config struct {
	// IdleTimeout ends a session not used for this long (default 8 h, one
	// shift).
	IdleTimeout time.Duration
	// MaxAge ends a session this long after login however much it is used
	// (default 24 h), bounding what a stolen token is worth.
	MaxAge time.Duration
	// Password is the argon2id cost of new hashes (default DefaultParams;
	// tests pass CheapParams).
	Password Params
	// UserThrottle applies per (tenant, username), IPThrottle per client
	// address (defaults DefaultUserThrottle and DefaultIPThrottle).
	UserThrottle ThrottleConfig
	IPThrottle   ThrottleConfig
	// SweepEvery is how often Run deletes expired sessions (default 10 min).
	SweepEvery time.Duration
	// Now is the clock (default time.Now); tests inject their own.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service logs users in and out and authenticates requests. It is safe for
// concurrent use.
type Service struct {
	db     *store.Store
	cfg    Config
	hasher *Hasher
	users  *Throttle
	ips    *Throttle
	log    *slog.Logger
}

// New returns a Service over db.
func New(db *store.Store, cfg Config) (*Service, error) {
	if db == nil {
		return nil, errors.New("auth: new service: nil store")
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 8 * time.Hour
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Password == (Params{}) {
		cfg.Password = DefaultParams()
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h, err := NewHasher(cfg.Password)
	if err != nil {
		return nil, err
	}
	return &Service{
		db:     db,
		cfg:    cfg,
		hasher: h,
		users:  NewThrottle(cfg.UserThrottle.withDefaults(DefaultUserThrottle()), cfg.Now),
		ips:    NewThrottle(cfg.IPThrottle.withDefaults(DefaultIPThrottle()), cfg.Now),
		log:    cfg.Logger,
	}, nil
}

// Session is an authenticated login.
type Session struct {
	Principal   Principal
	DisplayName string
	CreatedAt   time.Time
	// ExpiresAt is when the session ends if not used again: the earlier
	// of the idle and the absolute deadline.
	ExpiresAt time.Time
	// Token is set only on the Session that Login returns; afterwards the
	// service knows nothing but its hash.
	Token string

	id []byte // SHA-256 of the token: the session's key
}

// Client describes where a login or request comes from, for the audit
// trail and the per-address throttle.
type Client struct {
	IP        string // empty when unknown
	UserAgent string
}

// ClientOf takes the client's address from the connection, never from
// X-Forwarded-For: anyone can write that header, and trusting it would
// let an attacker pick a fresh address for every guess.
func ClientOf(r *http.Request) Client {
	c := Client{UserAgent: r.UserAgent()}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		c.IP = a.Unmap().String()
	}
	if len(c.UserAgent) > 512 {
		c.UserAgent = c.UserAgent[:512]
	}
	return c
}

// Login checks a password and opens a session. It returns ErrInvalidCredentials
// for an unknown tenant, unknown or disabled user, or wrong password alike,
// and a *ThrottledError while locked out.
func (s *Service) Login(ctx context.Context, tenantID, username, password string, c Client) (*Session, error) {
	tenantID = strings.ToLower(strings.TrimSpace(tenantID))
	username = store.NormalizeUsername(username)
	userKey := "u\x00" + tenantID + "\x00" + username
	ipKey := "ip\x00" + c.IP
	if wait, ok := s.users.Acquire(userKey); !ok {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	if wait, ok := s.ips.Acquire(ipKey); !ok {
		s.users.Release(userKey)
		return nil, &ThrottledError{RetryAfter: wait}
	}
	sess, err := s.login(ctx, tenantID, username, password, c)
	switch {
	case err == nil:
		s.users.Reset(userKey)
		s.ips.Release(ipKey)
	case !errors.Is(err, ErrInvalidCredentials):
		// Not a guess: the database or the context failed.
		s.users.Release(userKey)
		s.ips.Release(ipKey)
	}
	return sess, err
}

func (s *Service) login(ctx context.Context, tenantID, username, password string, c Client) (*Session, error) {
	var u *store.User
	// Malformed names cannot exist; skipping the lookup also keeps text
	// PostgreSQL would reject (invalid UTF-8, NUL) away from it.
	if store.ValidTenantID(tenantID) && store.ValidateUsername(username) == nil {
		var err error
		u, err = s.db.UserByUsername(ctx, tenantID, username)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("auth: login: %w", err)
		}
	}
	ok := false
	if u == nil || u.Disabled {
		if err := s.hasher.verifyDummy(ctx, password); err != nil {
			return nil, fmt.Errorf("auth: login: %w", err)
		}
	} else {
		var err error
		ok, err = s.hasher.Verify(ctx, password, u.PasswordHash)
		if err != nil {
			// A damaged hash locks this user out; say so in the log, but the
			// client learns no more than from a wrong password.
			s.log.Error("stored password hash unusable", "tenant", tenantID, "user", username, "error", err)
			ok = false
		}
	}
	now := s.cfg.Now()
	if !ok {
		ev := store.AuthEvent{TenantID: tenantID, Username: safeText(username), At: now, Kind: store.AuthLoginFailed, IP: c.IP}
		if u != nil {
			ev.UserID = &u.ID
		}
		if store.ValidTenantID(tenantID) {
			if err := s.db.RecordAuthEvent(ctx, ev); err != nil {
				s.log.Warn("audit of failed login not written", "tenant", tenantID, "error", err)
			}
		}
		return nil, ErrInvalidCredentials
	}

	token, id, err := newToken()
	if err != nil {
		return nil, fmt.Errorf("auth: login: %w", err)
	}
	sess := &Session{
		Principal:   principalOf(u),
		DisplayName: u.DisplayName,
		CreatedAt:   now,
		ExpiresAt:   s.deadline(now, now),
		Token:       token,
		id:          id,
	}
	if err := s.db.StartSession(ctx, store.Session{
		ID: id, TenantID: u.TenantID, UserID: u.ID, CreatedAt: now, ExpiresAt: sess.ExpiresAt,
		LastSeenAt: now, UserAgent: safeText(c.UserAgent), IP: c.IP,
	}, u.Username); err != nil {
		return nil, fmt.Errorf("auth: login: %w", err)
	}
	return sess, nil
}

// safeText keeps client-supplied strings storable; the store cleans what
// it writes, but audit rows are best kept readable too.
func safeText(s string) string {
	if len(s) > 200 {
		s = s[:200] // may split a rune; repaired below
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func principalOf(u *store.User) Principal {
	return Principal{UserID: u.ID.String(), TenantID: u.TenantID, Username: u.Username, Role: u.Role}
}

// deadline is when a session created at created and last used at seen
// ends.
func (s *Service) deadline(created, seen time.Time) time.Time {
	idle, abs := seen.Add(s.cfg.IdleTimeout), created.Add(s.cfg.MaxAge)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

func newToken() (token string, id []byte, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// wellFormed rejects what newToken cannot have made without a database
// round trip.
func wellFormed(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil
}

// touchEvery limits last_seen_at writes: a session used by many requests
// a second is written at most once a minute, at a cost of up to a minute
// of idle-timeout precision.
const touchEvery = time.Minute

// Authenticate returns the session a token belongs to. An unknown token is
// ErrSessionInvalid; an expired one is deleted (and audited) and is
// ErrSessionExpired; a disabled user's sessions are ErrSessionInvalid.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, ErrNoSession
	}
	if !wellFormed(token) {
		return nil, ErrSessionInvalid
	}
	return s.byID(ctx, hashToken(token))
}

func (s *Service) byID(ctx context.Context, id []byte) (*Session, error) {
	st, u, err := s.db.SessionUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSessionInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("auth: authenticate: %w", err)
	}
	now := s.cfg.Now()
	end := s.deadline(st.CreatedAt, st.LastSeenAt)
	if st.ExpiresAt.Before(end) {
		end = st.ExpiresAt
	}
	if !now.Before(end) {
		if _, err := s.db.EndSession(ctx, id, now, store.AuthSessionExpired, ""); err != nil {
			s.log.Warn("expired session not deleted", "error", err)
		}
		return nil, ErrSessionExpired
	}
	if u.Disabled {
		return nil, ErrSessionInvalid
	}
	expires := end
	if now.Sub(st.LastSeenAt) >= touchEvery {
		expires = s.deadline(st.CreatedAt, now)
		if err := s.db.TouchSession(ctx, id, now, expires); err != nil {
			// The session stays valid until its old deadline; a failed
			// write must not fail the request it was made for.
			s.log.Warn("session activity not recorded", "error", err)
			expires = end
		}
	}
	return &Session{
		Principal:   principalOf(u),
		DisplayName: u.DisplayName,
		CreatedAt:   st.CreatedAt,
		ExpiresAt:   expires,
		id:          id,
	}, nil
}

// Revalidate checks that a session is still live and marks it used. A
// long-lived connection (the agent WebSocket) should call it every minute
// or so and close when it fails, so logout, expiry, a password change or a
// disabled account end the connection too; the returned Session carries
// the user's current role.
func (s *Service) Revalidate(ctx context.Context, sess *Session) (*Session, error) {
	if sess == nil || len(sess.id) == 0 {
		return nil, ErrNoSession
	}
	return s.byID(ctx, sess.id)
}

// Logout ends the session (deleting it, so the token is worthless from
// now on) and audits it. Ending a session that is already gone is not an
// error.
func (s *Service) Logout(ctx context.Context, sess *Session, c Client) error {
	if sess == nil || len(sess.id) == 0 {
		return ErrNoSession
	}
	if _, err := s.db.EndSession(ctx, sess.id, s.cfg.Now(), store.AuthLogout, c.IP); err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	return nil
}

// Run deletes expired sessions every SweepEvery (auditing each as
// session_expired) and trims the throttles, until ctx is done. Sessions
// presented after expiry are refused whether or not Run has swept them.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep is one round of Run.
func (s *Service) Sweep(ctx context.Context) {
	n, err := s.db.ExpireSessions(ctx, s.cfg.Now(), s.cfg.IdleTimeout, s.cfg.MaxAge)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("expired sessions not swept", "error", err)
	} else if n > 0 {
		s.log.Debug("expired sessions swept", "sessions", n)
	}
	s.users.Sweep()
	s.ips.Sweep()
}

// tokenFrom finds the session token in a request: the Authorization header
// first (an explicit choice by the client), then the cookie.
func tokenFrom(r *http.Request) (token string, viaCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(rest), false
		}
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value, true
	}
	return "", false
}

// SameOrigin reports whether a request's Origin header, if any, names the
// host the request was sent to. Browsers attach Origin to cross-site
// POSTs and to every WebSocket handshake; SameSite=Strict keeps the cookie
// off cross-site requests already, and this check also covers sibling
// subdomains, which count as same-site. X-Forwarded-Host is accepted
// because a reverse proxy may rewrite Host, and a cross-site page cannot
// set that header.
func SameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // includes "null", sent by sandboxed and file: pages
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	fwd := r.Header.Get("X-Forwarded-Host")
	return fwd != "" && strings.EqualFold(u.Host, strings.TrimSpace(strings.Split(fwd, ",")[0]))
}

// safeMethod reports methods that change nothing, which cross-site
// requests may make.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// AuthenticateRequest returns the session of an HTTP request. A request
// authenticated by cookie must come from our own origin if it could
// change anything (or is a WebSocket upgrade); bearer tokens are exempt,
// since a foreign page cannot attach them.
func (s *Service) AuthenticateRequest(r *http.Request) (*Session, error) {
	token, viaCookie := tokenFrom(r)
	if token == "" {
		return nil, ErrNoSession
	}
	if viaCookie && (!safeMethod(r.Method) || isUpgrade(r)) && !SameOrigin(r) {
		return nil, ErrCrossOrigin
	}
	return s.Authenticate(r.Context(), token)
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// AuthenticateUpgrade authenticates a WebSocket handshake before it is
// upgraded; the caller answers a non-nil error with WriteError (401/403)
// instead of upgrading. Browsers send the cookie with the handshake (and
// cannot set headers), other clients send Authorization: Bearer. The
// handshake's Origin must be ours when the cookie is used, because
// WebSockets are not subject to CORS.
func (s *Service) AuthenticateUpgrade(r *http.Request) (*Session, error) {
	if !isUpgrade(r) {
		return nil, fmt.Errorf("auth: not a WebSocket upgrade: %w", ErrNoSession)
	}
	return s.AuthenticateRequest(r)
}

// Require serves next only for authenticated requests, with the Session
// (and so the Principal) in the request context; others get a JSON 401
// (403 for a cross-origin cookie request).
func (s *Service) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.AuthenticateRequest(r)
		if err != nil {
			if StatusOf(err) == http.StatusInternalServerError {
				s.log.Error("authenticating request failed", "path", r.URL.Path, "error", err)
			}
			if errors.Is(err, ErrSessionExpired) || errors.Is(err, ErrSessionInvalid) {
				s.ClearCookie(w, r)
			}
			WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithSession(r.Context(), sess)))
	})
}

// secure reports whether the client reached us over TLS, directly or
// through a proxy that says so. Believing a forged X-Forwarded-Proto only
// makes the cookie stricter, so it is safe.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// SetCookie hands the browser its session cookie: HttpOnly so scripts
// (and so XSS) cannot read it, SameSite=Strict so other sites cannot make
// requests with it, Secure over TLS. It lives until the absolute expiry;
// the idle timeout is enforced by the server.
func (s *Service) SetCookie(w http.ResponseWriter, r *http.Request, sess *Session) {
	end := sess.CreatedAt.Add(s.cfg.MaxAge)
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    sess.Token,
		Path:     "/",
		Expires:  end,
		MaxAge:   max(1, int(end.Sub(s.cfg.Now())/time.Second)),
		HttpOnly: true,
		Secure:   secure(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// ClearCookie tells the browser to drop the session cookie.
func (s *Service) ClearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   secure(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// NewUser is a user to create, with the password in clear.
type NewUser struct {
	Username    string
	DisplayName string
	Role        string
	Password    string
	// PasswordHash, when set, is Password's hash made beforehand
	// (SeedUsers only): the demo accounts ship with theirs, so a fresh
	// server does not spend seconds of argon2id on public passwords.
	PasswordHash string
}

func checkPassword(pw string) error {
	if len(pw) < MinPasswordLen {
		return fmt.Errorf("password must be at least %d characters", MinPasswordLen)
	}
	if len(pw) > MaxPasswordLen {
		return fmt.Errorf("password must be at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// ValidateNewUser explains what is wrong with u, in words fit for an API
// client or a terminal.
func ValidateNewUser(u NewUser) error {
	if err := store.ValidateUsername(store.NormalizeUsername(u.Username)); err != nil {
		return err
	}
	if !ValidRole(u.Role) {
		return fmt.Errorf("role %q: want %s, %s or %s", u.Role, RoleAgent, RoleSupervisor, RoleAdmin)
	}
	return checkPassword(u.Password)
}

// CreateUser adds a user to a tenant. The caller decides who may: the API
// admits admins of that tenant only, the CLI whoever holds DATABASE_URL.
func (s *Service) CreateUser(ctx context.Context, tenantID string, nu NewUser) (*store.User, error) {
	if err := ValidateNewUser(nu); err != nil {
		return nil, fmt.Errorf("auth: create user: %w", err)
	}
	hash, err := s.hasher.Hash(ctx, nu.Password)
	if err != nil {
		return nil, fmt.Errorf("auth: create user: %w", err)
	}
	u, err := s.db.CreateUser(ctx, store.NewUser{
		TenantID: tenantID, Username: nu.Username, DisplayName: nu.DisplayName, Role: nu.Role, PasswordHash: hash,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: create user: %w", err)
	}
	return u, nil
}

// SetPassword changes a user's password and ends the user's sessions.
func (s *Service) SetPassword(ctx context.Context, tenantID, username, password string) error {
	if err := checkPassword(password); err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	if err := s.db.SetPassword(ctx, tenantID, username, hash); err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	return nil
}

// ListUsers returns the tenant's users (their hashes never leave the
// store package's User, which does not marshal them).
func (s *Service) ListUsers(ctx context.Context, tenantID string) ([]store.User, error) {
	users, err := s.db.ListUsers(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	return users, nil
}

// SeedUsers creates users in a tenant that has none yet, all or nothing,
// and reports whether it did; for demo accounts. Hashing is skipped when
// the tenant already has users, which is every start but the first.
func (s *Service) SeedUsers(ctx context.Context, tenantID string, users []NewUser) (bool, error) {
	n, err := s.db.CountUsers(ctx, tenantID)
	if err != nil {
		return false, fmt.Errorf("auth: seed users: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	seed := make([]store.NewUser, 0, len(users))
	for _, nu := range users {
		if err := ValidateNewUser(nu); err != nil {
			return false, fmt.Errorf("auth: seed users of tenant %q: %w", tenantID, err)
		}
		hash, err := s.seedHash(ctx, nu)
		if err != nil {
			return false, fmt.Errorf("auth: seed users of tenant %q: %w", tenantID, err)
		}
		seed = append(seed, store.NewUser{TenantID: tenantID, Username: nu.Username,
			DisplayName: nu.DisplayName, Role: nu.Role, PasswordHash: hash})
	}
	created, err := s.db.CreateUsersIfNone(ctx, tenantID, seed)
	if err != nil {
		return false, fmt.Errorf("auth: seed users: %w", err)
	}
	return created, nil
}

// seedHash is nu's password hash: the one given when it is well formed
// with parameters at least as strong as ours (checking that it matches
// the password would cost what it saves: the demo hashes are verified by
// a test instead), else a new one.
func (s *Service) seedHash(ctx context.Context, nu NewUser) (string, error) {
	if nu.PasswordHash != "" {
		p, _, _, err := ParseHash(nu.PasswordHash)
		want := s.hasher.Params()
		if err == nil && p.Memory >= want.Memory && p.Time >= want.Time {
			return nu.PasswordHash, nil
		}
	}
	return s.hasher.Hash(ctx, nu.Password)
}

// GeneratePassword returns a random password for accounts created without
// one: 16 characters of base64url, 96 bits.
func GeneratePassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
