"""The catalog: seeds, targets, captures, versions and crawl runs.

The catalog and the WARC files are the archive's source of truth (the index is derived).
It is SQLite (embedded mode, WAL so searches read while a crawl writes) or PostgreSQL
(cluster mode), through one code path (:mod:`.sqldb`). Every page is committed in its
own transaction, so a crash loses at most the page in flight. All SQL is parameterised.

A page's versions are numbered in the order they were recorded, and numbers are never
reused or renumbered (reports and ``gc`` cite them). Their order in the page's history
is ``versions.position``: a crawl appends (its capture is the page as it is now, whatever
the clock says), an import places an older capture by its time (:meth:`add_version`).
Every "latest" and "previous" follows the history order.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.errors import NotFoundError, StoreError
from archiver.net.urls import canonicalize
from archiver.text.dates import now_iso

from .frontier import ClusterFrontier
from .migrations import migrate
from .rows import (
    SEED_PAGE,
    CaptureRow,
    NotificationRow,
    RunRow,
    SeedRow,
    SeedVersionRow,
    TargetRow,
    VersionRow,
    VersionStub,
    VersionText,
    WarcFileRow,
    notification_row,
    run_row,
    seed_row,
    seed_version_row,
    version_row,
)
from .sqldb import Row, SqlDb, is_dsn, open_postgres
from .sqlite import SqliteDb

__all__ = [
    "Catalog", "CaptureRow", "RunRow", "SeedRow", "SeedVersionRow", "TargetRow", "VersionRow",
    "VersionStub",
]  # fmt: skip

log = logging.getLogger(__name__)


def _when(text: str | None) -> datetime | None:
    """An ISO time as an aware datetime (naive: UTC); None when it cannot be read."""
    try:
        parsed = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


WRITER_LOCK = 0x77726974  # "writ": the advisory lock of the catalog's one writer


class Catalog(ClusterFrontier):
    """A connection to the catalog; one per process and thread.

    ``location`` is the path of ``catalog.sqlite3`` (embedded mode) or a
    ``postgresql://`` DSN (cluster mode, :mod:`archiver.storage.postgres`). Both hold the
    same tables (``schema.sql``) at the same schema version (:mod:`.migrations`) and
    take the same statements.
    """

    def __init__(self, location: Path | str) -> None:
        self._sql: SqlDb
        self.read_only = False
        if isinstance(location, str) and is_dsn(location):
            self.path: Path | None = None
            self._sql = open_postgres(location)
            migrate(self._sql)
            self._positions = True
            self._seed_pages = True
            return
        path = Path(location)
        self.path = path
        # An archive on read-only media (or a read-only mount) can still be searched.
        self.read_only = path.is_file() and not os.access(path.parent, os.W_OK)
        try:
            self._sql = SqliteDb(path, read_only=self.read_only)
            if not self.read_only:
                migrate(self._sql)
            # An old catalog opened read-only has no position column: its versions were
            # all appended, so there the numbers are the history order.
            self._positions = "position" in self._sql.columns("versions")
            # Likewise, one without seed_versions has only seed files (schema 6).
            self._seed_pages = "seed_versions" in self._sql.tables()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot open catalog: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"{path}: cannot create catalog: {exc}") from exc

    @property
    def label(self) -> str:
        """Where the catalog is, for messages (a DSN is shown without its password)."""
        return self._sql.label

    @property
    def dialect(self) -> str:
        return self._sql.dialect

    def close(self) -> None:
        self._sql.close()

    def claim_writer(self) -> bool:
        """Become the catalog's one writer (crawl, import, gc): False if another process
        is. A cluster catalog is shared by store folders on several machines, which the
        store's pid lock cannot see; an embedded one has only its folder's lock."""
        return self._sql.try_lock(WRITER_LOCK)

    def release_writer(self) -> None:
        self._sql.unlock(WRITER_LOCK)

    def _history(self, alias: str = "v", *, newest_first: bool = False) -> str:
        """ORDER BY terms for the history order of versions (``alias`` names the table)."""
        way = " DESC" if newest_first else ""
        if self._positions:
            return f"{alias}.position{way}, {alias}.version{way}"
        return f"{alias}.version{way}"

    # -- low level -------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return self._sql.rows(sql, params)

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self._sql.run(sql, params)

    def _insert(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        return self._sql.insert(sql, params)

    def transaction(self) -> AbstractContextManager[None]:
        """``with catalog.transaction():`` groups writes so they land together or not at all."""
        return self._sql.transaction()

    # -- seeds -----------------------------------------------------------------

    def add_seed(
        self,
        *,
        name: str,
        path: str | None,
        sha256: str,
        fmt: str,
        title: str,
        source_label: str | None,
        posted_at: str | None,
        text: str,
        data: dict[str, Any],
        page_url: str | None = None,
    ) -> tuple[SeedRow, bool]:
        """Register a seed post; return (row, created). The same bytes register once (a
        seed by URL: the same address, whose ``sha256`` is the address's)."""
        existing = self._query("SELECT id FROM seeds WHERE sha256 = ?", (sha256,))
        if existing:
            return self.seed(int(existing[0]["id"])), False
        columns = "name, path, sha256, format, title, source_label, posted_at, text, data"
        values: tuple[Any, ...] = (
            name,
            path,
            sha256,
            fmt,
            title,
            source_label,
            posted_at,
            text,
            json.dumps(data, ensure_ascii=False),
        )
        if page_url is not None:  # (an old read-only catalog never gets here)
            columns, values = f"{columns}, page_url", (*values, page_url)
        marks = ",".join("?" * (len(values) + 1))
        seed_id = self._insert(
            f"INSERT INTO seeds({columns}, registered_at) VALUES ({marks})", (*values, now_iso())
        )
        return self.seed(seed_id), True

    def _seed_select(self) -> str:
        if not self._seed_pages:
            return "SELECT s.* FROM seeds s"
        return (
            "SELECT s.*, (SELECT COUNT(*) FROM seed_versions v WHERE v.seed_id = s.id)"
            " AS versions FROM seeds s"
        )

    def seed(self, seed_id: int) -> SeedRow:
        rows = self._query(f"{self._seed_select()} WHERE s.id = ?", (seed_id,))
        if not rows:
            raise NotFoundError(f"no seed with id {seed_id}")
        return seed_row(rows[0])

    def seeds(self) -> list[SeedRow]:
        return [seed_row(r) for r in self._query(f"{self._seed_select()} ORDER BY s.id")]

    def seed_by_page(self, page_url: str) -> SeedRow | None:
        """The seed registered for this post address (canonical), if any."""
        if not self._seed_pages:
            return None
        rows = self._query(f"{self._seed_select()} WHERE s.page_url = ?", (page_url,))
        return seed_row(rows[0]) if rows else None

    def add_seed_version(
        self,
        seed_id: int,
        *,
        run_id: int | None,
        capture_id: int | None,
        fetched_at: str,
        content_hash: str,
        title: str,
        source_label: str | None,
        posted_at: str | None,
        text: str,
        data: dict[str, Any],
    ) -> SeedVersionRow:
        """Record the next version of a seed post by URL and make it the seed's own text
        (what alignment, claim checks and the index use); the post is live again."""
        encoded = json.dumps(data, ensure_ascii=False)
        with self.transaction():
            self._sql.lock(-seed_id)  # two writers never draw the same number
            rows = self._query(
                "SELECT COALESCE(MAX(version), 0) AS n FROM seed_versions WHERE seed_id = ?",
                (seed_id,),
            )
            number = int(rows[0]["n"]) + 1
            self._write(
                "INSERT INTO seed_versions(seed_id, version, run_id, capture_id, fetched_at,"
                " content_hash, title, source_label, posted_at, text, data)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    seed_id,
                    number,
                    run_id,
                    capture_id,
                    fetched_at,
                    content_hash,
                    title,
                    source_label,
                    posted_at,
                    text,
                    encoded,
                ),
            )
            self._write(
                "UPDATE seeds SET title=?, source_label=?, posted_at=?, text=?, data=? WHERE id=?",
                (title, source_label, posted_at, text, encoded, seed_id),
            )
        return self.seed_version(seed_id, number)

    def set_seed_state(self, seed_id: int, state: str, *, run_id: int | None) -> None:
        """Set a seed post's state ("live", "deleted") if it changed, with the time and run
        that first saw it; the same state seen again keeps its first time."""
        self._write(
            "UPDATE seeds SET state=?, state_since=?, state_run=? WHERE id=? AND state <> ?",
            (state, now_iso(), run_id, seed_id, state),
        )

    def seed_versions(self, seed_id: int) -> list[SeedVersionRow]:
        """A seed post's archived versions, oldest first (none for a seed file)."""
        if not self._seed_pages:
            return []
        rows = self._query(
            "SELECT * FROM seed_versions WHERE seed_id = ? ORDER BY version", (seed_id,)
        )
        return [seed_version_row(r) for r in rows]

    def seed_version(self, seed_id: int, number: int) -> SeedVersionRow:
        rows = (
            self._query(
                "SELECT * FROM seed_versions WHERE seed_id = ? AND version = ?",
                (seed_id, number),
            )
            if self._seed_pages
            else []
        )
        if not rows:
            raise NotFoundError(f"no version {number} of seed:{seed_id}")
        return seed_version_row(rows[0])

    # -- runs ------------------------------------------------------------------

    def start_run(self, trigger: str) -> int:
        return self._insert(
            "INSERT INTO runs(started_at, trigger) VALUES (?, ?)", (now_iso(), trigger)
        )

    def finish_run(
        self,
        run_id: int,
        *,
        outcome: str,
        fetched: int,
        new_versions: int,
        unchanged: int,
        not_modified: int,
        errors: list[dict[str, str]],
        reason: str | None = None,
    ) -> None:
        self._write(
            "UPDATE runs SET finished_at=?, outcome=?, fetched=?, new_versions=?, unchanged=?,"
            " not_modified=?, errors=?, reason=? WHERE id=?",
            (
                now_iso(),
                outcome,
                fetched,
                new_versions,
                unchanged,
                not_modified,
                json.dumps(errors, ensure_ascii=False),
                reason,
                run_id,
            ),
        )

    def runs(self) -> list[RunRow]:
        return [run_row(r) for r in self._query("SELECT * FROM runs ORDER BY id")]

    def run(self, run_id: int) -> RunRow:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise NotFoundError(f"no crawl run with id {run_id}")
        return run_row(rows[0])

    # -- targets ---------------------------------------------------------------

    def upsert_target(
        self,
        url: str,
        *,
        via: str,
        depth: int = 0,
        score: float | None = None,
        seed_id: int | None = None,
    ) -> TargetRow:
        """Register a URL to archive; an existing target keeps its first provenance."""
        self._write(
            "INSERT INTO targets(url, via, depth, score, seed_id, first_seen)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT (url) DO NOTHING",
            (url, via, depth, score, seed_id, now_iso()),
        )
        target = self.target_by_url(url)
        assert target is not None
        return target

    def target_by_url(self, url: str) -> TargetRow | None:
        rows = self._query("SELECT * FROM targets WHERE url = ?", (url,))
        return TargetRow(**dict(rows[0])) if rows else None

    def find_target(self, url: str) -> TargetRow:
        """The archived page for a URL as a user typed it: its canonical form first."""
        for candidate in (canonicalize(url), url.strip()):
            target = self.target_by_url(candidate)
            if target is not None:
                return target
        raise NotFoundError(f"no archived page for {url}")

    def target(self, target_id: int) -> TargetRow:
        rows = self._query("SELECT * FROM targets WHERE id = ?", (target_id,))
        if not rows:
            raise NotFoundError(f"no target with id {target_id}")
        return TargetRow(**dict(rows[0]))

    def targets(self) -> list[TargetRow]:
        return [TargetRow(**dict(r)) for r in self._query("SELECT * FROM targets ORDER BY id")]

    def seed_targets(self, seed_id: int) -> list[TargetRow]:
        """The pages a seed post led to: its references (depth 0) and their follow-ups (not
        the post's own page, for a seed by URL)."""
        rows = self._query(
            "SELECT * FROM targets WHERE seed_id = ? AND via <> ? ORDER BY id", (seed_id, SEED_PAGE)
        )
        return [TargetRow(**dict(r)) for r in rows]

    def adopt_provenance(
        self, url: str, *, via: str, depth: int, score: float | None, seed_id: int | None
    ) -> None:
        """Give a page that an import registered (``via`` "import") the provenance the
        imported archive records for it; a page with provenance of its own keeps it."""
        self._write(
            "UPDATE targets SET via=?, depth=?, score=?, seed_id=? WHERE url=? AND via='import'",
            (via, depth, score, seed_id, url),
        )

    def set_target_score(self, target_id: int, score: float) -> None:
        self._write("UPDATE targets SET score=? WHERE id=?", (score, target_id))

    def set_target_state(
        self, target_id: int, state: str, *, error: str | None = None, tries: int = 0
    ) -> None:
        self._write(
            "UPDATE targets SET state=?, last_error=?, tries=?, last_checked=? WHERE id=?",
            (state, error, tries, now_iso(), target_id),
        )

    # -- captures --------------------------------------------------------------

    def add_capture(
        self,
        *,
        target_id: int,
        run_id: int | None,
        url: str,
        fetched_at: str,
        status: int | None,
        content_type: str | None = None,
        payload_digest: str | None = None,
        record_type: str | None = None,
        warc_file: str | None = None,
        warc_offset: int | None = None,
        warc_length: int | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        error: str | None = None,
    ) -> int:
        return self._insert(
            "INSERT INTO captures(target_id, run_id, url, fetched_at, status, content_type,"
            " payload_digest, record_type, warc_file, warc_offset, warc_length, etag,"
            " last_modified, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                target_id,
                run_id,
                url,
                fetched_at,
                status,
                content_type,
                payload_digest,
                record_type,
                warc_file,
                warc_offset,
                warc_length,
                etag,
                last_modified,
                error,
            ),
        )

    def captures(self, target_id: int | None = None) -> list[CaptureRow]:
        if target_id is None:
            rows = self._query("SELECT * FROM captures ORDER BY id")
        else:
            rows = self._query(
                "SELECT * FROM captures WHERE target_id = ? ORDER BY id", (target_id,)
            )
        return [CaptureRow(**dict(r)) for r in rows]

    def captures_of(self, target_ids: Sequence[int]) -> list[CaptureRow]:
        """The captures of a batch of pages, page by page, each page's in order (one
        query for the batch: an export reads the catalog batch by batch)."""
        if not target_ids:
            return []
        marks = ",".join("?" * len(target_ids))
        rows = self._query(
            f"SELECT * FROM captures WHERE target_id IN ({marks}) ORDER BY target_id, id",  # noqa: S608
            tuple(target_ids),
        )
        return [CaptureRow(**dict(r)) for r in rows]

    def capture(self, capture_id: int) -> CaptureRow:
        rows = self._query("SELECT * FROM captures WHERE id = ?", (capture_id,))
        if not rows:
            raise NotFoundError(f"no capture with id {capture_id}")
        return CaptureRow(**dict(rows[0]))

    def response_of(self, conversion: CaptureRow) -> CaptureRow | None:
        """The response (or revisit) capture a ``conversion`` capture was rendered from:
        the last one of its URL recorded before it (a crawl records the response, then the
        rendered DOM that refers to it)."""
        rows = self._query(
            "SELECT * FROM captures WHERE target_id = ? AND url = ? AND id < ? AND record_type"
            " IN ('response', 'revisit') ORDER BY id DESC LIMIT 1",
            (conversion.target_id, conversion.url, conversion.id),
        )
        return CaptureRow(**dict(rows[0])) if rows else None

    def last_response(self, url: str) -> CaptureRow | None:
        """The latest full 200 response record for this URL (what a 304 confirms)."""
        rows = self._query(
            "SELECT * FROM captures WHERE url = ? AND status = 200 AND record_type ="
            " 'response' ORDER BY id DESC LIMIT 1",
            (url,),
        )
        return CaptureRow(**dict(rows[0])) if rows else None

    def original_response(self, payload_digest: str, url: str) -> CaptureRow | None:
        """The first full response record with this payload for this URL (for revisits)."""
        rows = self._query(
            "SELECT * FROM captures WHERE payload_digest = ? AND url = ? AND record_type ="
            " 'response' ORDER BY id LIMIT 1",
            (payload_digest, url),
        )
        return CaptureRow(**dict(rows[0])) if rows else None

    # -- versions --------------------------------------------------------------

    def add_version(
        self,
        *,
        target_id: int,
        capture_id: int,
        fetched_at: str,
        status: int | None,
        content_hash: str,
        title: str | None,
        author: str | None,
        published_at: str | None,
        modified_at: str | None,
        text: str,
        links: list[dict[str, str]],
        meta: dict[str, Any],
        by_time: bool = False,
    ) -> VersionRow:
        """Record the next version of a target: numbered from 1, never reused.

        It goes last in the page's history; with ``by_time`` (an imported capture) it
        goes before the first version captured after ``fetched_at`` instead, so an older
        capture takes its place in the history and never becomes the latest.
        """
        with self.transaction():
            self._sql.lock(target_id)  # two writers never draw the same number
            rows = self._query(
                "SELECT COALESCE(MAX(version), 0) AS n,"
                " COALESCE(MAX(position), MAX(version), 0) AS p FROM versions"
                " WHERE target_id = ?",
                (target_id,),
            )
            number = int(rows[0]["n"]) + 1
            position = int(rows[0]["p"]) + 1
            later = self._first_later(target_id, fetched_at) if by_time else None
            if later is not None:
                position = later
                self._write(
                    "UPDATE versions SET position = position + 1"
                    " WHERE target_id = ? AND position >= ?",
                    (target_id, position),
                )
            self._write(
                "INSERT INTO versions(target_id, version, capture_id, fetched_at, status,"
                " content_hash, title, author, published_at, modified_at, text, links, meta,"
                " position) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    target_id,
                    number,
                    capture_id,
                    fetched_at,
                    status,
                    content_hash,
                    title,
                    author,
                    published_at,
                    modified_at,
                    text,
                    json.dumps(links, ensure_ascii=False),
                    json.dumps(meta, ensure_ascii=False),
                    position,
                ),
            )
        return self.version(target_id, number)

    def _first_later(self, target_id: int, fetched_at: str) -> int | None:
        """The position of the first version in the history captured after ``fetched_at``."""
        when = _when(fetched_at)
        if when is None:
            return None
        rows = self._query(
            "SELECT v.position, v.fetched_at FROM versions v WHERE v.target_id = ?"
            f" ORDER BY {self._history()}",
            (target_id,),
        )
        for row in rows:
            other = _when(row["fetched_at"])
            if other is not None and other > when:
                return int(row["position"])
        return None

    def versions(self, target_id: int) -> list[VersionRow]:
        """A page's versions in history order (oldest first)."""
        rows = self._query(
            "SELECT v.*, t.url AS url FROM versions v JOIN targets t ON t.id = v.target_id"
            f" WHERE v.target_id = ? ORDER BY {self._history()}",
            (target_id,),
        )
        return [version_row(r) for r in rows]

    def version_texts_of(self, target_ids: Sequence[int]) -> list[VersionText]:
        """The versions' titles and texts of a batch of pages, page by page, each in
        history order (only what an export lists: links and metadata stay unread). The
        texts come as the UTF-8 bytes the catalog holds: an export writes them out as
        they are, and decoding them would cost more than the rest of its work."""
        if not target_ids:
            return []
        marks = ",".join("?" * len(target_ids))
        pg = self.dialect == "postgresql"
        utf8 = "convert_to(v.text, 'UTF8')" if pg else "CAST(v.text AS BLOB)"
        rows = self._query(
            f"SELECT v.target_id, v.capture_id, v.fetched_at, v.title, {utf8} AS text"
            " FROM versions v"
            f" WHERE v.target_id IN ({marks}) ORDER BY v.target_id, {self._history()}",  # noqa: S608
            tuple(target_ids),
        )
        return [VersionText(**dict(r)) for r in rows]

    def version_before(self, target_id: int, fetched_at: str | None) -> VersionRow | None:
        """The version a capture made at ``fetched_at`` follows in the history: the one
        before the first version captured later (see :meth:`add_version`); with None,
        the latest version."""
        if fetched_at is None or (when := _when(fetched_at)) is None:
            return self.latest_version(target_id)
        before = None
        for version in self.versions(target_id):
            other = _when(version.fetched_at)
            if other is not None and other > when:
                break
            before = version
        return before

    def version_after(self, target_id: int, fetched_at: str) -> VersionRow | None:
        """The first version in the history captured after ``fetched_at`` (the one an
        older imported capture would be placed before), or None."""
        when = _when(fetched_at)
        if when is None:
            return None
        for version in self.versions(target_id):
            other = _when(version.fetched_at)
            if other is not None and other > when:
                return version
        return None

    def previous_version(self, version: VersionRow) -> VersionRow | None:
        """The version before ``version`` in its page's history, or None for the first."""
        history = self.versions(version.target_id)
        index = next((i for i, v in enumerate(history) if v.id == version.id), 0)
        return history[index - 1] if index > 0 else None

    def version(self, target_id: int, number: int) -> VersionRow:
        rows = self._query(
            "SELECT v.*, t.url AS url FROM versions v JOIN targets t ON t.id = v.target_id"
            " WHERE v.target_id = ? AND v.version = ?",
            (target_id, number),
        )
        if not rows:
            raise NotFoundError(f"no version {number} of {self.target(target_id).url}")
        return version_row(rows[0])

    def latest_version(self, target_id: int) -> VersionRow | None:
        """The last version in the page's history (not always the highest number)."""
        rows = self._query(
            "SELECT v.*, t.url AS url FROM versions v JOIN targets t ON t.id = v.target_id"
            f" WHERE v.target_id = ? ORDER BY {self._history(newest_first=True)} LIMIT 1",
            (target_id,),
        )
        return version_row(rows[0]) if rows else None

    def version_or_latest(self, target: TargetRow, number: int | None) -> VersionRow:
        """Version ``number`` of a page, or its latest; NotFoundError when there is none."""
        if number is not None:
            return self.version(target.id, number)
        latest = self.latest_version(target.id)
        if latest is None:
            reason = f" ({target.last_error})" if target.last_error else ""
            raise NotFoundError(f"{target.url} has no extracted version yet{reason}")
        return latest

    def iter_versions(self) -> Iterator[tuple[VersionRow, bool]]:
        """Every version with whether it is its target's latest (for reindexing)."""
        rows = self._query(
            "SELECT v.*, t.url AS url, v.id = (SELECT w.id FROM versions w"
            " WHERE w.target_id = v.target_id"
            f" ORDER BY {self._history('w', newest_first=True)} LIMIT 1) AS is_latest"
            " FROM versions v JOIN targets t ON t.id = v.target_id ORDER BY v.id"
        )
        for row in rows:
            yield version_row(row), bool(row["is_latest"])

    def version_by_hash(self, content_hash: str) -> VersionRow | None:
        """The first version, of any page, whose text has this hash."""
        rows = self._query(
            "SELECT v.*, t.url AS url FROM versions v JOIN targets t ON t.id = v.target_id"
            " WHERE v.content_hash = ? ORDER BY v.id LIMIT 1",
            (content_hash,),
        )
        return version_row(rows[0]) if rows else None

    def count_versions(self) -> int:
        return int(self._query("SELECT COUNT(*) AS n FROM versions")[0]["n"])

    # -- retention and scheduling (issue 7) ----------------------------------------

    def version_stubs(self) -> list[VersionStub]:
        """Every version without its text (for retention planning), by target, in
        history order."""
        rows = self._query(
            "SELECT v.id, v.target_id, v.version, v.capture_id, v.fetched_at, t.url"
            " FROM versions v JOIN targets t ON t.id = v.target_id"
            f" ORDER BY v.target_id, {self._history()}"
        )
        return [VersionStub(**dict(r)) for r in rows]

    def delete_versions(self, version_ids: list[int], capture_ids: list[int]) -> None:
        """Delete versions and captures in one transaction: all of them or none."""
        with self.transaction():
            for table, ids in (("versions", version_ids), ("captures", capture_ids)):
                for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
                    chunk = ids[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    self._write(f"DELETE FROM {table} WHERE id IN ({marks})", tuple(chunk))

    def abandon_unfinished_runs(self) -> list[int]:
        """Mark runs a killed process left without an outcome as 'abandoned'.

        Only call this while holding the store lock: then no live run is unfinished.
        """
        # A cluster tick's run (in ``ticks``) is open while workers crawl its pages: no
        # process owns it, so none can have been killed with it.
        live = " AND id NOT IN (SELECT run_id FROM ticks)" if "ticks" in self._sql.tables() else ""
        ids = [
            int(r["id"])
            for r in self._query(
                f"SELECT id FROM runs WHERE finished_at IS NULL AND outcome IS NULL{live}"
            )
        ]
        if ids:
            self._write(
                "UPDATE runs SET outcome = 'abandoned', reason = ? WHERE finished_at IS NULL"
                f" AND outcome IS NULL{live}",
                ("its process was killed, or its end could not be recorded (a full disk)",),
            )
        return ids

    # -- WARC files on S3 (issue 14) ------------------------------------------------
    # Portable SQL only (? placeholders, INSERT … ON CONFLICT): the same statements run
    # on PostgreSQL. The table is at the end of schema.sql (migration 4 adds it).

    def record_warc_file(
        self, name: str, *, state: str, size: int, sha256: str, error: str | None = None
    ) -> None:
        """Set a spool file's upload state (inserting its row the first time)."""
        self._write(
            "INSERT INTO warc_files(name, state, size, sha256, updated_at, error)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
            " state = excluded.state, size = excluded.size, sha256 = excluded.sha256,"
            " updated_at = excluded.updated_at, error = excluded.error",
            (name, state, size, sha256, now_iso(), error),
        )

    def warc_files(self, name: str | None = None) -> list[WarcFileRow]:
        """Every WARC file a store on S3 has spooled or uploaded (or the one named), by
        name; none from an older catalog opened read-only, which lacks the table."""
        where, params = ("WHERE name = ?", (name,)) if name is not None else ("", ())
        try:
            rows = self._query(f"SELECT * FROM warc_files {where} ORDER BY name", params)
        except StoreError:
            if self.read_only:
                return []
            raise
        return [WarcFileRow(**dict(r)) for r in rows]

    def warc_file(self, name: str) -> WarcFileRow | None:
        rows = self.warc_files(name)
        return rows[0] if rows else None

    def forget_warc_file(self, name: str) -> None:
        """Drop a file's row (``gc`` deleted the file)."""
        self._write("DELETE FROM warc_files WHERE name = ?", (name,))

    # -- notifications (issue 16) ----------------------------------------------------
    # The outbox: a message is written before it is sent and marked as each attempt ends,
    # so that one that could not be sent waits for the next run, and one whose fate a
    # killed process left open is never sent twice. Only the store's writer (the crawl,
    # under its lock) sends, so the states need no compare-and-set.

    def add_notification(
        self, run_id: int, entry: str, *, label: str, events: list[str], title: str, body: str
    ) -> None:
        """Queue the message of ``run_id`` to ``entry``; one per run and entry, ever."""
        self._write(
            "INSERT INTO notifications(run_id, entry, label, events, title, body, state,"
            " attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?)"
            " ON CONFLICT (run_id, entry) DO NOTHING",
            (run_id, entry, label, json.dumps(events), title, body, now_iso()),
        )

    def notifications(
        self, *, run_id: int | None = None, state: str | None = None
    ) -> list[NotificationRow]:
        """Messages by id, of one run or in one state (all by default); none from an older
        catalog opened read-only, which lacks the table."""
        terms, params = [], []
        for column, value in (("run_id", run_id), ("state", state)):
            if value is not None:
                terms.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(terms)}" if terms else ""
        try:
            rows = self._query(f"SELECT * FROM notifications {where} ORDER BY id", tuple(params))
        except StoreError:
            if self.read_only:
                return []
            raise
        return [notification_row(r) for r in rows]

    def set_notification(
        self,
        notification_id: int,
        *,
        state: str,
        attempts: int | None = None,
        error: str | None = None,
        sent: bool = False,
    ) -> None:
        """Record how an attempt went (``error`` None keeps the last one, for history)."""
        self._write(
            "UPDATE notifications SET state = ?, attempts = COALESCE(?, attempts),"
            " error = COALESCE(?, error), sent_at = ? WHERE id = ?",
            (state, attempts, error, now_iso() if sent else None, notification_id),
        )

    def settle_interrupted_notifications(self) -> list[int]:
        """Messages a killed process left ``sending``: maybe delivered, so never sent
        again; marked ``unknown``. Only call this holding the store lock."""
        ids = [n.id for n in self.notifications(state="sending")]
        if ids:
            self._write(
                "UPDATE notifications SET state = 'unknown', error = ? WHERE state = 'sending'",
                ("the process ended while sending; it may or may not have arrived",),
            )
        return ids
