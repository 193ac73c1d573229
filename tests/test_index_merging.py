"""Segment merging: a store that grows run by run keeps few segments and loses nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index

from archiver.fulltext import merging
from archiver.fulltext.index import Index, IndexDoc
from archiver.fulltext.query import parse, positive_leaves

WORDS = [
    "올트먼",
    "반도체",
    "티그리스",
    "엔비디아",
    "이사회",
    "복귀",
    "해임",
    "투자",
    "규제",
    "협상",
    "발표",
    "서울",
]


def _version(page: int, version: int, latest: bool) -> IndexDoc:
    words = [WORDS[(page * 7 + version * 3 + k) % len(WORDS)] for k in range(6)]
    return IndexDoc(
        f"http://s/{page}#v{version}",
        f"http://s/{page}",
        "page",
        version,
        latest,
        f"기사 {page}",
        f"{' '.join(words)} 기사{page} 판{version}.",
        site="s",
        published_at=f"2023-11-{1 + page % 28:02d}T09:00:00+09:00",
    )


def _segments(directory: Path) -> list[tuple[int, int]]:
    ix = whoosh_index.open_dir(str(directory))
    try:
        return [(s.doc_count(), s.doc_count_all()) for s in ix._segments()]
    finally:
        ix.close()


def _answers(index: Index) -> list[object]:
    out: list[object] = []
    for query in [*WORDS, "올트먼 복귀", "반도체 OR 해임", "기사3", "판2", "site:s 투자"]:
        for all_versions in (False, True):
            hits = index.search(query, limit=500, all_versions=all_versions)
            out.append(sorted((h.url, h.version, h.snippet) for h in hits))
    out.append(index.doc_count())
    return out


def _positions(index: Index, word: str) -> dict[tuple[str, int], list[int]]:
    """Where ``word``'s stem stands in each live document (the proximity bonus's input)."""
    (leaf,) = positive_leaves(parse(word))
    snap = index._snapshot()
    docs = [int(d) for d in np.flatnonzero(snap.live)]
    out: dict[tuple[str, int], list[int]] = {}
    for stem in leaf.stems:
        for doc, where in snap.positions("text_stem", stem, docs).items():
            stored = snap.searcher.stored_fields(doc)
            out[(stored["url"], stored["version"])] = where
    return out


def test_plan_merges_a_full_tier_and_rewrites_mostly_deleted_segments() -> None:
    floor, fanin = merging.FLOOR, merging.FANIN
    small = (floor // 2, floor // 2)
    assert merging.plan([small] * (fanin - 1)) == set()
    assert merging.plan([small] * fanin) == set(range(fanin))
    big = (floor * fanin, floor * fanin)
    # A full lowest tier merges; the big segments of another tier stay.
    assert merging.plan([big, big, *[small] * fanin]) == set(range(2, 2 + fanin))
    # One segment with most of its documents deleted is rewritten alone.
    assert merging.plan([big, (floor, floor * 3)]) == {1}
    assert merging.plan([(floor, floor + 1)]) == set()
    assert merging.plan([big, (0, 3)]) == {1}  # nothing left: dropped


def test_a_store_grown_run_by_run_keeps_few_segments_and_answers_like_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(merging, "FLOOR", 4)  # tiers of 4, 16, 64... documents
    index = Index(tmp_path / "grown")
    latest: dict[int, int] = {}
    counts = []
    for run in range(45):
        docs = []
        # New pages and new versions of old ones (a page once per run: Whoosh replaces
        # by doc_id only documents of earlier commits).
        for page in dict.fromkeys((run, run + 1, (run * 5) % 13)):
            version = latest.get(page, 0) + 1
            if version > 1:  # the old version loses its latest mark (a re-add: a deletion)
                docs.append(_version(page, version - 1, False))
            docs.append(_version(page, version, True))
            latest[page] = version
        index.add(docs)
        segments = _segments(tmp_path / "grown")
        counts.append(len(segments))
        live = sum(n for n, _ in segments)
        tiers = 1 + merging.tier(live)
        assert len(segments) <= (merging.FANIN - 1) * tiers + 1, (run, segments)
    assert max(counts) < 12 and counts[-1] <= 8  # Whoosh's own policy: one per run here
    # Merges dropped the replaced documents...
    assert sum(total - n for n, total in _segments(tmp_path / "grown")) < len(latest)
    # ... and the grown index answers exactly like one built in a single run.
    every = [_version(p, v, v == latest[p]) for p in latest for v in range(1, latest[p] + 1)]
    built = Index(tmp_path / "built")
    built.add(every)
    assert _answers(index) == _answers(built)
    assert _positions(index, "올트먼") == _positions(built, "올트먼") != {}


def test_a_parallel_run_merges_the_small_segments_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(merging, "FLOOR", 4)
    index = Index(tmp_path / "ix")
    for page in range(merging.FANIN):
        index.add([_version(page, 1, True)])
    assert len(_segments(tmp_path / "ix")) == merging.FANIN  # merged at the next commit
    more = [_version(page, 1, True) for page in range(10, 40)]
    assert index.add(more, procs=2) == 30
    segments = _segments(tmp_path / "ix")
    assert sum(n for n, _ in segments) == 34 and len(segments) <= 3
    assert sorted(h.url for h in Index(tmp_path / "ix").search("기사", limit=100)) == sorted(
        f"http://s/{p}" for p in [*range(merging.FANIN), *range(10, 40)]
    )


def test_a_segment_whose_documents_were_all_replaced_is_dropped_with_its_files(
    tmp_path: Path,
) -> None:
    index = Index(tmp_path / "ix")
    docs = [_version(page, 1, True) for page in range(5)]
    index.add(docs)
    files = sorted(p.name for p in (tmp_path / "ix").iterdir())
    index.add(docs)  # the same doc_ids again: every document of the first segment replaced
    assert index.segments() == [(5, 5)]
    assert len(list((tmp_path / "ix").iterdir())) == len(files)
    assert sorted(h.url for h in Index(tmp_path / "ix").search("기사")) == sorted(
        d.url for d in docs
    )
