-- Web chat (and messaging channels plugged in by webhook): a chat goes
-- through the same queues and agents as calls. Messages are the chat's
-- transcript.
CREATE TABLE chats (
    id          uuid PRIMARY KEY,
    tenant_id   text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel     text        NOT NULL DEFAULT 'web' CHECK (channel <> ''), -- web, or a webhook channel's name
    visitor     text        NOT NULL DEFAULT '',   -- the visitor's name or the channel's user id
    queue       text        NOT NULL DEFAULT '',
    agent_id    text        NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    queued_at   timestamptz,                        -- asked for a person
    answered_at timestamptz,                        -- an agent took it
    ended_at    timestamptz,
    outcome     text CHECK (outcome IN ('bot', 'answered', 'abandoned', 'closed')),
    region      text        NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, tenant_id)
);
CREATE INDEX chats_tenant_started_idx ON chats (tenant_id, started_at DESC);

CREATE TABLE chat_messages (
    id        bigserial PRIMARY KEY,
    tenant_id text        NOT NULL,
    chat_id   uuid        NOT NULL,
    at        timestamptz NOT NULL,
    sender    text        NOT NULL CHECK (sender IN ('visitor', 'agent', 'bot', 'system')),
    agent_id  text        NOT NULL DEFAULT '',
    body      text        NOT NULL CHECK (length(body) <= 4000),
    FOREIGN KEY (chat_id, tenant_id) REFERENCES chats (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX chat_messages_chat_idx ON chat_messages (chat_id, id);
CREATE INDEX chat_messages_tenant_at_idx ON chat_messages (tenant_id, at);
-- An agent's own chats (GET /api/v1/chats as an agent).
CREATE INDEX chats_tenant_agent_idx ON chats (tenant_id, agent_id, started_at DESC);
