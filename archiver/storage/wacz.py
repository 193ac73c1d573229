"""Write WACZ 1.1.1 files (Web Archive Collection Zipped, as Browsertrix writes and
ReplayWeb.page and pywb replay); :mod:`archiver.storage.wacz_read` reads them.

A WACZ is a zip, every member stored (not deflated: a replayer reads a WARC record by
its offset), holding ``archive/*.warc.gz``, ``indexes/index.cdx`` (CDXJ: one line per
record, sorted by SURT key and time), ``pages/pages.jsonl`` and ``datapackage.json``
listing every other member with its size and SHA-256.

:class:`WaczWriter` streams: pages and WARC records go through fixed-size buffers
(the pages into the zip, the records into a scratch file appended to it at the end),
their index lines into temporary files sorted in bounded runs and merged at the end, so
memory does not grow with the archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from warcio.warcwriter import WARCWriter

from archiver._version import __version__
from archiver.errors import StoreError, UsageError

from .cdxj import HEAD_BYTES, RecordHead, SortedIndex, index_line, record_head
from .hashed import Background, Blocks, Hashing
from .zipout import ZipOut

WACZ_VERSION = "1.1.1"
DATA_WARC = "archive/data.warc.gz"
SEEDS_WARC = "archive/archiver-seeds.warc.gz"
INDEX = "indexes/index.cdx"  # CDXJ lines; the name WACZ 1.1.1 gives it
PAGES = "pages/pages.jsonl"
DATAPACKAGE = "datapackage.json"

_BLOCK = 1 << 20


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Page:
    """One entry of ``pages/pages.jsonl``: a page ReplayWeb.page lists and searches."""

    url: str
    ts: str  # ISO 8601 capture time
    title: str | None
    text: str | bytes | None  # bytes: UTF-8, as the catalog holds it
    archiver: dict[str, Any] | None = None  # archiver's own fields (PAGE_KEY)

    def json_line(self) -> list[bytes]:
        """The page's line of ``pages.jsonl`` (UTF-8, ending in a newline), in pieces
        to write one after the other: the text, most of the line, is not copied again."""
        page_id = hashlib.sha1(f"{self.url} {self.ts}".encode()).hexdigest()[:24]
        data: dict[str, Any] = {"id": page_id, "url": self.url, "ts": self.ts}
        if self.title:
            data["title"] = self.title
        if self.archiver:
            data[PAGE_KEY] = self.archiver
        line = json.dumps(data, ensure_ascii=False).encode("utf-8")
        if not self.text:
            return [line, b"\n"]
        return [line[:-1] + b', "text": "', json_string_body(self.text), b'"}\n']


def pages_header() -> bytes:
    """The first line of ``pages/pages.jsonl``."""
    return (
        json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}).encode()
        + b"\n"
    )


PAGE_KEY = "archiver"  # a page's provenance in archiver: {"via", "depth", "score", "seed"}
# The bytes a JSON string must escape, besides '"', '\\' and the newline.
_CONTROL = bytes(range(0x20)).replace(b"\n", b"")


def json_string_body(text: str | bytes) -> bytes:
    """``text`` as the inside of a JSON string, in UTF-8: exactly what
    ``json.dumps(text, ensure_ascii=False)`` writes between its quotes. UTF-8 bytes whose
    only control character is the newline (extracted text) are escaped as bytes, never
    decoded: UTF-8 never uses a byte below 0x80 inside a multi-byte character."""
    if isinstance(text, bytes):
        if len(text.translate(None, _CONTROL)) == len(text):
            return text.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
        text = text.decode("utf-8", errors="replace")
    return json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8")


@dataclass
class _Spooled:
    """A WARC member waiting in a scratch file for the zip (see :class:`WaczWriter`)."""

    name: str
    file: BinaryIO
    hashing: Hashing
    blocks: Blocks


class WaczWriter:
    """Writes one WACZ file to ``path`` (via ``path.part``, renamed when complete).

    Call :meth:`warc` once per WARC member and :meth:`add_record` for each record,
    :meth:`add_page` for each page, then :meth:`close`. Invariants: a WARC member is
    stored (not deflated) and its records are copied byte for byte; every index line
    points at a record of the WACZ, and every record but a 304's revisit has one;
    ``datapackage.json`` lists every other member with its SHA-256 and size.

    Each byte passes through Python once: ``pages/pages.jsonl`` (the extracted text,
    often several times the WARC data) streams straight into the zip, its first member,
    hashed and CRC'd as it goes; the WARC members, written meanwhile, wait in scratch
    files beside the output (hashed and CRC'd as they are written) and are appended
    after it by the kernel. The hashing and writing run on a second thread
    (:mod:`archiver.storage.hashed`), a few MB behind. With ``pages_apart``, another
    writer (a worker process) writes the pages member's bytes into :attr:`part` at
    :attr:`pages_offset` meanwhile, and :meth:`pages_written` closes it with their
    SHA-256, CRC-32 and size before :meth:`close`.
    """

    def __init__(
        self, path: Path, *, title: str, created: str | None = None, pages_apart: bool = False
    ) -> None:
        self.path = path
        self.title = title
        self.created = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._when = _zip_time(self.created)
        self._part = path.with_name(path.name + ".part")
        try:
            # Beside the file, not in /tmp: the WARC data waits here, and the kernel
            # copies it within one file system.
            self._scratch = tempfile.TemporaryDirectory(prefix=f".{path.name}-", dir=path.parent)
        except OSError as exc:
            raise UsageError(f"cannot write in {path.parent}: {exc.strerror or exc}") from exc
        try:
            self._file = open(self._part, "w+b")  # noqa: SIM115 - closed by close/abort
        except OSError as exc:
            self._scratch.cleanup()
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
        self._zip = ZipOut(self._file)
        self._index = SortedIndex(Path(self._scratch.name))
        self._background = Background()
        # The pages, the zip's first member: streamed into it; or, ``pages_apart``,
        # written into the file at :attr:`pages_offset` by someone else (a worker
        # process), then given to :meth:`pages_written`.
        self._pages: Blocks | None = None
        self._pages_resource: dict[str, Any] | None = None
        self._pages_member = self._zip.member(PAGES, self._when)
        self.pages_offset = self._pages_member.data_offset
        if pages_apart:
            self._file.flush()  # the header, before the other writer's bytes
        else:
            self._pages = Blocks(self._background, Hashing(self._pages_member))
            self._pages.write(pages_header())
        self._spooled: list[_Spooled] = []
        self._resources: list[dict[str, Any]] = []
        self._warc: Blocks | None = None  # the current WARC member
        self._member_name = self._member_file = ""
        self.records = 0
        self.pages = 0
        self.warc_bytes = 0

    # -- WARC members --

    def warc(self, name: str) -> None:
        """Start the WARC member ``name`` (``archive/….warc.gz``), closing the previous;
        it is created with its first record (a WACZ holds no empty WARC file)."""
        self._end_member()
        self._member_name = name
        self._member_file = PurePosixPath(name).name  # what index lines name

    def _open_member(self) -> Blocks:
        if self._warc is None:
            assert self._member_name, "warc() first"
            spool = Path(self._scratch.name) / f"member-{len(self._spooled):03d}"
            fh = open(spool, "w+b")  # noqa: SIM115 - closed by close/abort
            hashing = Hashing(fh, crc=True)
            self._warc = Blocks(self._background, hashing)
            self._spooled.append(_Spooled(self._member_name, fh, hashing, self._warc))
        return self._warc

    @property
    def position(self) -> int:
        """Bytes written to the current WARC member (a record that fails once copying
        began leaves the member torn: the export must stop, not skip it)."""
        return self._warc.size if self._warc is not None else 0

    def add_record(self, stream: BinaryIO, length: int) -> RecordHead:
        """Copy one gzip-member WARC record of ``length`` bytes from ``stream`` into the
        current WARC member and index it; StoreError if the bytes are no WARC record
        (nothing written) or are fewer than ``length`` (see :attr:`position`)."""
        first = stream.read(min(length, HEAD_BYTES))
        if len(first) < min(length, HEAD_BYTES):
            raise StoreError("the record is shorter than the catalog says")
        head = record_head(first)
        member = self._open_member()
        offset = member.size
        member.write(first)
        left = length - len(first)
        while left > 0:
            block = stream.read(min(left, _BLOCK))
            if not block:
                raise StoreError("the record is shorter than the catalog says")
            member.write(block)
            left -= len(block)
        self.records += 1
        self.warc_bytes += length
        if head.replayable:
            self._index.add(index_line(head, self._member_file, offset, length))
        return head

    def add_bytes(self, data: bytes) -> RecordHead:
        """Append a record already rendered in memory (a gzip member) to the WARC member."""
        return self.add_record(io.BytesIO(data), len(data))

    def _end_member(self) -> None:
        if self._warc is not None:
            self._warc.flush()
            self._warc = None

    def _resource(self, name: str, sha256: str, size: int) -> dict[str, Any]:
        stem = PurePosixPath(name).name
        return {
            "name": stem.lower().replace(".", "-").replace("_", "-"),
            "path": name,
            "hash": "sha256:" + sha256,
            "bytes": size,
        }

    # -- pages and the rest --

    def add_page(self, page: Page) -> None:
        assert self._pages is not None, "the pages are written apart"
        for piece in page.json_line():
            self._pages.write(piece)
        self.pages += 1

    @property
    def part(self) -> Path:
        """The file being written (renamed to :attr:`path` by :meth:`close`)."""
        return self._part

    def pages_written(self, sha256: str, crc: int, size: int, pages: int) -> None:
        """``pages/pages.jsonl`` was written apart (``pages_apart``): ``size`` bytes
        at :attr:`pages_offset` of :attr:`part`, with this SHA-256 and CRC-32,
        ``pages`` pages."""
        self._pages_member.written(crc, size)
        self._pages_resource = self._resource(PAGES, sha256, size)
        self.pages += pages

    def close(self, *, main_page: Page | None = None) -> None:
        """Write the index, the pages and ``datapackage.json``, then rename the file
        into place."""
        try:
            self._end_member()
            if self._pages is not None:
                self._pages.flush()
            self._background.drain()
            if self._pages is not None:
                self._pages_member.close()
                sink = self._pages.sink
                self._pages_resource = self._resource(PAGES, sink.sha256.hexdigest(), sink.size)
            assert self._pages_resource is not None, "pages_file() first"
            for spooled in self._spooled:
                hashing = spooled.hashing
                assert hashing.crc is not None
                spooled.file.flush()
                self._zip.append(spooled.name, self._when, spooled.file, hashing.crc)
                spooled.file.close()
                self._resources.append(
                    self._resource(spooled.name, hashing.sha256.hexdigest(), hashing.size)
                )
            # Stored, as py-wacz stores them too: deflating the pages' text (often larger
            # than the gzipped WARC data) took most of an export's time.
            member = self._zip.member(INDEX, self._when)
            index = Blocks(self._background, Hashing(member))
            for line in self._index.sorted_lines():
                index.write(line.encode("utf-8"))
            index.flush()
            self._background.drain()
            member.close()
            self._resources += [
                self._resource(INDEX, index.sink.sha256.hexdigest(), index.sink.size),
                self._pages_resource,
            ]
            package: dict[str, Any] = {
                "profile": "data-package",
                "resources": self._resources,
                "wacz_version": WACZ_VERSION,
                "software": f"archiver {__version__}",
                "created": self.created,
                "title": self.title,
            }
            if main_page is not None:
                package["mainPageUrl"] = main_page.url
                package["mainPageDate"] = main_page.ts
            member = self._zip.member(DATAPACKAGE, self._when)
            member.write(json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8"))
            member.close()
            self._zip.close()
            self._file.close()
            self._part.replace(self.path)
        except OSError as exc:
            self.abort()
            raise UsageError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        finally:
            self._cleanup()

    def abort(self) -> None:
        """Leave nothing behind (an export that failed)."""
        self._background.stop()
        self._file.close()
        self._part.unlink(missing_ok=True)
        self._cleanup()

    def _cleanup(self) -> None:
        self._background.stop()
        for spooled in self._spooled:
            spooled.file.close()
        self._scratch.cleanup()


def _zip_time(iso: str) -> tuple[int, int, int, int, int, int]:
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)


# --------------------------------------------------------------------------- seed posts

SEED_HOST = "seed.archiver.invalid"  # .invalid (RFC 2606): never a page of the live web
SEED_METADATA = "urn:archiver:seed:"


def seed_url(sha256: str) -> str:
    """The URL a seed post is replayed under: on a reserved domain, named by its hash."""
    return f"https://{SEED_HOST}/{sha256[:32]}"


def seed_records(sha256: str, html: str, fields: dict[str, Any], date: str) -> list[bytes]:
    """A seed post as two gzip-member records: a ``resource`` holding its page (to
    replay), and a ``metadata`` record holding its catalog fields as JSON (to import)."""
    body = html.encode("utf-8")
    data = json.dumps(fields, ensure_ascii=False).encode("utf-8")
    records: list[bytes] = []
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="1.1")
    page = writer.create_warc_record(
        seed_url(sha256), "resource", payload=io.BytesIO(body), length=len(body),
        warc_content_type="text/html; charset=utf-8", warc_headers_dict={"WARC-Date": date},
    )  # fmt: skip
    writer.write_record(page)
    records.append(buf.getvalue())
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="1.1")
    meta = writer.create_warc_record(
        SEED_METADATA + sha256, "metadata", payload=io.BytesIO(data), length=len(data),
        warc_content_type="application/json",
        warc_headers_dict={
            "WARC-Date": date,
            "WARC-Refers-To": page.rec_headers.get_header("WARC-Record-ID") or "",
        },
    )  # fmt: skip
    writer.write_record(meta)
    records.append(buf.getvalue())
    return records
