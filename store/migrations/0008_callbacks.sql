-- Callbacks that keep the caller's place in line. The caller asks from the
-- queue, confirms a number and hangs up; the request waits in the ACD in
-- the caller's place, and when its turn comes an agent is reserved first,
-- then the number is dialled over the tenant's outbound trunk. One row per
-- request; every try is a row in callback_attempts.
CREATE TABLE callbacks (
    id            uuid PRIMARY KEY,
    tenant_id     text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id       uuid        NOT NULL,          -- the inbound call that asked
    queue         text        NOT NULL CHECK (queue <> ''),
    number        text        NOT NULL CHECK (number <> ''),
    requested_at  timestamptz NOT NULL,
    status        text        NOT NULL DEFAULT 'waiting'
                  CHECK (status IN ('waiting', 'dialling', 'completed', 'failed', 'cancelled')),
    attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_try_at   timestamptz,
    agent_id      text,                          -- the agent who took it, once connected
    result_call_id uuid,                         -- the outbound call that reached the caller
    disposition   text        NOT NULL DEFAULT '', -- final: completed, no-answer, busy, rejected, expired...
    finished_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX callbacks_tenant_requested_idx ON callbacks (tenant_id, requested_at DESC);
CREATE INDEX callbacks_open_idx ON callbacks (tenant_id) WHERE finished_at IS NULL;

CREATE TABLE callback_attempts (
    callback_id uuid        NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
    attempt     integer     NOT NULL CHECK (attempt > 0),
    agent_id    text        NOT NULL DEFAULT '',
    call_id     uuid,                             -- the outbound call of this try
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    result      text        NOT NULL DEFAULT '',  -- answered, busy, no-answer, failed...
    PRIMARY KEY (callback_id, attempt)
);

-- A queue stint that ends because the caller chose a callback is neither
-- answered nor abandoned; calls placed back to a caller are CDRs of their own.
ALTER TABLE queue_entries DROP CONSTRAINT IF EXISTS queue_entries_outcome_check;
ALTER TABLE queue_entries ADD CONSTRAINT queue_entries_outcome_check
    CHECK (outcome IN ('answered', 'abandoned', 'overflow', 'exit', 'rejected', 'transferred', 'requeued', 'callback'));
ALTER TABLE calls DROP CONSTRAINT IF EXISTS calls_direction_check;
ALTER TABLE calls ADD CONSTRAINT calls_direction_check
    CHECK (direction IN ('inbound', 'outbound', 'callback'));
-- Outbound calls are placed by an agent (click to call) or for a callback.
ALTER TABLE calls ADD COLUMN agent_id text NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN queue text NOT NULL DEFAULT '';

-- Calls we place end on the far end's BYE too: that side is the callee
-- (call.SideCallee), which a caller-only list refused, losing the CDR's end.
ALTER TABLE calls DROP CONSTRAINT IF EXISTS calls_hangup_side_check;
ALTER TABLE calls ADD CONSTRAINT calls_hangup_side_check
    CHECK (hangup_side IN ('caller', 'system', 'agent', 'callee'));
