"""A throwaway PostgreSQL 15 cluster for tests: Debian's initdb and pg_ctl, run as the
``postgres`` user (tests run as root), listening on a Unix socket in a temporary
folder only (no TCP port to collide on). One cluster per pytest session (per xdist
worker); every test gets a fresh database.

A role with a password (:data:`PASSWORD_ROLE`, scram-sha-256 over the socket) lets the
tests try a wrong password; every other connection is trusted.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD_ROLE = "archivist"
PASSWORD = "s3cret-Hunter2-pw"  # distinctive: the tests look for it in every output


def available() -> str | None:
    """None when a cluster can be started here, else why not."""
    if not (PG_BIN / "initdb").is_file():
        return f"PostgreSQL 15 is not installed ({PG_BIN / 'initdb'} is missing)"
    if shutil.which("runuser") is None or os.geteuid() != 0:
        return "starting PostgreSQL as the postgres user needs root and runuser"
    return None


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


class PgCluster:
    """initdb + pg_ctl start; :meth:`stop` removes everything."""

    def __init__(self, *, fsync: bool = False) -> None:
        self.fsync = fsync  # off for tests (nothing here must survive a power cut)
        self.root = Path(tempfile.mkdtemp(prefix="archiver-pg-"))
        self.root.chmod(0o755)
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.log = self.root / "server.log"
        self._names = itertools.count(1)
        _as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        )
        hba = self.data / "pg_hba.conf"
        hba.write_text(
            f"local all {PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n", encoding="utf-8"
        )
        self.start()
        with self.admin() as db:
            db.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")

    def start(self) -> None:
        _as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-o",
            f"-k {self.socket_dir} -c listen_addresses='' -c fsync={'on' if self.fsync else 'off'}",
            "start",
        )

    def restart(self) -> None:
        """A fast restart: the server drops every connection, as after a crash."""
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.start()

    def outage(self, seconds: float) -> None:
        """The server down for ``seconds`` (connections refused meanwhile), then up."""
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        time.sleep(seconds)
        self.start()

    def stop(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data)]
            + ["-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres", *, user: str = "postgres", password: str = "") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@/{database}?host={self.socket_dir}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        import psycopg  # here: the embedded-mode tests run without it

        return psycopg.connect(self.dsn(), autocommit=True)

    def new_database(self) -> str:
        """A fresh, empty database; its DSN (as the trusted superuser)."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)
