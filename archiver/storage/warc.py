"""Write and read the WARC/1.1 files of the store (warcio).

Each record is rendered to memory first and appended to its file with one write. The
file is fsynced before the catalog may point at the record: after each exchange, or once
for a group of exchanges (:meth:`WarcWriter.group`) whose catalog rows commit together
afterwards, the way a database batches its log flushes. So the catalog only ever points
at complete records, and a crash loses at most the records in flight. Each writer starts
a new file (never appending to a file an earlier, possibly killed, run left behind) and
rolls over at a size limit.

Files other tools wrote are read by :mod:`archiver.storage.foreign`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote_from_bytes, urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver._version import __version__
from archiver.errors import StoreError
from archiver.net.exchange import Exchange

NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"

# Headers that describe the wire encoding we already undid; keeping them would make WARC
# readers de-chunk an already de-chunked body.
_HOP_HEADERS = {"transfer-encoding"}


def payload_digest(data: bytes) -> str:
    """The WARC-Payload-Digest of a body, as warcio computes it (sha1, base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a whole file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class WarcLocation:
    """Where one record landed: file name (relative to warc/), offset and length."""

    file: str
    offset: int
    length: int
    record_type: str
    payload_digest: str
    record_id: str = ""  # WARC-Record-ID, for records that refer to this one


@dataclass(frozen=True)
class StoredRecord:
    """A record read back from a WARC file."""

    record_type: str
    uri: str
    date: str
    status: int | None
    http_headers: list[tuple[str, str]]
    payload: bytes
    payload_digest: str | None
    block_digest: str | None


_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def _ascii(text: str) -> str:
    """A header name or value as WARC headers must be: ASCII, with any other byte
    percent-encoded (RFC 8187 style). warcio does this itself, but not for every value
    (one holding ';' can still fail), and an exchange must never fail to be archived."""
    if text.isascii():
        return text
    try:
        raw = text.encode("latin-1")  # HTTP header bytes, as the client decoded them
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "replace")
    return quote_from_bytes(raw, safe=_HEADER_SAFE)


def warc_date(iso: str) -> str:
    """An ISO 8601 time as a WARC-Date (UTC, to the second)."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ClosedWarc:
    """A WARC file the writer finished: its name, size and the SHA-256 of its bytes."""

    name: str
    size: int
    sha256: str


class WarcWriter:
    """Appends records to ``<store>/warc/archiver-<time>-<pid>-<n>-<random>.warc.gz`` files.

    A file is closed once it reaches ``max_size`` bytes or ``max_age`` seconds (checked
    before each write), and when the writer closes; ``on_close`` then hears of it (a
    store on S3 uploads it).
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_size: int = 1_000_000_000,
        max_age: float | None = None,
        on_close: Callable[[ClosedWarc], None] | None = None,
    ) -> None:
        self.directory = directory
        self.max_size = max_size
        self.max_age = max_age
        self.on_close = on_close
        self._file: io.BufferedWriter | None = None
        self._name: str | None = None
        self._size = 0
        self._opened = 0.0
        self._sha256 = hashlib.sha256()
        self._sequence = 0
        self._stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self._grouped = False  # inside group(): writes wait for the group's one fsync
        self._unsynced = False

    def close(self) -> None:
        if self._file is not None:
            self.sync()  # a rotated file may hold a group's records not yet synced
            self._file.close()
            self._file = None
            assert self._name is not None
            if self.on_close is not None:
                self.on_close(ClosedWarc(self._name, self._size, self._sha256.hexdigest()))

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        self.close()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            while self._file is None:
                self._sequence += 1
                # The random part keeps names unique beyond this folder: a spooled file is
                # deleted once uploaded, and a later run in the same second (same pid, in
                # a long-running process) must not reuse its name and overwrite its object.
                self._name = (
                    f"archiver-{self._stamp}-{os.getpid()}-{self._sequence:05d}"
                    f"-{secrets.token_hex(4)}.warc.gz"
                )
                try:  # "x": never append to, or overwrite, an existing file
                    self._file = open(self.directory / self._name, "xb")  # noqa: SIM115
                except FileExistsError:
                    continue
        except OSError as exc:
            raise StoreError(f"cannot create WARC file in {self.directory}: {exc}") from exc
        self._size = 0
        self._opened = time.monotonic()
        self._sha256 = hashlib.sha256()
        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=True, warc_version="1.1")
        writer.write_record(
            writer.create_warcinfo_record(
                self._name,
                {
                    "software": f"archiver/{__version__}",
                    "format": "WARC File Format 1.1",
                    "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                    "warc-format/warc-1.1/",
                },
            )
        )
        self._append(buf.getvalue())

    @contextmanager
    def group(self) -> Iterator[None]:
        """Group commit: the exchanges written inside are not fsynced one by one; the
        caller makes them durable with one :meth:`sync` (in a thread, if it likes) and
        commits their catalog rows only after that, so the catalog still never points at
        a record that is not on disk."""
        self._grouped = True
        try:
            yield
        finally:
            self._grouped = False

    def sync(self) -> None:
        """Make every record written so far durable (no-op when nothing is pending)."""
        if self._file is None or not self._unsynced:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise StoreError(f"cannot write WARC file {self._name}: {exc}") from exc
        self._unsynced = False

    def _append(self, data: bytes, *, sync: bool = True) -> int:
        assert self._file is not None
        offset = self._size
        try:
            self._file.write(data)
        except OSError as exc:
            raise StoreError(f"cannot write WARC file {self._name}: {exc}") from exc
        self._size += len(data)
        self._sha256.update(data)
        self._unsynced = True
        if sync and not self._grouped:  # one fsync per exchange: before the catalog may point at it
            self.sync()
        return offset

    def _due(self) -> bool:
        """Whether the next record goes to a new file: none open, or too big or old."""
        if self._file is None or self._size >= self.max_size:
            return True
        return self.max_age is not None and time.monotonic() - self._opened >= self.max_age

    def write_exchange(
        self,
        exchange: Exchange,
        *,
        revisit_of: tuple[str, str] | None = None,
        not_modified_of: tuple[str, str, str] | None = None,
    ) -> WarcLocation:
        """Write the response (or a revisit) record, then its request record.

        ``revisit_of`` is (original URI, original ISO date) when the payload is identical
        to an earlier capture: a revisit record stores the headers only.
        ``not_modified_of`` is (original URI, ISO date, payload digest) for a 304: a
        server-not-modified revisit record, without a request record (the 304's headers
        say what was confirmed; an unchanged page then costs well under 1 KB).
        """
        if self._due():
            self._open()
        assert self._name is not None
        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=True, warc_version="1.1")
        date = warc_date(exchange.fetched_at)
        headers = [
            (_ascii(k), _ascii(v))
            for k, v in exchange.response_headers
            if k.lower() not in _HOP_HEADERS
        ]
        http = StatusAndHeaders(
            f"{exchange.status} {exchange.reason}".strip(),
            headers,
            protocol="HTTP/" + (exchange.http_version.removeprefix("HTTP/") or "1.1"),
        )
        digest = payload_digest(exchange.raw_body)
        warc_headers = {"WARC-Date": date}
        if exchange.truncated:
            warc_headers["WARC-Truncated"] = "length"
        if not_modified_of is not None:
            revisit_of, digest = not_modified_of[:2], not_modified_of[2]
        if revisit_of is not None:
            record = writer.create_revisit_record(
                exchange.url,
                digest,
                revisit_of[0],
                warc_date(revisit_of[1]),
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
            if not_modified_of is not None:
                record.rec_headers.replace_header("WARC-Profile", NOT_MODIFIED_PROFILE)
                writer.write_record(record)
                data = buf.getvalue()
                offset = self._append(data)
                return WarcLocation(self._name, offset, len(data), "revisit", digest)
        else:
            record = writer.create_warc_record(
                exchange.url,
                "response",
                payload=io.BytesIO(exchange.raw_body),
                length=len(exchange.raw_body),
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
        writer.write_record(record)
        response_bytes = buf.getvalue()
        offset = self._append(response_bytes, sync=False)

        parts = urlsplit(exchange.url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        request = StatusAndHeaders(
            f"{exchange.method} {path} HTTP/1.1", exchange.request_headers, is_http_request=True
        )
        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=True, warc_version="1.1")
        writer.write_record(
            writer.create_warc_record(
                exchange.url,
                "request",
                http_headers=request,
                warc_headers_dict={
                    "WARC-Date": date,
                    "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID"),
                },
            )
        )
        self._append(buf.getvalue())
        return WarcLocation(
            file=self._name,
            offset=offset,
            length=len(response_bytes),
            record_type="revisit" if revisit_of else "response",
            payload_digest=digest,
            record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
        )

    def write_conversion(
        self, url: str, fetched_at: str, html: str, *, refers_to: str
    ) -> WarcLocation:
        """Write a page's rendered DOM as a ``conversion`` record of the response record
        ``refers_to`` (its WARC-Record-ID): what the browser built from the archived bytes."""
        if self._due():
            self._open()
        assert self._name is not None
        body = html.encode("utf-8")
        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=True, warc_version="1.1")
        headers = {"WARC-Date": warc_date(fetched_at), "Content-Type": "text/html; charset=utf-8"}
        if refers_to:
            headers["WARC-Refers-To"] = refers_to
        record = writer.create_warc_record(
            url, "conversion", payload=io.BytesIO(body), length=len(body),
            warc_content_type="text/html; charset=utf-8", warc_headers_dict=headers,
        )  # fmt: skip
        writer.write_record(record)
        data = buf.getvalue()
        offset = self._append(data)
        return WarcLocation(self._name, offset, len(data), "conversion", payload_digest(body))


def read_record(fh: BinaryIO, file: str, offset: int) -> StoredRecord:
    """Read the record ``fh`` is positioned at (``file@offset``; see
    :func:`archiver.storage.spool.open_record`); StoreError if it is damaged."""
    try:
        with fh:
            for record in ArchiveIterator(fh):
                payload = record.raw_stream.read()  # as stored, for digest checks
                http = record.http_headers
                status = None
                if http is not None and record.rec_type in ("response", "revisit"):
                    code = http.get_statuscode()
                    status = int(code) if code and code.isdigit() else None
                return StoredRecord(
                    record_type=record.rec_type,
                    uri=record.rec_headers.get_header("WARC-Target-URI") or "",
                    date=record.rec_headers.get_header("WARC-Date") or "",
                    status=status,
                    http_headers=list(http.headers) if http is not None else [],
                    payload=payload,
                    payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
                    block_digest=record.rec_headers.get_header("WARC-Block-Digest"),
                )
    except (OSError, ArchiveLoadFailed, EOFError, ValueError) as exc:
        raise StoreError(f"cannot read WARC record {file}@{offset}: {exc}") from exc
    raise StoreError(f"no WARC record at {file}@{offset}")


def complete_bytes(path: Path) -> int:
    """How many leading bytes of a gzip-per-record WARC file are whole gzip members.

    Less than the file size means a torn tail: a record cut short by a crash. Readers
    skip it; nothing in the catalog points at it (records are fsynced before the
    catalog row that names them is committed).
    """
    good = 0  # end of the last complete member
    position = 0  # bytes of the file fed to the decompressor so far
    decoder = zlib.decompressobj(31)
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                while chunk:
                    try:  # at most 1 MiB out per call: a member may be a gzip bomb
                        decoder.decompress(chunk, 1 << 20)
                    except zlib.error:
                        return good
                    if not decoder.eof:
                        position += len(chunk) - len(decoder.unconsumed_tail)
                        chunk = decoder.unconsumed_tail
                        continue
                    used = len(chunk) - len(decoder.unused_data)
                    position += used
                    good = position
                    chunk = decoder.unused_data
                    decoder = zlib.decompressobj(31)
    except OSError as exc:
        raise StoreError(f"cannot read WARC file {path}: {exc}") from exc
    return good
