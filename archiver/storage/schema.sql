-- The catalog's tables at the latest schema version (archiver.storage.migrations), written
-- for SQLite; archiver.storage.sqldb.schema_for derives PostgreSQL's. Documented in store/README.md.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seeds (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT,
    sha256 TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    title TEXT NOT NULL,
    source_label TEXT,
    posted_at TEXT,
    text TEXT NOT NULL,
    data TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    -- A seed by URL (issue 20; schema 6 added these): the post's address, its state
    -- ('live' or 'deleted'), when that state was first seen, and in which run.
    page_url TEXT,
    state TEXT NOT NULL DEFAULT 'live',
    state_since TEXT,
    state_run INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS seeds_page_url ON seeds(page_url);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    trigger TEXT NOT NULL,
    outcome TEXT,
    fetched INTEGER NOT NULL DEFAULT 0,
    new_versions INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    not_modified INTEGER NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    reason TEXT
);
CREATE TABLE IF NOT EXISTS targets (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    via TEXT NOT NULL,
    depth INTEGER NOT NULL DEFAULT 0,
    score REAL,
    seed_id INTEGER REFERENCES seeds(id),
    first_seen TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    tries INTEGER NOT NULL DEFAULT 0,
    last_checked TEXT,
    -- cluster mode's frontier (schema 7): the page's host, when it is due (seconds since
    -- the epoch; NULL: not planned) and the run (planning tick) that planned it
    host TEXT,
    next_fetch_at REAL,
    planned_run INTEGER
);
CREATE INDEX IF NOT EXISTS targets_due ON targets(host, next_fetch_at);
CREATE INDEX IF NOT EXISTS targets_planned ON targets(planned_run, next_fetch_at);
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL REFERENCES targets(id),
    run_id INTEGER REFERENCES runs(id),
    url TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    payload_digest TEXT,
    record_type TEXT,
    warc_file TEXT,
    warc_offset INTEGER,
    warc_length INTEGER,
    etag TEXT,
    last_modified TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS captures_target ON captures(target_id);
CREATE INDEX IF NOT EXISTS captures_digest ON captures(payload_digest);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL REFERENCES targets(id),
    version INTEGER NOT NULL,
    capture_id INTEGER NOT NULL REFERENCES captures(id),
    fetched_at TEXT NOT NULL,
    status INTEGER,
    content_hash TEXT NOT NULL,
    title TEXT,
    author TEXT,
    published_at TEXT,
    modified_at TEXT,
    text TEXT NOT NULL,
    links TEXT NOT NULL,
    meta TEXT NOT NULL,
    position INTEGER,  -- the history order (schema 2 added it)
    UNIQUE (target_id, version)
);
-- WARC files on S3 (issue 14): each closed spool file's upload state, size and SHA-256.
-- state: spooled (closed, waiting in <store>/warc/), uploading, uploaded (the object's
-- size and SHA-256 were checked with a HEAD request; the spool copy may then go).
CREATE TABLE IF NOT EXISTS warc_files (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error TEXT
);
-- Notifications (issue 16): the outbox of messages to [[notify]] entries, one per run and
-- entry. state: pending (to send; retried by each run until sent), sending (an attempt
-- under way; left so by a killed process, it becomes unknown: maybe delivered, never sent
-- again), sent, dropped (its entry left the config). entry: a digest of the entry's URL as
-- configured; label: that URL with secrets masked. Never a secret in any column.
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    entry TEXT NOT NULL,
    label TEXT NOT NULL,
    events TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (run_id, entry)
);

-- The versions of a seed post by URL (issue 20): one row each time its parsed text
-- changed. The seeds row holds the latest one; nothing here is ever updated or deleted.
CREATE TABLE IF NOT EXISTS seed_versions (
    id INTEGER PRIMARY KEY,
    seed_id INTEGER NOT NULL REFERENCES seeds(id),
    version INTEGER NOT NULL,
    run_id INTEGER REFERENCES runs(id),
    capture_id INTEGER REFERENCES captures(id),
    fetched_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    source_label TEXT,
    posted_at TEXT,
    text TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (seed_id, version)
);

-- Cluster mode (issue 14, schema 7). hosts: the politeness state every worker shares
-- (times in seconds since the epoch); ticks: one run per scheduler tick, whichever
-- scheduler planned it; indexed_versions: what the indexer job has put in the index.
CREATE TABLE IF NOT EXISTS hosts (
    host TEXT PRIMARY KEY,
    last_request_at REAL,
    crawl_delay REAL,
    robots TEXT,
    robots_at REAL,
    blocked_until REAL
);
CREATE TABLE IF NOT EXISTS ticks (
    tick BIGINT PRIMARY KEY,  -- the tick's time, seconds since the epoch
    run_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS indexed_versions (
    version_id BIGINT PRIMARY KEY,
    indexed_at TEXT NOT NULL
);
