"""Archive files for the import tests (issue 22), written here byte by byte.

One page written for this project, an orchard diary in Korean, captured the ways older
and other tools store it: an ARC file (version 1, as Heritrix wrote it) plain and gzipped
per record, an ARC whose record is shorter than its length field, an ARC of version 2, a
Webrecorder-style WARC holding the page as a `resource` record, and a WARC of six records
(two `warcinfo`, response, request, revisit, request) gzipped per record and gzipped whole.
warcio's WARCWriter writes the WARC records; the ARC files are written by hand.

No fetched file is committed (the workspace keeps fetched data under shared/ only): every
byte the tests feed archiver comes from this module.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

URL = "http://example.com/orchard/diary"
TITLE = "과수원 일지: 사월"
WORD = "접붙이기"  # in the page's text and nowhere else in a test's store
RECORDER = "orchard-recorder"  # the software named in the warcinfo records
ARC_DATE = "2014-04-12T06:30:15+00:00"
RESOURCE_DATE = "2017-04-29T01:30:30+00:00"
WHOLE_DATE = "2017-03-06T04:02:06+00:00"
REVISIT_DATE = "2017-03-06T04:03:48+00:00"

# Names of the files `write_samples` writes.
ARC = "orchard.arc"
ARC_GZ = "orchard.arc.gz"
SHORT_ARC = "space-in-url.arc"  # a URL with spaces; its record cut 12 bytes short
ARC_V2 = "orchard-v2.arc"
RESOURCE_WARC = "orchard-resource.warc.gz"
WHOLE_WARC = "orchard-whole.warc.gz"  # six records in one gzip member
PER_RECORD_WARC = "orchard.warc.gz"  # the same six records, one gzip member each

_STYLE = "body { margin: 0 auto; max-width: 40em; font-family: sans-serif; }"
_PARAGRAPHS = (
    "사월 둘째 주, 사과나무 세 그루에 "
    + WORD
    + "를 했다. 대목은 작년에 심은 M9 왜성대목이고 접수는 홍로다.",
    "아침 기온이 영하 2도까지 내려가 꽃눈이 상했을까 걱정했지만 잘라 보니 속은 멀쩡했다.",
    "오후에는 배나무 밭 둘레에 방풍망을 다시 세우고 빗물 고랑을 정리했다.",
)


def page_html() -> bytes:
    """The page as its server sent it."""
    body = "\n".join(f"<p>{p}</p>" for p in _PARAGRAPHS)
    return (
        '<!doctype html>\n<html lang="ko">\n<head>\n'
        f'<meta charset="utf-8">\n<title>{TITLE}</title>\n<style>{_STYLE}</style>\n'
        "</head>\n<body>\n<article>\n"
        f"<h1>{TITLE}</h1>\n{body}\n"
        "</article>\n</body>\n</html>\n"
    ).encode()


def page_dom() -> bytes:
    """The same page as a browser-based recorder saves it: serialised from the DOM
    (XHTML namespace, self-closed meta, the whitespace changed), the same text."""
    body = "".join(f"<p>{p}</p>\n    " for p in _PARAGRAPHS)
    return (
        '<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml" lang="ko"><head>\n'
        f'    <meta charset="utf-8"/>\n    <title>{TITLE}</title>\n'
        f'    <style type="text/css">{_STYLE}</style>\n</head>\n'
        f"<body><article><h1>{TITLE}</h1>\n    {body}</article>\n\n</body></html>"
    ).encode()


def http_response(body: bytes, *, newline: bytes = b"\r\n") -> bytes:
    """An HTTP/1.1 200 response as an ARC record holds it."""
    head = [
        b"HTTP/1.1 200 OK",
        b"Content-Type: text/html; charset=utf-8",
        b"Date: Sat, 12 Apr 2014 06:30:14 GMT",
        b"Last-Modified: Fri, 11 Apr 2014 21:02:00 GMT",
        b"Content-Length: " + str(len(body)).encode(),
    ]
    return newline.join([*head, b"", b""]) + body


# --------------------------------------------------------------------------- ARC


@dataclass(frozen=True)
class ArcRecord:
    """One ARC record; ``length`` is the length field when it differs from the block's."""

    url: str
    block: bytes
    date: str = "20140412063015"
    content_type: str = "text/html"
    ip: str = "192.0.2.7"
    length: int | None = None


def _arc_header(version: int, fields: Sequence[str], length: int) -> str:
    """An ARC header line: five fields in version 1; version 2 adds result code,
    checksum, location, offset and file name before the length."""
    if version == 2:
        fields = [*fields, "200", "-", "-", "0", "orchard.arc"]
    return " ".join([*fields, str(length)]) + "\n"


def arc_members(records: Sequence[ArcRecord], *, version: int = 1) -> list[bytes]:
    """The ARC file's parts: the ``filedesc://`` version block, then each record, each
    followed by the newline that separates records."""
    names = "URL IP-address Archive-date Content-type"
    if version == 2:
        names += " Result-code Checksum Location Offset Filename"
    description = f"{version} 0 Orchard Diary Crawl\n{names} Archive-length\n".encode()
    first = _arc_header(
        version,
        ["filedesc://orchard.arc", "0.0.0.0", "20140412063015", "text/plain"],
        len(description),
    )
    parts = [first.encode() + description + b"\n"]
    for rec in records:
        length = len(rec.block) if rec.length is None else rec.length
        line = _arc_header(version, [rec.url, rec.ip, rec.date, rec.content_type], length)
        parts.append(line.encode() + rec.block + b"\n")
    return parts


def arc_bytes(records: Sequence[ArcRecord], *, version: int = 1, gz: bool = False) -> bytes:
    """An ARC file; ``gz``: one gzip member per record, as Heritrix writes .arc.gz."""
    parts = arc_members(records, version=version)
    return b"".join(gzip.compress(p, mtime=0) for p in parts) if gz else b"".join(parts)


def first_record_offset(arc: bytes) -> int:
    """Where an ARC file's first record starts: after the version block (its header line
    plus the length it names) and the line breaks that follow it."""
    line = arc[: arc.index(b"\n") + 1]
    end = len(line) + int(line.split()[-1])
    return end + len(arc[end:]) - len(arc[end:].lstrip(b"\r\n"))


# --------------------------------------------------------------------------- WARC


def _z(iso: str) -> str:
    return iso.replace("+00:00", "Z")


def _warcinfo(writer: WARCWriter, date: str) -> ArcWarcRecord:
    record = writer.create_warcinfo_record(
        "orchard.warc.gz", {"software": f"{RECORDER} 3.8", "format": "WARC File Format 1.0"}
    )
    record.rec_headers.replace_header("WARC-Date", _z(date))
    return record


def _html_head(body: bytes) -> StatusAndHeaders:
    head = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
    return StatusAndHeaders("200 OK", head, protocol="HTTP/1.1")


def _request(writer: WARCWriter, date: str, concurrent: ArcWarcRecord) -> ArcWarcRecord:
    return writer.create_warc_record(
        URL,
        "request",
        http_headers=StatusAndHeaders(
            "GET /orchard/diary HTTP/1.1", [("Host", "example.com")], is_http_request=True
        ),
        warc_headers_dict={
            "WARC-Date": _z(date),
            "WARC-Concurrent-To": concurrent.rec_headers.get_header("WARC-Record-ID"),
        },
    )


def resource_warc() -> bytes:
    """A Webrecorder-style WARC: two warcinfo records, then the page as a resource."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="1.0")
    body = page_dom()
    records = [
        _warcinfo(writer, RESOURCE_DATE),
        _warcinfo(writer, RESOURCE_DATE),
        writer.create_warc_record(
            URL,
            "resource",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type="text/html; charset=utf-8",
            warc_headers_dict={"WARC-Date": _z(RESOURCE_DATE)},
        ),
    ]
    for record in records:
        writer.write_record(record)
    return buf.getvalue()


def exchange_warc() -> bytes:
    """A crawl of the page and a later revisit, gzipped per record: warcinfo twice,
    response, request, revisit (identical payload), request."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="1.0")
    body = page_html()
    response = writer.create_warc_record(
        URL,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=_html_head(body),
        warc_headers_dict={"WARC-Date": _z(WHOLE_DATE)},
    )
    for record in (_warcinfo(writer, WHOLE_DATE), _warcinfo(writer, WHOLE_DATE), response):
        writer.write_record(record)
    writer.write_record(_request(writer, WHOLE_DATE, response))
    revisit = writer.create_revisit_record(
        URL,
        response.rec_headers.get_header("WARC-Payload-Digest"),
        URL,
        _z(WHOLE_DATE),
        http_headers=_html_head(body),
        warc_headers_dict={"WARC-Date": _z(REVISIT_DATE)},
    )
    writer.write_record(revisit)
    writer.write_record(_request(writer, REVISIT_DATE, revisit))
    return buf.getvalue()


# --------------------------------------------------------------------------- all files


def write_samples(directory: Path) -> Path:
    """Write every sample file into ``directory``; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    capture = ArcRecord(URL, http_response(page_html()))
    (directory / ARC).write_bytes(arc_bytes([capture]))
    (directory / ARC_GZ).write_bytes(arc_bytes([capture], gz=True))
    (directory / ARC_V2).write_bytes(arc_bytes([capture], version=2))
    # An old crawler's URL with unescaped spaces, the HTTP head with bare newlines, and a
    # length field 12 bytes more than the record holds: the file ends inside the record.
    spaced = URL + "?title=Orchard Diary April&print=1"
    block = http_response(page_html(), newline=b"\n")
    short = arc_members([ArcRecord(spaced, block, length=len(block) + 12)])
    (directory / SHORT_ARC).write_bytes(b"".join(short)[:-1])  # no separator after it
    (directory / RESOURCE_WARC).write_bytes(resource_warc())
    per_record = exchange_warc()
    (directory / PER_RECORD_WARC).write_bytes(per_record)
    (directory / WHOLE_WARC).write_bytes(gzip.compress(gzip.decompress(per_record), mtime=0))
    return directory
