"""Group commit: pages that finish fetching together share one WARC fsync, and the
catalog still never points at a record that was not on disk yet."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from archiver.config import load_config
from archiver.crawler import pipeline
from archiver.storage.store import Store

from .helpers import FixtureSite, Route, cli_json, write_config

PAGES = 24


def _article(n: int) -> bytes:
    sentences = " ".join(f"{n}번 기사의 {k}번째 문장은 그룹 커밋을 시험한다." for k in range(40))
    return (
        f"<html lang=ko><head><title>기사 {n}</title></head>"
        f"<body><article><h1>기사 {n}</h1><p>{sentences}</p></article></body></html>"
    ).encode()


def test_pages_recorded_together_share_an_fsync_after_their_records(
    site: FixtureSite, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [f"/group/{n}" for n in range(PAGES)]
    for n, path in enumerate(paths):
        # The same delay for all: they finish together and are recorded as groups.
        site.routes[path] = Route(body=_article(n), delay=0.3)
    config = write_config(
        config_dir,
        site,
        targets=paths,
        seed=False,
        extra="concurrency = 12\nper_host_concurrency = 12",
    )
    loaded = load_config(config)
    catalog = config_dir / "store" / "catalog.sqlite3"
    synced: dict[str, int] = {}  # WARC file -> bytes made durable so far
    syncs: list[int] = []
    real_fsync = os.fsync

    def checked_fsync(fd: int) -> None:
        # Before this fsync, every capture the catalog has committed must point at bytes
        # an earlier fsync already covered.
        if catalog.exists():
            db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
            try:
                rows = db.execute(
                    "SELECT warc_file, warc_offset + warc_length FROM captures"
                    " WHERE warc_file IS NOT NULL"
                ).fetchall()
            finally:
                db.close()
            for name, end in rows:
                assert end <= synced.get(name, 0), f"{name} committed before its fsync"
        real_fsync(fd)
        name = Path(os.readlink(f"/proc/self/fd/{fd}")).name
        synced[name] = os.fstat(fd).st_size
        syncs.append(fd)

    monkeypatch.setattr("archiver.storage.warc.os.fsync", checked_fsync)
    with Store.from_config(loaded) as store:
        summary = pipeline.crawl(loaded, store)
    assert summary.count("new") == PAGES
    # Grouped: fewer fsyncs than pages (it was one per page before).
    assert 1 <= len(syncs) < PAGES
    assert cli_json(config, "verify")["problems"] == []
    hits = cli_json(config, "search", "그룹 커밋", "--limit", "100")
    assert len(hits) == PAGES
