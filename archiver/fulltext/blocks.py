"""The index's posting block format, and its reading with numpy.

A term's posting list is the magic ``ANp1`` and then its blocks (128 postings each, as
:class:`archiver.fulltext.codec.NumpyCodec` writes them), each:

    int32  length of the rest of the block (negative on the last block of a term)
    header <IIIfBBBBBB: count, first id, last id, max weight, min/max length byte,
           id delta width, weight width, value kind, 1 spare byte
    ids    count-1 deltas, 1, 2 or 4 bytes each (the narrowest that fits the block)
    tf     count weights: 0 bytes (all 1), uint8, uint16 or float32
    values none; or "same as tf" (Frequency's value is its frequency: stored once);
           or fixed-size records; or uint32 offsets and the bytes (positions)

Every block records its last id and maximum weight and the shortest field length, so a
reader skips blocks without a candidate (intersection) or whose best BM25 cannot reach
the threshold. :func:`encode_block` writes one block; :class:`PostingList` reads a whole
list, or the blocks holding given documents, with a few numpy operations rather than
Python per block or per posting.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.system import pack_uint
from whoosh.util.numeric import length_to_byte

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


def block_from_header(fields: tuple[Any, ...], body: int, end: int) -> Block:
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
        return block_from_header(header[1:10], int(self.bodies[i]), int(self.ends[i]))

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
