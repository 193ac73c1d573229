"""Searching while the index is written: commits, merges and a rebuild swapped in."""

from __future__ import annotations

import threading
from pathlib import Path

from archiver.fulltext.index import Index, IndexDoc

TEXT = "샘 올트먼이 오픈AI 이사회에 복귀했다. 마이크로소프트가 환영했다. 문서 번호 {n}."


def docs(start: int, count: int) -> list[IndexDoc]:
    return [
        IndexDoc(
            f"d{n}", f"http://x.kr/{n}", "page", 1, True, f"기사 {n}", TEXT.format(n=n), site="x.kr"
        )
        for n in range(start, start + count)
    ]


def test_searches_during_commits_see_a_growing_consistent_index(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    writer_index = Index(directory)
    writer_index.add(docs(0, 5))
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            for batch in range(1, 25):  # 24 commits: Whoosh merges segments on the way
                writer_index.add(docs(batch * 5, 5))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    reader = Index(directory)
    seen: list[int] = []
    while not done.is_set() or len(seen) < 3:
        hits = reader.search("올트먼 복귀", limit=1000)
        assert all(h.snippet and h.title.startswith("기사") for h in hits)
        seen.append(len(hits))
    thread.join()
    assert not errors, errors
    assert seen == sorted(seen) and seen[0] >= 5  # never fewer than before, never broken
    assert len(reader.search("올트먼 복귀", limit=1000)) == 125


def test_searches_survive_a_rebuild_swapped_in(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    Index(directory).add(docs(0, 40))
    errors: list[BaseException] = []
    done = threading.Event()

    def rebuild() -> None:
        try:
            for round_ in range(4):
                Index(directory).rebuild(docs(0, 40 + round_), procs=1)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=rebuild)
    thread.start()
    counts: set[int] = set()
    reader = Index(directory)
    while not done.is_set():
        counts.add(len(reader.search("마이크로소프트", limit=1000)))
        counts.add(len(Index(directory).search("마이크로소프트", limit=1000)))  # fresh opens
    thread.join()
    assert not errors, errors
    assert counts <= {40, 41, 42, 43}
    assert len(reader.search("마이크로소프트", limit=1000)) == 43
