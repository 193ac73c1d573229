"""Versioned schema migrations of the catalog, for SQLite and PostgreSQL alike.

``meta.schema_version`` records the last migration applied. Opening a catalog applies
the later ones in order, in one transaction that first takes the catalog's schema lock
(SQLite's BEGIN IMMEDIATE; a PostgreSQL advisory lock), then reads the version again:
two processes opening an old catalog at once migrate it once. Migrations are additive
(nothing is dropped or rewritten), so a store made by any earlier version opens, and
each one checks before it changes, so that one half-applied by hand is finished.

Migration 1 creates ``schema.sql``, which is always the latest shape: a new catalog
starts there and the later steps find nothing to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .sqldb import SCHEMA, SqlDb, schema_for

SCHEMA_LOCK = 0x61726368  # "arch": the advisory lock key of schema changes


@dataclass(frozen=True)
class Migration:
    version: int
    what: str
    apply: Callable[[SqlDb], None]


def _tables(db: SqlDb) -> None:
    db.script(schema_for(db.dialect))


def _position(db: SqlDb) -> None:
    if "position" not in db.columns("versions"):
        db.run("ALTER TABLE versions ADD COLUMN position INTEGER")
        # Before it, versions were only ever appended: their numbers are their order.
        db.run("UPDATE versions SET position = version")


def _run_reason(db: SqlDb) -> None:
    if "reason" not in db.columns("runs"):
        db.run("ALTER TABLE runs ADD COLUMN reason TEXT")


def _table_from_schema(db: SqlDb, name: str) -> None:
    """Create table ``name`` by its statement in schema.sql (the latest shape)."""
    if name not in db.tables():
        found = re.search(rf"CREATE TABLE IF NOT EXISTS {name} \(.*?\n\);", SCHEMA, re.S)
        assert found is not None, f"schema.sql defines {name}"
        db.script(schema_for(db.dialect, found.group()))


def _warc_files(db: SqlDb) -> None:
    _table_from_schema(db, "warc_files")


def _notifications(db: SqlDb) -> None:
    _table_from_schema(db, "notifications")


def _seed_pages(db: SqlDb) -> None:
    columns = db.columns("seeds")
    for column, kind in (
        ("page_url", "TEXT"),
        ("state", "TEXT NOT NULL DEFAULT 'live'"),
        ("state_since", "TEXT"),
        ("state_run", "INTEGER"),
    ):
        if column not in columns:
            db.run(f"ALTER TABLE seeds ADD COLUMN {column} {schema_for(db.dialect, kind)}")
    db.run("CREATE UNIQUE INDEX IF NOT EXISTS seeds_page_url ON seeds(page_url)")
    _table_from_schema(db, "seed_versions")


def _cluster_frontier(db: SqlDb) -> None:
    have = db.columns("targets")
    for column, kind in (("host", "TEXT"), ("next_fetch_at", "REAL"), ("planned_run", "INTEGER")):
        if column not in have:
            db.run(f"ALTER TABLE targets ADD COLUMN {column} {schema_for(db.dialect, kind)}")
    db.run("CREATE INDEX IF NOT EXISTS targets_due ON targets(host, next_fetch_at)")
    db.run("CREATE INDEX IF NOT EXISTS targets_planned ON targets(planned_run, next_fetch_at)")
    for table in ("hosts", "ticks", "indexed_versions"):
        _table_from_schema(db, table)


MIGRATIONS = (
    Migration(1, "the tables", _tables),
    Migration(2, "versions.position: the history order", _position),
    Migration(3, "runs.reason: how a run ended", _run_reason),
    Migration(4, "warc_files: the upload state of WARC files on S3", _warc_files),
    Migration(5, "notifications: the outbox of messages to [[notify]] entries", _notifications),
    Migration(6, "seeds by URL: seeds.page_url and state, seed_versions", _seed_pages),
    Migration(7, "cluster frontier: targets' host and due time, hosts, ticks", _cluster_frontier),
)
LATEST = MIGRATIONS[-1].version


def schema_version(db: SqlDb) -> int:
    """The catalog's schema version: 0 for an empty database."""
    if "meta" not in db.tables():
        return 0
    rows = db.rows("SELECT value FROM meta WHERE key = 'schema_version'")
    # A catalog from before the version was recorded is schema 1.
    return int(rows[0]["value"]) if rows else 1


def migrate(db: SqlDb) -> int:
    """Bring the catalog to LATEST; return the version it had (LATEST: nothing done)."""
    found = schema_version(db)
    if found >= LATEST:
        return found
    with db.transaction():
        db.lock(SCHEMA_LOCK)
        found = schema_version(db)  # another process may have migrated it meanwhile
        for migration in MIGRATIONS:
            if migration.version > found:
                migration.apply(db)
        db.run(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(LATEST),),
        )
    return found
