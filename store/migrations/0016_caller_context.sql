-- The agent's caller context (docs/assist.md) lists a number's last calls
-- in its tenant: calls from it, and those we placed to it. Without these
-- the query walks the tenant's whole CDR for a first-time caller.
CREATE INDEX calls_tenant_from_idx ON calls (tenant_id, from_number, started_at DESC);
CREATE INDEX calls_tenant_to_out_idx ON calls (tenant_id, to_number, started_at DESC) WHERE direction <> 'inbound';
