"""SQLite plumbing for the catalog: the embedded connection (:class:`SqliteDb`),
read-only opening and nestable transactions."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from archiver.errors import StoreError

from .sqldb import Params, Row

log = logging.getLogger(__name__)


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {d[0]: value for d, value in zip(cursor.description, row, strict=True)}


_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another's lock


def _open_writable(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode. Several processes creating the same new catalog at once
    race to switch it to WAL, and the loser's switch can fail with "database is locked"
    without waiting on the busy timeout: it tries again, for up to that timeout."""
    deadline = time.monotonic() + _BUSY_TIMEOUT
    while True:
        db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            return db
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SqliteDb:
    """``catalog.sqlite3``: WAL mode, so searches read while a crawl writes."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, read_only: bool) -> None:
        self.label = str(path)
        self.path = path
        if read_only:
            self.db = open_read_only(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = _open_writable(path)
        self.db.row_factory = _dict_row

    def rows(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: catalog query failed: {exc}") from exc

    def run(self, sql: str, params: Params = ()) -> None:
        self.insert(sql, params)

    def insert(self, sql: str, params: Params = ()) -> int:
        # Autocommit mode: a lone statement commits itself; inside transaction() it joins
        # the open transaction instead.
        try:
            return int(self.db.execute(sql, params).lastrowid or 0)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: catalog write failed: {exc}") from exc

    def script(self, sql: str) -> None:
        # Statement by statement: executescript() would COMMIT an open transaction.
        for statement in re.sub(r"--[^\n]*", "", sql).split(";"):
            if statement.strip():
                self.run(statement)

    def transaction(self) -> Transaction:
        return Transaction(self.db, self.path)

    def lock(self, key: int) -> None:
        pass  # BEGIN IMMEDIATE already holds the only write lock

    def try_lock(self, key: int) -> bool:
        return True  # one catalog file, one store folder: its pid lock is enough

    def unlock(self, key: int) -> None:
        pass

    def tables(self) -> set[str]:
        rows = self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r["name"] for r in rows}

    def columns(self, table: str) -> set[str]:
        return {r["name"] for r in self.rows(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        self.db.close()


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open a catalog on read-only media: mode=ro, else immutable (see below)."""
    uri = path.resolve().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        db.execute("SELECT COUNT(*) FROM meta").fetchone()
    except sqlite3.OperationalError:
        # A WAL database on a read-only file system cannot make its -shm file;
        # immutable mode reads the main file alone, which a clean close leaves whole.
        wal = Path(f"{path}-wal")
        if wal.is_file() and wal.stat().st_size:
            log.warning("%s: changes still in %s are not visible read-only", path, wal.name)
        db = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
        db.execute("SELECT COUNT(*) FROM meta").fetchone()  # is it a catalog at all?
    return db


class Transaction:
    """BEGIN IMMEDIATE … COMMIT, or a SAVEPOINT when a transaction is already open, so
    steps that group their own writes can be grouped again by their caller.

    When the body fails, the error it raised is the one that propagates: on a full disk
    (and other I/O errors) SQLite may already have rolled the whole transaction back by
    itself, and the rollback that then fails ("cannot rollback - no transaction is
    active", "no such savepoint") must not hide the real cause.
    """

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path
        self._savepoint: str | None = None

    def __enter__(self) -> None:
        try:
            if self._db.in_transaction:
                self._savepoint = f"sp{id(self)}"
                self._db.execute(f"SAVEPOINT {self._savepoint}")
            else:
                self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self._path}: cannot start a catalog transaction: {exc}") from exc

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self._undo(exc)
            return
        try:
            if self._savepoint is not None:
                self._db.execute(f"RELEASE {self._savepoint}")
            else:
                self._db.execute("COMMIT")
        except sqlite3.Error as err:
            if self._savepoint is None:
                self._undo(err)  # a failed COMMIT may leave the transaction open
            raise StoreError(f"{self._path}: catalog commit failed: {err}") from err

    def _undo(self, cause: object) -> None:
        """Roll back this transaction or savepoint, if SQLite has not done so already."""
        if not self._db.in_transaction:
            log.debug("%s: transaction already rolled back by SQLite (%s)", self._path, cause)
            return
        try:
            if self._savepoint is not None:
                self._db.execute(f"ROLLBACK TO {self._savepoint}")
                self._db.execute(f"RELEASE {self._savepoint}")
            else:
                self._db.execute("ROLLBACK")
        except sqlite3.Error as err:  # the cause is what the caller must hear about
            log.debug("%s: rollback after %s failed: %s", self._path, cause, err)
