"""Hostile WARC files through `archiver import`, and `gc` after imports (issue 18).

Each test builds its WARC files here with warcio, so every byte a test feeds archiver is
visible in the test: Browsertrix-style files with records archiver does not ingest,
decompression bombs, URIs in non-canonical spellings, captures older than the archive,
files cut short, records without a target URI, and reports nested too deeply to parse.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import logging
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .helpers import FixtureSite, Route, cli, cli_store, write_config

HTML = "text/html; charset=utf-8"


def page(word: str, title: str = "과수원 일지") -> bytes:
    return (
        f'<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><article><h1>{title}</h1><p>올해 처음으로 {word}이 피었다."
        " 과수원 주인은 늦서리를 걱정하며 밤새 불을 지폈다.</p></article></body></html>"
    ).encode()


# --------------------------------------------------------------------------- WARC building


@dataclass
class Rec:
    """One WARC record to write; ``uri=None`` leaves WARC-Target-URI out."""

    type: str = "response"
    uri: str | None = "http://example.com/story"
    date: str = "2024-05-01T00:00:00Z"
    body: bytes = b""
    status: str = "200 OK"
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", HTML)])
    content_type: str | None = None  # of a non-HTTP record (resource, metadata …)
    http: bool = True  # response/revisit/request records carry HTTP headers


def _record(writer: WARCWriter, rec: Rec) -> object:
    extra = {"WARC-Date": rec.date}
    if rec.type == "warcinfo":
        return writer.create_warcinfo_record("test.warc.gz", {"software": "test-crawler/1.0"})
    http = None
    if rec.http and rec.type in ("response", "revisit"):
        http = StatusAndHeaders(rec.status, list(rec.headers), protocol="HTTP/1.1")
    elif rec.http and rec.type == "request":
        http = StatusAndHeaders(
            "GET /story HTTP/1.1", [("Host", "example.com")], is_http_request=True
        )
    # warcio parses the block of an http(s) response written without HTTP headers; a
    # placeholder URI, replaced below, keeps a deliberately broken block as it is.
    record = writer.create_warc_record(
        rec.uri if rec.uri and (http or not rec.uri.startswith("http")) else "urn:placeholder",
        rec.type,
        payload=io.BytesIO(rec.body),
        length=len(rec.body),
        http_headers=http,
        warc_content_type=rec.content_type or "",
        warc_headers_dict=extra,
    )
    if rec.uri is None:
        record.rec_headers.remove_header("WARC-Target-URI")
    else:
        record.rec_headers.replace_header("WARC-Target-URI", rec.uri)
    return record


def warc_bytes(records: Iterable[Rec], *, gz: bool = True) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz, warc_version="1.1")
    for rec in records:
        writer.write_record(_record(writer, rec))
    return buf.getvalue()


def write_warc(path: Path, records: Iterable[Rec], *, gz: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(warc_bytes(records, gz=gz))
    return path


def record_offsets(data: bytes) -> list[int]:
    """The offsets of the gzip members (records) of a gzip-per-record WARC file."""
    offsets, position = [], 0
    while position < len(data):
        offsets.append(position)
        decoder = zlib.decompressobj(31)
        decoder.decompress(data[position:])
        position = len(data) - len(decoder.unused_data)
    return offsets


# --------------------------------------------------------------------------- CLI helpers


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What archiver warned about (shown on stderr as `WARNING …` lines)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("archiver") and r.levelno >= logging.WARNING
    ]


def import_json(store: Path, *files: Path, config: Path | None = None) -> tuple[int, dict]:
    if config is None:
        result = cli_store(store, "import", *map(str, files), "--json")
    else:
        result = cli(config, "import", *map(str, files), "--json")
    no_traceback(result)
    return result.exit_code, json.loads(result.stdout)


def history(store: Path, url: str) -> list[dict]:
    result = cli_store(store, "history", url, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def versions(store: Path, url: str) -> list[int]:
    return [v["version"] for v in history(store, url)]


def verify_clean(store: Path) -> dict:
    result = cli_store(store, "verify", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["problems"] == []
    return report


def search(store: Path, *args: str) -> list[tuple[str, int]]:
    result = cli_store(store, "search", *args, "--json")
    assert result.exit_code == 0, result.output
    return [(hit["url"], hit["version"]) for hit in json.loads(result.stdout)]


def orchard_config(config_dir: Path, site: FixtureSite, retention: str = "") -> Path:
    path = write_config(config_dir, site, targets=["/orchard"], seed=False)
    if retention:
        with path.open("a", encoding="utf-8") as fh:
            fh.write("\n[retention]\n" + retention + "\n")
    return path


def crawl_text(config: Path, site: FixtureSite, word: str) -> None:
    site.routes["/orchard"] = Route(body=page(word))
    result = cli(config, "crawl")
    assert result.exit_code == 0, result.output


# =========================================================================== row 1: gc


def soon() -> str:
    """A WARC-Date an hour from now: after the crawl before the import."""
    return (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def browsertrix(url: str, word: str) -> list[Rec]:
    """A capture as Browsertrix writes it: response, request, screenshot, metadata."""
    return [
        Rec("warcinfo"),
        Rec("response", url, body=page(word), date=soon()),
        Rec("request", url, date=soon()),
        Rec(
            "resource",
            "urn:view:" + url,
            body=b"\x89PNG\r\n\x1a\n" + bytes(200),
            content_type="image/png",
            http=False,
        ),
        Rec(
            "metadata",
            url,
            body=b'{"pageinfo": {"title": "orchard"}}',
            content_type="application/json",
            http=False,
        ),
    ]


def _conversion(url: str, word: str) -> list[Rec]:
    recs = browsertrix(url, word)[:3]
    return [
        *recs,
        Rec("conversion", url, body=b"orchard as text", content_type="text/plain", http=False),
    ]


def _skipped(url: str, word: str) -> list[Rec]:
    # A response archiver cannot ingest (no target URI): it stays only in the file.
    return [*browsertrix(url, word)[:3], Rec("response", None, body=page("유령꽃"))]


def _dns(url: str, word: str) -> list[Rec]:
    dns = Rec(
        "response", "dns:example.com", body=b"example.com. 300 IN A 93.184.216.34", http=False
    )
    dns.content_type = "text/dns"
    return [*browsertrix(url, word)[:3], dns]


@pytest.mark.parametrize(
    ("records", "why"),
    [
        (browsertrix, "resource"),
        (_conversion, "conversion"),
        (_skipped, "response"),
        (_dns, "response"),
    ],
    ids=["resource+metadata", "conversion", "skipped-response", "dns-response"],
)
def test_gc_keeps_an_imported_file_holding_records_archiver_did_not_ingest(
    site: FixtureSite,
    config_dir: Path,
    records: Callable[[str, str], list[Rec]],
    why: str,
) -> None:
    config = orchard_config(config_dir, site, "keep_last = 1")
    store = config_dir / "store"
    url = site.url("/orchard")
    crawl_text(config, site, "사과꽃")  # v1
    bt = write_warc(config_dir / "bt.warc.gz", records(url, "배꽃"))
    code, summary = import_json(store, bt)  # v2 (dated after v1)
    assert code == 0, summary
    stored = store / "warc" / summary["files"][0]["stored_as"]
    crawl_text(config, site, "복숭아꽃")  # v3
    crawl_text(config, site, "자두꽃")  # v4
    assert versions(store, url) == [1, 2, 3, 4]

    dry = cli(config, "gc", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert [v["version"] for v in planned["versions"]] == [2, 3]
    assert stored.name not in [w["file"] for w in planned["warc_files"]]
    [kept] = planned["kept_warc_files"]
    assert kept["file"] == stored.name and why in kept["reason"]
    text = cli(config, "gc", "--dry-run")
    assert f"kept {stored.name}" in text.stdout and why in text.stdout

    before = stored.read_bytes()
    done = cli(config, "gc", "--json")
    assert done.exit_code == 0, done.output
    assert stored.read_bytes() == before == bt.read_bytes()  # the file is still whole
    assert [k["file"] for k in json.loads(done.stdout)["kept_warc_files"]] == [stored.name]
    assert versions(store, url) == [1, 4]
    verify_clean(store)


def test_gc_deletes_an_imported_file_it_can_account_for_entirely(
    site: FixtureSite, config_dir: Path
) -> None:
    """The rule is not "never delete an import": a file of responses (with their
    requests) that all became captures goes like a crawl's file once nothing needs it."""
    config = orchard_config(config_dir, site, "keep_last = 1")
    store = config_dir / "store"
    url = site.url("/orchard")
    crawl_text(config, site, "사과꽃")
    plain = write_warc(config_dir / "plain.warc.gz", browsertrix(url, "배꽃")[:3])
    code, summary = import_json(store, plain)
    assert code == 0
    stored = store / "warc" / summary["files"][0]["stored_as"]
    crawl_text(config, site, "복숭아꽃")
    result = json.loads(cli(config, "gc", "--json").stdout)
    assert [w["file"] for w in result["warc_files"]] == [stored.name]
    assert result["kept_warc_files"] == []
    assert not stored.exists() and versions(store, url) == [1, 3]
    verify_clean(store)


# =========================================================================== row 2: bombs


TEXT_BLOCK = ("<p>" + "샘 올트먼이 오픈AI 이사회에서 해임됐다. " * 40 + "</p>\n").encode()


def _gzip_stream(size: int, encoding: str = "gzip", *, text: bool = False) -> bytes:
    """``size`` bytes of zeros (or of article text), compressed without ever holding
    them in memory."""
    wbits = 31 if encoding == "gzip" else zlib.MAX_WBITS
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = (TEXT_BLOCK * ((1 << 20) // len(TEXT_BLOCK) + 1))[: 1 << 20] if text else bytes(1 << 20)
    parts = [packer.compress(b"<html><body><p>" + b" " * 100)]
    for _ in range(size >> 20):
        parts.append(packer.compress(block))
    parts.append(packer.flush())
    return b"".join(parts)


def _chunked(data: bytes) -> bytes:
    out = b"".join(
        b"%x\r\n%s\r\n" % (len(data[i : i + 4096]), data[i : i + 4096])
        for i in range(0, len(data), 4096)
    )
    return out + b"0\r\n\r\n"


BOMBS = {
    # Content-Encoding: gzip, 8 MB of zeros from a few KB.
    "gzip": ([("Content-Type", HTML), ("Content-Encoding", "gzip")], _gzip_stream(8 << 20)),
    "deflate": (
        [("Content-Type", HTML), ("Content-Encoding", "deflate")],
        _gzip_stream(8 << 20, "deflate"),
    ),
    "chunked-gzip": (
        [
            ("Content-Type", HTML),
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
        ],
        _chunked(_gzip_stream(8 << 20)),
    ),
    # No encoding at all: 3 MB of markup in the record (the .warc.gz squeezes it).
    "identity": ([("Content-Type", HTML)], page("사과꽃") + b"<p>" + b"a" * (3 << 20)),
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_import_applies_max_bytes_and_the_bomb_guard(
    site: FixtureSite, config_dir: Path, kind: str
) -> None:
    config = write_config(config_dir, site, seed=False, extra="max_bytes = 1000000")
    store = config_dir / "store"
    headers, body = BOMBS[kind]
    bomb = write_warc(
        config_dir / "bomb.warc.gz",
        [
            Rec("response", "http://example.com/bomb", body=body, headers=headers),
            Rec("response", "http://example.com/fine", body=page("배꽃")),
        ],
    )
    assert bomb.stat().st_size < 200_000
    code, summary = import_json(store, bomb, config=config)
    states = {t["url"]: (t["state"], t["error"]) for t in summary["targets"]}
    state, error = states["http://example.com/bomb"]
    assert state == "error" and "max_bytes (1000000)" in error
    assert states["http://example.com/fine"] == ("new", None)  # one bad record stops nothing
    # Flagged like a crawl's oversized body: no version, nothing of it indexed.
    shown = cli_store(store, "show", "http://example.com/bomb")
    assert shown.exit_code == 2 and "no extracted version" in shown.stderr
    assert search(store, "사과꽃") == []
    assert (store / "catalog.sqlite3").stat().st_size < 2_000_000
    verify_clean(store)


def test_import_keeps_a_body_within_max_bytes(site: FixtureSite, config_dir: Path) -> None:
    config = write_config(config_dir, site, seed=False, extra="max_bytes = 1000000")
    headers = [("Content-Type", HTML), ("Content-Encoding", "gzip")]
    small = write_warc(
        config_dir / "small.warc.gz",
        [
            Rec(
                "response",
                "http://example.com/a",
                body=gzip.compress(page("사과꽃")),
                headers=headers,
            )
        ],
    )
    code, summary = import_json(config_dir / "store", small, config=config)
    assert code == 0 and summary["targets"][0]["state"] == "new"
    assert search(config_dir / "store", "사과꽃") == [("http://example.com/a", 1)]


@pytest.mark.slow
def test_import_of_the_400_mb_bomb_is_quick_and_small(tmp_path: Path, site: FixtureSite) -> None:
    """The issue's file: a 400 MB gzip body of article text (double gzip: a few KB on
    disk), which archiver used to decode, extract and index whole."""
    import resource
    import subprocess
    import time

    from .helpers import ARCHIVER

    config = write_config(tmp_path, site, seed=False, extra="max_bytes = 1000000")
    body = _gzip_stream(400 << 20, text=True)
    headers = [("Content-Type", HTML), ("Content-Encoding", "gzip")]
    bomb = write_warc(tmp_path / "bomb.warc.gz", [Rec("response", body=body, headers=headers)])
    started = time.monotonic()
    done = subprocess.run(
        [ARCHIVER, "--config", str(config), "import", str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert "Traceback" not in done.stderr
    assert elapsed < 30, elapsed
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kb < 600_000, peak_kb
    store = tmp_path / "store"
    assert (store / "catalog.sqlite3").stat().st_size < 2_000_000
    index_bytes = sum(p.stat().st_size for p in (store / "index").rglob("*") if p.is_file())
    assert index_bytes < 5_000_000


# =========================================================================== row 5: verify

SPELLINGS = [
    "http://example.com/story?utm_source=feed",
    "http://example.com/story#comments",
    "http://EXAMPLE.com/story",
    "http://example.com:80/story",
    "HTTPS://Example.COM:443/story?id=3&utm_medium=x",
    "<http://example.com/story?fbclid=abc>",
]


@pytest.mark.parametrize("uri", SPELLINGS)
def test_verify_compares_canonical_uris(tmp_path: Path, uri: str) -> None:
    warc = write_warc(tmp_path / "spelled.warc.gz", [Rec("response", uri, body=page("사과꽃"))])
    store = tmp_path / "store"
    code, summary = import_json(store, warc)
    assert code == 0 and summary["targets"][0]["state"] == "new"
    report = verify_clean(store)
    assert report["checked"] == 1
    assert cli_store(store, "show", uri.strip("<>")).exit_code == 0


def test_verify_still_names_a_record_for_another_page(tmp_path: Path) -> None:
    warc = write_warc(
        tmp_path / "a.warc.gz",
        [Rec("response", "http://example.com/story?utm_source=x", body=page("사과꽃"))],
    )
    store = tmp_path / "store"
    import_json(store, warc)
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        db.execute("UPDATE captures SET url = 'http://example.com/other'")
    result = cli_store(store, "verify")
    assert result.exit_code == 1
    assert "catalog says http://example.com/other" in result.stdout


# =========================================================================== row 7: order


def _one(url: str, date: str, word: str) -> Rec:
    return Rec("response", url, body=page(word), date=date)


def test_an_older_capture_takes_its_place_in_the_history(
    site: FixtureSite, config_dir: Path
) -> None:
    config = orchard_config(config_dir, site)
    store = config_dir / "store"
    url = site.url("/orchard")
    crawl_text(config, site, "사과꽃")  # v1, fetched now
    old = write_warc(config_dir / "2019.warc.gz", [_one(url, "2019-04-01T10:00:00Z", "배꽃")])
    code, summary = import_json(store, old)
    assert code == 0 and summary["targets"][0]["version"] == 2
    # v2 was captured in 2019: it goes first; numbers are never reused or renumbered.
    listed = history(store, url)
    assert [v["version"] for v in listed] == [2, 1]
    assert listed[0]["fetched_at"].startswith("2019-04-01")
    shown = json.loads(cli_store(store, "show", url, "--json").stdout)
    assert shown["version"] == 1 and "사과꽃" in shown["text"]
    diff = json.loads(cli_store(store, "diff", url, "--format", "json").stdout)
    assert (diff["from"], diff["to"]) == (2, 1)
    assert search(store, "배꽃") == [] and search(store, "사과꽃") == [(url, 1)]
    assert search(store, "배꽃", "--all-versions") == [(url, 2)]
    assert cli_store(store, "reindex").exit_code == 0  # the flags come from the catalog
    assert search(store, "배꽃") == [] and search(store, "사과꽃") == [(url, 1)]
    # The next crawl follows the latest capture, not the imported one.
    crawl_text(config, site, "복숭아꽃")
    assert versions(store, url) == [2, 1, 3]
    diff = json.loads(cli_store(store, "diff", url, "--format", "json").stdout)
    assert (diff["from"], diff["to"]) == (1, 3)
    verify_clean(store)


def test_imported_captures_are_ordered_by_capture_time(tmp_path: Path) -> None:
    store = tmp_path / "store"
    url = "http://example.com/story"
    first = write_warc(
        tmp_path / "a.warc.gz",
        [_one(url, "2024-01-01T00:00:00Z", "사과꽃"), _one(url, "2020-01-01T00:00:00Z", "배꽃")],
    )
    import_json(store, first)
    middle = write_warc(tmp_path / "b.warc.gz", [_one(url, "2022-06-01T00:00:00+09:00", "자두꽃")])
    import_json(store, middle)
    newer = write_warc(tmp_path / "c.warc.gz", [_one(url, "2025-03-01T00:00:00Z", "살구꽃")])
    import_json(store, newer)
    dates = [v["fetched_at"][:4] for v in history(store, url)]
    assert versions(store, url) == [2, 3, 1, 4] and dates == ["2020", "2022", "2024", "2025"]
    shown = json.loads(cli_store(store, "show", url, "--json").stdout)
    assert shown["version"] == 4  # a newer capture does become the latest
    assert search(store, "살구꽃") == [(url, 4)] and search(store, "사과꽃") == []
    # An older capture with the text of the version before it in time is no new version.
    same = write_warc(tmp_path / "d.warc.gz", [_one(url, "2021-01-01T00:00:00Z", "배꽃")])
    code, summary = import_json(store, same)
    assert summary["targets"][0]["state"] == "unchanged"
    assert versions(store, url) == [2, 3, 1, 4]
    verify_clean(store)


def test_gc_keeps_the_first_and_latest_by_capture_time(site: FixtureSite, config_dir: Path) -> None:
    config = orchard_config(config_dir, site, "keep_last = 1")
    store = config_dir / "store"
    url = site.url("/orchard")
    crawl_text(config, site, "사과꽃")  # v1
    crawl_text(config, site, "배꽃")  # v2
    old = write_warc(config_dir / "old.warc.gz", [_one(url, "2019-04-01T10:00:00Z", "살구꽃")])
    import_json(store, old)  # v3, the first capture in time
    result = json.loads(cli(config, "gc", "--json").stdout)
    assert [v["version"] for v in result["versions"]] == [1]
    assert versions(store, url) == [3, 2]
    assert json.loads(cli_store(store, "show", url, "--json").stdout)["version"] == 2
    verify_clean(store)


# =========================================================================== row 8: cut files


def _five(url: str = "http://example.com/p") -> list[Rec]:
    words = ["사과꽃", "배꽃", "복숭아꽃", "자두꽃"]
    return [Rec("warcinfo")] + [
        _one(f"{url}{i}", "2024-01-01T00:00:00Z", w) for i, w in enumerate(words)
    ]


def _cut_half(data: bytes) -> tuple[bytes, int]:
    cut = data[: len(data) // 2]
    stop = max(o for o in record_offsets(data) if o <= len(cut))
    return cut, stop


def _cut_trailer(data: bytes) -> tuple[bytes, int]:
    # Only the last member's gzip trailer (CRC and size) is missing.
    return data[:-4], record_offsets(data)[-1]


def _garbage(data: bytes) -> tuple[bytes, int]:
    return data + b"this is not a WARC record\r\n" * 4, len(data)


@pytest.mark.parametrize(
    "cut", [_cut_half, _cut_trailer, _garbage], ids=["half", "trailer", "garbage"]
)
def test_a_cut_warc_gz_is_a_warning_with_the_offset_and_exit_1(
    tmp_path: Path, cut: Callable[[bytes], tuple[bytes, int]], caplog: pytest.LogCaptureFixture
) -> None:
    whole = warc_bytes(_five())
    data, stop = cut(whole)
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(data)
    store = tmp_path / "store"
    result = cli_store(store, "import", str(path), "--json")
    no_traceback(result)
    assert result.exit_code == 1, result.output
    [entry] = json.loads(result.stdout)["files"]
    assert entry["stopped_at"] == stop
    [warning] = warnings(caplog)
    assert f"byte {stop}" in warning and "cut.warc.gz" in warning
    imported = sum(1 for o in record_offsets(whole)[1:] if o < stop)
    assert entry["records"] == imported
    [run] = json.loads(cli_store(store, "runs", "--json").stdout)
    assert run["outcome"] == "partial"
    assert [e["url"] for e in run["errors"]] == [str(path)] and f"byte {stop}" in str(run)
    verify_clean(store)


def test_a_cut_uncompressed_warc_is_a_warning_with_the_offset_and_exit_1(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    whole = warc_bytes(_five(), gz=False)
    path = tmp_path / "cut.warc"
    path.write_bytes(whole[: int(len(whole) * 0.7)])
    store = tmp_path / "store"
    result = cli_store(store, "import", str(path), "--json")
    no_traceback(result)
    assert result.exit_code == 1, result.output
    [entry] = json.loads(result.stdout)["files"]
    assert 0 < entry["stopped_at"] < int(len(whole) * 0.7)
    [warning] = warnings(caplog)
    assert f"byte {entry['stopped_at']}" in warning and "cut.warc" in warning
    assert entry["records"] >= 1  # the records before the cut are in
    verify_clean(store)


# =========================================================================== row 15


@pytest.mark.parametrize(
    "bad",
    [
        Rec("response", None, body=page("유령꽃")),
        Rec("revisit", None, body=b""),
        Rec("request", None),
        Rec("response", "", body=page("유령꽃")),
        Rec("response", "http://", body=page("유령꽃")),
        Rec(
            "response",
            "http://example.com/x",
            body=b"not an HTTP response at all\r\n\r\n",
            http=False,
        ),
    ],
    ids=["response", "revisit", "request", "empty-uri", "no-host", "no-http-headers"],
)
def test_a_record_without_a_usable_target_uri_is_skipped_with_a_warning(
    tmp_path: Path, bad: Rec, caplog: pytest.LogCaptureFixture
) -> None:
    warc = write_warc(
        tmp_path / "odd.warc.gz",
        [
            _one("http://example.com/a", "2024-01-01T00:00:00Z", "사과꽃"),
            bad,
            _one("http://example.com/b", "2024-01-01T00:00:00Z", "배꽃"),
        ],
    )
    store = tmp_path / "store"
    result = cli_store(store, "import", str(warc), "--json")
    no_traceback(result)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert sorted(t["url"] for t in summary["targets"]) == [
        "http://example.com/a",
        "http://example.com/b",
    ]
    if bad.type != "request":  # a request is never a capture: no warning needed
        [skipped] = summary["files"][0]["skipped_records"]
        offset = record_offsets(warc.read_bytes())[1]
        assert skipped["offset"] == offset and skipped["type"] == bad.type
        [warning] = warnings(caplog)
        assert f"offset {offset}" in warning and "skipped" in warning
    else:
        assert warnings(caplog) == []
    verify_clean(store)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "report",
    [
        _nested(100_000),
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '[{"x":' * 30_000 + "0" + "}]" * 30_000,
    ],
    ids=["lists", "objects", "mixed"],
)
def test_gc_with_a_deeply_nested_report_is_a_one_line_error(
    site: FixtureSite, config_dir: Path, report: str
) -> None:
    config = orchard_config(config_dir, site, "keep_last = 1")
    for word in ("사과꽃", "배꽃", "복숭아꽃"):
        crawl_text(config, site, word)
    reports = config_dir / "store" / "reports"
    (reports / "x.json").write_text(report, encoding="utf-8")
    for args in (("gc", "--dry-run"), ("gc",)):
        result = cli(config, *args)
        no_traceback(result)
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1 and "archiver: error:" in result.stderr
        assert "x.json: cannot read this report" in result.stderr
    assert versions(config_dir / "store", site.url("/orchard")) == [1, 2, 3]


def test_a_report_too_large_to_read_is_a_one_line_error(
    site: FixtureSite, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archiver.crawler import retention

    monkeypatch.setattr(retention, "MAX_REPORT_BYTES", 1000)  # 64 MB in earnest
    config = orchard_config(config_dir, site, "keep_last = 1")
    for word in ("사과꽃", "배꽃", "복숭아꽃"):
        crawl_text(config, site, word)
    big = json.dumps({"notes": ["과수원" * 100] * 10})
    (config_dir / "store" / "reports" / "big.json").write_text(big, encoding="utf-8")
    result = cli(config, "gc")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "big.json: cannot read this report" in result.stderr and "bytes" in result.stderr
    assert versions(config_dir / "store", site.url("/orchard")) == [1, 2, 3]


def test_a_pin_deep_inside_a_report_is_still_found(site: FixtureSite, config_dir: Path) -> None:
    config = orchard_config(config_dir, site, "keep_last = 1")
    for word in ("사과꽃", "배꽃", "복숭아꽃"):
        crawl_text(config, site, word)
    url = site.url("/orchard")
    deep = json.dumps({"url": url, "version": 2})
    for _ in range(400):
        deep = '{"pages": [' + deep + "]}"
    (config_dir / "store" / "reports" / "deep.json").write_text(deep, encoding="utf-8")
    result = json.loads(cli(config, "gc", "--json").stdout)
    assert result["versions"] == []
    assert result["pinned_by_reports"] == [{"url": url, "version": 2, "reports": ["deep.json"]}]


# =========================================================================== fuzzing
# The 'WARC import' target of tests/test_fuzz.py: generated WARC files, valid and broken,
# through `archiver import`.

_HEADS = {
    "ok": b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
    "404": b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n",
    "gzip": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n",
    "br": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: br\r\n\r\n",
    "chunked": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
    "no-type": b"HTTP/1.0 200\r\n\r\n",
    "folded": b"HTTP/1.1 200 OK\r\nContent-Type: text/html;\r\n charset=utf-8\r\n"
    b"X: \xff\xfe\r\n\r\n",
    "bad-status": b"HTTP/1.1 2x0 OK\r\n\r\n",
    "not-http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "long-line": b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
    "no-end": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n",
    "empty": b"",
}
_URIS = [
    None,
    "",
    "http://",
    "dns:example.com",
    "urn:uuid:1234",
    "http://example.com/a?utm_source=x#top",
    "HTTP://Example.COM:80/a",
    "https://example.com:99999/b",
    "http://[::1",
    "http://exa mple.com/c",
    "<http://example.com/d>",
    "http://example.com/" + "e" * 3000,
    "http://example.com/한글?q=올트먼",
]
_DATES = [
    "2019-04-01T10:00:00Z",
    "2024-01-01T00:00:00+09:00",
    "2024-01-01",
    "not a date",
    "",
    "9999-12-31T23:59:59Z",
    "2020-02-30T00:00:00Z",
]


def _body(kind: str, word: str, junk: bytes) -> bytes:
    html = page(word) + junk
    return {
        "html": html,
        "junk": junk,
        "gzip": gzip.compress(html),
        "chunked": _chunked(html),
        "broken-chunks": b"zz\r\n" + html,
        "bomb": _gzip_stream(2 << 20),
    }[kind]


@dataclass(frozen=True)
class FuzzRecord:
    type: str
    uri: str | None
    date: str | None
    head: str
    body: str
    word: str
    junk: bytes
    digest: str  # right, wrong, sha256, hex, unknown


FUZZ_RECORDS = st.builds(
    FuzzRecord,
    st.sampled_from(
        [
            "response",
            "response",
            "response",
            "revisit",
            "request",
            "resource",
            "metadata",
            "warcinfo",
            "conversion",
            "bogus",
        ]
    ),
    st.sampled_from(_URIS) | st.text(max_size=30).map(lambda p: "http://example.com/" + p),
    st.sampled_from([*_DATES, None]),
    st.sampled_from(sorted(_HEADS)),
    st.sampled_from(["html", "html", "junk", "gzip", "chunked", "broken-chunks", "bomb"]),
    st.sampled_from(["사과꽃", "배꽃", "복숭아꽃"]),
    st.binary(max_size=60),
    st.sampled_from(["right", "right", "wrong", "sha256", "hex", "unknown"]),
)


@dataclass(frozen=True)
class FuzzFile:
    records: list[FuzzRecord]
    gz: bool
    damage: str  # none, cut, garbage, flip, no-length
    where: float  # where in the file the damage goes (0-1)
    whole: bool = False  # with gz: the file gzipped whole, not per record (issue 22)


FUZZ_FILES = st.builds(
    FuzzFile,
    st.lists(FUZZ_RECORDS, min_size=1, max_size=6),
    st.booleans(),
    st.sampled_from(["none", "none", "cut", "garbage", "flip", "no-length"]),
    st.floats(min_value=0, max_value=1),
    st.booleans(),
)


def _digest(kind: str, payload: bytes) -> str:
    sha1 = hashlib.sha1(payload).digest()
    return {
        "right": "sha1:" + base64.b32encode(sha1).decode(),
        "wrong": "sha1:" + base64.b32encode(hashlib.sha1(payload + b"!").digest()).decode(),
        "sha256": "sha256:" + base64.b32encode(hashlib.sha256(payload).digest()).decode(),
        "hex": "sha1:" + sha1.hex(),
        "unknown": "blake9:abc",
    }[kind]


def fuzz_warc(case: FuzzFile) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=case.gz and not case.whole, warc_version="1.1")
    for rec in case.records:
        head = _HEADS[rec.head]
        payload = b"" if rec.type == "revisit" else _body(rec.body, rec.word, rec.junk)
        block = head + payload
        record = writer.create_warc_record(
            "urn:placeholder",
            # warcio writes only the parsed HTTP head of a revisit: write the raw block as a
            # response's and name the type below.
            "response" if rec.type == "revisit" else rec.type,
            payload=io.BytesIO(block),
            length=len(block),
            warc_content_type="application/http; msgtype=response",
            warc_headers_dict={} if rec.date is None else {"WARC-Date": rec.date},
        )
        if rec.uri is None:
            record.rec_headers.remove_header("WARC-Target-URI")
        else:
            record.rec_headers.replace_header("WARC-Target-URI", rec.uri)
        record.rec_headers.replace_header("WARC-Type", rec.type)
        record.rec_headers.replace_header("WARC-Payload-Digest", _digest(rec.digest, payload))
        writer.write_record(record)
    data = buf.getvalue()
    if case.gz and case.whole:
        data = gzip.compress(data)
    at = int(len(data) * case.where)
    if case.damage == "cut":
        data = data[:at]
    elif case.damage == "garbage":
        data = data[:at] + b"\r\nnot a record\r\n" + data[at:]
    elif case.damage == "flip" and data:
        at = min(at, len(data) - 1)
        data = data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1 :]
    elif case.damage == "no-length" and not case.gz:
        data = data.replace(b"Content-Length:", b"Content-Lenght:", 1)
    return data


def check_warc_import(case: FuzzFile) -> None:
    """Never a traceback; never a half-recorded capture; `verify` clean afterwards."""
    with tempfile.TemporaryDirectory(prefix="archiver-fuzz-import-") as tmp:
        warc = Path(tmp) / ("fuzz.warc.gz" if case.gz else "fuzz.warc")
        warc.write_bytes(fuzz_warc(case))
        store = Path(tmp) / "store"
        result = cli_store(store, "import", str(warc), "--json")
        no_traceback(result)
        assert result.exit_code in (0, 1, 2), result.output
        if result.exit_code == 2:  # not a WARC: one line, nothing copied
            assert result.stderr.count("\n") == 1 and "archiver: error:" in result.stderr
            assert not any((store / "warc").glob("*")) if (store / "warc").exists() else True
            return
        summary = json.loads(result.stdout)
        [entry] = summary["files"]
        # Exit 1 for a file cut short or one that yielded no capture (then not kept).
        assert (result.exit_code == 1) == ("error" in entry), summary
        assert ("stopped_at" in entry) <= ("error" in entry)
        kept, skipped = sum(entry["kept"].values()), len(entry["skipped_records"])
        assert entry["records_read"] == entry["captures"] + kept + skipped, entry
        if entry["captures"] == 0:
            assert entry["stored_as"] is None and not any(store.glob("*/import-*"))
        with sqlite3.connect(store / "catalog.sqlite3") as db:
            captures = db.execute(
                "SELECT c.id, t.state, t.last_checked FROM captures c"
                " JOIN targets t ON t.id = c.target_id"
            ).fetchall()
            orphans = db.execute(
                "SELECT COUNT(*) FROM versions v LEFT JOIN captures c ON c.id = v.capture_id"
                " WHERE c.id IS NULL"
            ).fetchone()[0]
        # Every capture is whole: counted in the summary, its target's state recorded.
        assert len(captures) == entry["records"] == len(summary["targets"])
        assert all(state != "pending" and checked for _, state, checked in captures)
        assert orphans == 0
        report = cli_store(store, "verify", "--json")
        no_traceback(report)
        assert report.exit_code == 0, report.output
        assert json.loads(report.stdout)["problems"] == []


# =========================================================================== schema


def test_a_schema_1_catalog_opens_and_keeps_its_order(
    site: FixtureSite, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history order is an additive column: a catalog made before it (no
    ``versions.position``) opens read-only as it is, and migrates when opened to write."""
    from archiver.storage.catalog import Catalog
    from archiver.storage.migrations import LATEST

    config = orchard_config(config_dir, site)
    store = config_dir / "store"
    url = site.url("/orchard")
    for word in ("사과꽃", "배꽃"):
        crawl_text(config, site, word)
    with sqlite3.connect(store / "catalog.sqlite3") as db:  # back to schema 1
        db.execute("ALTER TABLE versions DROP COLUMN position")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    # On read-only media (as root, the store's permissions alone would not tell):
    with monkeypatch.context() as patch:
        patch.setattr(os, "access", lambda *args: False)
        catalog = Catalog(store / "catalog.sqlite3")
    assert catalog.read_only
    target = catalog.find_target(url)
    assert [v.version for v in catalog.versions(target.id)] == [1, 2]
    latest = catalog.latest_version(target.id)
    assert latest is not None and latest.version == 2
    catalog.close()
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        assert "position" not in {r[1] for r in db.execute("PRAGMA table_info(versions)")}
    # Writable: migrated on open, the numbers becoming the positions; then an import.
    old = write_warc(config_dir / "old.warc.gz", [_one(url, "2019-04-01T10:00:00Z", "살구꽃")])
    code, _ = import_json(store, old)
    assert code == 0 and versions(store, url) == [3, 1, 2]
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(LATEST),
        )
    verify_clean(store)
