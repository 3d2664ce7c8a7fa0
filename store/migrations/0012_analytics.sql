-- Analytics rollups (docs/analytics.md). The supervisors' analytics page
-- reads a year of activity at once; scanning a million CDRs per request
-- would take seconds, so the counts it needs are kept here, maintained by
-- statement-level triggers on the tables they come from. A statement's
-- rows are summed once per statement (a writer batch, or a million-row
-- INSERT ... SELECT) and added with one upsert, so a write pays one small
-- aggregate, not one upsert per row. Updates subtract the old row and add
-- the new one, so a call whose region arrives later moves between
-- regions, and a queue stint counts as abandoned once its outcome is set.
--
-- Time buckets are quarter hours in UTC: every time zone in use is a
-- whole number of quarter hours from UTC, so any zone's hours and days are
-- unions of buckets and the page may pick its zone per request. Terms and
-- intents are far more numerous per bucket, so they are kept per day of
-- the tenant's calendar (its zone when the row was written) instead.

-- Calls and chats started: dim channel (voice_inbound, voice_outbound,
-- voice_callback, chat_<channel>), region (the caller's, '' unknown) and
-- source (the tenant's number an inbound call dialled).
CREATE TABLE analytics_volume (
    tenant_id text        NOT NULL,
    dim       text        NOT NULL CHECK (dim IN ('channel', 'region', 'source')),
    bucket    timestamptz NOT NULL,
    key       text        NOT NULL,
    n         bigint      NOT NULL,
    PRIMARY KEY (tenant_id, dim, bucket, key)
);

-- Coarser copies of analytics_volume, written by the same statements, so a
-- year is read from a few tens of thousands of rows: channels per UTC hour
-- (hours and days of every whole-hour zone), regions and numbers per UTC
-- day (range totals). A range's ragged ends are read from the quarter
-- hours.
CREATE TABLE analytics_volume_hour (
    tenant_id text        NOT NULL,
    hour      timestamptz NOT NULL,
    key       text        NOT NULL, -- a channel
    n         bigint      NOT NULL,
    PRIMARY KEY (tenant_id, hour, key)
);
CREATE TABLE analytics_volume_day (
    tenant_id text        NOT NULL,
    dim       text        NOT NULL CHECK (dim IN ('region', 'source')),
    day       timestamptz NOT NULL, -- midnight UTC
    key       text        NOT NULL,
    n         bigint      NOT NULL,
    PRIMARY KEY (tenant_id, dim, day, key)
);

-- Queue stints by the quarter hour they entered in (the reports' rule).
CREATE TABLE analytics_queue (
    tenant_id       text        NOT NULL,
    bucket          timestamptz NOT NULL,
    offered         bigint      NOT NULL DEFAULT 0, -- every stint but those rejected at the door
    answered        bigint      NOT NULL DEFAULT 0, -- answered_at set
    abandoned       bigint      NOT NULL DEFAULT 0, -- outcome abandoned
    short_abandoned bigint      NOT NULL DEFAULT 0, -- abandoned after waiting under 5 s
    PRIMARY KEY (tenant_id, bucket)
);

-- Score answers of satisfaction surveys by the quarter hour answered.
CREATE TABLE analytics_csat (
    tenant_id text        NOT NULL,
    bucket    timestamptz NOT NULL,
    answers   bigint      NOT NULL DEFAULT 0, -- kind score
    satisfied bigint      NOT NULL DEFAULT 0, -- score 4 or 5
    PRIMARY KEY (tenant_id, bucket)
);

-- Words customers used: source chat (visitors' chat messages) or speech
-- (what callers said to IVR menus and gathers). n counts the messages or
-- utterances holding the term, once each.
CREATE TABLE analytics_terms (
    tenant_id text    NOT NULL,
    day       date    NOT NULL,
    source    text    NOT NULL,
    term      text    NOT NULL,
    n         bigint  NOT NULL,
    PRIMARY KEY (tenant_id, day, source, term)
);

-- What customers came for: source ivr_key / ivr_speech (an IVR menu
-- choice, "step:next", by key or by voice) or disposition (the code the
-- agent gave in wrap-up).
CREATE TABLE analytics_intents (
    tenant_id text    NOT NULL,
    day       date    NOT NULL,
    source    text    NOT NULL,
    intent    text    NOT NULL,
    n         bigint  NOT NULL,
    PRIMARY KEY (tenant_id, day, source, intent)
);

-- The words of a text that count as terms: lower-cased runs of letters
-- (anything else separates words), 3 to 40 letters, not a stop word.
-- Tokens holding digits are dropped, so card and phone numbers said or
-- typed never become terms. Call transcripts will feed the same function.
CREATE FUNCTION analytics_tokens(body text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT tok FROM regexp_split_to_table(lower(body), '[^[:alnum:]]+') AS tok
    WHERE length(tok) BETWEEN 3 AND 40 AND tok !~ '[0-9_]'
        AND NOT tok = ANY ('{about,above,after,again,against,all,also,and,any,are,aren,because,been,before,being,
            below,between,both,but,can,cannot,could,couldn,did,didn,does,doesn,doing,don,down,during,each,few,for,
            from,further,had,hadn,has,hasn,have,haven,having,hello,her,here,hers,herself,him,himself,his,how,into,
            isn,its,itself,just,let,like,mine,more,most,mustn,myself,need,nor,not,now,off,once,only,other,ought,our,ours,
            ourselves,out,over,own,please,same,shan,she,should,shouldn,some,such,than,thank,thanks,that,the,their,
            theirs,them,themselves,then,there,these,they,this,those,through,too,under,until,upon,very,want,was,
            wasn,were,weren,what,when,where,which,while,who,whom,why,will,with,won,would,wouldn,yes,you,your,yours,
            yourself,yourselves,okay,hey,get,got,one,can,still,really,know,think}'::text[])
$$;

-- analytics_sql gives the statements that add the rows of a source table,
-- read by the query src (its columns plus d: +1 to add, -1 to subtract),
-- to the rollups. Triggers run them over their transition tables, and
-- the backfill below over the whole table. Rows of a deleted tenant are
-- skipped (the join), so cascading deletes never recreate its rollups.
-- Every upsert is ordered by its key so two writers' statements lock
-- rollup rows in the same order.
CREATE FUNCTION analytics_sql(tbl text, src text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE
    bin constant text := $$date_bin('15 minutes', %s, timestamptz '2000-01-01 00:00:00+00')$$;
    -- One statement fills the quarter hours and their hourly and daily
    -- copies from one aggregate of the changed rows.
    vol constant text := $q$WITH d AS (
            SELECT r.tenant_id, x.dim, %s AS bucket, x.key, sum(r.d) AS n
            FROM (%s) r JOIN tenants t ON t.id = r.tenant_id
            CROSS JOIN LATERAL (VALUES %s) x(dim, key)
            WHERE x.key IS NOT NULL
            GROUP BY 1, 2, 3, 4 HAVING sum(r.d) <> 0),
        q AS (INSERT INTO analytics_volume AS v (tenant_id, dim, bucket, key, n)
            SELECT * FROM d ORDER BY 1, 2, 3, 4
            ON CONFLICT (tenant_id, dim, bucket, key) DO UPDATE SET n = v.n + excluded.n),
        h AS (INSERT INTO analytics_volume_hour AS v (tenant_id, hour, key, n)
            SELECT tenant_id, date_bin('1 hour', bucket, timestamptz '2000-01-01 00:00:00+00'), key, sum(n)
            FROM d WHERE dim = 'channel' GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
            ON CONFLICT (tenant_id, hour, key) DO UPDATE SET n = v.n + excluded.n)
        INSERT INTO analytics_volume_day AS v (tenant_id, dim, day, key, n)
            SELECT tenant_id, dim, date_bin('1 day', bucket, timestamptz '2000-01-01 00:00:00+00'), key, sum(n)
            FROM d WHERE dim <> 'channel' GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
            ON CONFLICT (tenant_id, dim, day, key) DO UPDATE SET n = v.n + excluded.n$q$;
BEGIN
    CASE tbl
    WHEN 'calls' THEN
        RETURN ARRAY[format(vol, format(bin, 'r.started_at'), src,
            $$('channel', 'voice_' || r.direction), ('region', r.region),
              ('source', CASE WHEN r.direction = 'inbound' AND r.to_number <> '' THEN r.to_number END)$$)];
    WHEN 'chats' THEN
        RETURN ARRAY[format(vol, format(bin, 'r.started_at'), src,
            $$('channel', 'chat_' || r.channel), ('region', r.region)$$)];
    WHEN 'queue_entries' THEN
        RETURN ARRAY[format($q$INSERT INTO analytics_queue AS v (tenant_id, bucket, offered, answered, abandoned, short_abandoned)
            SELECT * FROM (SELECT r.tenant_id, %s AS bucket,
                coalesce(sum(r.d) FILTER (WHERE r.outcome IS DISTINCT FROM 'rejected'), 0) AS offered,
                coalesce(sum(r.d) FILTER (WHERE r.answered_at IS NOT NULL), 0) AS answered,
                coalesce(sum(r.d) FILTER (WHERE r.outcome = 'abandoned'), 0) AS abandoned,
                coalesce(sum(r.d) FILTER (WHERE r.outcome = 'abandoned' AND r.left_at - r.entered_at < interval '5 seconds'), 0) AS short_abandoned
                FROM (%s) r JOIN tenants t ON t.id = r.tenant_id GROUP BY 1, 2) s
            WHERE (offered, answered, abandoned, short_abandoned) <> (0, 0, 0, 0)
            ORDER BY 1, 2
            ON CONFLICT (tenant_id, bucket) DO UPDATE SET offered = v.offered + excluded.offered,
                answered = v.answered + excluded.answered, abandoned = v.abandoned + excluded.abandoned,
                short_abandoned = v.short_abandoned + excluded.short_abandoned$q$, format(bin, 'r.entered_at'), src)];
    WHEN 'survey_answers' THEN
        RETURN ARRAY[format($q$INSERT INTO analytics_csat AS v (tenant_id, bucket, answers, satisfied)
            SELECT * FROM (SELECT r.tenant_id, %s AS bucket, sum(r.d) AS answers,
                coalesce(sum(r.d) FILTER (WHERE r.score >= 4), 0) AS satisfied
                FROM (%s) r JOIN tenants t ON t.id = r.tenant_id WHERE r.kind = 'score' GROUP BY 1, 2) s
            WHERE (answers, satisfied) <> (0, 0)
            ORDER BY 1, 2
            ON CONFLICT (tenant_id, bucket) DO UPDATE SET answers = v.answers + excluded.answers,
                satisfied = v.satisfied + excluded.satisfied$q$, format(bin, 'r.at'), src)];
    WHEN 'chat_messages' THEN
        RETURN ARRAY[format($q$INSERT INTO analytics_terms AS v (tenant_id, day, source, term, n)
            SELECT r.tenant_id, (r.at AT TIME ZONE t.timezone)::date, 'chat', w.term, sum(r.d)
            FROM (%s) r JOIN tenants t ON t.id = r.tenant_id
            CROSS JOIN LATERAL analytics_tokens(r.body) w(term)
            WHERE r.sender = 'visitor'
            GROUP BY 1, 2, 3, 4 HAVING sum(r.d) <> 0 ORDER BY 1, 2, 3, 4
            ON CONFLICT (tenant_id, day, source, term) DO UPDATE SET n = v.n + excluded.n$q$, src)];
    WHEN 'call_events' THEN
        RETURN ARRAY[format($q$INSERT INTO analytics_terms AS v (tenant_id, day, source, term, n)
            SELECT r.tenant_id, (r.at AT TIME ZONE t.timezone)::date, 'speech', w.term, sum(r.d)
            FROM (%s) r JOIN tenants t ON t.id = r.tenant_id
            CROSS JOIN LATERAL analytics_tokens(r.data->>'text') w(term)
            WHERE r.kind IN ('speech', 'speech_nomatch') AND r.data ? 'text'
            GROUP BY 1, 2, 3, 4 HAVING sum(r.d) <> 0 ORDER BY 1, 2, 3, 4
            ON CONFLICT (tenant_id, day, source, term) DO UPDATE SET n = v.n + excluded.n$q$, src),
        format($q$INSERT INTO analytics_intents AS v (tenant_id, day, source, intent, n)
            SELECT r.tenant_id, (r.at AT TIME ZONE t.timezone)::date,
                CASE WHEN r.data->>'input' = 'speech' THEN 'ivr_speech' ELSE 'ivr_key' END,
                r.step || ':' || coalesce(nullif(r.data->>'next', ''), r.data->>'choice', ''), sum(r.d)
            FROM (%s) r JOIN tenants t ON t.id = r.tenant_id
            WHERE r.kind = 'menu'
            GROUP BY 1, 2, 3, 4 HAVING sum(r.d) <> 0 ORDER BY 1, 2, 3, 4
            ON CONFLICT (tenant_id, day, source, intent) DO UPDATE SET n = v.n + excluded.n$q$, src)];
    WHEN 'dispositions' THEN
        RETURN ARRAY[format($q$INSERT INTO analytics_intents AS v (tenant_id, day, source, intent, n)
            SELECT r.tenant_id, (r.at AT TIME ZONE t.timezone)::date, 'disposition', r.code, sum(r.d)
            FROM (%s) r JOIN tenants t ON t.id = r.tenant_id
            GROUP BY 1, 2, 3, 4 HAVING sum(r.d) <> 0 ORDER BY 1, 2, 3, 4
            ON CONFLICT (tenant_id, day, source, intent) DO UPDATE SET n = v.n + excluded.n$q$, src)];
    END CASE;
END
$f$;

-- The trigger body: the statements run here, not in a called function,
-- because only the trigger's own SPI connection sees the transition
-- tables.
CREATE FUNCTION analytics_changed() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
    stmt text;
BEGIN
    FOREACH stmt IN ARRAY analytics_sql(TG_TABLE_NAME, CASE TG_OP
            WHEN 'INSERT' THEN 'SELECT r.*, 1 AS d FROM analytics_new r'
            WHEN 'DELETE' THEN 'SELECT r.*, -1 AS d FROM analytics_old r'
            ELSE 'SELECT r.*, 1 AS d FROM analytics_new r UNION ALL SELECT r.*, -1 AS d FROM analytics_old r' END) LOOP
        EXECUTE stmt;
    END LOOP;
    RETURN NULL;
END
$f$;

-- Rows written before this migration.
DO $$
DECLARE
    tbl  text;
    stmt text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['calls', 'chats', 'queue_entries', 'survey_answers', 'chat_messages', 'call_events', 'dispositions'] LOOP
        FOREACH stmt IN ARRAY analytics_sql(tbl, format('SELECT r.*, 1 AS d FROM %I r', tbl)) LOOP
            EXECUTE stmt;
        END LOOP;
    END LOOP;
END
$$;

-- Transition tables allow one event per trigger, hence three per table.
DO $$
DECLARE
    tbl text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['calls', 'chats', 'queue_entries', 'survey_answers', 'chat_messages', 'call_events', 'dispositions'] LOOP
        EXECUTE format('CREATE TRIGGER analytics_ins AFTER INSERT ON %I REFERENCING NEW TABLE AS analytics_new
            FOR EACH STATEMENT EXECUTE FUNCTION analytics_changed()', tbl);
        EXECUTE format('CREATE TRIGGER analytics_upd AFTER UPDATE ON %I REFERENCING OLD TABLE AS analytics_old NEW TABLE AS analytics_new
            FOR EACH STATEMENT EXECUTE FUNCTION analytics_changed()', tbl);
        EXECUTE format('CREATE TRIGGER analytics_del AFTER DELETE ON %I REFERENCING OLD TABLE AS analytics_old
            FOR EACH STATEMENT EXECUTE FUNCTION analytics_changed()', tbl);
    END LOOP;
END
$$;

-- A deleted tenant takes its rollups along.
CREATE FUNCTION analytics_tenant_deleted() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    DELETE FROM analytics_volume WHERE tenant_id IN (SELECT id FROM analytics_old);
    DELETE FROM analytics_volume_hour WHERE tenant_id IN (SELECT id FROM analytics_old);
    DELETE FROM analytics_volume_day WHERE tenant_id IN (SELECT id FROM analytics_old);
    DELETE FROM analytics_queue WHERE tenant_id IN (SELECT id FROM analytics_old);
    DELETE FROM analytics_csat WHERE tenant_id IN (SELECT id FROM analytics_old);
    DELETE FROM analytics_terms WHERE tenant_id IN (SELECT id FROM analytics_old);
    DELETE FROM analytics_intents WHERE tenant_id IN (SELECT id FROM analytics_old);
    RETURN NULL;
END
$f$;
CREATE TRIGGER analytics_tenant_del AFTER DELETE ON tenants REFERENCING OLD TABLE AS analytics_old
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_tenant_deleted();
