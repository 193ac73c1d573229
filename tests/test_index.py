"""The Korean-aware index: particles, case, numbers, phrases, filters, snippets."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.errors import IndexError_, QueryError
from archiver.index import Index, IndexDoc, make_snippet


@pytest.fixture
def index(tmp_path: Path) -> Index:
    ix = Index(tmp_path / "index")
    ix.add([
        IndexDoc("a#v1", "http://a/1", "page", 1, False, "오픈AI 소식", "샘 올트먼이 떠났다.",
                 site="a", published_at="2023-11-18T09:00:00+09:00"),
        IndexDoc("a#v2", "http://a/1", "page", 2, True, "오픈AI 소식",
                 "샘 올트먼이 돌아왔다. GPT-4와 860억 달러, 1,200억 원.", site="a",
                 published_at="2023-11-18T09:00:00+09:00"),
        IndexDoc("b#v1", "http://b/1", "page", 1, True, "다른 글", "올트 먼 그리고 OpenAI의 발표",
                 site="b", published_at="2023-12-01T09:00:00+09:00"),
    ])
    return ix


def urls(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.url for h in hits]


def test_word_with_particle_is_found(index: Index) -> None:
    assert urls(index.search("올트먼")) == ["http://a/1"]


def test_latin_is_case_folded_and_numbers_lose_separators(index: Index) -> None:
    assert urls(index.search("openai")) == ["http://b/1"]
    assert urls(index.search("오픈AI")) == ["http://a/1"]
    assert urls(index.search("GPT-4")) == ["http://a/1"]
    assert urls(index.search("1200억")) == ["http://a/1"]


def test_default_search_covers_latest_versions_only(index: Index) -> None:
    assert index.search("떠났다") == []
    hits = index.search("떠났다", all_versions=True)
    assert [(h.url, h.version) for h in hits] == [("http://a/1", 1)]


def test_site_and_date_filters(index: Index) -> None:
    assert urls(index.search("발표 OR 올트먼", site="b")) == ["http://b/1"]
    assert urls(index.search("발표 OR 올트먼", since="2023-11-30")) == ["http://b/1"]
    assert urls(index.search("발표 OR 올트먼", until="2023-11-20")) == ["http://a/1"]


def test_snippet_highlights_the_whole_word(index: Index) -> None:
    hit = index.search("올트먼")[0]
    start, end = hit.highlights[0]
    assert hit.snippet[start:end] == "올트먼"


def test_snippet_window_never_cuts_a_syllable() -> None:
    text = "가나다라 " * 100 + "올트먼이 말했다 " + "마바사 " * 100
    snippet, spans = make_snippet(text, {"올트", "트먼"}, width=40)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert all("\uac00" <= ch <= "\ud7a3" or ch in " …" for ch in snippet)
    assert [snippet[s:e] for s, e in spans] == ["올트먼"]


def test_bad_queries_are_query_errors(index: Index) -> None:
    with pytest.raises(QueryError):
        index.search("   ")
    with pytest.raises(QueryError):
        index.search("!!!")
    with pytest.raises(QueryError, match="--since"):
        index.search("올트먼", since="last tuesday")


def test_missing_index_says_reindex(tmp_path: Path) -> None:
    with pytest.raises(IndexError_, match="reindex"):
        Index(tmp_path / "nothing").search("x")


def test_corrupt_index_says_reindex(index: Index) -> None:
    for f in index.directory.glob("*.seg"):
        f.write_bytes(b"garbage")
    for f in index.directory.glob("_MAIN_*.toc"):
        f.write_bytes(b"garbage")
    with pytest.raises(IndexError_, match="reindex"):
        Index(index.directory).search("올트먼")
