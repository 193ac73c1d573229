"""The index's codec: Whoosh's W3 codec with blocks numpy reads without unpickling.

Whoosh's W3 codec pickles every posting block as Python tuples (a float per weight, a
pickled list per position list), so reading a frequent term costs one ``pickle.loads``
per block and about 17 bytes per posting. :class:`NumpyCodec` keeps W3's files, term
dictionary and block framing (length, last-block sign, per-block maxima) and changes the
block body only, to the format of :mod:`archiver.fulltext.blocks`. Old W3 segments keep
their codec (each segment records its own), so an index built before this format opens
and merges as before.

:class:`CompactPositions` stores a position list as its count and varint deltas instead
of a pickle.
"""

from __future__ import annotations

from array import array
from typing import Any

from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3LeafMatcher, W3PostingsWriter
from whoosh.matching import ListMatcher
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length

from .analysis import TermPositions
from .blocks import HEADER, LENGTH, MAGIC, block_from_header, encode_block


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
        self._block = block_from_header(fields, HEADER.size, abs(length))
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
