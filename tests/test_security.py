"""Security: nothing written outside the store, store paths never derive from URLs, and
SQL stays parameterised even for hostile URLs."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

from .helpers import FixtureSite, Route, cli, write_config

HOSTILE = "/evil/..%2F..%2F..%2Fetc%2Fpasswd';DROP TABLE versions;--?x=<script>alert(1)</script>"


def files_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def test_crawl_writes_only_inside_its_store(tmp_path: Path, site: FixtureSite) -> None:
    site.routes[unquote(HOSTILE.split("?")[0])] = Route("slownews/99700.html")
    config = write_config(tmp_path / "project", site, targets=[HOSTILE])
    before = files_under(tmp_path)
    result = cli(config, "crawl", "--json")
    assert result.exit_code == 0, result.output
    new = files_under(tmp_path) - before
    assert new and all(p.parts[:2] == ("project", "store") for p in new), new
    # Store paths come from times, process ids, hashes and run ids, never from URLs.
    names = " ".join(str(p) for p in new)
    for fragment in ("evil", "passwd", "99663", "127.0.0.1", "script"):
        assert fragment not in names
    # The hostile URL was stored as data: the versions table is still there.
    hits = cli(config, "search", "마이크로소프트", "--json")
    assert hits.exit_code == 0 and json.loads(hits.stdout)
    history = cli(config, "history", site.url(HOSTILE), "--json")
    assert history.exit_code == 0, history.output
    assert [v["version"] for v in json.loads(history.stdout)] == [1]
