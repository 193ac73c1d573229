"""`archiver search` and `archiver reindex` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archiver.storage.store import Store

from .helpers import FixtureSite, cli, write_config


@pytest.fixture
def config(config_dir: Path, site: FixtureSite) -> Path:
    path = write_config(config_dir, site)
    assert cli(path, "crawl").exit_code == 0
    return path


def test_hits_show_title_url_dates_version_and_snippet(config: Path, site: FixtureSite) -> None:
    result = cli(config, "search", "올트먼", "--site", "127.0.0.1")
    assert result.exit_code == 0, result.output
    page = site.url("/99663")
    hits = json.loads(cli(config, "search", "올트먼", "--site", "127.0.0.1", "--json").stdout)
    [hit] = hits
    assert hit["url"] == page and hit["version"] == 1 and hit["title"]
    assert hit["published_at"].startswith("2023-11-") and hit["fetched_at"]
    assert hit["highlights"] and all(
        hit["snippet"][s:e].startswith("올트먼") for s, e in hit["highlights"]
    )
    # The plain text a pipe gets carries the same facts.
    assert hit["title"] in result.stdout and page in result.stdout
    assert "v1" in result.stdout and f"published {hit['published_at']}" in result.stdout
    assert f"fetched {hit['fetched_at']}" in result.stdout
    assert hit["snippet"][:20] in result.stdout


def test_query_language_through_the_cli(config: Path, site: FixtureSite) -> None:
    def found(*args: str) -> set[str]:
        result = cli(config, "search", *args, "--json")
        assert result.exit_code == 0, result.output
        return {h["url"] for h in json.loads(result.stdout)}

    page = site.url("/99663")
    assert found('"샘 올트먼"') == {page, "seed:1"}
    assert found("올트먼 -site:127.0.0.1") == {"seed:1"}
    assert found("title:올트먼", "--site", "127.0.0.1") <= {page}
    assert found("올트먼", "--until", "2000-01-01") == set()
    assert (
        found("올트먼 오픈AI", "--any", "--limit", "1")
        and len(found("올트먼 오픈AI", "--any", "--limit", "1")) == 1
    )


@pytest.mark.parametrize("query", ['"샘 올트먼', "올트먼 OR", "(올트먼", "NOT 올트먼", "?!"])
def test_unparseable_query_is_one_line_exit_2(config: Path, query: str) -> None:
    result = cli(config, "search", query)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("archiver: error: ")
    assert "Traceback" not in result.output


def test_reindex_rebuilds_and_refuses_while_a_crawl_holds_the_store(config: Path) -> None:
    before = json.loads(cli(config, "search", "올트먼", "--json").stdout)
    result = cli(config, "reindex")
    assert result.exit_code == 0 and "indexed 2 documents" in result.stdout
    assert json.loads(cli(config, "search", "올트먼", "--json").stdout) == before
    store = Store(config.parent / "store")
    store.lock()  # as a running crawl does
    try:
        locked = cli(config, "reindex")
    finally:
        store.close()
    assert locked.exit_code == 1 and "try again later" in locked.stderr
    assert json.loads(cli(config, "search", "올트먼", "--json").stdout) == before


def test_old_index_format_asks_for_reindex(config: Path) -> None:
    index = config.parent / "store" / "index"
    for path in index.iterdir():
        path.unlink()
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, Schema

    whoosh_index.create_in(str(index), Schema(doc_id=ID(stored=True)))
    result = cli(config, "search", "올트먼")
    assert result.exit_code == 1 and "reindex" in result.stderr
    assert cli(config, "reindex").exit_code == 0
    assert cli(config, "search", "올트먼").exit_code == 0


def test_all_versions_lists_each_page_once_with_its_versions(
    config: Path, site: FixtureSite
) -> None:
    site.serve("/99663", "slownews/99663.v2.html")
    assert cli(config, "crawl").exit_code == 0
    page = site.url("/99663")
    hits = json.loads(
        cli(config, "search", "올트먼", "--all-versions", "--site", "127.0.0.1", "--json").stdout
    )
    assert [(h["url"], h["version"]) for h in hits] == [(page, 1), (page, 2)]
    text = cli(config, "search", "올트먼", "--all-versions", "--site", "127.0.0.1").stdout
    assert text.count(page) == 1 and "\n   v2  published" in text
    assert "2. " not in text  # one page, numbered once
    # Only the corrected version says 10분 남짓; only the first said 30분이.
    assert [
        h["version"]
        for h in json.loads(cli(config, "search", "30분이", "--all-versions", "--json").stdout)
    ] == [1]
