-- Where each caller is from (package region): the tenant's region for the
-- caller's number (its prefix table, else the ISO country of the number's
-- calling code) and that country. The writer fills both from the call's
-- "region" timeline event, which the flow runner emits at the call's start;
-- '' when unknown (anonymous callers, calls routed straight to an ARI
-- application, calls from before this migration).
ALTER TABLE calls ADD COLUMN region text NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN country text NOT NULL DEFAULT '';

-- Reports group a range's calls and queue stints by region.
CREATE INDEX calls_tenant_region_started_idx ON calls (tenant_id, region, started_at);
