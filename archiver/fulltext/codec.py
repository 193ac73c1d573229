"""The index's posting format: Whoosh's W3 codec with blocks numpy reads without unpickling.

Whoosh's W3 codec pickles every posting block as Python tuples (a float per weight, a
pickled list per position list), so reading a frequent term costs one ``pickle.loads``
per block and about 17 bytes per posting. :class:`NumpyCodec` keeps W3's files, term
dictionary and block framing (length, last-block sign, per-block maxima) and changes the
block body only:

    int32  length of the rest of the block (negative on the last block of a term)
    header <IIIfBBBBBB: count, first id, last id, max weight, min/max length byte,
           id delta width, weight width, value kind, 1 spare byte
    ids    count-1 deltas, 1, 2 or 4 bytes each (the narrowest that fits the block)
    tf     count weights: 0 bytes (all 1), uint8, uint16 or float32
    values none; or "same as tf" (Frequency's value is its frequency: stored once);
           or fixed-size records; or uint32 offsets and the bytes (positions)

Every block records its last id and maximum weight and the shortest field length, so a
reader skips blocks without a candidate (intersection) or whose best BM25 cannot reach
the threshold. Old W3 segments keep their codec (each segment records its own), so an
index built before this format opens and merges as before.

:class:`CompactPositions` stores a position list as its count and varint deltas instead
of a pickle.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3LeafMatcher, W3PostingsWriter
from whoosh.matching import ListMatcher
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte

from .analysis import TermPositions

MAGIC = b"ANp1"
HEADER = struct.Struct("<IIIfBBBBBB")
LENGTH = struct.Struct("<i")
_FRAME = struct.Struct("<i" + HEADER.format[1:])  # a block's length, then its header
# Value kinds.
NO_VALUES, TF_VALUES, FIXED_VALUES, VAR_VALUES = 0, 1, 2, 3
_ID_DTYPE = {1: np.uint8, 2: np.uint16, 4: np.uint32}
_TF_DTYPE = {1: np.uint8, 2: np.uint16, 4: np.float32}


def _width(largest: int) -> int:
    return 1 if largest < 1 << 8 else 2 if largest < 1 << 16 else 4


def encode_block(
    ids: Any, weights: Any, values: list[bytes], fixed: int | None, minlen: Any, maxlen: int
) -> bytes:
    """One block body (header onwards) for ascending ``ids``."""
    id_array = np.asarray(ids, dtype=np.int64)
    deltas = np.diff(id_array)
    idw = _width(int(deltas.max())) if len(deltas) else 1
    tf = np.asarray(weights, dtype=np.float32)
    whole = bool(np.all(tf == np.round(tf))) and float(tf.min()) >= 0
    top = float(tf.max())
    if whole and top == 1.0 and float(tf.min()) == 1.0:
        tfw, tf_bytes = 0, b""
    elif whole and top < 1 << 16:
        tfw = 1 if top < 1 << 8 else 2
        tf_bytes = tf.astype(_TF_DTYPE[tfw]).tobytes()
    else:
        tfw, tf_bytes = 4, tf.tobytes()
    if not values:
        kind, value_bytes = NO_VALUES, b""
    elif fixed == 4 and b"".join(values) == tf.astype(">u4").tobytes():
        kind, value_bytes = TF_VALUES, b""  # Frequency: pack_uint(freq), already in tf
    elif fixed:
        kind, value_bytes = FIXED_VALUES, b"".join(values)
    else:
        offsets = np.zeros(len(values) + 1, dtype=np.uint32)
        np.cumsum([len(v) for v in values], out=offsets[1:])
        kind, value_bytes = VAR_VALUES, offsets.tobytes() + b"".join(values)
    header = HEADER.pack(
        len(id_array),
        int(id_array[0]),
        int(id_array[-1]),
        top,
        length_to_byte(minlen) if minlen is not None else 0,
        length_to_byte(maxlen),
        idw,
        tfw,
        kind,
        0,
    )
    return header + deltas.astype(_ID_DTYPE[idw]).tobytes() + tf_bytes + value_bytes


@dataclass
class Block:
    """One decoded block header and where its body lies in the term's bytes."""

    count: int
    first: int
    last: int
    max_weight: float
    min_length: int
    max_length: int
    idw: int
    tfw: int
    kind: int
    body: int  # offset of the id deltas
    end: int

    def fits(self) -> bool:
        """Whether the header is one this codec writes, within the block's bytes (a
        damaged file must not make a reader allocate what the header claims)."""
        return (
            self.count >= 1
            and self.idw in (1, 2, 4)
            and self.tfw in (0, 1, 2, 4)
            and self.kind in (NO_VALUES, TF_VALUES, FIXED_VALUES, VAR_VALUES)
            and self.first <= self.last
            and self.body + (self.count - 1) * self.idw + self.count * self.tfw <= self.end
        )

    def ids(self, raw: bytes | memoryview) -> np.ndarray:
        out = np.empty(self.count, dtype=np.int64)
        out[0] = self.first
        if self.count > 1:
            deltas = np.frombuffer(raw, _ID_DTYPE[self.idw], self.count - 1, self.body)
            np.cumsum(deltas, out=out[1:])
            out[1:] += self.first
        return out

    def _tf_start(self) -> int:
        return self.body + (self.count - 1) * self.idw

    def tf(self, raw: bytes | memoryview) -> np.ndarray:
        if not self.tfw:
            return np.ones(self.count, dtype=np.float32)
        values = np.frombuffer(raw, _TF_DTYPE[self.tfw], self.count, self._tf_start())
        return values.astype(np.float32)

    def values(self, raw: bytes | memoryview, fixed: int | None) -> list[bytes]:
        start = self._tf_start() + self.count * self.tfw
        if self.kind == NO_VALUES:
            return [b""] * self.count if fixed != 0 else [None] * self.count  # type: ignore[list-item]
        if self.kind == TF_VALUES:
            return [pack_uint(int(t)) for t in self.tf(raw)]
        data = bytes(raw[start : self.end])
        if self.kind == FIXED_VALUES:
            size = len(data) // self.count
            return [data[i : i + size] for i in range(0, len(data), size)]
        offsets = np.frombuffer(data, np.uint32, self.count + 1).tolist()
        blob = data[4 * (self.count + 1) :]
        return [blob[a:b] for a, b in zip(offsets, offsets[1:], strict=False)]

    def value_at(self, raw: bytes | memoryview, start: int, j: int) -> bytes:
        """The ``j``th value of a block of fixed-size or variable values starting at
        ``start`` (see :meth:`values`)."""
        if self.kind == FIXED_VALUES:
            size = (self.end - start) // self.count
            return bytes(raw[start + j * size : start + (j + 1) * size])
        a, b = struct.unpack_from("<II", raw, start + 4 * j)
        blob = start + 4 * (self.count + 1)
        return bytes(raw[blob + a : blob + b])


def _block(fields: tuple[Any, ...], body: int, end: int) -> Block:
    count, first, last, max_weight, min_length, max_length, idw, tfw, kind = fields[:9]
    return Block(count, first, last, max_weight, min_length, max_length, idw, tfw, kind, body, end)


def _fits(row: tuple[Any, ...], size: int) -> bool:
    """Whether a directory row (see :class:`PostingList`) is a block this codec writes,
    within the list's bytes (a damaged file must not make a reader allocate what a
    header claims)."""
    count, first, last, _w, _lo, _hi, idw, tfw, kind, body, end = row
    return (
        count >= 1
        and idw in (1, 2, 4)
        and tfw in (0, 1, 2, 4)
        and NO_VALUES <= kind <= VAR_VALUES
        and first <= last
        and body + (count - 1) * idw + count * tfw <= end <= size
    )


_FRAME_DTYPE = np.dtype(
    [
        ("length", "<i4"),
        ("count", "<u4"),
        ("first", "<u4"),
        ("last", "<u4"),
        ("max_weight", "<f4"),
        ("min_length", "u1"),
        ("max_length", "u1"),
        ("idw", "u1"),
        ("tfw", "u1"),
        ("kind", "u1"),
        ("spare", "u1"),
    ]
)
assert _FRAME_DTYPE.itemsize == _FRAME.size
_HEADER_NAMES = tuple(_FRAME_DTYPE.names or ())[:10]  # (not the spare byte)


def _end(pos: int, length: int) -> int:
    return pos + LENGTH.size + abs(length)


def _frame_positions(raw: bytes) -> list[int]:
    """Where each block's frame starts: the chain of lengths, up to the last block's
    (negative) one. Raises ValueError when a frame would run past the list's bytes."""
    unpack = LENGTH.unpack_from
    frames: list[int] = []
    pos, size = 4, len(raw)
    while True:
        if pos + _FRAME.size > size:
            raise ValueError(f"damaged posting block at byte {pos}")
        (length,) = unpack(raw, pos)
        frames.append(pos)
        if length < 0:
            return frames
        pos += LENGTH.size + length


class PostingList:
    """One term's raw posting list in one segment, with its block directory.

    The directory (each block's header) is read in one pass without a Python object per
    block: a common term has hundreds of blocks, and a search reading a few of them
    should not pay for the rest.
    """

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        if bytes(raw[:4]) != MAGIC:
            raise ValueError(f"not a numpy posting list: {bytes(raw[:4])!r}")
        size = len(raw)
        frames = _frame_positions(raw)
        if len(frames) <= 4:  # most lists: one block, read as tuples
            rows = [_FRAME.unpack_from(raw, pos) for pos in frames]
            for pos, row in zip(frames, rows, strict=True):
                if not _fits(row[1:10] + (pos + _FRAME.size, _end(pos, row[0])), size):
                    raise ValueError(f"damaged posting block at byte {pos}")
            table = np.array([row[:10] for row in rows], dtype=np.int64)
        else:  # hundreds of headers: gathered and decoded by numpy at once
            at = np.array(frames, dtype=np.int64)
            span = at[:, None] + np.arange(_FRAME.size)
            headers = np.frombuffer(raw, np.uint8)[span].view(_FRAME_DTYPE)[:, 0]
            table = np.stack([headers[name].astype(np.int64) for name in _HEADER_NAMES]).T
        positions = np.array(frames, dtype=np.int64)
        (
            lengths,
            self.counts,
            self.firsts,
            self.lasts,
            _max_weight,  # (a float, truncated here: not used)
            _min_length,
            _max_length,
            self.idws,
            self.tfws,
            self.kinds,
        ) = table.T
        self.bodies = positions + _FRAME.size
        self.ends = positions + LENGTH.size + np.abs(lengths)
        if len(frames) > 4:
            ok = (
                (self.counts >= 1)
                & ((self.idws == 1) | (self.idws == 2) | (self.idws == 4))
                & ((self.tfws == 0) | (self.tfws == 1) | (self.tfws == 2) | (self.tfws == 4))
                & (self.kinds >= NO_VALUES)
                & (self.kinds <= VAR_VALUES)
                & (self.firsts <= self.lasts)
                & (
                    self.bodies + (self.counts - 1) * self.idws + self.counts * self.tfws
                    <= self.ends
                )
                & (self.ends <= size)
            )
            if not ok.all():
                bad = int(np.flatnonzero(~ok)[0])
                raise ValueError(f"damaged posting block at byte {frames[bad]}")

    def block(self, i: int) -> Block:
        header = _FRAME.unpack_from(self.raw, int(self.bodies[i]) - _FRAME.size)
        return _block(header[1:10], int(self.bodies[i]), int(self.ends[i]))

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def blocks(self) -> int:
        return len(self.counts)

    def blocks_holding(self, within: np.ndarray) -> int:
        """How many blocks hold one of ``within`` (sorted document numbers)."""
        return len(self._holding(within)) if len(within) else 0

    def _holding(self, within: np.ndarray) -> np.ndarray:
        """The blocks holding at least one of ``within`` (sorted document numbers)."""
        at = np.searchsorted(within, self.firsts)
        inside = at < len(within)
        inside[inside] = within[at[inside]] <= self.lasts[inside]
        chosen: np.ndarray = np.flatnonzero(inside)
        return chosen

    def _gather(
        self,
        chosen: np.ndarray,
        widths: np.ndarray,
        skip: np.ndarray,
        sizes: np.ndarray,
        dtypes: dict[int, Any],
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """For each width among ``chosen`` blocks: which of them, and their values read
        from ``bodies + skip`` (``sizes`` values each), in one frombuffer per width
        (width 0: no values stored)."""
        raw = memoryview(self.raw)  # slices without copies; one copy by the join
        for width in np.unique(widths[chosen]).tolist():
            group = chosen[widths[chosen] == width]
            if not width:
                yield group, np.zeros(0)
                continue
            starts = (self.bodies[group] + skip[group]).tolist()
            counts = sizes[group].tolist()
            if len(starts) == 1:
                yield group, np.frombuffer(raw, dtypes[width], counts[0], starts[0])
                continue
            data = b"".join([raw[a : a + n * width] for a, n in zip(starts, counts, strict=True)])
            yield group, np.frombuffer(data, dtypes[width])

    def read(self, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, weights); with ``within``, of the blocks holding any of them only.

        All chosen blocks at once: one frombuffer and one cumsum per width, not per block.
        """
        if len(self.counts) == 1 and within is None:  # most terms: no gathering needed
            only = self.block(0)
            return only.ids(self.raw), only.tf(self.raw)
        chosen = np.arange(len(self.counts)) if within is None else self._holding(within)
        if not len(chosen):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        counts = self.counts[chosen]
        total = int(counts.sum())
        starts = np.zeros(len(chosen), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        # Each block starts with its first id minus the previous chosen block's last:
        # one running sum over the whole answer then gives every id.
        steps = np.empty(total, dtype=np.int64)
        before = np.zeros(len(chosen), dtype=np.int64)
        before[1:] = self.lasts[chosen[:-1]]
        steps[starts] = self.firsts[chosen] - before
        slot = np.zeros(len(self.counts), dtype=np.int64)  # block -> position in chosen
        slot[chosen] = np.arange(len(chosen))
        n_deltas = self.counts - 1
        no_skip = np.zeros(len(self.counts), dtype=np.int64)
        for group, deltas in self._gather(chosen, self.idws, no_skip, n_deltas, _ID_DTYPE):
            if len(group) == len(chosen):  # one width throughout: every slot but the starts
                not_start = np.ones(total, dtype=bool)
                not_start[starts] = False
                steps[not_start] = deltas
            else:
                steps[_spans(starts[slot[group]] + 1, n_deltas[group])] = deltas
        ids = np.cumsum(steps)
        tf = np.ones(total, dtype=np.float32)
        tf_skip = n_deltas * self.idws
        for group, weights in self._gather(chosen, self.tfws, tf_skip, self.counts, _TF_DTYPE):
            if not len(weights):
                continue  # width 0: every frequency 1
            if len(group) == len(chosen):
                tf[:] = weights
            else:
                tf[_spans(starts[slot[group]], self.counts[group])] = weights
        return ids, tf

    def values_of(self, fixed: int | None, docs: list[int]) -> dict[int, bytes]:
        """The posting values of ``docs``, decoding only the blocks holding them and,
        of those, only the values asked for."""
        wanted = np.array(sorted(docs), dtype=np.int64)
        out: dict[int, bytes] = {}
        for i in self._holding(wanted).tolist():
            block = self.block(i)
            ids = block.ids(self.raw)
            at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
            found = ids[at] == wanted
            if not found.any():
                continue
            every = block.values(self.raw, fixed) if block.kind in (NO_VALUES, TF_VALUES) else None
            start = block._tf_start() + block.count * block.tfw
            for doc, j in zip(wanted[found].tolist(), at[found].tolist(), strict=True):
                out[doc] = every[j] if every is not None else block.value_at(self.raw, start, j)
        return out


def _spans(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenated ranges ``start, start+1, ..., start+length-1``."""
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    out: np.ndarray = offsets + np.arange(total)
    return out


class NumpyPostingsWriter(W3PostingsWriter):  # type: ignore[misc]
    """W3's writer with :func:`encode_block` bodies (document postings; vectors as W3)."""

    def _write_block(self, last: bool = False) -> None:
        if self._byteids:
            super()._write_block(last)
            return
        if not self._blockcount:
            self._postfile.write(MAGIC)
        self._terminfo.add_block(self)
        body = encode_block(
            self._ids,
            self._weights,
            self._values,
            self._format.fixed_value_size(),
            self._minlength,
            self._maxlength,
        )
        self._postfile.write(LENGTH.pack(-len(body) if last else len(body)))
        self._postfile.write(body)
        self._blockcount += 1
        self._new_block()


class NumpyLeafMatcher(W3LeafMatcher):  # type: ignore[misc]
    """Whoosh's matcher API over :class:`NumpyCodec` blocks (merging, filters, tests)."""

    def _read_header(self) -> None:
        if self._postfile.get(self._startoffset, 4) != MAGIC:
            raise ValueError("posting list without the numpy block magic")
        self._baseoffset = self._startoffset + 4

    def _goto(self, position: int) -> None:
        self._data: Any = None
        self._ids: Any = None
        self._weights: Any = None
        self._values: Any = None
        self._i = 0
        raw = self._postfile.get(position, LENGTH.size + HEADER.size)
        (length,) = LENGTH.unpack_from(raw, 0)
        self._lastblock = length < 0
        self._nextoffset = position + LENGTH.size + abs(length)
        fields = HEADER.unpack_from(raw, LENGTH.size)
        self._dataoffset = position + LENGTH.size
        self._block = _block(fields, HEADER.size, abs(length))
        if not self._block.fits():
            raise ValueError(f"damaged posting block at byte {position}")
        self._blocklength = self._block.count
        self._maxid = self._block.last
        self._maxweight = self._block.max_weight
        self._compression = 0
        self._minlength = byte_to_length(self._block.min_length)
        self._maxlength = byte_to_length(self._block.max_length)

    def _read_data(self) -> None:
        self._data = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)

    def _body(self) -> bytes:
        if self._data is None:
            self._read_data()
        data: bytes = self._data
        return data

    def _read_ids(self) -> None:
        self._ids = self._block.ids(self._body()).tolist()

    def _read_weights(self) -> None:
        self._weights = self._block.tf(self._body()).tolist()

    def _read_values(self) -> None:
        self._values = tuple(self._block.values(self._body(), self._fixedsize))


class NumpyFieldWriter(W3FieldWriter):  # type: ignore[misc]
    """W3's field writer, fed a term's postings a block at a time.

    Whoosh's ``add_postings`` makes three calls and a field-length lookup per posting,
    the larger part of a segment's write; this one reads each field's lengths once and
    hands the postings writer whole blocks. The files written are the same.
    """

    def add_postings(self, schema: Any, lengths: Any, items: Any) -> None:
        field_lengths: dict[str, list[int]] = {}

        def lengths_of(fieldname: str) -> list[int]:
            if fieldname not in field_lengths:
                n = lengths.doc_count_all() if lengths else 0
                dfl = lengths.doc_field_length if lengths else None
                field_lengths[fieldname] = [dfl(d, fieldname) if dfl else 0 for d in range(n)]
            return field_lengths[fieldname]

        current: tuple[str, bytes] | None = None
        ids: list[int] = []
        weights: list[float] = []
        values: list[bytes] = []
        for fieldname, btext, docnum, weight, value in items:
            if docnum == -1:  # Whoosh's spelling-word marker: no posting
                continue
            if (fieldname, btext) != current:
                if current is not None:
                    self._write_term(current[1], ids, weights, values, lengths_of(current[0]))
                    ids, weights, values = [], [], []
                if current is None or current[0] != fieldname:
                    if current is not None:
                        self.finish_field()
                    self.start_field(fieldname, schema[fieldname])
                current = (fieldname, btext)
            ids.append(docnum)
            weights.append(weight)
            values.append(value or b"")
        if current is not None:
            self._write_term(current[1], ids, weights, values, lengths_of(current[0]))
            self.finish_field()

    def _write_term(
        self,
        btext: bytes,
        ids: list[int],
        weights: list[float],
        values: list[bytes],
        lengths: list[int],
    ) -> None:
        self.start_term(btext)
        writer = self._postwriter
        limit = writer._blocklimit
        for start in range(0, len(ids), limit):
            chunk = ids[start : start + limit]
            writer._ids = array("I", chunk)
            writer._weights = array("f", weights[start : start + limit])
            writer._values = [v for v in values[start : start + limit] if v]
            chunk_lengths = [lengths[d] for d in chunk if d < len(lengths) and lengths[d]]
            writer._minlength = min(chunk_lengths) if chunk_lengths else None
            writer._maxlength = max(chunk_lengths) if chunk_lengths else 0
            writer._maxweight = max(writer._weights)
            writer._write_block(last=start + limit >= len(ids))
        self.finish_term()


class NumpyCodec(W3Codec):  # type: ignore[misc]
    """W3 with numpy-readable posting blocks (see the module docstring)."""

    def field_writer(self, storage: Any, segment: Any) -> Any:
        return NumpyFieldWriter(self, storage, segment)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        return NumpyPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=0,
            inlinelimit=self._inlinelimit,
        )

    def postings_reader(
        self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None
    ) -> Any:
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            return ListMatcher(
                ids, weights, values, format_, scorer=scorer, term=term, terminfo=terminfo
            )
        offset, length = terminfo.extent()
        return NumpyLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


def _varint(values: list[int]) -> bytes:
    out = bytearray()
    for value in values:
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


class CompactPositions(TermPositions):
    """Whoosh's Positions with a position list as its count and varint deltas."""

    def encode(self, poslist: Any) -> bytes:
        deltas = []
        base = 0
        for pos in poslist:
            deltas.append(pos - base)
            base = pos
        count: bytes = pack_uint(len(deltas))
        return count + _varint(deltas)

    def decode_positions(self, valuestring: bytes) -> list[int]:
        out: list[int] = []
        position = shift = current = 0
        for byte in valuestring[4:]:
            current |= (byte & 0x7F) << shift
            if byte & 0x80:
                shift += 7
                continue
            position += current
            out.append(position)
            current = shift = 0
        return out
