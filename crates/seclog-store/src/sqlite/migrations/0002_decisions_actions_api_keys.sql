-- seclog schema version 2: block decisions, event investigation trails, API keys, and the
-- index for "children of an event" queries.

-- Times are kept twice: RFC 3339 text (the value) and unix nanoseconds (`*_ts`, for ordering
-- and comparisons). `until_ts` is clamped to the i64 range; `until` keeps the exact value.
CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    value TEXT NOT NULL,
    type TEXT NOT NULL,
    origin TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    until TEXT,
    deleted_at TEXT,
    created_ts INTEGER NOT NULL,
    until_ts INTEGER,
    deleted_ts INTEGER
);
-- History listing and "created since" (newest/oldest first).
CREATE INDEX idx_decisions_created ON decisions (created_ts);
-- Active listing: only rows not lifted.
CREATE INDEX idx_decisions_live ON decisions (created_ts) WHERE deleted_ts IS NULL;
-- "Lifted since".
CREATE INDEX idx_decisions_deleted ON decisions (deleted_ts) WHERE deleted_ts IS NOT NULL;
-- Offence counts per value.
CREATE INDEX idx_decisions_value ON decisions (value);

-- Append-only investigation trail of events (events themselves are never updated). No
-- foreign key: retention purges events and then their trails.
CREATE TABLE event_actions (
    action_id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT,
    text TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    at_ts INTEGER NOT NULL
);
CREATE INDEX idx_event_actions_event ON event_actions (event_id, at_ts);

-- API keys of the HTTP server; only hashes of the secrets are stored.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '[]',
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT,
    created_ts INTEGER NOT NULL
);

CREATE INDEX idx_events_parent ON security_events (parent_event_id)
    WHERE parent_event_id IS NOT NULL;
