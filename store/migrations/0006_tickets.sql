-- Tickets: what an agent opens from a call or chat so that a customer's
-- problem outlives the conversation. Every change is audited in
-- ticket_events, written in the same transaction as the change.

-- The SLA of a tenant: how long after creation a ticket of each priority
-- is due. A tenant without a row for a priority uses the built-in default
-- (store.DefaultTicketSLA: urgent 4 h, high 8 h, normal 24 h, low 72 h).
CREATE TABLE ticket_sla (
    tenant_id   text    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    priority    text    NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    due_minutes integer NOT NULL CHECK (due_minutes > 0 AND due_minutes <= 525600),
    PRIMARY KEY (tenant_id, priority)
);

-- Ticket numbers are per tenant (T-1001, T-1002...); the counter row is
-- locked by the upsert that takes a number, so two agents creating tickets
-- at once get different numbers without a gap-free sequence per tenant.
CREATE TABLE ticket_counters (
    tenant_id text    PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    last      integer NOT NULL
);

CREATE TABLE tickets (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       text        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    number          integer     NOT NULL CHECK (number > 0),
    subject         text        NOT NULL CHECK (subject <> '' AND char_length(subject) <= 200),
    description     text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 10000),
    category        text        NOT NULL DEFAULT '' CHECK (char_length(category) <= 100),
    priority        text        NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status          text        NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed')),
    customer_number text        NOT NULL DEFAULT '' CHECK (char_length(customer_number) <= 64),
    -- A person, a team (a queue name or any group name), both or neither.
    assignee_id     uuid,
    team            text        NOT NULL DEFAULT '' CHECK (char_length(team) <= 64),
    -- The call the ticket was opened from. Not a foreign key: the CDR
    -- reaches the database through the asynchronous writer, so a ticket
    -- created during the call may be stored before its call row. Lookups
    -- of the call are tenant-scoped, so an id of another tenant's call
    -- links to nothing.
    call_id         uuid,
    created_by      uuid,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    resolved_at     timestamptz,
    UNIQUE (tenant_id, number),
    -- Lets comments and events reference (id, tenant_id), so a row can
    -- never be filed under another tenant than its ticket.
    UNIQUE (id, tenant_id),
    FOREIGN KEY (assignee_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE SET NULL (assignee_id),
    FOREIGN KEY (created_by, tenant_id) REFERENCES users (id, tenant_id) ON DELETE SET NULL (created_by)
);
-- The list's filters: by status (the default view), assignee ("mine"),
-- priority, customer, the call, and the overdue scan of open tickets.
CREATE INDEX tickets_tenant_updated_idx ON tickets (tenant_id, updated_at DESC, id);
CREATE INDEX tickets_tenant_status_idx ON tickets (tenant_id, status, updated_at DESC);
CREATE INDEX tickets_tenant_assignee_idx ON tickets (tenant_id, assignee_id, status) WHERE assignee_id IS NOT NULL;
CREATE INDEX tickets_tenant_priority_idx ON tickets (tenant_id, priority, status);
CREATE INDEX tickets_tenant_customer_idx ON tickets (tenant_id, customer_number) WHERE customer_number <> '';
CREATE INDEX tickets_tenant_call_idx ON tickets (tenant_id, call_id) WHERE call_id IS NOT NULL;
CREATE INDEX tickets_open_due_idx ON tickets (tenant_id, due_at) WHERE status IN ('new', 'open', 'pending');

CREATE TABLE ticket_comments (
    id          bigserial PRIMARY KEY,
    tenant_id   text        NOT NULL,
    ticket_id   uuid        NOT NULL,
    -- author_name keeps who wrote it when the user is later deleted.
    author_id   uuid,
    author_name text        NOT NULL DEFAULT '',
    body        text        NOT NULL CHECK (body <> '' AND char_length(body) <= 10000),
    -- Internal notes are for staff only, never shown to the customer.
    internal    boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    FOREIGN KEY (ticket_id, tenant_id) REFERENCES tickets (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (author_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE SET NULL (author_id)
);
CREATE INDEX ticket_comments_ticket_idx ON ticket_comments (ticket_id, id);

-- The audit trail: one row per changed field (action 'update'), one for
-- the creation and one per comment. Append-only.
CREATE TABLE ticket_events (
    id         bigserial PRIMARY KEY,
    tenant_id  text        NOT NULL,
    ticket_id  uuid        NOT NULL,
    actor_id   uuid,
    actor_name text        NOT NULL DEFAULT '',
    at         timestamptz NOT NULL,
    action     text        NOT NULL CHECK (action IN ('create', 'update', 'comment')),
    field      text        NOT NULL DEFAULT '',
    old_value  text        NOT NULL DEFAULT '',
    new_value  text        NOT NULL DEFAULT '',
    FOREIGN KEY (ticket_id, tenant_id) REFERENCES tickets (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (actor_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE SET NULL (actor_id)
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);
CREATE INDEX ticket_events_tenant_at_idx ON ticket_events (tenant_id, at);
