-- Agent assist (docs/assist.md): checklist state per call and the summary
-- written after the call. Like transcript_lines, no foreign key to calls:
-- rows may be written before the CDR writer stores the call.

-- One row per checklist step of a call, as it stands now: ticked by a
-- condition (by = 'auto', with its evidence) or by the agent's hand.
CREATE TABLE call_checklist_steps (
    tenant_id text        NOT NULL,
    call_id   uuid        NOT NULL,
    checklist text        NOT NULL CHECK (checklist <> ''),
    step      text        NOT NULL CHECK (step <> ''),
    position  integer     NOT NULL DEFAULT 0,   -- the step's place in its checklist
    done      boolean     NOT NULL DEFAULT false,
    by        text        NOT NULL DEFAULT '' CHECK (by IN ('', 'auto', 'agent')),
    agent_id  text        NOT NULL DEFAULT '',
    evidence  text        NOT NULL DEFAULT '' CHECK (length(evidence) <= 2000),
    at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, call_id, checklist, step)
);
-- Completion rates per checklist and step over a period.
CREATE INDEX call_checklist_steps_rate_idx ON call_checklist_steps (tenant_id, checklist, at);

-- The after-call summary: the caller's intent, the checklist as it ended,
-- the key phrases heard and the agent's disposition, in one row per call.
CREATE TABLE call_summaries (
    tenant_id   text        NOT NULL,
    call_id     uuid        NOT NULL,
    intent      text        NOT NULL DEFAULT '',
    checklist   text        NOT NULL DEFAULT '',
    steps_done  integer     NOT NULL DEFAULT 0,
    steps_total integer     NOT NULL DEFAULT 0,
    key_phrases text[]      NOT NULL DEFAULT '{}',
    disposition text        NOT NULL DEFAULT '',
    summary     text        NOT NULL DEFAULT '' CHECK (length(summary) <= 4000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, call_id)
);
