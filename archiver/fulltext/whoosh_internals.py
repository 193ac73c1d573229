"""Everything in archiver that reaches past whoosh-reloaded's public API, in one place.

whoosh-reloaded is pinned to exactly 2.7.5 (pyproject.toml) because of this module, and
``tests/test_whoosh_internals.py`` fails with a clear message if any of it changes:

* :func:`read_postings` and :func:`raw_postings` read a term's posting list whole from
  ``_postfile`` and decode it with numpy (the :mod:`~archiver.fulltext.blocks` format,
  or the W3 codec's pickled ``(deltas, weights, values)`` blocks of indexes written
  before it) instead of one Matcher call per posting;
* :mod:`archiver.fulltext.codec` subclasses W3's postings writer and leaf matcher;
* :func:`length_codes` reads a segment's field-length column as bytes;
* :func:`merge_segments` writes one segment from several through the codec's writers,
  copying posting blocks and term infos (``tests/test_index_merging.py`` compares the
  result with an index built in one go);
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

from .blocks import HEADER, LENGTH, MAGIC, NO_VALUES, PostingList, encode_block
from .codec import NumpyCodec, NumpyLeafMatcher

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
    """A term's document frequency and :mod:`~archiver.fulltext.blocks` posting list in
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


def _frames(raw: bytes, shift: int) -> bytes:
    """A numpy-codec posting list's blocks (without the magic) with every document
    number moved by ``shift``: a block's ids are deltas from its first one, so only the
    headers' first and last ids change."""
    out = bytearray(raw)
    for body in PostingList(raw).bodies.tolist():
        at = body - HEADER.size
        count, first, last, *rest = HEADER.unpack_from(out, at)
        HEADER.pack_into(out, at, count, first + shift, last + shift, *rest)
    return bytes(out[len(MAGIC) :])


def _remapped(
    raw: bytes, docmap: np.ndarray, fixed: int | None
) -> tuple[bytes, int, float, int, int]:
    """A posting list's blocks (without the magic) keeping the documents ``docmap``
    maps (to >= 0), renumbered by it: (blocks, postings kept, their weight, first and
    last id). Block length bounds are kept as they were (still bounds)."""
    postings = PostingList(raw)
    bodies: list[bytes] = []
    kept = 0
    weight = 0.0
    first = last = -1
    for i in range(len(postings.counts)):
        block = postings.block(i)
        ids = docmap[block.ids(raw)]
        keep = ids >= 0
        if not keep.any():
            continue
        tf = block.tf(raw)[keep]
        values: list[bytes] = []
        if block.kind != NO_VALUES:
            values = [v for v, k in zip(block.values(raw, fixed), keep.tolist(), strict=True) if k]
        ids = ids[keep]
        kept += len(ids)
        weight += float(tf.sum())
        first = int(ids[0]) if first < 0 else first
        last = int(ids[-1])
        minlen = byte_to_length(block.min_length) if block.min_length else None
        bodies.append(
            encode_block(ids, tf, values, fixed, minlen, byte_to_length(block.max_length))
        )
    out = bytearray()
    for n, body in enumerate(bodies):
        out += LENGTH.pack(-len(body) if n == len(bodies) - 1 else len(body)) + body
    return bytes(out), kept, weight, first, last


def merge_segments(writer: Any, segments: list[Any]) -> Any:
    """One new segment holding the live documents of ``segments`` (all written by
    :class:`~archiver.fulltext.codec.NumpyCodec`), in their order.

    Posting blocks are copied with their headers' document numbers moved, not decoded
    (a segment with deletions is re-encoded, dropping them); stored fields and lengths
    are copied per document. Whoosh's own merge passes every posting through its
    sorting pool, as slow as indexing the text again.
    """
    from whoosh.codec.whoosh3 import W3TermInfo
    from whoosh.reading import SegmentReader
    from whoosh.system import pack_ushort

    storage, schema, codec = writer.storage, writer.schema, writer.codec
    merged = codec.new_segment(storage, writer.indexname)
    perdoc = codec.per_document_writer(storage, merged)
    fields = codec.field_writer(storage, merged)
    readers = [SegmentReader(storage, schema, s) for s in segments]
    try:
        names = sorted(schema.names())
        docmaps: list[np.ndarray | None] = []
        shifts: list[int] = []
        docnum = 0
        for reader in readers:
            n = reader.doc_count_all()
            live = np.ones(n, dtype=bool)
            if reader.has_deletions():
                live[sorted(reader.deleted_docs_set)] = False
            shifts.append(docnum)
            docmaps.append(None if live.all() else np.where(live, np.cumsum(live) - 1 + docnum, -1))
            for doc, stored in reader.iter_docs():
                perdoc.start_doc(docnum)
                for name in names:
                    perdoc.add_field(
                        name, schema[name], stored.get(name), reader.doc_field_length(doc, name)
                    )
                perdoc.finish_doc()
                docnum += 1
        perdoc.close()
        for name in names:
            field = schema[name]
            if not field.indexed:
                continue
            sources = [_field_terms(reader, name) for reader in readers]
            if not any(sources):
                continue
            fields.start_field(name, field)
            postfile = fields._postfile
            fixed = field.format.fixed_value_size()
            for btext in sorted(set().union(*(s.keys() for s in sources))):
                info = W3TermInfo()
                start = postfile.tell()
                parts: list[bytes] = []
                for reader, source, shift, docmap in zip(
                    readers, sources, shifts, docmaps, strict=True
                ):
                    old = source.get(btext)
                    if old is None:
                        continue
                    raw = _term_bytes(reader, old)
                    if docmap is None:
                        parts.append(_frames(raw, shift))
                        df, weight = old._df, old._weight
                        minid, maxid = old._minid + shift, old._maxid + shift
                    else:
                        body, df, weight, minid, maxid = _remapped(raw, docmap, fixed)
                        if not df:
                            continue
                        parts.append(body)
                    info._df += df
                    info._weight += weight
                    if old._minlength is not None:
                        info._minlength = (
                            old._minlength
                            if info._minlength is None
                            else min(info._minlength, old._minlength)
                        )
                    info._maxlength = max(info._maxlength, old._maxlength)
                    info._maxweight = max(info._maxweight, old._maxweight)
                    if info._minid is None:
                        info._minid = minid
                    info._maxid = maxid
                if not parts:
                    continue
                # Each part ends with a last-block mark: only the final one may.
                postfile.write(MAGIC)
                for n, part in enumerate(parts):
                    postfile.write(part if n == len(parts) - 1 else _unmark_last(part))
                info.set_extent(start, postfile.tell() - start)
                fields._tindex.add(pack_ushort(fields._fieldid) + btext, info.to_bytes())
            fields.finish_field()
        fields.close()
    finally:
        for reader in readers:
            reader.close()
    merged.set_doc_count(docnum)
    return merged


def _field_terms(reader: Any, name: str) -> dict[bytes, Any]:
    """A segment's terms of one field and their term infos."""
    if name not in reader._terms.indexed_field_names():
        return {}
    out: dict[bytes, Any] = {}
    for (fieldname, btext), info in reader._terms.items_from(name, b""):
        if fieldname != name:
            break
        out[btext] = info
    return out


def _term_bytes(reader: Any, info: Any) -> bytes:
    """A term's posting list bytes after the magic."""
    if info.is_inlined():
        raise ValueError("inlined postings are not written by this codec")
    offset, length = info.extent()
    if isinstance(length, tuple):
        length = length[0]
    raw: bytes = reader._terms._postfile.get(offset, length)
    return raw


def _unmark_last(part: bytes) -> bytes:
    """``part``'s blocks with the last-block mark (a negative length) cleared."""
    out = bytearray(part)
    pos = 0
    while True:
        (length,) = LENGTH.unpack_from(out, pos)
        if length < 0:
            LENGTH.pack_into(out, pos, -length)
            return bytes(out)
        pos += LENGTH.size + length
