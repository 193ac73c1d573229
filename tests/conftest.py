"""Shared fixtures: the offline fixture site on 127.0.0.1 and a project directory.

Helpers (FixtureSite, Route, write_config, cli, ...) are in tests/helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import FixtureSite


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
