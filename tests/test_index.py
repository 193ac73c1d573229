"""The Korean-aware index: particles, case, numbers, versions, filters, snippets, damage."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.fields import ID, TEXT, Schema

from archiver.errors import QueryError, SearchIndexError
from archiver.fulltext.index import Hit, Index, IndexDoc
from archiver.fulltext.snippets import highlighter, make_snippet

DOCS = [
    IndexDoc(
        "a#v1",
        "http://a.kr/1",
        "page",
        1,
        False,
        "오픈AI 소식",
        "샘 올트먼이 떠났다.",
        site="a.kr",
        published_at="2023-11-18T09:00:00+09:00",
        fetched_at="2023-11-18T10:00:00+09:00",
    ),
    IndexDoc(
        "a#v2",
        "http://a.kr/1",
        "page",
        2,
        True,
        "오픈AI 소식",
        "샘 올트먼이 돌아왔다. GPT-4와 860억 달러, 1,200억 원.",
        site="a.kr",
        published_at="2023-11-18T09:00:00+09:00",
        fetched_at="2023-11-20T10:00:00+09:00",
    ),
    IndexDoc(
        "b#v1",
        "http://b.com/1",
        "page",
        1,
        True,
        "다른 글",
        "올트 먼 그리고 OpenAI의 발표",
        site="www.b.com",
        published_at="2023-12-01T09:00:00+09:00",
    ),
]


@pytest.fixture
def index(tmp_path: Path) -> Index:
    ix = Index(tmp_path / "index")
    assert ix.add(DOCS) == 3
    return ix


def urls(hits: list[Hit]) -> list[str]:
    return [h.url for h in hits]


def test_word_with_particle_is_found_but_not_its_scattered_syllables(index: Index) -> None:
    assert urls(index.search("올트먼")) == ["http://a.kr/1"]  # not 올트 먼 in b
    for inflected in ("올트먼이", "올트먼의", "올트먼은"):
        ix = Index(index.directory.parent / inflected)
        ix.add([IndexDoc("x", "http://x/1", "page", 1, True, "", f"그날 {inflected} 말했다")])
        assert urls(ix.search("올트먼")) == ["http://x/1"], inflected


def test_latin_is_case_folded_and_numbers_are_findable(index: Index) -> None:
    assert urls(index.search("openai")) == ["http://b.com/1"]
    assert urls(index.search("OPENAI")) == ["http://b.com/1"]
    assert urls(index.search("오픈AI")) == ["http://a.kr/1"]  # in the title
    for query in ("GPT-4", "gpt-4", "860억", "1,200억", "1200억"):
        assert urls(index.search(query)) == ["http://a.kr/1"], query


def test_default_search_covers_latest_versions_only(index: Index) -> None:
    assert index.search("떠났다") == []
    hits = index.search("떠났다", all_versions=True)
    assert [(h.url, h.version) for h in hits] == [("http://a.kr/1", 1)]


def test_all_versions_groups_by_page_oldest_first(tmp_path: Path) -> None:
    ix = Index(tmp_path / "index")
    ix.add(
        [
            IndexDoc(
                "p#v2", "http://p/1", "page", 2, False, "", "이사회가 해임을 발표했다. 이사회"
            ),
            IndexDoc("q#v1", "http://q/1", "page", 1, True, "", "이사회 소식"),
            IndexDoc("p#v1", "http://p/1", "page", 1, False, "", "이사회가 해임을 발표했다."),
            IndexDoc("p#v3", "http://p/1", "page", 3, True, "", "이사회 이사회 이사회 해임 번복"),
        ]
    )
    hits = ix.search("이사회", all_versions=True)
    assert [(h.url, h.version) for h in hits] == [
        ("http://p/1", 1),
        ("http://p/1", 2),
        ("http://p/1", 3),
        ("http://q/1", 1),
    ]
    assert [(h.url, h.version) for h in ix.search("이사회", all_versions=True, limit=2)] == [
        ("http://p/1", 1),
        ("http://p/1", 2),
    ]


def test_site_and_date_filters(index: Index) -> None:
    assert urls(index.search("발표 OR 올트먼", site="b.com")) == ["http://b.com/1"]
    assert urls(index.search("발표 OR 올트먼", site="www.b.com")) == ["http://b.com/1"]
    assert urls(index.search("발표 OR 올트먼", site="a.kr")) == ["http://a.kr/1"]
    assert urls(index.search("발표 OR 올트먼", since="2023-11-30")) == ["http://b.com/1"]
    assert urls(index.search("발표 OR 올트먼", until="2023-11-20")) == ["http://a.kr/1"]
    # Times with offsets compare as instants: 09:00+09:00 is 00:00 UTC.
    assert urls(index.search("올트먼", since="2023-11-18T00:30:00+00:00")) == []
    assert urls(index.search("올트먼", until="2023-11-18T00:00:00Z")) == ["http://a.kr/1"]


def test_hit_carries_what_the_user_sees(index: Index) -> None:
    [hit] = index.search("돌아왔다")
    assert (hit.title, hit.version, hit.kind) == ("오픈AI 소식", 2, "page")
    assert hit.published_at == "2023-11-18T09:00:00+09:00"
    assert hit.fetched_at == "2023-11-20T10:00:00+09:00"
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["돌아왔다"]


def test_snippet_highlights_whole_words_and_phrases(index: Index) -> None:
    hit = index.search('"샘 올트먼" 860억')[0]
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["샘 올트먼", "860억"]
    hit = index.search("1200억 gpt-4")[0]
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["GPT-4", "1,200억"]


def test_snippet_window_never_cuts_a_syllable_or_a_word() -> None:
    text = "가나다라 " * 100 + "올트먼이 말했다 " + "마바사 " * 100
    snippet, spans = make_snippet(text, highlighter([("올트먼", False)]), width=40)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert all("\uac00" <= ch <= "\ud7a3" or ch in " …" for ch in snippet)
    words = snippet.strip("…").split()
    assert set(words) <= {"가나다라", "올트먼이", "말했다", "마바사"}
    assert [snippet[s:e] for s, e in spans] == ["올트먼"]


def test_decomposed_jamo_text_is_indexed_as_syllables(tmp_path: Path) -> None:
    ix = Index(tmp_path / "index")
    nfd = unicodedata.normalize("NFD", "샘 올트먼이 복귀했다")
    ix.add([IndexDoc("d", "http://d/1", "page", 1, True, "", nfd)])
    [hit] = ix.search("올트먼")
    assert hit.snippet[slice(*hit.highlights[0])] == "올트먼"


@pytest.mark.parametrize(
    "query",
    [
        "   ",
        "!!!",
        '"샘 올트먼',
        "(올트먼",
        "올트먼)",
        "올트먼 AND",
        "OR 올트먼",
        "NOT",
        "NOT 올트먼",
        "-올트먼",
        "title:",
        "site:",
        "NOT site:a.kr",  # site:a.kr alone lists the site's pages (issue 18)
        "()",
    ],
)
def test_bad_queries_are_one_line_query_errors(index: Index, query: str) -> None:
    with pytest.raises(QueryError) as caught:
        index.search(query)
    assert "\n" not in str(caught.value) and str(caught.value)


def test_bad_dates_are_query_errors(index: Index) -> None:
    with pytest.raises(QueryError, match="--since"):
        index.search("올트먼", since="last tuesday")
    with pytest.raises(QueryError, match="after"):
        index.search("올트먼", since="2024-01-01", until="2023-01-01")


def test_missing_index_says_reindex(tmp_path: Path) -> None:
    with pytest.raises(SearchIndexError, match="reindex"):
        Index(tmp_path / "nothing").search("x")


def test_corrupt_index_says_reindex(index: Index) -> None:
    for f in index.directory.glob("*.seg"):
        f.write_bytes(b"garbage")
    for f in index.directory.glob("_MAIN_*.toc"):
        f.write_bytes(b"garbage")
    with pytest.raises(SearchIndexError, match="reindex"):
        Index(index.directory).search("올트먼")


@pytest.mark.parametrize("keep", [0.2, 0.5])
@pytest.mark.parametrize("suffix", [".trm", ".pst", "_stored.col"])
def test_truncated_segment_file_says_reindex(index: Index, suffix: str, keep: float) -> None:
    # Damage is found when a search reads it (here: the words searched for).
    [segment_file] = index.directory.glob(f"*{suffix}")
    data = segment_file.read_bytes()
    segment_file.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(SearchIndexError, match="reindex"):
        Index(index.directory).search("올트먼")


def test_deleted_segment_file_says_reindex(index: Index) -> None:
    for path in index.directory.glob("*.pst"):
        path.unlink()
    with pytest.raises(SearchIndexError, match="reindex"):
        Index(index.directory).search("올트먼")


def test_index_of_an_older_schema_says_reindex(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    whoosh_index.create_in(
        str(tmp_path / "index"), Schema(doc_id=ID(stored=True), text=TEXT(stored=True))
    )
    with pytest.raises(SearchIndexError, match="older archiver.*reindex"):
        Index(tmp_path / "index").search("올트먼")


def test_rebuild_replaces_everything_and_updates_replace_by_doc_id(index: Index) -> None:
    assert index.rebuild([DOCS[2]], procs=1) == 1
    assert index.doc_count() == 1
    assert index.search("올트먼 OR 발표") and urls(index.search("돌아왔다")) == []
    index.add([IndexDoc("b#v1", "http://b.com/1", "page", 1, True, "다른 글", "새 본문")])
    assert index.doc_count() == 1 and urls(index.search("새")) == ["http://b.com/1"]


def test_one_syllable_words_take_particles_but_are_not_prefixes(tmp_path: Path) -> None:
    ix = Index(tmp_path / "index")
    ix.add(
        [
            IndexDoc("1", "http://x/1", "page", 1, True, "", "새 칩을 만든다"),
            IndexDoc("2", "http://x/2", "page", 1, True, "", "칩셋 가격이 올랐다"),
            IndexDoc("3", "http://x/3", "page", 1, True, "", "그 칩 하나"),
            IndexDoc("4", "http://x/4", "page", 1, True, "", "포테이토칩이 맛있다"),
        ]
    )
    # Like longer words, 칩 is found at the end of a compound (포테이토칩이), not in 칩셋.
    assert sorted(h.url for h in ix.search("칩")) == ["http://x/1", "http://x/3", "http://x/4"]
    hit = ix.search("칩 만든다")[0]
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["칩", "만든다"]


def test_two_process_writer_replaces_versions_like_one(tmp_path: Path) -> None:
    """Big crawl runs index with two processes; a page's older version must still lose
    its `latest` mark."""
    index = Index(tmp_path / "ix")

    def page(version: int, latest: bool, text: str) -> IndexDoc:
        return IndexDoc(
            f"u#v{version}", "http://u", "page", version, latest, "제목", text, site="u"
        )

    index.add([page(1, True, "올트먼이 해임됐다")])
    docs = [page(1, False, "올트먼이 해임됐다"), page(2, True, "올트먼이 복귀했다")]
    docs += [
        IndexDoc(f"x{i}", f"http://x/{i}", "page", 1, True, "다른", "티그리스 반도체", site="x")
        for i in range(30)
    ]
    assert index.add(docs, procs=2) == 32
    fresh = Index(tmp_path / "ix")
    assert fresh.doc_count() == 32
    assert fresh.search("해임") == []
    old = fresh.search("해임", all_versions=True)
    assert [(h.url, h.version) for h in old] == [("http://u", 1)]
    assert [(h.url, h.version) for h in fresh.search("복귀")] == [("http://u", 2)]


def _many_docs(count: int) -> Iterator[IndexDoc]:
    for i in range(count):
        yield IndexDoc(f"m{i}", f"http://m/{i}", "page", 1, True, "제목", "올트먼이 복귀했다 " * 50)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # an unreaped zombie
    except FileNotFoundError:
        return True


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as status:
            return " ".join(line.strip() for line in status if line.startswith(("State", "PPid")))
    except FileNotFoundError:
        return "gone"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_parallel_index_workers_exit_when_the_crawl_process_is_killed(index: Index) -> None:
    """A SIGKILL mid-index (OOM killer, kill -9) must not leave worker processes waiting
    for ever, and the index keeps its last commit."""
    script = f"""
import multiprocessing, sys, time
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_index import _many_docs
from archiver.fulltext.index import Index

def docs():
    yield from _many_docs(200)  # 100 a batch: the second worker was just forked
    print(*[p.pid for p in multiprocessing.active_children()], flush=True)
    time.sleep(60)

Index(Path({str(index.directory)!r})).add(docs(), procs=2)
"""
    index.close()
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    workers = [int(pid) for pid in line.split()]
    assert len(workers) == 2, f"worker pids: {line!r}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(pid) for pid in workers), [_state(pid) for pid in workers]
    fresh = Index(index.directory)
    assert fresh.doc_count() == 3
    assert urls(fresh.search("올트먼")) == ["http://a.kr/1"]


def test_failed_parallel_add_ends_its_workers_and_changes_nothing(index: Index) -> None:
    def docs() -> Iterator[IndexDoc]:
        yield from _many_docs(250)
        raise RuntimeError("the catalog went away")

    with pytest.raises(RuntimeError):
        index.add(docs(), procs=2)
    assert multiprocessing.active_children() == []
    assert index.doc_count() == 3
    assert index.add(_many_docs(250), procs=2) == 250  # the write lock was released
    assert Index(index.directory).doc_count() == 253


def test_damaged_posting_block_headers_say_reindex(index: Index) -> None:
    # Garbage in a block header (a count of billions, say) is a one-line error, not a
    # huge allocation or a wrong answer.
    [postings] = index.directory.glob("*.pst")
    data = bytearray(postings.read_bytes())
    start = 0
    while (start := data.find(b"ANp1", start)) != -1:
        data[start + 8 : start + 12] = b"\xff\xff\xff\x7f"  # the first block's count
        start += 4
    postings.write_bytes(bytes(data))
    with pytest.raises(SearchIndexError, match="reindex"):
        Index(index.directory).search("올트먼")
