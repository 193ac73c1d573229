"""Reading WARC and ARC files other tools wrote (``archiver import``), and checking records.

:class:`ForeignWarc` trusts nothing in a file: every line, header block and payload it
reads is bounded, a record that cannot be a capture is reported rather than raised, and
where reading had to stop is reported with its byte offset. :func:`unaccounted` says what
a file holds besides archiver's captures, so that ``gc`` never deletes records it did not
ingest; :func:`check_record` re-reads one record for ``verify``. Writing is
:mod:`archiver.storage.warc`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.utils import BUFF_SIZE

from archiver.errors import StoreError
from archiver.net.urls import canonicalize

from .warc import complete_bytes

LINE_LIMIT = 1 << 16  # the longest header line read in one piece
HTTP_HEAD_LIMIT = 1 << 20  # the most bytes of HTTP status line and headers in a record
HTTP_HEADER_COUNT = 1000
CAPTURE_TYPES = ("response", "revisit")
# Records whose payload ForeignWarc reads: captures, and resource records (a page some
# tools store with its HTML and no HTTP head).
READ_TYPES = (*CAPTURE_TYPES, "resource")
GZIP_MAGIC = b"\x1f\x8b"
_WARCINFO_KEEP = 4096  # what is kept of a warcinfo block (to recognise archiver's own)
_STATUS_LINE = re.compile(r"HTTP/[0-9](?:\.[0-9])?[ \t]+([0-9]{3})(?:[ \t]+(.*))?", re.ASCII)
_CHUNK_SIZE = re.compile(rb"[ \t]*([0-9A-Fa-f]{1,16})[ \t]*(?:;.*)?")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_DIGITS = re.compile(r"[0-9]{1,18}")
_DIGEST_NAMES = {
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha256": "sha256",
    "sha-256": "sha256",
    "sha512": "sha512",
    "sha-512": "sha512",
    "md5": "md5",
}


class _BoundedReader(DecompressingBufferedReader):  # type: ignore[misc]  # warcio: untyped
    """warcio's reader, with every line it reads bounded (a header "line" of 400 MB
    never lands in memory) and damaged gzip data raised instead of printed on stderr."""

    def readline(self, length: int | None = None) -> bytes:
        if length is None or length < 0 or length > LINE_LIMIT:
            length = LINE_LIMIT
        return bytes(super().readline(length))

    def _decompress(self, data: bytes) -> bytes:
        if self.decompressor is not None and data and self.num_block_read:
            try:
                return bytes(self.decompressor.decompress(data))
            except zlib.error as exc:
                raise ArchiveLoadFailed(f"damaged gzip data ({exc})") from exc
        return bytes(super()._decompress(data))


class WholeGzipError(ArchiveLoadFailed):  # type: ignore[misc]  # warcio: untyped
    """A gzip member holds more than one record: the file was gzipped whole (or in
    blocks), not one member per record, so its records cannot be read by offset."""


class _Records(ArchiveIterator):  # type: ignore[misc]  # warcio: untyped
    """warcio's record iterator over the bounded reader, parsing record headers only (the
    HTTP block is parsed here, within limits), that remembers instead of printing a
    record not followed by the blank lines that end it (a wrong Content-Length).

    One format per file: ``arc=True`` reads ARC records only, converted to WARC headers
    by warcio (``WARC-Target-URI``, ``WARC-Date``, ``WARC-Type: response``; the file's
    ``filedesc://`` header becomes ``warcinfo``); otherwise WARC records only, so bytes
    between WARC records are never taken for an ARC record.
    """

    def __init__(self, fh: BinaryIO, *, arc: bool = False) -> None:
        super().__init__(fh, no_record_parse=True, arc2warc=True)
        self.reader = _BoundedReader(self.fh, block_size=BUFF_SIZE)
        self.misaligned = False
        self.known_format = "arc" if arc else "warc"
        self.mixed_arc_warc = True  # keeps known_format as set here, record after record

    def _raise_invalid_gzip_err(self) -> None:
        raise WholeGzipError("a gzip member holds more than one record")

    def _consume_blanklines(self) -> tuple[bytes | None, int]:
        empty_size = 0
        first_line = True
        while True:
            line = self.reader.readline()
            if not line:
                return None, empty_size
            if not line.strip() or first_line:
                empty_size += len(line)
                if line.strip():
                    self.misaligned = True
                first_line = False
                continue
            return line, empty_size


def warc_records(fh: BinaryIO, *, arc: bool = False) -> Any:
    """An iterator over the records of an open WARC (or ARC) file, within the bounds above."""
    return _Records(fh, arc=arc)


@dataclass(frozen=True)
class ArchiveFormat:
    """What a file holds, from its first bytes: ``kind`` "warc" or "arc", and whether it
    is gzip-compressed."""

    kind: str
    gz: bool
    version: str = ""  # an ARC file's version ("1"; warcio reads no other)

    @property
    def suffix(self) -> str:
        return f".{self.kind}" + (".gz" if self.gz else "")


def sniff_format(path: Path) -> ArchiveFormat | None:
    """The format of the file at ``path`` by its first line (``WARC/`` or an ARC file's
    ``filedesc://`` header), or None when it is neither; OSError if it cannot be read."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    gz = head.startswith(GZIP_MAGIC)
    if gz:
        try:
            head = zlib.decompressobj(31).decompress(head, LINE_LIMIT)
        except zlib.error:
            return None
    head = head.lstrip(b"\r\n")
    if head.startswith(b"WARC/"):
        return ArchiveFormat("warc", gz)
    if head.startswith(b"filedesc://"):
        lines = head.split(b"\n", 2)  # the second line: "<major> <minor> <origin>"
        version = lines[1].split(b" ", 1)[0] if len(lines) > 1 else b""
        return ArchiveFormat("arc", gz, version.decode("ascii", "replace"))
    return None


# The names a file in <store>/warc/ can end with: archiver's own, imported WARC and ARC.
STORE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")


def is_arc_name(name: str) -> bool:
    """Whether a store file name is an imported ARC file (``import-….arc[.gz]``)."""
    return name.endswith((".arc", ".arc.gz"))


class _Dechunker:
    """Undoes chunked transfer-encoding as data streams in; ``bad`` once framing breaks."""

    def __init__(self) -> None:
        self._line = bytearray()  # a chunk-size line being read
        self._left = 0  # bytes of the current chunk still to come
        self._crlf = False  # the line break after a chunk's data is due
        self.started = False  # a chunk-size line was read
        self.done = False
        self.bad = False

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        pos, end = 0, len(data)
        while pos < end and not (self.done or self.bad):
            if self._left:
                take = min(self._left, end - pos)
                out += data[pos : pos + take]
                pos += take
                self._left -= take
                self._crlf = not self._left
            elif self._crlf:
                byte = data[pos]
                pos += 1
                if byte == 0x0A:
                    self._crlf = False
                elif byte != 0x0D:
                    self.bad = True
            else:
                eol = data.find(b"\n", pos)
                self._line += data[pos : end if eol < 0 else eol]
                pos = end if eol < 0 else eol + 1
                if len(self._line) > 1024:
                    self.bad = True
                elif eol >= 0:
                    size = _CHUNK_SIZE.fullmatch(bytes(self._line).rstrip(b"\r"))
                    self._line.clear()
                    self.started = self.started or size is not None
                    if size is None:
                        self.bad = True
                    elif int(size.group(1), 16) == 0:
                        self.done = True
                    else:
                        self._left = int(size.group(1), 16)
        return bytes(out)


def dechunk(data: bytes) -> bytes | None:
    """The body inside a chunked transfer-encoding (what arrived of it, if cut short), or
    None when ``data`` is not chunked at all. Never longer than ``data``."""
    dechunker = _Dechunker()
    body = dechunker.feed(data)
    return body if dechunker.started and (body or not dechunker.bad) else None


def _expected_digest(header: str | None) -> tuple[str, bytes] | None:
    """(hashlib name, digest) of a WARC digest header; None when it cannot be checked
    (absent, an unknown algorithm, a value in no known encoding)."""
    if not header:
        return None
    algorithm, sep, value = header.strip().partition(":")
    name = _DIGEST_NAMES.get(algorithm.strip().lower())
    if not sep or name is None:
        return None
    size = hashlib.new(name).digest_size
    value = value.strip()
    if len(value) == 2 * size and _HEX.fullmatch(value):
        return name, bytes.fromhex(value)
    try:
        raw = base64.b32decode(value.upper() + "=" * (-len(value) % 8))
    except (binascii.Error, ValueError):
        return None
    return (name, raw) if len(raw) == size else None


class _PayloadCheck:
    """Checks a WARC-Payload-Digest while the payload streams past: over the payload as
    stored, or (as some tools compute it) over its de-chunked body. With ``compute``
    and no digest to check (an ARC record has none), it computes the payload's sha1."""

    def __init__(self, header: str | None, chunked: bool, *, compute: bool = False) -> None:
        self.expected = _expected_digest(header)
        name = self.expected[0] if self.expected else "sha1"
        self.raw = hashlib.new(name)
        self.dechunker = _Dechunker() if chunked and self.expected else None
        self.body = hashlib.new(name)
        self.compute = compute and self.expected is None

    def computed(self) -> str | None:
        """The payload's ``sha1:<base32>`` digest, when asked to compute it."""
        if not self.compute:
            return None
        return "sha1:" + base64.b32encode(self.raw.digest()).decode("ascii")

    def update(self, data: bytes) -> None:
        if self.expected is None and not self.compute:
            return
        self.raw.update(data)
        if self.dechunker is not None:
            self.body.update(self.dechunker.feed(data))

    def result(self) -> bool | None:
        """True: the digest matches; False: it does not (damage); None: nothing to check."""
        if self.expected is None:
            return None
        if self.raw.digest() == self.expected[1]:
            return True
        dechunked = self.dechunker is not None and not self.dechunker.bad
        return dechunked and self.body.digest() == self.expected[1]


def _text(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("iso-8859-1")


@dataclass(frozen=True)
class HttpHead:
    """The status line and headers of an HTTP response block."""

    status: int
    reason: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def chunked(self) -> bool:
        return "chunked" in (self.header("transfer-encoding") or "").lower()


def _read_http(stream: Any) -> HttpHead | str:
    """Parse an HTTP response head from ``stream``, within limits; a string says why not."""
    first = stream.readline(LINE_LIMIT)
    if not first.strip():
        return "no HTTP status line"
    status = _STATUS_LINE.fullmatch(_text(first).strip())
    if status is None:
        shown = _text(first).strip()[:60]
        return f"not an HTTP response (status line {shown!r})"
    headers: list[tuple[str, str]] = []
    total = len(first)
    while True:
        line = stream.readline(LINE_LIMIT)
        total += len(line)
        if total > HTTP_HEAD_LIMIT or len(headers) > HTTP_HEADER_COUNT:
            return f"HTTP headers longer than {HTTP_HEAD_LIMIT} bytes or {HTTP_HEADER_COUNT} lines"
        text = _text(line).rstrip("\r\n")
        if not text:  # the blank line (or the block's end) ends the head
            break
        if text[0] in " \t" and headers:  # an obsolete folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {text.strip()}")
            continue
        name, sep, value = text.partition(":")
        if sep and name.strip():
            headers.append((name.strip(), value.strip()))
    return HttpHead(int(status.group(1)), (status.group(2) or "").strip(), headers)


def _read_payload(stream: Any, keep: int, check: _PayloadCheck) -> tuple[bytes, int]:
    """Stream the payload past ``check``; return (its first ``keep`` bytes, its length)."""
    kept = bytearray()
    total = 0
    while block := stream.read(BUFF_SIZE):
        check.update(block)
        if len(kept) < keep:
            kept += block[: keep - len(kept)]
        total += len(block)
    return bytes(kept), total


@dataclass(frozen=True)
class ForeignRecord:
    """One record of a WARC file another tool wrote, as :class:`ForeignWarc` read it."""

    offset: int
    length: int
    record_type: str  # lower case; "" when the record names none
    uri: str  # WARC-Target-URI as written ("" when absent)
    date: str
    record_id: str
    concurrent_to: tuple[str, ...]
    payload_digest: str | None  # WARC-Payload-Digest; for an ARC record, computed here
    http: HttpHead | None = None  # a response or revisit record's HTTP head
    content_type: str | None = None  # the record's own Content-Type header
    payload: bytes = b""  # as stored (still content- and transfer-encoded), bounded
    payload_length: int = 0  # the whole payload's length
    digest_ok: bool | None = None  # None: no digest to check it against
    problem: str | None = None  # why this response/revisit record cannot be a capture

    @property
    def truncated(self) -> bool:
        return self.payload_length > len(self.payload)


@dataclass
class ForeignWarc:
    """Reads a WARC (or ARC) file record by record without trusting it.

    An ARC file (recognised by its ``filedesc://`` header) reads as WARC: each record a
    ``response`` whose payload digest is computed here (ARC records carry none).
    Iterating yields the complete records only; when reading has to stop (the file is
    cut short, a record's length is wrong, bytes that are no WARC record), iteration
    ends and ``stopped_at`` is the byte offset where the unreadable part begins, with
    ``stop_reason``. ``body_limit`` bounds the payload kept per record (the rest streams
    past the digest check); ``payloads=False`` reads record headers only.
    """

    path: Path
    body_limit: int = 0
    payloads: bool = True
    size: int = 0
    stopped_at: int | None = None
    stop_reason: str | None = None
    records: int = 0  # complete records read
    arc: bool = False  # an ARC file (set when iteration starts)

    def _stop(self, offset: int, reason: str) -> None:
        self.stopped_at = offset
        self.stop_reason = " ".join(reason.split())[:200]

    def __iter__(self) -> Iterator[ForeignRecord]:
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - closed below, around the yields
            self.size = os.fstat(fh.fileno()).st_size
            gz = fh.read(2) == GZIP_MAGIC
            fh.seek(0)
            kind = sniff_format(self.path)
            self.arc = kind is not None and kind.kind == "arc"
        except OSError as exc:
            raise StoreError(f"cannot read WARC file {self.path}: {exc.strerror or exc}") from exc
        with fh:
            yield from self._iterate(fh, complete_bytes(self.path) if gz else self.size)

    def _iterate(self, fh: BinaryIO, whole: int) -> Iterator[ForeignRecord]:
        records = _Records(fh, arc=self.arc)
        stream = iter(records)
        previous = 0
        while True:
            start = records.offset
            try:  # warcio meets the file's bytes here: anything it raises is damage
                record = next(stream, None)
                if record is None:
                    break
                length_header = record.rec_headers.get_header("Content-Length") or ""
                if record.format != "warc" or not _DIGITS.fullmatch(length_header.strip()):
                    self._stop(
                        start,
                        "a record without a valid length (WARC Content-Length or ARC length field)",
                    )
                    return
                item = self._read(record, start)
                records.read_to_end()
                length = int(records.member_info[1])
            except OSError as exc:
                raise StoreError(f"cannot read WARC file {self.path}: {exc}") from exc
            except WholeGzipError:  # offsets past this member mean nothing: name its start
                self._stop(
                    previous,
                    f"the gzip member at byte {previous} holds more than one record"
                    " (the file is gzipped whole, not one member per record)",
                )
                return
            except Exception as exc:  # noqa: BLE001 - warcio's errors on hostile bytes
                self._stop(start, str(exc) or type(exc).__name__)
                return
            if getattr(record.raw_stream, "limit", 0) > 0 or start + length > whole:
                self._stop(start, "the file ends in the middle of a record")
                return
            if records.misaligned:
                self._stop(start, "a record longer or shorter than its Content-Length")
                return
            self.records += 1
            previous = start
            yield replace(item, length=length)
        end = records.offset
        if self.stopped_at is None and min(end, whole) < self.size:
            self._stop(min(end, whole), "the file ends in the middle of a record")

    def _read(self, record: Any, start: int) -> ForeignRecord:
        headers = record.rec_headers
        record_type = (headers.get_header("WARC-Type") or "").strip().lower()
        uri = (headers.get_header("WARC-Target-URI") or "").strip()
        digest = headers.get_header("WARC-Payload-Digest")
        base = ForeignRecord(
            offset=start,
            length=0,
            record_type=record_type,
            uri=uri,
            date=(headers.get_header("WARC-Date") or "").strip(),
            record_id=(headers.get_header("WARC-Record-ID") or "").strip(),
            concurrent_to=tuple(
                v.strip() for k, v in headers.headers if k.lower() == "warc-concurrent-to"
            ),
            payload_digest=digest.strip() if digest else None,
            content_type=(headers.get_header("Content-Type") or "").strip() or None,
        )
        stream = record.raw_stream
        if not self.payloads:
            return base
        if record_type == "warcinfo":
            return replace(base, payload=bytes(stream.read(_WARCINFO_KEEP)))
        if record_type not in READ_TYPES or not uri.lower().startswith(("http:", "https:")):
            return base
        if len(uri) > LINE_LIMIT - 64:  # its header line was cut at LINE_LIMIT
            return replace(base, problem=f"WARC-Target-URI longer than {LINE_LIMIT} bytes")
        if record_type == "resource":  # the block is the payload: no HTTP head
            check = _PayloadCheck(digest, chunked=False)
            payload, total = _read_payload(stream, self.body_limit, check)
            return replace(
                base,
                payload=payload,
                payload_length=total,
                digest_ok=check.result(),
            )
        if int(headers.get_header("Content-Length") or 0) == 0:
            return replace(base, problem=f"{record_type} record without HTTP headers")
        head = _read_http(stream)
        if isinstance(head, str):
            return replace(base, problem=head)
        check = _PayloadCheck(
            digest if record_type == "response" else None, head.chunked, compute=self.arc
        )
        payload, total = _read_payload(stream, self.body_limit, check)
        return replace(
            base,
            http=head,
            payload=payload,
            payload_length=total,
            digest_ok=check.result(),
            payload_digest=check.computed() or base.payload_digest,
        )


def unaccounted(path: Path, captured: set[int]) -> str | None:
    """Why a WARC file must be kept although no capture needs it any more: the records
    it holds besides archiver's own writes and the captures at the ``captured`` offsets,
    and any bytes that cannot be read as records; None when it holds nothing else.

    A file archiver wrote (``archiver-*`` opening with archiver's warcinfo record) holds
    only archiver's records: response and revisit records, their request records and
    at most a torn tail a crash left. In any other (imported) file a record counts as
    accounted for only if it is a warcinfo record, a response or revisit record that
    became a capture, or the request record of such a capture (linked by
    ``WARC-Concurrent-To`` or for the same URI).
    """
    reader = ForeignWarc(path, payloads=True, body_limit=0)
    kinds: Counter[str] = Counter()
    ids: set[str] = set()
    uris: set[str] = set()
    requests: list[ForeignRecord] = []
    own = path.name.startswith("archiver-")
    for record in reader:
        ours = record.offset == 0 and b"software: archiver/" in record.payload
        if own and ours and record.record_type == "warcinfo":
            return None
        if record.record_type == "warcinfo":
            continue
        if record.record_type in READ_TYPES and record.offset in captured:
            ids.add(record.record_id)
            ids.update(record.concurrent_to)
            uris.add(canonicalize(record.uri))
        elif record.record_type == "request":
            requests.append(record)
        else:
            kinds[record.record_type or "untyped"] += 1
    for request in requests:
        linked = request.record_id in ids or ids.intersection(request.concurrent_to)
        if not (linked or canonicalize(request.uri) in uris):
            kinds["request"] += 1
    reasons = []
    if kinds:
        listed = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        reasons.append(f"holds records archiver did not ingest ({listed})")
    if reader.stopped_at is not None:
        reasons.append(
            f"holds {reader.size - reader.stopped_at} bytes from byte {reader.stopped_at}"
            f" that are not a readable record ({reader.stop_reason})"
        )
    return "; ".join(reasons) or None


@dataclass(frozen=True)
class RecordCheck:
    """What ``verify`` needs of one record: its type, URI and whether its payload still
    matches its WARC-Payload-Digest (None: no digest it could check)."""

    record_type: str
    uri: str
    payload_digest: str | None
    payload_ok: bool | None


def check_record(fh: BinaryIO, where: str, *, arc: bool = False) -> RecordCheck:
    """Re-read the record ``fh`` is positioned at (a local file, or the bytes a range
    request fetched), streaming its payload past its digest; StoreError if it is damaged
    or cut short. ``where`` names it in messages (``file@offset``); ``arc``: the file is
    an imported ARC file (see :func:`is_arc_name`)."""
    try:
        with fh:
            records = _Records(fh, arc=arc)
            record = next(iter(records), None)
            if record is None:
                raise StoreError(f"no WARC record at {where}")
            headers = record.rec_headers
            record_type = (headers.get_header("WARC-Type") or "").strip().lower()
            uri = (headers.get_header("WARC-Target-URI") or "").strip()
            digest = headers.get_header("WARC-Payload-Digest")
            ok = None
            web = uri.lower().startswith(("http:", "https:"))
            if record_type == "response" and web:
                head = _read_http(record.raw_stream)
                if isinstance(head, str):
                    raise StoreError(f"WARC record {where}: {head}")
                check = _PayloadCheck(digest, head.chunked, compute=arc)
                _read_payload(record.raw_stream, 0, check)
                ok = check.result()
                digest = check.computed() or digest  # an ARC record's: compared with the catalog
            elif record_type == "resource" and web:
                check = _PayloadCheck(digest, chunked=False)
                _read_payload(record.raw_stream, 0, check)
                ok = check.result()
            records.read_to_end()
            if getattr(record.raw_stream, "limit", 0) > 0:
                raise StoreError(f"WARC record {where} is cut short")
    except StoreError:
        raise
    except OSError as exc:
        raise StoreError(f"cannot read WARC record {where}: {exc.strerror or exc}") from exc
    except Exception as exc:  # noqa: BLE001 - warcio's errors on damaged bytes
        raise StoreError(f"cannot read WARC record {where}: {exc}") from exc
    return RecordCheck(record_type, uri, digest.strip() if digest else None, ok)
