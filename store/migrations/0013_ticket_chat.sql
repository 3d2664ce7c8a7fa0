-- Tickets opened from a web chat link to it, as tickets opened from a call
-- link to the call. Not a foreign key, like call_id: lookups of the chat
-- are tenant-scoped, so an id of another tenant's chat links to nothing.
ALTER TABLE tickets ADD COLUMN chat_id uuid;
CREATE INDEX tickets_tenant_chat_idx ON tickets (tenant_id, chat_id) WHERE chat_id IS NOT NULL;
