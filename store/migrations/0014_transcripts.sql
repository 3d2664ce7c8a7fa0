-- Live transcripts of agent calls (docs/transcripts.md): one row per phrase,
-- caller and agent apart, as the speech workers finish them. No foreign key
-- to calls: lines are written while the call is in progress, possibly
-- before the CDR writer has stored the call's row, and must not be lost
-- for it. start_ms/end_ms count from the start of the call's transcript
-- (the first answer), so lines of both sides sort on one clock.
CREATE TABLE transcript_lines (
    id        bigserial PRIMARY KEY,
    tenant_id text        NOT NULL,
    call_id   uuid        NOT NULL,
    side      text        NOT NULL CHECK (side IN ('caller', 'agent')),
    agent_id  text        NOT NULL DEFAULT '',  -- the agent talking when the line was said
    start_ms  integer     NOT NULL CHECK (start_ms >= 0),
    end_ms    integer     NOT NULL CHECK (end_ms >= start_ms),
    at        timestamptz NOT NULL,             -- wall clock of the phrase's end
    text      text        NOT NULL CHECK (text <> '' AND length(text) <= 4000)
);
CREATE INDEX transcript_lines_call_idx ON transcript_lines (tenant_id, call_id, start_ms);
-- Call search by words said (GET /api/v1/calls/search?text=...).
CREATE INDEX transcript_lines_text_idx ON transcript_lines USING gin (to_tsvector('english', text));
