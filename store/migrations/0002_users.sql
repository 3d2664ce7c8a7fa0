-- People who log in: agents, supervisors and tenant admins. A user belongs
-- to exactly one tenant; the same username may exist in several tenants, so
-- logins name the tenant too. Usernames are stored lower-case so "Alice" and
-- "alice" cannot become two accounts.
CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username      text        NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
    display_name  text        NOT NULL DEFAULT '',
    role          text        NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    -- A PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash); the
    -- algorithm is part of the value so it can change without a migration.
    password_hash text        NOT NULL CHECK (password_hash LIKE '$%'),
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    UNIQUE (tenant_id, username),
    -- Lets sessions and auth_events reference (id, tenant_id), so a row can
    -- never name a user of another tenant than its own.
    UNIQUE (id, tenant_id)
);

-- A login. The id is the SHA-256 of the bearer token: the token itself is
-- never stored, so a leaked database dump (or a read-only SQL injection)
-- yields no usable sessions.
CREATE TABLE sessions (
    id           bytea       PRIMARY KEY CHECK (length(id) = 32),
    tenant_id    text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      uuid        NOT NULL,
    created_at   timestamptz NOT NULL,
    -- The earlier of the idle and the absolute deadline, moved on as the
    -- session is used; the sweeper deletes by it.
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    user_agent   text        NOT NULL DEFAULT '',
    ip           inet,
    FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- The audit trail of logins, failures, logouts and expiries. user_id is
-- NULL for failures against unknown usernames (username keeps what was
-- typed) and survives the user's deletion as NULL, so the history stays.
CREATE TABLE auth_events (
    id        bigserial PRIMARY KEY,
    tenant_id text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id   uuid,
    username  text        NOT NULL DEFAULT '',
    at        timestamptz NOT NULL,
    kind      text        NOT NULL CHECK (kind IN ('login_ok', 'login_failed', 'logout', 'session_expired')),
    ip        inet,
    FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE SET NULL (user_id)
);
CREATE INDEX auth_events_tenant_at_idx ON auth_events (tenant_id, at);
