"""Everything in archiver that reaches past whoosh-reloaded's public API, in one place.

whoosh-reloaded is pinned to exactly 2.7.5 (pyproject.toml) because of this module, and
``tests/test_whoosh_internals.py`` fails with a clear message if any of it changes:

* :func:`read_postings` and :func:`raw_postings` read a term's posting list whole from
  ``_postfile`` and decode it with numpy (the :mod:`~archiver.fulltext.codec` blocks,
  or the W3 codec's pickled ``(deltas, weights, values)`` blocks of indexes written
  before it) instead of one Matcher call per posting;
* :mod:`archiver.fulltext.codec` subclasses W3's postings writer and leaf matcher;
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
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from .codec import NumpyCodec, NumpyLeafMatcher, PostingList

PINNED_VERSION = (2, 7, 5)
INSTALLED_VERSION = tuple(whoosh.__version__)

# A field length as Whoosh stores it: one byte, decoded through this table.
BYTE_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


def read_postings(matcher: Any, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A term's (ids, weights) in one segment, ids ascending.

    With ``within`` (sorted segment document numbers), blocks holding none of them may be
    left out: the answer is then a superset of the postings of ``within``.
    """
    while isinstance(matcher, FilterMatcher):  # deletions are masked by the caller
        matcher = matcher.child
    if isinstance(matcher, NumpyLeafMatcher):
        return PostingList(_raw(matcher)).read(within)
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        # The W3 codec's blocks (indexes written before codec.py), whole blocks at a
        # time, decoded with numpy: the per-posting Matcher API is far slower.
        id_parts: list[np.ndarray] = []
        tf_parts: list[np.ndarray] = []
        while True:
            raw = matcher._postfile.get(
                matcher._dataoffset, matcher._nextoffset - matcher._dataoffset
            )
            if matcher._compression:
                raw = zlib.decompress(raw)
            deltas, weights, _values = pickle.loads(raw)
            ids = np.cumsum(np.asarray(deltas, dtype=np.int64))  # deltas restart per block
            id_parts.append(ids)
            if weights is None:
                tf_parts.append(np.ones(len(ids), dtype=np.float32))
            elif isinstance(weights, float):
                tf_parts.append(np.full(len(ids), weights, dtype=np.float32))
            else:
                tf_parts.append(np.asarray(weights, dtype=np.float32))
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
        return np.concatenate(id_parts), np.concatenate(tf_parts)
    ids_list: list[int] = []
    tfs: list[float] = []
    while matcher.is_active():
        ids_list.append(matcher.id())
        tfs.append(matcher.weight())
        matcher.next()
    return np.asarray(ids_list, dtype=np.int64), np.asarray(tfs, dtype=np.float32)


def _raw(matcher: Any) -> bytes:
    length = matcher._length
    if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves it as unpack's tuple
        length = length[0]
    raw: bytes = matcher._postfile.get(matcher._startoffset, length)
    return raw


def raw_postings(reader: Any, field: str, token: Any) -> tuple[int, PostingList | None] | None:
    """A term's document frequency and :mod:`~archiver.fulltext.codec` posting list in
    one segment, read whole with one term lookup (the list None when the segment has
    another codec); None when the segment lacks the term."""
    try:
        info = reader.term_info(field, token)
    except TermNotFound:
        return None
    df = int(info.doc_frequency())
    if not isinstance(reader.codec(), NumpyCodec) or info.is_inlined():
        return df, None
    offset, length = info.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves it as unpack's tuple
        length = length[0]
    return df, PostingList(reader._terms._postfile.get(offset, length))


def value_at(reader: Any, field: str, token: Any, doc: int) -> Any:
    """The posting value of ``token`` in segment document ``doc`` (None if absent),
    through the public matcher: its skip_to reads block headers, not bodies."""
    if (field, token) not in reader:
        return None
    matcher = reader.postings(field, token)
    while isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if not matcher.is_active():
        return None
    matcher.skip_to(doc)
    if matcher.is_active() and matcher.id() == doc:
        return matcher.value()
    return None


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
