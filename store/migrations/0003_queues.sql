-- ACD records. Rows are written asynchronously by store.Writer, so they
-- reference only the tenant: a queue entry may reach the database in the
-- same batch as its call's first row, and an agent's row must survive the
-- user's deletion for reports. Reports join calls and users by id.

-- One row per stint of a call in one queue: an overflow closes the stint
-- (outcome overflow) and opens another in the next queue. The row is
-- written when the call enters and rewritten as it is offered, answered or
-- leaves, so a crash leaves an open row (left_at NULL) rather than none.
CREATE TABLE queue_entries (
    id          uuid PRIMARY KEY,
    tenant_id   text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id     uuid        NOT NULL,
    queue       text        NOT NULL CHECK (queue <> ''),
    entered_at  timestamptz NOT NULL,
    offered_at  timestamptz,
    answered_at timestamptz,
    agent_id    text,
    left_at     timestamptz,
    outcome     text CHECK (outcome IN ('answered', 'abandoned', 'overflow', 'exit', 'rejected')),
    wait_ms     bigint CHECK (wait_ms >= 0),
    CHECK ((outcome IS NULL) = (left_at IS NULL))
);
CREATE INDEX queue_entries_tenant_entered_idx ON queue_entries (tenant_id, entered_at DESC);
CREATE INDEX queue_entries_call_idx ON queue_entries (call_id);

-- Every agent state transition, with its reason (a break code, no-answer,
-- wrap-up-expired...), so occupancy and adherence can be computed.
CREATE TABLE agent_state_changes (
    id        uuid PRIMARY KEY,
    tenant_id text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id   text        NOT NULL CHECK (user_id <> ''),
    state     text        NOT NULL CHECK (state <> ''),
    reason    text        NOT NULL DEFAULT '',
    at        timestamptz NOT NULL
);
CREATE INDEX agent_state_changes_tenant_at_idx ON agent_state_changes (tenant_id, at);
CREATE INDEX agent_state_changes_user_idx ON agent_state_changes (tenant_id, user_id, at);

-- Append-only, like Asterisk's queue_log: every ACD decision (enter, offer,
-- no answer, answer, abandon, overflow, exit, announce...) in order, so any
-- report can be rebuilt from it after the fact. The id makes a retried
-- batch idempotent; seq keeps the order of rows with the same timestamp.
CREATE TABLE queue_log (
    id        uuid PRIMARY KEY,
    seq       bigserial,
    tenant_id text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    call_id   uuid,
    queue     text        NOT NULL DEFAULT '',
    agent     text        NOT NULL DEFAULT '',
    event     text        NOT NULL CHECK (event <> ''),
    data      jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX queue_log_tenant_at_idx ON queue_log (tenant_id, at, seq);
CREATE INDEX queue_log_call_idx ON queue_log (call_id) WHERE call_id IS NOT NULL;

-- The code an agent picks in wrap-up, with an optional note.
CREATE TABLE dispositions (
    id        uuid PRIMARY KEY,
    tenant_id text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id   uuid        NOT NULL,
    user_id   text        NOT NULL CHECK (user_id <> ''),
    code      text        NOT NULL CHECK (code <> ''),
    note      text        NOT NULL DEFAULT '',
    at        timestamptz NOT NULL
);
CREATE INDEX dispositions_tenant_at_idx ON dispositions (tenant_id, at);
CREATE INDEX dispositions_call_idx ON dispositions (call_id);
