"""The posting format and the warm searcher: an index written by an older archiver (W3
posting blocks, pickled positions) answers as a new one does, can be added to and merged;
the shared Index of a long-running process stays correct across threads and rebuilds."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec

from archiver.fulltext import engine
from archiver.fulltext import index as index_module
from archiver.fulltext.analysis import TermPositions
from archiver.fulltext.index import Hit, Index, IndexDoc
from archiver.fulltext.query import parse, positive_leaves

NAMED = "정부 대통령 국회 반도체 인공지능 이사회 투자 시장 기업 주가 금리 올트먼 오픈AI GPT-4"
MORE = "1,200억 마이크로소프트 엔비디아 해임 복귀 발표했다 밝혔다 서울 부산 데이터 보안"
_SYLLABLES = "가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수"
_MADE = random.Random(1)
# Real words first, then 400 made-up ones: drawn with Zipf weights, so some words are in
# most documents and many in a few, as in news text.
WORDS = (NAMED + " " + MORE).split() + sorted(
    {"".join(_MADE.choice(_SYLLABLES) for _ in range(3)) for _ in range(400)}
)
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(WORDS))]
PARTICLES = ["", "이", "가", "은", "는", "을", "를", "의", "에서"]


@contextlib.contextmanager
def written_before_the_numpy_codec() -> Iterator[None]:
    """Index as archiver did before codec.py: W3 blocks, pickled positions."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index_module, "_codec", lambda: W3Codec(compression=0, blocklimit=512))
        patch.setattr(index_module, "CompactPositions", TermPositions)
        yield


def _docs(count: int, seed: int = 3) -> list[IndexDoc]:
    rng = random.Random(seed)
    docs = []
    for n in range(count):
        drawn = rng.choices(WORDS, weights=WEIGHTS, k=rng.randint(20, 200))
        words = [word + rng.choice(PARTICLES) for word in drawn]
        docs.append(
            IndexDoc(
                doc_id=f"https://s{n % 4}.example.kr/{n // 2}#v{1 + n % 2}",
                url=f"https://s{n % 4}.example.kr/{n // 2}",
                kind="page",
                version=1 + n % 2,
                latest=n % 2 == 1,
                title=" ".join(rng.sample(WORDS, 3)),
                text=" ".join(words) + ".",
                site=f"s{n % 4}.example.kr",
                published_at=f"2023-{1 + n % 12:02d}-01T09:00:00+09:00",
            )
        )
    return docs


QUERIES = [
    ("올트먼", {}),
    ("반도체 투자", {}),
    ("정부 국회 금리 시장 서울", {}),
    ("정부 국회 금리 시장 서울", {"any_words": True}),
    ('"오픈AI 이사회"', {}),
    ("올트먼 -해임", {}),
    ("GPT-4 OR 1,200억", {}),
    ("site:s1.example.kr 데이터", {}),
    ("보안", {"all_versions": True}),
    ("엔비디아 주가", {"since": "2023-06-01"}),
]


def _answers(index: Index) -> list[list[Hit]]:
    return [index.search(query, limit=20, **options) for query, options in QUERIES]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    index = Index(tmp_path_factory.mktemp("fresh") / "index")
    index.add(_docs(700))
    yield index
    index.close()


def test_an_index_written_before_the_numpy_codec_answers_the_same(
    tmp_path: Path, fresh: Index
) -> None:
    old = Index(tmp_path / "index")
    with written_before_the_numpy_codec():
        old.add(_docs(700))
    old.close()
    with whoosh_index.open_dir(str(tmp_path / "index")).reader() as reader:
        assert reader.codec().__class__.__name__ == "W3Codec"  # really the old format
    try:
        want = _answers(fresh)
        assert all(want), "every query finds something"
        assert _answers(old) == want  # hits, scores (proximity too), snippets, highlights
    finally:
        old.close()


def test_an_old_index_takes_new_documents_and_merges(tmp_path: Path, fresh: Index) -> None:
    # A crawl adds to an index written by the older archiver: a second segment in the new
    # format; merging both rewrites the old postings. The answers stay those of an index
    # built in one go.
    docs = _docs(700)
    old = Index(tmp_path / "index")
    with written_before_the_numpy_codec():
        old.add(docs[:400])
    old.add(docs[400:])
    with whoosh_index.open_dir(str(tmp_path / "index")).reader() as reader:
        codecs = sorted(type(r.codec()).__name__ for r, _ in reader.leaf_readers())
    assert codecs == ["NumpyCodec", "W3Codec"]
    want = _answers(fresh)
    assert [[h.url for h in hits] for hits in _answers(old)] == [
        [h.url for h in hits] for hits in want
    ]
    old.close()
    ix = whoosh_index.open_dir(str(tmp_path / "index"))
    ix.optimize()
    ix.close()
    assert _answers(old) == want
    old.close()


def test_the_shared_index_is_one_per_folder_and_sees_a_rebuild(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    Index(folder).add(_docs(50))
    shared = Index.shared(folder)
    assert Index.shared(folder) is shared
    before = shared.search("올트먼", limit=50)
    assert before
    # A reindex (another Index on the same folder) swaps a new index in.
    Index(folder).rebuild([d for d in _docs(50) if "올트먼" not in d.text])
    assert shared.search("반도체 OR 올트먼", limit=50)
    assert not [h for h in shared.search("반도체 OR 올트먼", limit=50) if "올트먼" in h.snippet]


def test_the_least_recently_used_shared_index_is_closed(tmp_path: Path) -> None:
    folders = [tmp_path / f"i{n}" for n in range(index_module.WARM_INDEXES + 1)]
    for folder in folders:
        Index(folder).add(_docs(5))
    first = Index.shared(folders[0])
    first.search("정부 OR 국회")
    assert first._snap is not None
    for folder in folders[1:]:
        Index.shared(folder).search("정부 OR 국회")
    assert first._snap is None, "evicted and closed"
    assert Index.shared(folders[0]) is not first
    assert first.search("정부 OR 국회"), "a closed Index still answers (it reopens)"


def test_threads_sharing_one_index_get_the_answers_of_one_thread(fresh: Index) -> None:
    want = _answers(fresh)
    fresh.close()  # the threads race to open the searcher and fill the caches
    got: list[list[list[Hit]]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            got.append(_answers(fresh))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert got == [want] * 4


def test_maxscore_keeps_the_best_documents_and_their_scores(
    fresh: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--any` ranks with MaxScore, which leaves the scores of hopeless documents short:
    # the ten best and their scores must be those of scoring every document in full.
    monkeypatch.setattr(engine, "PARTIAL_MIN", 0)  # partial reads on these short lists too
    fresh.search("정부")
    snap = fresh._snapshot()
    allowed = snap.live & snap.mask("latest", True)
    docs = np.flatnonzero(allowed)
    rng = random.Random(5)
    pruned = 0
    for _ in range(60):
        words = rng.choices(WORDS, weights=WEIGHTS, k=rng.randint(2, 6))
        leaves = positive_leaves(parse(" ".join(words)))
        snap._postings.clear()  # whole lists cached earlier would hide the partial reads
        top = engine.score_top(snap, leaves, allowed, 10)
        full = engine.score(snap, leaves)
        pruned += bool((top[docs] < full[docs] - 1e-4).any())

        def best(scores: np.ndarray) -> list[int]:
            return [int(d) for d in docs[np.lexsort((docs, -np.round(scores[docs], 4)))][:10]]

        assert best(top) == best(full)
        assert np.allclose(top[best(full)], full[best(full)], atol=1e-4)
    assert pruned >= 10, "many queries should skip reading some postings"


def test_reading_only_the_blocks_of_few_candidates_finds_what_whole_lists_find(
    fresh: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A common word's list is read in part (the blocks holding the rarer words'
    # documents) only when few of its blocks are needed; forced on every list here, the
    # hits, scores and snippets must be those of reading every list whole.
    rng = random.Random(8)
    queries = [" ".join(rng.choices(WORDS[:6], k=2) + rng.sample(WORDS[30:], 1)) for _ in range(20)]
    fresh.close()
    want = [fresh.search(q, limit=10, any_words=i % 2 == 1) for i, q in enumerate(queries)]
    monkeypatch.setattr(engine, "PARTIAL_MIN", 0)
    monkeypatch.setattr(engine, "PARTIAL_SHARE", 1)
    monkeypatch.setattr(engine, "CACHE_POSTINGS", 0)  # no whole list kept between searches
    fresh.close()
    partial = 0
    for i, query in enumerate(queries):
        assert fresh.search(query, limit=10, any_words=i % 2 == 1) == want[i], query
        assert fresh._snap is not None
        partial += len(fresh._snap._partial)
    assert want[0] and partial >= 20, "the common words' lists were read in part"
    fresh.close()


def test_a_long_lived_searcher_keeps_the_lists_it_uses_most_within_its_budget(
    fresh: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The decoded lists are bounded; when full, the least recently used go first, so a
    # common word that every other search needs stays decoded instead of being dropped
    # with everything else.
    fresh.close()
    fresh.search("정부")
    snap = fresh._snapshot()
    decoded = snap.postings("text", "정부")
    monkeypatch.setattr(engine, "CACHE_POSTINGS", len(decoded.ids) * 6)  # a few searches
    for word in WORDS[30:130]:
        assert fresh.search(f"정부 {word}", any_words=True)
        assert snap._cached <= engine.CACHE_POSTINGS
    assert snap._postings.get(("text", "정부")) is decoded, "decoded once, never dropped"
    assert len(snap._postings) < 200, "the budget evicted the rarely used lists"
    fresh.close()
