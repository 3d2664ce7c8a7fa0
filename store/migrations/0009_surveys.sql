-- Satisfaction surveys after the agent hangs up: one row per answered
-- question, tied to the call, the agent and the queue, so CSAT can be
-- reported per agent, queue and day.
CREATE TABLE survey_answers (
    id        uuid PRIMARY KEY,
    tenant_id text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id   uuid        NOT NULL,
    survey    text        NOT NULL CHECK (survey <> ''),
    question  text        NOT NULL CHECK (question <> ''),  -- the question's id in the survey
    kind      text        NOT NULL CHECK (kind IN ('score', 'yesno')),
    score     integer     CHECK (score BETWEEN 1 AND 5),     -- kind score
    yes       boolean,                                       -- kind yesno
    method    text        NOT NULL CHECK (method IN ('dtmf', 'speech')),
    agent_id  text        NOT NULL DEFAULT '',
    queue     text        NOT NULL DEFAULT '',
    at        timestamptz NOT NULL,
    CHECK ((kind = 'score') = (score IS NOT NULL)),
    CHECK ((kind = 'yesno') = (yes IS NOT NULL)),
    UNIQUE (call_id, survey, question)
);
CREATE INDEX survey_answers_tenant_at_idx ON survey_answers (tenant_id, at);
-- The CSAT report's groupings: per agent and per queue over a range.
CREATE INDEX survey_answers_tenant_agent_idx ON survey_answers (tenant_id, agent_id, at);
CREATE INDEX survey_answers_tenant_queue_idx ON survey_answers (tenant_id, queue, at);
