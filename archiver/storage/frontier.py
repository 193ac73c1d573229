"""The cluster mode's frontier in the catalog (issue 14, schema 7): which hosts and pages
are due, the politeness state every worker shares (``hosts``), one run per scheduler
tick (``ticks``) and what the indexer job has indexed (``indexed_versions``).

Every write here may run twice (a job retried after a crash): each is an upsert or a
conditional update that the second time changes nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from archiver.text.dates import now_iso

from .rows import HOST_FIELDS, HostRow, TargetRow

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from .sqldb import Row, SqlDb


class ClusterFrontier:
    """Methods of :class:`~archiver.storage.catalog.Catalog` for the cluster's frontier."""

    if TYPE_CHECKING:  # what it uses of the Catalog it is part of
        _sql: SqlDb

        def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]: ...
        def _write(self, sql: str, params: tuple[Any, ...] = ()) -> None: ...
        def transaction(self) -> AbstractContextManager[None]: ...
        def start_run(self, trigger: str) -> int: ...
        def target(self, target_id: int) -> TargetRow: ...
        def upsert_target(
            self,
            url: str,
            *,
            via: str,
            depth: int = 0,
            score: float | None = None,
            seed_id: int | None = None,
        ) -> TargetRow: ...

    def ensure_tables(self, sentinel: str, ddl: str, key: int) -> bool:
        """Run ``ddl`` (another component's tables) once, under the advisory lock
        ``key``, unless table ``sentinel`` exists; whether it ran."""
        if sentinel in self._sql.tables():
            return False
        with self.transaction():
            self._sql.lock(key)
            if sentinel in self._sql.tables():
                return False
            self._sql.script(ddl)
        return True

    def start_tick(self, tick: int, lock: int) -> int | None:
        """The run of scheduler tick ``tick``, created now; None when another
        scheduler (or an earlier try of this one) already planned that tick."""
        with self.transaction():
            self._sql.lock(lock)
            if self._query("SELECT run_id FROM ticks WHERE tick = ?", (tick,)):
                return None
            run_id = self.start_run("scheduled")
            self._write(
                "INSERT INTO ticks(tick, run_id) VALUES (?, ?) ON CONFLICT (tick) DO NOTHING",
                (tick, run_id),
            )
        return run_id

    def plan(
        self,
        run_id: int,
        url: str,
        host: str,
        due: float,
        *,
        via: str,
        depth: int = 0,
        score: float | None = None,
        seed_id: int | None = None,
    ) -> bool:
        """Make a page due at ``due`` for run ``run_id``; False when it is still due
        from an earlier run (which keeps it, and reports it)."""
        with self.transaction():
            target = self.upsert_target(url, via=via, depth=depth, score=score, seed_id=seed_id)
            if target.next_fetch_at is not None:
                return False
            self._write(
                "UPDATE targets SET host = ?, next_fetch_at = ?, planned_run = ?"
                " WHERE id = ? AND next_fetch_at IS NULL",
                (host, due, run_id, target.id),
            )
        return True

    def due_hosts(self, now: float | None = None) -> list[str]:
        """Hosts with a page due (by ``now``; None: at any time)."""
        sql = (
            "SELECT DISTINCT host FROM targets WHERE next_fetch_at IS NOT NULL AND host IS NOT NULL"
        )
        if now is None:
            rows = self._query(f"{sql} ORDER BY host")
        else:
            rows = self._query(f"{sql} AND next_fetch_at <= ? ORDER BY host", (now,))
        return [str(r["host"]) for r in rows]

    def next_due(self, host: str, now: float) -> TargetRow | None:
        """The host's page that has been due longest, or None."""
        rows = self._query(
            "SELECT * FROM targets WHERE host = ? AND next_fetch_at IS NOT NULL"
            " AND next_fetch_at <= ? ORDER BY next_fetch_at, id LIMIT 1",
            (host, now),
        )
        return TargetRow(**dict(rows[0])) if rows else None

    def host(self, host: str) -> HostRow:
        rows = self._query("SELECT * FROM hosts WHERE host = ?", (host,))
        return HostRow(**dict(rows[0])) if rows else HostRow(host)

    def update_host(self, host: str, **fields: float | str | None) -> None:
        """Set some of a host's politeness fields (inserting its row the first time)."""
        names = sorted(fields)
        assert names and set(names) <= HOST_FIELDS, names
        self._write(
            f"INSERT INTO hosts(host, {', '.join(names)}) VALUES (?{', ?' * len(names)})"
            f" ON CONFLICT (host) DO UPDATE SET"
            f" {', '.join(f'{n} = excluded.{n}' for n in names)}",
            (host, *(fields[n] for n in names)),
        )

    def page_done(self, target_id: int, run_id: int, state: str, error: str | None) -> None:
        """Inside a page's transaction: the page is no longer due, and its run counts it
        (``state``: a target state of archiver.crawler.outcome)."""
        self._write("UPDATE targets SET next_fetch_at = NULL WHERE id = ?", (target_id,))
        counted = {"new": "new_versions", "changed": "new_versions", "unchanged": "unchanged"}
        column = counted.get(state, "not_modified" if state == "not modified" else None)
        fetched = 0 if state in ("error", "skipped") else 1
        # The UPDATE locks the run's row until this transaction ends, so the errors read
        # next are the latest (no other page's error is lost).
        self._write(
            f"UPDATE runs SET fetched = fetched + ?{f', {column} = {column} + 1' if column else ''}"
            " WHERE id = ?",
            (fetched, run_id),
        )
        if state == "error":
            row = self._query("SELECT errors FROM runs WHERE id = ?", (run_id,))
            errors = json.loads(row[0]["errors"]) if row else []
            target = self.target(target_id)
            errors.append({"url": target.url, "error": error or "error"})
            self._write(
                "UPDATE runs SET errors = ? WHERE id = ?",
                (json.dumps(errors, ensure_ascii=False), run_id),
            )

    def runs_left(self, run_id: int) -> int:
        """How many pages run ``run_id`` planned are still due."""
        rows = self._query(
            "SELECT COUNT(*) AS n FROM targets WHERE planned_run = ? AND next_fetch_at IS NOT NULL",
            (run_id,),
        )
        return int(rows[0]["n"])

    def close_run(self, run_id: int, outcome: str, reason: str | None) -> bool:
        """Record the end of a run whose counters are complete; False if already ended."""
        with self.transaction():
            open_ = self._query(
                "SELECT id FROM runs WHERE id = ? AND finished_at IS NULL", (run_id,)
            )
            if not open_:
                return False
            self._write(
                "UPDATE runs SET finished_at = ?, outcome = ?, reason = ?"
                " WHERE id = ? AND finished_at IS NULL",
                (now_iso(), outcome, reason, run_id),
            )
        return True

    def meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._write(
            "INSERT INTO meta(key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def take_due(self, target_id: int, due: float | None, run_id: int | None) -> bool:
        """Inside a page's transaction: whether the page is still due as it was planned
        (``due``, ``run_id``), holding the page's lock until the transaction ends. False:
        another job recorded it meanwhile (a job declared stalled that was only slow),
        and this page's transaction must be rolled back."""
        self._sql.lock(target_id)
        rows = self._query(
            "SELECT next_fetch_at, planned_run FROM targets WHERE id = ?", (target_id,)
        )
        return bool(rows) and (rows[0]["next_fetch_at"], rows[0]["planned_run"]) == (due, run_id)

    def unindexed_versions(self, limit: int) -> list[tuple[int, int]]:
        """(version id, target id) of versions the indexer job has not indexed yet."""
        rows = self._query(
            "SELECT v.id, v.target_id FROM versions v WHERE NOT EXISTS"
            " (SELECT 1 FROM indexed_versions i WHERE i.version_id = v.id)"
            f" ORDER BY v.id LIMIT {int(limit)}"
        )
        return [(int(r["id"]), int(r["target_id"])) for r in rows]

    def mark_indexed(self, version_ids: list[int]) -> None:
        with self.transaction():
            for version_id in version_ids:
                self._write(
                    "INSERT INTO indexed_versions(version_id, indexed_at) VALUES (?, ?)"
                    " ON CONFLICT (version_id) DO NOTHING",
                    (version_id, now_iso()),
                )
