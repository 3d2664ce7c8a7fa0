-- The robot that learns from agents (docs/answers.md).
-- After a caller asked a known question (an intent of the knowledge base)
-- the agent's reply is proposed as the intent's standard answer; a
-- supervisor listens, trims and approves it, and the IVR's ask step then
-- plays it to callers asking the same question.
CREATE TABLE answer_proposals (
    id          uuid PRIMARY KEY,
    tenant_id   text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    intent      text        NOT NULL CHECK (intent <> ''),
    call_id     uuid        NOT NULL,
    agent_id    text        NOT NULL DEFAULT '',
    question    text        NOT NULL DEFAULT '' CHECK (length(question) <= 2000), -- the caller's words
    answer      text        NOT NULL DEFAULT '' CHECK (length(answer) <= 4000),   -- the agent's, as transcribed
    start_ms    integer     NOT NULL CHECK (start_ms >= 0),    -- the reply in the call's recording
    end_ms      integer     NOT NULL CHECK (end_ms > start_ms),
    status      text        NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'approved', 'rejected')),
    reviewed_by text        NOT NULL DEFAULT '',
    reviewed_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX answer_proposals_tenant_idx ON answer_proposals (tenant_id, status, created_at DESC);
-- One open proposal per question of a call: a retried insert (the assist
-- writer retries after a lost reply) or the caller asking again adds none.
CREATE UNIQUE INDEX answer_proposals_open_idx ON answer_proposals (tenant_id, intent, call_id) WHERE status = 'proposed';

-- An intent's standard answer: a recorded clip (approved from a proposal)
-- or text the synthesizer speaks, with ${var} filled from the call's
-- variables (an HTTP lookup's result).
CREATE TABLE intent_answers (
    tenant_id   text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    intent      text        NOT NULL CHECK (intent <> ''),
    kind        text        NOT NULL CHECK (kind IN ('audio', 'text')),
    text        text        NOT NULL DEFAULT '' CHECK (length(text) <= 4000),
    audio       bytea,                                  -- 8 kHz 16-bit mono WAV, kind audio
    proposal_id uuid,
    approved_by text        NOT NULL DEFAULT '',
    approved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, intent),
    CHECK (kind <> 'audio' OR audio IS NOT NULL)
);

-- Each ask step's outcome, for containment (answered without an agent)
-- and per-intent success.
CREATE TABLE ask_outcomes (
    id         bigserial PRIMARY KEY,
    tenant_id  text        NOT NULL,
    call_id    uuid        NOT NULL,
    step       text        NOT NULL,
    question   text        NOT NULL DEFAULT '' CHECK (length(question) <= 2000),
    intent     text        NOT NULL DEFAULT '',
    confidence real        NOT NULL DEFAULT 0,
    outcome    text        NOT NULL CHECK (outcome IN ('answered', 'queued', 'agent_asked', 'no_match', 'hangup')),
    answer     text        NOT NULL DEFAULT '' CHECK (answer IN ('', 'audio', 'text')),
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ask_outcomes_tenant_at_idx ON ask_outcomes (tenant_id, at);
