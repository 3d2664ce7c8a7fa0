-- Call recordings: one row per recorded call, pointing at a file under the
-- recordings directory. The file is the audio; this row is what the API,
-- the retention sweeper and the startup repair trust about it. The row
-- references only the tenant, not calls: the CDR reaches the database
-- through the asynchronous writer, so a recording may be stored before its
-- call row (or while the database catches up after an outage).
CREATE TABLE recordings (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      text        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    call_id        uuid        NOT NULL,
    -- Every agent who was on the call (transfers add one), in order; each
    -- may play the recording back.
    agent_ids      text[]      NOT NULL DEFAULT '{}',
    -- Relative to the recordings directory, so the directory can move.
    path           text        NOT NULL CHECK (path <> '' AND path NOT LIKE '/%' AND path NOT LIKE '%..%'),
    started_at     timestamptz NOT NULL,
    duration_ms    bigint      NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    size_bytes     bigint      NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    -- SHA-256 of the PCM audio (the WAV data chunk, after decryption), so
    -- one checksum means the same for plain and encrypted files.
    sha256         text        NOT NULL DEFAULT '' CHECK (sha256 = '' OR sha256 ~ '^[0-9a-f]{64}$'),
    encrypted      boolean     NOT NULL DEFAULT false,
    key_id         text        NOT NULL DEFAULT '',
    -- [{"start_ms":..,"end_ms":..}], ms from the start of the recording;
    -- the audio is silence over each span.
    paused_spans   jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(paused_spans) = 'array'),
    dropped_frames bigint      NOT NULL DEFAULT 0 CHECK (dropped_frames >= 0),
    status         text        NOT NULL CHECK (status IN ('recording', 'complete', 'incomplete', 'deleted')),
    deleted_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (encrypted = (key_id <> '')),
    CHECK ((status = 'deleted') = (deleted_at IS NOT NULL)),
    UNIQUE (tenant_id, call_id),
    -- Lets recording_access reference (id, tenant_id), so an audit row can
    -- never name another tenant's recording.
    UNIQUE (id, tenant_id)
);
-- The sweeper's scan: live recordings of a tenant by age.
CREATE INDEX recordings_retention_idx ON recordings (tenant_id, started_at)
    WHERE status IN ('complete', 'incomplete');
-- The startup repair's scan: recordings a crash left open.
CREATE INDEX recordings_open_idx ON recordings (tenant_id) WHERE status = 'recording';

-- The audit trail of every attempt to reach a recording, allowed or not.
-- recording_id is NULL when the request named no recording of the
-- requester's tenant (another tenant's call looks like no call at all, and
-- the audit row stays in the requester's tenant). Rows outlive the
-- recording's deletion by retention: the row is marked, never removed.
CREATE TABLE recording_access (
    id           bigserial PRIMARY KEY,
    tenant_id    text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    recording_id uuid,
    call_id      uuid,
    user_id      uuid,
    username     text        NOT NULL DEFAULT '',
    role         text        NOT NULL DEFAULT '',
    action       text        NOT NULL CHECK (action IN ('play', 'download', 'meta', 'denied')),
    -- The Range header as sent ('' for the whole file).
    range_header text        NOT NULL DEFAULT '',
    status_code  integer     NOT NULL,
    reason       text        NOT NULL DEFAULT '',
    remote_addr  inet,
    at           timestamptz NOT NULL,
    FOREIGN KEY (recording_id, tenant_id) REFERENCES recordings (id, tenant_id) ON DELETE SET NULL (recording_id),
    FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE SET NULL (user_id)
);
CREATE INDEX recording_access_tenant_at_idx ON recording_access (tenant_id, at);
CREATE INDEX recording_access_call_idx ON recording_access (tenant_id, call_id, at);
