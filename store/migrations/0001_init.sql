-- Tenants are keyed by a human slug so config files, logs and URLs can name
-- them directly without a lookup.
CREATE TABLE tenants (
    id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name       text        NOT NULL,
    timezone   text        NOT NULL DEFAULT 'UTC',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A dialled number (DID) decides both the tenant and the entry flow of an
-- inbound call. The number is the key because a DID belongs to one tenant.
CREATE TABLE phone_numbers (
    number     text PRIMARY KEY CHECK (number <> ''),
    tenant_id  text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    flow       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX phone_numbers_tenant_idx ON phone_numbers (tenant_id);

-- The CDR. Columns the call path learns only at the end are nullable so a
-- row can exist (and be listed as "in progress") from the first INVITE on.
-- Tenants are never deleted while they have calls: billing history must
-- survive a config change.
CREATE TABLE calls (
    id                   uuid PRIMARY KEY,
    tenant_id            text        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    sip_call_id          text        NOT NULL,
    direction            text        NOT NULL DEFAULT 'inbound'
                                     CHECK (direction IN ('inbound', 'outbound')),
    from_number          text        NOT NULL DEFAULT '',
    from_uri             text        NOT NULL DEFAULT '',
    to_number            text        NOT NULL DEFAULT '',
    source_addr          text        NOT NULL DEFAULT '',
    flow                 text        NOT NULL DEFAULT '',
    codec                text        NOT NULL DEFAULT '',
    started_at           timestamptz NOT NULL,
    answered_at          timestamptz,
    ended_at             timestamptz,
    hangup_cause         text,
    hangup_side          text CHECK (hangup_side IN ('caller', 'system', 'agent')),
    sip_code             integer,
    rtp_packets_sent     bigint CHECK (rtp_packets_sent >= 0),
    rtp_packets_received bigint CHECK (rtp_packets_received >= 0),
    rtp_lost             bigint,
    rtp_jitter_ms        double precision,
    rtp_max_jitter_ms    double precision,
    mos                  double precision,
    ivr_path             text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    -- Lets call_events reference (id, tenant_id) so an event can never be
    -- filed under another tenant than its call.
    UNIQUE (id, tenant_id)
);
CREATE INDEX calls_tenant_started_idx ON calls (tenant_id, started_at DESC);
CREATE INDEX calls_sip_call_id_idx ON calls (sip_call_id);
-- Only crashed or in-progress calls are open; a partial index keeps the
-- startup sweep and "active calls" views cheap however large the CDR grows.
CREATE INDEX calls_open_idx ON calls (started_at) WHERE ended_at IS NULL;

CREATE TABLE call_events (
    id        bigserial PRIMARY KEY,
    tenant_id text        NOT NULL,
    call_id   uuid        NOT NULL,
    seq       integer     NOT NULL,
    at        timestamptz NOT NULL,
    kind      text        NOT NULL CHECK (kind <> ''),
    step      text        NOT NULL DEFAULT '',
    data      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    FOREIGN KEY (call_id, tenant_id) REFERENCES calls (id, tenant_id) ON DELETE CASCADE,
    -- Unique so that a batch retried after an ambiguous commit cannot
    -- duplicate a timeline row.
    UNIQUE (call_id, seq)
);
CREATE INDEX call_events_tenant_at_idx ON call_events (tenant_id, at);
