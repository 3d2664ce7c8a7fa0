-- Knowledge-base articles created through the admin API (docs/knowledge.md).
-- A tenant's file articles (configs/kb/<tenant>/*.yaml) are not stored
-- here; the server merges both into one index, files winning on an id
-- (the API refuses to create an id a file has). Limits match package
-- assist's (MaxTitle, MaxBody...).
CREATE TABLE kb_articles (
    tenant_id  text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         text        NOT NULL CHECK (id ~ '^[a-z0-9][a-z0-9._-]*$' AND char_length(id) <= 64),
    title      text        NOT NULL CHECK (title <> '' AND char_length(title) <= 200),
    body       text        NOT NULL DEFAULT '' CHECK (char_length(body) <= 20000),
    phrases    text[]      NOT NULL CHECK (cardinality(phrases) BETWEEN 1 AND 100),
    keywords   text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(keywords) <= 100),
    intents    text[]      NOT NULL DEFAULT '{}',
    tags       text[]      NOT NULL DEFAULT '{}',
    created_by text        NOT NULL DEFAULT '',
    updated_by text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
