"""A big crawl run indexes while it fetches; what it makes searchable is the same."""

from __future__ import annotations

import json
import logging
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from archiver.errors import StoreError
from archiver.fulltext import feed as indexfeed
from archiver.fulltext.index import Index, IndexWriter
from archiver.fulltext.rebuild import open_index
from archiver.storage.catalog import Catalog
from archiver.storage.store import Store

from .helpers import FixtureSite, cli, write_config

TARGETS = ["/99663", "/99700", "/99710", "/99720", "/euckr", "/plain"]
QUERIES = ["올트먼", "OpenAI", "이사회", "티그리스", "반도체"]


def crawl_and_search(directory: Path, site: FixtureSite) -> dict[str, list[str]]:
    # One fetch at a time, so "while fetching" is observable in the order of requests.
    config = write_config(
        directory, site, targets=TARGETS, extra="concurrency = 1\nper_host_concurrency = 1"
    )
    result = cli(config, "crawl")
    assert result.exit_code == 0, result.output
    found = {}
    for query in QUERIES:
        result = cli(config, "search", query, "--json")
        assert result.exit_code == 0, result.output
        found[query] = [hit["url"] for hit in json.loads(result.stdout)]
    return found


@pytest.fixture
def writers(monkeypatch: pytest.MonkeyPatch, site: FixtureSite) -> list[tuple[int, int]]:
    """Every index writer opened: its ``procs``, and how many targets had been requested."""
    opened: list[tuple[int, int]] = []
    original = Index.writer

    def spy(self: Index, *, procs: int = 1) -> IndexWriter:
        opened.append((procs, sum(site.hits(path) for path in TARGETS)))
        return original(self, procs=procs)

    monkeypatch.setattr(Index, "writer", spy)
    return opened


def test_big_run_streams_to_index_workers_with_the_same_results(
    tmp_path: Path,
    site: FixtureSite,
    monkeypatch: pytest.MonkeyPatch,
    writers: list[tuple[int, int]],
) -> None:
    monkeypatch.setattr(indexfeed, "PARALLEL_INDEX_DOCS", 2)
    before = sum(site.hits(path) for path in TARGETS)
    streamed = crawl_and_search(tmp_path / "streamed", site)
    procs, requested = writers[-1]  # (the first indexed the seed post, before the run)
    assert procs == 2  # the run's documents went to the worker processes ...
    assert requested - before < len(TARGETS)  # ... which started before the last fetch
    assert multiprocessing.active_children() == []

    monkeypatch.setattr(indexfeed, "PARALLEL_INDEX_DOCS", 10_000)
    writers.clear()
    before = sum(site.hits(path) for path in TARGETS)
    plain = crawl_and_search(tmp_path / "plain", site)
    procs, requested = writers[-1]
    assert procs == 1 and requested - before == len(TARGETS)  # one writer, at the end
    assert streamed == plain
    assert all(streamed.values()), streamed


def test_workers_failing_mid_run_fall_back_to_indexing_at_the_end(
    tmp_path: Path,
    site: FixtureSite,
    monkeypatch: pytest.MonkeyPatch,
    writers: list[tuple[int, int]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    plain = crawl_and_search(tmp_path / "plain", site)
    monkeypatch.setattr(indexfeed, "PARALLEL_INDEX_DOCS", 2)
    original_add = IndexWriter.add
    calls = {"n": 0}

    def failing_add(self: IndexWriter, doc: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # while streaming: the disk filled up, say
            raise OSError(28, "No space left on device")
        original_add(self, doc)

    monkeypatch.setattr(IndexWriter, "add", failing_add)
    with caplog.at_level(logging.WARNING, logger="archiver.fulltext.feed"):
        recovered = crawl_and_search(tmp_path / "recovered", site)
    assert "indexing while crawling failed" in caplog.text
    assert recovered == plain
    assert multiprocessing.active_children() == []


def test_a_page_rolled_back_in_the_catalog_is_not_indexed(
    config_dir: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index holds exactly the catalog's versions, even when a crawl dies mid-page."""
    config = write_config(
        config_dir,
        site,
        targets=["/99700", "/99710"],
        extra="concurrency = 1\nper_host_concurrency = 1",
    )
    original = Catalog.set_target_state

    def failing(self: Catalog, target_id: int, state: str, **kwargs: Any) -> None:
        if state == "new" and self.target(target_id).url.endswith("/99710"):
            raise StoreError("catalog write failed: disk I/O error")
        original(self, target_id, state, **kwargs)

    monkeypatch.setattr(Catalog, "set_target_state", failing)
    result = cli(config, "crawl")
    assert result.exit_code == 1
    assert "disk I/O error" in result.output
    with Store(config_dir / "store") as store:
        versions = {(v.url, v.version) for v, _ in store.catalog.iter_versions()}
        assert (site.url("/99700"), 1) in versions
        assert not any(url.endswith("/99710") for url, _ in versions)
        assert open_index(store).doc_count() == len(versions) + 1  # and the seed post
