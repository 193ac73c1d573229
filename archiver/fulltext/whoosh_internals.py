"""Everything in archiver that reaches past whoosh-reloaded's public API, in one place.

whoosh-reloaded is pinned to exactly 2.7.5 (pyproject.toml) because of this module, and
``tests/test_whoosh_internals.py`` fails with a clear message if any of it changes:

* :func:`read_postings` decodes a term's posting blocks whole with numpy (the W3 codec's
  pickled ``(deltas, weights, values)`` blocks in ``_postfile``) instead of one
  Matcher call per posting;
* :func:`length_codes` reads a segment's field-length column as bytes;
* :class:`ParallelWriter` is Whoosh's ``MpWriter`` with worker processes that never
  outlive their run.

On the parallel writer:

Whoosh's ``MpWriter`` workers wait on a job queue until the writer tells them to finish.
Two ways out of an indexing run leave them waiting for ever, each holding a whole
segment in memory:

* the process that started them dies (SIGKILL, the OOM killer) before it commits;
* the writer is cancelled (an error in the middle of ``Index.add``): Whoosh's
  ``cancel`` only flips a flag in the parent's copy of each worker object.

Here a worker also watches its parent and exits once the parent is gone, and ``cancel``
ends the workers. Neither touches the index: workers never commit, only the parent does,
so the index stays as it was before the run.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
import zlib
from typing import Any

import numpy as np
import whoosh
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util.numeric import byte_to_length

PINNED_VERSION = (2, 7, 5)
INSTALLED_VERSION = tuple(whoosh.__version__)

# A field length as Whoosh stores it: one byte, decoded through this table.
BYTE_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


def read_postings(matcher: Any, want_values: bool) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    while isinstance(matcher, FilterMatcher):  # deletions are masked by the caller
        matcher = matcher.child
    values: list[Any] = []
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        # Whole blocks at a time, decoded with numpy: the per-posting Matcher API is far
        # slower.
        id_parts: list[np.ndarray] = []
        tf_parts: list[np.ndarray] = []
        while True:
            raw = matcher._postfile.get(
                matcher._dataoffset, matcher._nextoffset - matcher._dataoffset
            )
            if matcher._compression:
                raw = zlib.decompress(raw)
            deltas, weights, block_values = pickle.loads(raw)
            ids = np.cumsum(np.asarray(deltas, dtype=np.int64))  # deltas restart per block
            id_parts.append(ids)
            if weights is None:
                tf_parts.append(np.ones(len(ids), dtype=np.float32))
            elif isinstance(weights, float):
                tf_parts.append(np.full(len(ids), weights, dtype=np.float32))
            else:
                tf_parts.append(np.asarray(weights, dtype=np.float32))
            if want_values:
                values.extend(block_values)
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
        return np.concatenate(id_parts), np.concatenate(tf_parts), values
    ids_list: list[int] = []
    tfs: list[float] = []
    while matcher.is_active():
        ids_list.append(matcher.id())
        tfs.append(matcher.weight())
        if want_values:
            values.append(matcher.value())
        matcher.next()
    return np.asarray(ids_list, dtype=np.int64), np.asarray(tfs, dtype=np.float32), values


def length_codes(reader: Any, field: str, n: int) -> np.ndarray | None:
    """The first ``n`` length bytes of ``field`` in one segment; None where the segment
    does not keep them as a plain column (then the caller asks per document)."""
    perdoc = getattr(reader, "_perdoc", None)
    if perdoc is None or not hasattr(perdoc, "_cached_reader"):
        return None
    column = perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    if column is None or not hasattr(column, "_basepos"):
        return None
    raw = column._dbfile.get(column._basepos, column._count)
    codes: np.ndarray = np.frombuffer(raw, dtype=np.uint8)[:n]
    return codes


PARENT_POLL = 0.5  # seconds between a worker's checks that its parent still lives


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:  # an orphan is re-parented to init or a subreaper
        time.sleep(PARENT_POLL)
    os._exit(1)


class _Worker(SubWriterTask):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # Taken in the parent: a worker that starts after its parent died must see it.
        self.parent_pid = os.getpid()

    def run(self) -> None:
        threading.Thread(target=_exit_when_orphaned, args=(self.parent_pid,), daemon=True).start()
        super().run()


class ParallelWriter(MpWriter):
    """``MpWriter`` with :class:`_Worker` processes and a ``cancel`` that ends them."""

    def _new_task(self) -> Any:
        task = _Worker(
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        self.tasks.append(task)
        task.start()
        return task

    def cancel(self) -> None:
        try:
            for task in self.tasks:
                task.kill()  # SIGKILL: a crawl's workers ignore SIGTERM (crawler.pipeline)
            for task in self.tasks:
                task.join()
        finally:
            super().cancel()
