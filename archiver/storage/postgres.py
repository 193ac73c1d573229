"""The cluster catalog on PostgreSQL (psycopg 3): the same statements as SQLite's.

Passwords never leave this module: :func:`redact` is the only form of a DSN that goes
into a message or a log line, and :func:`scrub` cleans every server or driver message.

A lost connection (a server restart) is re-made before the next statement that is not
inside a transaction, so the next page's transaction starts on a live connection; a
statement inside a transaction is never replayed (the server rolled that transaction
back), its StoreError reaches the caller.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from archiver.errors import CatalogAccessError, CatalogConnectionLost, StoreError

from .sqldb import Params, Row

log = logging.getLogger(__name__)

_URL_SECRET = re.compile(r"(postgres(?:ql)?://[^:/@\s]*):[^@\s]*@")
_KV_SECRET = re.compile(r"\bpassword\s*=\s*(?:'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(dsn: str) -> str:
    """The DSN as it may be shown: ``postgresql://user@host:port/db``, no password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return _KV_SECRET.sub("password=***", _URL_SECRET.sub(r"\1@", dsn))
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or "")
    port = f":{parts['port']}" if parts.get("port") else ""
    where = f"{host}{port}" if "/" not in host else f"?host={host}"
    if where.startswith("?"):
        return f"postgresql://{user}/{parts.get('dbname') or ''}{where}"
    return f"postgresql://{user}{where}/{parts.get('dbname') or ''}"


def _secrets(dsn: str) -> list[str]:
    found = [m.group(0).split(":", 2)[-1][:-1] for m in _URL_SECRET.finditer(dsn)]
    with suppress(psycopg.Error):
        found.append(str(conninfo_to_dict(dsn).get("password") or ""))
    found.append(os.environ.get("PGPASSWORD", ""))
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(message: object, dsn: str) -> str:
    """A driver or server message on one line, with every password in it masked."""
    text = " ".join(str(message).split())
    for secret in _secrets(dsn):
        text = text.replace(secret, "***")
    return _KV_SECRET.sub("password=***", _URL_SECRET.sub(r"\1@", text))


@lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (no statement quotes a ``?`` or ``%``)."""
    return sql.replace("%", "%%").replace("?", "%s")


# The server ended the session (shutdown, crash, restart) before it ran the statement:
# even a COMMIT that meets this committed nothing, so the transaction can be run again.
_SERVER_ENDED = {"57P01", "57P02", "57P03"}  # admin_shutdown, crash_shutdown, cannot_connect_now


class PostgresDb:
    """One psycopg connection in autocommit mode; transactions are explicit."""

    dialect = "postgresql"
    reconnect_seconds = 30.0  # how long a lost server may take to come back

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self.label = redact(dsn)
        self._depth = 0  # open transactions and savepoints
        try:
            self._conn = self._connect()
        except psycopg.Error as exc:
            raise CatalogAccessError(
                f"cannot open the catalog at {self.label}: {scrub(exc, dsn)}"
            ) from None  # the driver's exception may quote the DSN

    def _connect(self) -> psycopg.Connection[Row]:
        return psycopg.connect(
            self._dsn,
            autocommit=True,
            row_factory=dict_row,
            connect_timeout=10,
            application_name="archiver",
        )

    def _live(self) -> psycopg.Connection[Row]:
        """The connection, made again if the server dropped it (outside transactions)."""
        if not (self._conn.closed or self._conn.broken):
            return self._conn
        if self._depth:
            raise CatalogConnectionLost(f"{self.label}: lost the catalog connection")
        deadline = time.monotonic() + self.reconnect_seconds
        while True:
            try:
                self._conn = self._connect()
            except psycopg.Error as exc:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"{self.label}: lost the catalog connection and cannot reconnect:"
                        f" {scrub(exc, self._dsn)}"
                    ) from None
                time.sleep(0.5)
                continue
            log.warning("%s: reconnected to the catalog", self.label)
            return self._conn

    def _execute(
        self, sql: str, params: Params, what: str, *, fetch: bool, replay: bool = True
    ) -> list[Row]:
        # A statement outside a transaction that met a dropped connection never ran
        # (the server closed the idle session): it is sent once more on a new one.
        retry = replay and self._depth == 0
        while True:
            conn = self._live()
            try:
                cur = conn.execute(_pg(sql), tuple(params))
                return cur.fetchall() if fetch else []
            except psycopg.OperationalError as exc:
                if retry and conn.broken:
                    log.warning("%s: connection lost (%s)", self.label, scrub(exc, self._dsn))
                    retry = False
                    continue
                if conn.broken and (
                    (self._depth and replay) or getattr(exc, "sqlstate", None) in _SERVER_ENDED
                ):  # rolled back by the server
                    raise CatalogConnectionLost(
                        f"{self.label}: catalog {what} failed: {scrub(exc, self._dsn)}"
                    ) from None
                raise StoreError(
                    f"{self.label}: catalog {what} failed: {scrub(exc, self._dsn)}"
                ) from None
            except psycopg.Error as exc:
                raise StoreError(
                    f"{self.label}: catalog {what} failed: {scrub(exc, self._dsn)}"
                ) from None

    def rows(self, sql: str, params: Params = ()) -> list[Row]:
        return self._execute(sql, params, "query", fetch=True)

    def run(self, sql: str, params: Params = ()) -> None:
        self._execute(sql, params, "write", fetch=False)

    def insert(self, sql: str, params: Params = ()) -> int:
        return int(self._execute(f"{sql} RETURNING id", params, "write", fetch=True)[0]["id"])

    def script(self, sql: str) -> None:
        self.run(sql)  # psycopg runs several statements in one call when there are no params

    @contextmanager
    def transaction(self) -> Iterator[None]:
        outer = self._depth == 0
        savepoint = f"sp{self._depth}"
        self._execute("BEGIN" if outer else f"SAVEPOINT {savepoint}", (), "begin", fetch=False)
        self._depth += 1
        try:
            yield
        except BaseException as exc:
            self._depth -= 1
            self._undo(outer, savepoint, exc)
            raise
        self._depth -= 1
        end = "COMMIT" if outer else f"RELEASE SAVEPOINT {savepoint}"
        try:  # a COMMIT is never replayed: on a new connection it would commit nothing
            self._execute(end, (), "commit", fetch=False, replay=False)
        except StoreError as exc:
            if outer:
                self._undo(outer, savepoint, exc)
            raise

    def _undo(self, outer: bool, savepoint: str, cause: object) -> None:
        """Roll back, unless the server already did (a dropped connection)."""
        if self._conn.closed or self._conn.broken:
            log.debug("%s: transaction lost with its connection (%s)", self.label, cause)
            return
        try:
            if outer:
                self._conn.execute("ROLLBACK")
            else:
                self._conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                self._conn.execute(f"RELEASE SAVEPOINT {savepoint}")
        except psycopg.Error as err:  # the cause is what the caller must hear about
            log.debug("%s: rollback after %s failed: %s", self.label, cause, err)

    def lock(self, key: int) -> None:
        self.run("SELECT pg_advisory_xact_lock(?)", (key,))

    def try_lock(self, key: int) -> bool:
        # A session lock: the server drops it when the process dies, like an flock (and
        # also when the connection is lost: a reconnected writer no longer holds it).
        return bool(self.rows("SELECT pg_try_advisory_lock(?) AS ok", (key,))[0]["ok"])

    def unlock(self, key: int) -> None:
        if not (self._conn.closed or self._conn.broken):
            self.run("SELECT pg_advisory_unlock(?)", (key,))

    def tables(self) -> set[str]:
        rows = self.rows(
            "SELECT table_name AS name FROM information_schema.tables"
            " WHERE table_schema = current_schema()"
        )
        return {r["name"] for r in rows}

    def columns(self, table: str) -> set[str]:
        rows = self.rows(
            "SELECT column_name AS name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        return {r["name"] for r in rows}

    def close(self) -> None:
        self._conn.close()

    @property
    def dsn(self) -> str:
        return self._dsn

    def raw(self) -> psycopg.Connection[Row]:
        """The live connection, for what only PostgreSQL does (COPY)."""
        return self._live()


def copy_rows(db: PostgresDb, table: str, columns: list[str], rows: Iterable[Params]) -> int:
    """COPY rows into a table inside the open transaction; how many were copied."""
    names = ", ".join(columns)
    count = 0
    try:
        with db.raw().cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    except psycopg.Error as exc:
        raise StoreError(f"{db.label}: copying {table} failed: {scrub(exc, db.dsn)}") from None
    return count
