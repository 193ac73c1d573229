"""A zip file of stored (not deflated) members, written in one pass over each member's
bytes, as a WACZ needs it.

Python's ``zipfile`` computes a member's CRC-32 as it writes it, so a member that was
spooled to a scratch file must pass through Python again. Here a member is either
streamed (:meth:`ZipOut.member`: CRC-32 and size taken as the bytes pass, the local
header patched on close; or written by another process at :attr:`Member.data_offset`,
and closed with its CRC-32 and size, :meth:`Member.written`) or appended from a file
whose CRC-32 and size the caller took as it wrote the file (:meth:`ZipOut.append`: the
kernel copies the bytes, ``copy_file_range``, without reading them into Python).

Invariants: every member is stored, its local header carries the zip64 sizes (so any
member may pass 4 GiB, and a header's length is known before its sizes are), and the
central directory takes the zip64 end records when the counts or offsets need them;
Python's ``zipfile`` (which ``wacz validate`` and pywb use) reads the result.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

_LIMIT = 0xFFFFFFFF
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory entry
_ZIP64_LOCAL_EXTRA = struct.Struct("<2H2Q")  # tag 1: uncompressed, compressed size
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64 = struct.Struct("<4sLQL")
_VERSION = 45  # zip64
_UNIX = 3
_MODE = 0o100644 << 16  # a regular file, rw-r--r--
_COPY = 1 << 24  # bytes copied by the kernel per call


def dos_time(when: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    """(DOS date, DOS time) of ``(year, month, day, hour, minute, second)``."""
    year, month, day, hour, minute, second = when
    return (max(year, 1980) - 1980) << 9 | month << 5 | day, hour << 11 | minute << 5 | second // 2


@dataclass
class _Entry:
    name: bytes
    offset: int  # of the local header
    date: int
    time: int
    crc: int = 0
    size: int = 0


class Member:
    """One streamed member: :meth:`write` its bytes, then :meth:`close`."""

    def __init__(self, out: ZipOut, entry: _Entry) -> None:
        self._out = out
        self._entry = entry
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._out.fh.write(view)
        self._entry.crc = zlib.crc32(view, self._entry.crc)
        self._entry.size += len(view)
        return len(view)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._out._finish(self._entry)

    def written(self, crc: int, size: int) -> None:
        """Close a member whose ``size`` bytes (CRC-32 ``crc``) were written after its
        header by someone else (another process, at :attr:`data_offset`)."""
        self._entry.crc, self._entry.size = crc, size
        self._out.fh.seek(self.data_offset + size)
        self.close()

    @property
    def data_offset(self) -> int:
        """Where the member's bytes start in the file."""
        return self._entry.offset + _LOCAL.size + len(self._entry.name) + _ZIP64_LOCAL_EXTRA.size


class ZipOut:
    """Writes a zip file to the open, seekable ``fh`` (the caller closes it): one member
    at a time, then :meth:`close` for the central directory."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self._entries: list[_Entry] = []
        self._open: Member | None = None

    def _start(
        self, name: str, when: tuple[int, int, int, int, int, int], crc: int = 0, size: int = 0
    ) -> _Entry:
        if self._open is not None and not self._open.closed:
            raise ValueError("a zip member is still open")
        date, time = dos_time(when)
        entry = _Entry(name.encode("utf-8"), self.fh.tell(), date, time, crc, size)
        self._entries.append(entry)
        self._header(entry)
        return entry

    def _header(self, entry: _Entry) -> None:
        self.fh.write(
            _LOCAL.pack(
                b"PK\x03\x04",
                _VERSION,
                self._flags(entry),
                0,
                entry.time,
                entry.date,
                entry.crc,
                _LIMIT,
                _LIMIT,
                len(entry.name),
                _ZIP64_LOCAL_EXTRA.size,
            )  # fmt: skip
            + entry.name
            + _ZIP64_LOCAL_EXTRA.pack(1, 16, entry.size, entry.size)
        )

    @staticmethod
    def _flags(entry: _Entry) -> int:
        return 0 if entry.name.isascii() else 0x800  # bit 11: the name is UTF-8

    def member(self, name: str, when: tuple[int, int, int, int, int, int]) -> Member:
        """Start the stored member ``name``, streamed: its header is rewritten with its
        CRC-32 and size when it is closed."""
        self._open = Member(self, self._start(name, when))
        return self._open

    def _finish(self, entry: _Entry) -> None:
        end = self.fh.tell()
        self.fh.seek(entry.offset)
        self._header(entry)
        self.fh.seek(end)

    def append(
        self, name: str, when: tuple[int, int, int, int, int, int], src: BinaryIO, crc: int
    ) -> None:
        """Add the stored member ``name`` holding the whole file ``src``, whose CRC-32 the
        caller computed as it wrote it; the bytes are copied by the kernel."""
        size = os.fstat(src.fileno()).st_size
        self._start(name, when, crc, size)
        self.fh.flush()
        _copy(src, self.fh, size)

    def close(self) -> None:
        """Write the central directory (the file's own handle stays open)."""
        if self._open is not None and not self._open.closed:
            raise ValueError("a zip member is still open")
        self.fh.seek(0, os.SEEK_END)
        start = self.fh.tell()
        for entry in self._entries:
            extra = b""
            size = entry.size
            offset = entry.offset
            fields: list[int] = []
            if size >= _LIMIT:
                fields += [size, size]
                size = _LIMIT
            if offset >= _LIMIT:
                fields.append(offset)
                offset = _LIMIT
            if fields:
                extra = struct.pack(f"<2H{len(fields)}Q", 1, 8 * len(fields), *fields)
            self.fh.write(
                _CENTRAL.pack(
                    b"PK\x01\x02",
                    _UNIX << 8 | _VERSION,
                    _VERSION,
                    self._flags(entry),
                    0,
                    entry.time,
                    entry.date,
                    entry.crc,
                    size,
                    size,
                    len(entry.name),
                    len(extra),
                    0,
                    0,
                    0,
                    _MODE,
                    offset,
                )  # fmt: skip
                + entry.name
                + extra
            )
        end = self.fh.tell()
        count, length = len(self._entries), end - start
        if count >= 0xFFFF or start >= _LIMIT or length >= _LIMIT:
            self.fh.write(
                _END64.pack(
                    b"PK\x06\x06",
                    _END64.size - 12,
                    _VERSION,
                    _VERSION,
                    0,
                    0,
                    count,
                    count,
                    length,
                    start,
                )  # fmt: skip
                + _LOCATOR64.pack(b"PK\x06\x07", 0, end, 1)
            )
            count, length, start = min(count, 0xFFFF), min(length, _LIMIT), min(start, _LIMIT)
        self.fh.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, length, start, 0))
        self.fh.flush()


def _copy(src: BinaryIO, dst: BinaryIO, size: int) -> None:
    """Copy ``size`` bytes from the start of ``src`` to ``dst``'s position, in the kernel
    when it can (``copy_file_range``), else through a buffer."""
    src_fd, dst_fd = src.fileno(), dst.fileno()
    src_at, dst_at = 0, dst.tell()
    left = size
    try:
        while left > 0:
            done = os.copy_file_range(src_fd, dst_fd, min(left, _COPY), src_at, dst_at)
            if done == 0:
                raise OSError("the file being copied was cut short")
            src_at, dst_at, left = src_at + done, dst_at + done, left - done
    except (AttributeError, OSError):  # no copy_file_range here (other OS, file system)
        src.seek(src_at)
        dst.seek(dst_at)
        while left > 0:
            block = src.read(min(left, 1 << 20))
            if not block:
                raise OSError("the file being copied was cut short") from None
            dst.write(block)
            left -= len(block)
        dst.flush()
        return
    dst.seek(dst_at)
