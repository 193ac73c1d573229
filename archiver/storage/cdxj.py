"""CDXJ index lines, the index replay tools (pywb, ReplayWeb.page) look records up by:
``<SURT key> <14-digit time> {json}`` sorted as text, one per WARC record."""

from __future__ import annotations

import heapq
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from archiver.errors import StoreError

HEAD_BYTES = 1 << 16  # a record's WARC and HTTP heads are read from at most this much
_SORT_RUN = 50_000  # index lines sorted in memory at a time
_NOT_DIGIT = re.compile(r"\D")


# --------------------------------------------------------------------------- SURT keys


# An http(s) URL whose path needs no escapes normalised, with no query or fragment.
_PLAIN_URL = re.compile(
    r"(http|https)://([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(/[A-Za-z0-9/._~!$'()*+,;=:@-]*)?\Z"
)
_WWW = re.compile(r"^www\d*\.")


def surt(url: str) -> str:
    """The SURT key replay tools look a URL up by (as the ``surt`` package computes it
    for http(s) URLs): host labels reversed without ``www``, default port dropped,
    everything lower-cased, query arguments sorted."""
    plain = _PLAIN_URL.match(url)
    if plain is not None:  # most URLs: no escapes, query or fragment to normalise
        scheme, host, port, path = plain.groups()
        host = _WWW.sub("", host.strip(".").lower())
        if host and (port is None or int(port) <= 0xFFFF):
            key = ",".join(reversed(host.split(".")))
            if port is not None and int(port) != (80 if scheme == "http" else 443):
                key += f":{int(port)}"
            return (key + ")" + (path or "/")).lower()
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").strip(".").lower()
        port = parts.port
    except ValueError:
        return url.lower()
    if parts.scheme not in ("http", "https") or not host:
        return url.lower()
    host = _WWW.sub("", host)
    key = ",".join(reversed(host.split(".")))
    if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
        key += f":{port}"
    path = _normal_escapes(parts.path or "/")
    query = ""
    if parts.query:
        query = "?" + "&".join(sorted(_normal_escapes(parts.query).split("&")))
    return (key + ")" + path + query).lower()


def _normal_escapes(text: str) -> str:
    """Percent-escapes as the canonicaliser writes them: decoded, then re-encoded."""
    return quote(unquote(text, errors="surrogateescape"), safe="!\"$&'()*+,-./:;<=>?@[\\]^_`{|}~")


# --------------------------------------------------------------------------- record heads


@dataclass(frozen=True)
class RecordHead:
    """What an index line needs from a WARC record: its type, URI, date, HTTP status,
    MIME type and payload digest."""

    record_type: str
    uri: str
    date: str
    status: str | None
    mime: str | None
    digest: str | None
    profile: str | None = None  # WARC-Profile of a revisit

    @property
    def replayable(self) -> bool:
        """Whether replay should find this record: a response, revisit or resource with a
        URI, but not a 304's server-not-modified revisit, whose HTTP head says 304
        (replayed, a browser would show nothing: the response it confirmed is found
        instead). Requests, metadata and conversions (a rendered DOM) stay unindexed."""
        if not self.uri or self.record_type not in ("response", "revisit", "resource"):
            return False
        return not (self.profile or "").endswith("/server-not-modified")

    @property
    def timestamp(self) -> str:
        """The 14-digit timestamp of ``date`` (WARC-Date)."""
        return _NOT_DIGIT.sub("", self.date)[:14].ljust(14, "0")


def _headers(block: bytes) -> tuple[str, dict[str, str]]:
    lines = block.decode("latin-1").split("\r\n")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            fields.setdefault(name.strip().lower(), value.strip())
    return lines[0].strip(), fields


def _heads(member: bytes) -> bytes:
    """The start of the record in ``member``, decompressed only as far as its heads go
    (the WARC head, and the HTTP head after it when there is one), at most
    :data:`HEAD_BYTES`: inflating costs by the byte, and a record's heads are most often
    under 1 KB of a much longer payload."""
    inflate = zlib.decompressobj(31)
    data = inflate.decompress(member, 1024)
    want = 1
    while len(data) < HEAD_BYTES and not inflate.eof and inflate.unconsumed_tail:
        if want == 1 and (end := data.find(b"\r\n\r\n")) >= 0:
            if b"application/http" not in data[:end].lower():
                break
            want = 2
        if want == 2 and data.count(b"\r\n\r\n") >= 2:
            break
        step = min(len(data), HEAD_BYTES - len(data))
        data += inflate.decompress(inflate.unconsumed_tail, step)
    return data


def record_head(member: bytes) -> RecordHead:
    """Parse the heads at the start of one gzip member holding a WARC record (only its
    first :data:`HEAD_BYTES` decompressed bytes are read); StoreError if it is none."""
    try:
        data = _heads(member)
    except zlib.error as exc:
        raise StoreError(f"not a gzipped WARC record: {exc}") from exc
    end = data.find(b"\r\n\r\n")
    if not data.startswith(b"WARC/") or end < 0:
        raise StoreError("not a WARC record")
    _version, warc = _headers(data[:end])
    status = mime = None
    if warc.get("content-type", "").startswith("application/http"):
        http_end = data.find(b"\r\n\r\n", end + 4)
        line, http = _headers(data[end + 4 : http_end if http_end >= 0 else len(data)])
        fields = line.split(" ")
        status = fields[1] if len(fields) > 1 and fields[1].isdigit() else None
        mime = http.get("content-type")
    elif warc.get("warc-type") == "resource":
        status, mime = "200", warc.get("content-type")
    if warc.get("warc-type") == "revisit":
        mime = "warc/revisit"
    if mime:
        mime = mime.split(";")[0].strip().lower()
    return RecordHead(
        record_type=warc.get("warc-type", ""),
        uri=warc.get("warc-target-uri", "").strip("<>"),
        date=warc.get("warc-date", ""),
        status=status,
        mime=mime,
        digest=warc.get("warc-payload-digest"),
        profile=warc.get("warc-profile"),
    )


def index_line(head: RecordHead, filename: str, offset: int, length: int) -> str:
    """The CDXJ line of a record ``length`` bytes long at ``offset`` in ``filename``."""
    fields: dict[str, str] = {"url": head.uri}
    if head.mime:
        fields["mime"] = head.mime
    if head.status:
        fields["status"] = head.status
    if head.digest:
        fields["digest"] = head.digest
    fields["length"] = str(length)
    fields["offset"] = str(offset)
    fields["filename"] = filename
    if head.record_type not in ("response", "revisit"):
        fields["recordType"] = head.record_type
    return f"{surt(head.uri)} {head.timestamp} {json.dumps(fields, ensure_ascii=False)}\n"


class SortedIndex:
    """CDXJ lines, sorted in runs of :data:`_SORT_RUN` spilled to files in ``scratch``
    and merged when read: memory holds one run, however many records there are."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.lines: list[str] = []
        self.runs: list[Path] = []

    def add(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) >= _SORT_RUN:
            self._spill()

    def _spill(self) -> None:
        path = self.scratch / f"run-{len(self.runs):05d}.cdxj"
        self.lines.sort()
        path.write_text("".join(self.lines), encoding="utf-8")
        self.runs.append(path)
        self.lines = []

    def sorted_lines(self) -> Iterator[str]:
        self.lines.sort()
        files = [open(path, encoding="utf-8") for path in self.runs]  # noqa: SIM115
        try:
            yield from heapq.merge(*files, self.lines)
        finally:
            for fh in files:
                fh.close()
