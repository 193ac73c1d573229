"""Recompress a WARC or ARC file gzipped whole into one gzip member per record.

Records can only be read by offset (captures, ``verify``, pywb) in a file whose every
gzip member holds one record. Some tools gzip the whole file as one member instead;
``archiver import`` then keeps that original as it was (``<store>/originals/``) and
points its captures into a copy made here, whose members hold one record each.

Invariant: the copy decompresses to exactly the bytes the original decompresses to,
record boundaries being the only places a member ends (``verify`` checks it with
:func:`same_content`). Nothing is parsed into new bytes: whatever follows the last
record that could be read (a record cut short, bytes that are no record) goes into the
copy's last member as it is, so the import reports it exactly as it would for a file
gzipped per record.
"""

from __future__ import annotations

import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archiver.errors import StoreError

from .foreign import GZIP_MAGIC, warc_records

_BLOCK = 1 << 20


class Gunzip(io.RawIOBase):
    """The decompressed bytes of every gzip member of ``fh``, in order.

    Ends quietly where the gzip data is cut short, damaged, or followed by bytes that
    are no gzip member; ``stopped_at`` (a byte offset in ``fh``) and ``reason`` then say
    so. At most about 1 MiB is decompressed ahead of the reader (a member may be a bomb).
    """

    def __init__(self, fh: BinaryIO) -> None:
        super().__init__()
        self._fh = fh
        self._decoder = zlib.decompressobj(31)
        self._fed = False  # bytes of the current member were fed to the decoder
        self._tail = b""  # compressed bytes read but not yet decompressed
        self._out = bytearray()
        self._position = 0  # compressed bytes consumed
        self._done = False
        self.stopped_at: int | None = None
        self.reason: str | None = None

    def readable(self) -> bool:
        return True

    def _stop(self, reason: str) -> None:
        self.stopped_at, self.reason, self._done = self._position, reason, True

    def _fill(self) -> None:
        if len(self._tail) < 2:
            self._tail += self._fh.read(1 << 16)
        if not self._tail:
            if self._fed:
                self._stop("the gzip data is cut short")
            self._done = True
            return
        if not self._fed and not self._tail.startswith(GZIP_MAGIC):
            self._stop("bytes after the gzip data that are not gzip")
            return
        try:
            self._out += self._decoder.decompress(self._tail, _BLOCK)
        except zlib.error as exc:
            self._stop(f"damaged gzip data ({exc})")
            return
        self._fed = True
        if self._decoder.eof:  # the member ends: the next one starts in unused_data
            rest = self._decoder.unused_data
            self._decoder, self._fed = zlib.decompressobj(31), False
        else:
            rest = self._decoder.unconsumed_tail
        self._position += len(self._tail) - len(rest)
        self._tail = rest

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._out and not self._done:
            self._fill()
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        del self._out[:size]
        return size


@dataclass(frozen=True)
class Recompressed:
    """What :func:`recompress` did: ``members`` written; where the original's gzip data
    could not be read to its end (``stopped_at`` in the original, with ``reason``)."""

    members: int
    stopped_at: int | None
    reason: str | None


def _boundaries(source: Path, *, arc: bool) -> list[int]:
    """Where each readable record starts in the decompressed stream (the first at 0)."""
    starts = [0]
    with open(source, "rb") as fh:
        records = warc_records(io.BufferedReader(Gunzip(fh), _BLOCK), arc=arc)
        try:
            for _record in records:
                records.read_to_end()
                starts.append(records.offset)
        except Exception:  # noqa: BLE001, S110 - the rest goes into the last member as it is
            pass
    return sorted(set(starts))


def recompress(source: Path, dest: Path, *, arc: bool = False) -> Recompressed:
    """Write ``dest`` (via ``dest.part``, fsynced, renamed: never half-written) with the
    decompressed bytes of ``source``, one gzip member per record."""
    starts = _boundaries(source, arc=arc)
    tmp = dest.with_name(dest.name + ".part")
    members = 0
    try:
        with open(source, "rb") as fh, open(tmp, "wb") as out:
            stream = Gunzip(fh)
            ends = [*starts[1:], None]
            for start, end in zip(starts, ends, strict=True):
                left = None if end is None else end - start
                packer = zlib.compressobj(6, zlib.DEFLATED, 31)
                wrote = 0
                while left is None or left > 0:
                    block = stream.read(_BLOCK if left is None else min(_BLOCK, left))
                    if not block:
                        break
                    out.write(packer.compress(block))
                    wrote += len(block)
                    if left is not None:
                        left -= len(block)
                if wrote:
                    out.write(packer.flush())
                    members += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot recompress {source} into {dest}: {exc}") from exc
    return Recompressed(members, stream.stopped_at, stream.reason)


def same_content(first: Path, second: Path) -> bool:
    """Whether two gzip files decompress to the same bytes (as far as each can be read)."""
    with open(first, "rb") as a, open(second, "rb") as b:
        left = io.BufferedReader(Gunzip(a), _BLOCK)
        right = io.BufferedReader(Gunzip(b), _BLOCK)
        while True:
            block = left.read(_BLOCK)
            if block != right.read(len(block) or 1):
                return False
            if not block:
                return True
