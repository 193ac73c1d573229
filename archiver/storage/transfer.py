"""`archiver migrate --to postgresql://…`: copy an embedded catalog into a cluster one.

Every row keeps its id, so versions, positions, captures' WARC references, runs and
seeds mean the same thing afterwards, and the identity sequences continue after the
highest id. The copy is one PostgreSQL transaction: it lands whole or not at all. It
copies into an empty catalog only; a rerun onto the catalog it filled (same rows
counted) is a no-op, any other non-empty catalog is refused, never merged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archiver.errors import NotFoundError, StoreError, UsageError

from .migrations import migrate
from .sqldb import Params, SqlDb, open_postgres
from .sqlite import SqliteDb

# Foreign keys point back; notifications: messages not yet sent must follow the archive.
TABLES = ("seeds", "runs", "targets", "captures", "versions", "seed_versions", "notifications")
# Tables keyed by something other than an id of their own: the key, its value before any.
KEYS: dict[str, tuple[str, object]] = {"warc_files": ("name", "")}  # WARC files on S3
MIGRATE_LOCK = 0x6D696772  # "migr": one copy into a catalog at a time
_BATCH = 500


@dataclass(frozen=True)
class MigrateReport:
    """What was copied (rows per table); ``already``: the rerun found it all there."""

    source: str
    target: str
    rows: dict[str, int]
    already: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "rows": self.rows,
            "already_migrated": self.already,
        }


def _batches(db: SqlDb, table: str, columns: list[str]) -> Iterator[Params]:
    """Every row of a table, by id, a batch at a time (a catalog may not fit in memory)."""
    names = ", ".join(columns)
    key, last = KEYS.get(table, ("id", -1))
    while True:
        rows = db.rows(
            f"SELECT {names} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT {_BATCH}",
            (last,),
        )
        for row in rows:
            yield tuple(row[c] for c in columns)
        if len(rows) < _BATCH:
            return
        last = rows[-1][key]


def _counts(db: SqlDb) -> dict[str, int]:
    return {t: int(db.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in (*TABLES, *KEYS)}


def copy_catalog(source: Path, store_root: Path, dsn: str) -> MigrateReport:
    """Copy ``source`` (a catalog.sqlite3) into the PostgreSQL catalog at ``dsn``."""
    if not source.is_file():
        raise NotFoundError(f"no embedded catalog at {source}; nothing to migrate")
    origin = str(store_root.resolve())
    src = SqliteDb(source, read_only=False)
    dst: SqlDb | None = None
    try:
        migrate(src)  # an old store comes up to the schema the target gets
        dst = open_postgres(dsn)
        from .postgres import PostgresDb, copy_rows  # loadable now: the connection opened

        assert isinstance(dst, PostgresDb)
        migrate(dst)
        wanted = _counts(src)
        with dst.transaction():
            dst.lock(MIGRATE_LOCK)
            found = _counts(dst)
            if any(found.values()):
                mark = dst.rows("SELECT value FROM meta WHERE key = 'migrated_from'")
                if mark and mark[0]["value"] == origin and found == wanted:
                    return MigrateReport(str(source), dst.label, found, already=True)
                raise UsageError(
                    f"{dst.label} already holds an archive ({found['targets']} pages,"
                    f" {found['versions']} versions); migrate copies into an empty catalog only"
                )
            copied = {}
            for table in (*TABLES, *KEYS):
                columns = sorted(src.columns(table) & dst.columns(table))
                copied[table] = copy_rows(dst, table, columns, _batches(src, table, columns))
                if table in KEYS:
                    continue
                # The next id a crawl draws follows the copied ones.
                dst.run(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                )
            dst.run(
                "INSERT INTO meta(key, value) VALUES ('migrated_from', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (origin,),
            )
            if (landed := _counts(dst)) != wanted:  # COPY and the counts disagree: roll back
                raise StoreError(f"{dst.label}: copied {landed} rows, expected {wanted}")
        return MigrateReport(str(source), dst.label, copied)
    finally:
        src.close()
        if dst is not None:
            dst.close()
