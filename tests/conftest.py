"""Shared fixtures: the offline fixture site on 127.0.0.1 and a project directory.

Helpers (FixtureSite, Route, write_config, cli, ...) are in tests/helpers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import postgres
from .helpers import FixtureSite
from .postgres import PgCluster


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    server = FixtureSite()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "project"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster per test session (per xdist worker)."""
    why_not = postgres.available()
    if why_not is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {why_not}")
        pytest.skip(why_not)
    cluster = PgCluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_dsn(pg_cluster: PgCluster) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a catalog test opens its Catalog: each such test runs on both engines."""
    if request.param == "sqlite":
        return tmp_path / "catalog.sqlite3"
    dsn: str = request.getfixturevalue("pg_dsn")
    return dsn
