"""Take the archive anywhere (issue 17): `archiver export --wacz`, `archiver import
FILE.wacz` and `archiver export --jsonl`, checked with the real tools — Webrecorder's
`wacz validate` and a pywb process replaying the exported file on 127.0.0.1.

The story store: the default seed post, its Slownews source and two targets (an EUC-KR
page and a plain one), crawled twice. The second crawl makes a 304 capture (a
server-not-modified revisit) of each page with an ETag and a revisit record (identical
payload) of the page served without one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.storage.cdxj import surt

from .helpers import ARCHIVER, FixtureSite, cli, cli_store, write_config

BIN = Path(sys.executable).parent
WACZ = BIN / "wacz"
WB_MANAGER, WAYBACK = BIN / "wb-manager", BIN / "wayback"
_missing = next(
    (f"{tool.name} is not installed (the dev extra pins it)" for tool in (WACZ, WAYBACK)
     if not tool.exists()),
    None,
)  # fmt: skip
if _missing and os.environ.get("CI"):
    raise RuntimeError(f"the WACZ tests cannot run in CI: {_missing}")
needs_tools = pytest.mark.skipif(_missing is not None, reason=_missing or "")

PAGES = {"/99663": "slownews/99663.html", "/euckr": "euckr/article.html", "/plain": None}


@dataclass
class Story:
    config: Path
    store: Path
    site: FixtureSite

    def url(self, path: str) -> str:
        return self.site.url(path)


@pytest.fixture
def story(config_dir: Path, site: FixtureSite) -> Story:
    config = write_config(config_dir, site, targets=["/euckr", "/plain"])
    site.routes["/plain"].etag = False  # the same bytes again: a revisit record
    for _ in range(2):
        result = cli(config, "crawl", "--json")
        assert result.exit_code == 0, result.output
    return Story(config, config_dir / "store", site)


def export(story: Story, path: Path, *args: str) -> dict:
    result = cli(story.config, "export", "--wacz", str(path), *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def validate(path: Path) -> None:
    done = subprocess.run(
        [str(WACZ), "validate", "-f", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation succeeded" in done.stdout


def index_lines(path: Path) -> list[dict]:
    with zipfile.ZipFile(path) as archive:
        text = archive.read("indexes/index.cdx").decode("utf-8")
    lines = []
    for line in text.splitlines():
        key, stamp, fields = line.split(" ", 2)
        lines.append({"key": key, "timestamp": stamp, **json.loads(fields)})
    return lines


def pages(path: Path) -> list[dict]:
    with zipfile.ZipFile(path) as archive:
        return [json.loads(x) for x in archive.read("pages/pages.jsonl").splitlines()]


def captures(store: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return list(db.execute("SELECT * FROM captures WHERE warc_file IS NOT NULL"))


@needs_tools
def test_export_is_a_valid_wacz_with_records_byte_for_byte(story: Story, tmp_path: Path) -> None:
    whole, one_story = tmp_path / "all.wacz", tmp_path / "story.wacz"
    summary = export(story, whole)
    export(story, one_story, "--seed", "1")
    for path in (whole, one_story):
        validate(path)
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "project")
    assert left == ["all.wacz", "story.wacz"]  # no scratch folder, no .part file
    with zipfile.ZipFile(whole) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        assert set(infos) == {
            "archive/archiver-seeds.warc.gz",
            "archive/data.warc.gz",
            "indexes/index.cdx",
            "pages/pages.jsonl",
            "datapackage.json",
        }
        for name in ("archive/data.warc.gz", "archive/archiver-seeds.warc.gz"):
            assert infos[name].compress_type == zipfile.ZIP_STORED  # replay reads by offset
        data = archive.read("archive/data.warc.gz")
        package = json.loads(archive.read("datapackage.json"))
    assert package["wacz_version"] == "1.1.1"
    # Every archived record is in the WACZ byte for byte, at the offset its line names.
    lines = {(x["url"], x["offset"]): x for x in index_lines(whole)}
    rows = captures(story.store)
    not_modified = [r for r in rows if r["status"] == 304]
    assert not_modified  # the 304s are exported, but replay must not find them (below)
    assert summary["records"] == len(rows) + 2  # and the seed post's page and fields
    for row in rows:
        stored = (story.store / "warc" / row["warc_file"]).read_bytes()
        record = stored[row["warc_offset"] : row["warc_offset"] + row["warc_length"]]
        at = data.find(record)
        assert at >= 0, row["url"]
        assert ((row["url"], str(at)) in lines) == (row["status"] != 304)
    kinds = {(x["url"], x.get("mime"), x.get("status")) for x in index_lines(whole)}
    assert (story.url("/plain"), "warc/revisit", "200") in kinds  # identical payload
    assert not any(status == "304" for _, _, status in kinds)
    # Pages: the seed post first, then each version with its title and text.
    listed = pages(whole)
    assert listed[0]["format"] == "json-pages-1.0"
    seed_page = listed[1]
    assert seed_page["url"].startswith("https://seed.archiver.invalid/")
    assert "올트먼" in seed_page["text"]
    by_url = {p["url"]: p for p in listed[1:]}
    assert "반도체" in by_url[story.url("/euckr")]["text"]
    assert by_url[story.url("/99663")]["title"]
    assert package["mainPageUrl"] == seed_page["url"]


@needs_tools
def test_a_revisit_brings_its_original_whatever_the_filter(story: Story, tmp_path: Path) -> None:
    time.sleep(1.1)  # a third crawl, in a later second than the first two
    assert cli(story.config, "crawl").exit_code == 0
    rows = captures(story.store)
    second = max(r["fetched_at"] for r in rows if r["record_type"] == "revisit")
    assert second > min(r["fetched_at"] for r in rows)
    path = tmp_path / "late.wacz"
    export(story, path, "--since", second, "--url", story.url("/plain"))
    validate(path)
    kinds = sorted(str(x.get("mime")) for x in index_lines(path))
    assert kinds == ["text/html", "warc/revisit"]  # the revisit and the response it needs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pywb(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A pywb collection folder and the base URL of the wayback server serving it."""
    root = tmp_path / "pywb"
    root.mkdir()
    subprocess.run([str(WB_MANAGER), "init", "c"], cwd=root, check=True, capture_output=True)
    port = free_port()
    yield root, f"http://127.0.0.1:{port}/c"


def wait_for_pywb(proc: subprocess.Popen[bytes], base: str) -> None:
    """Wait until pywb answers for its collection at ``base`` (its collection page: not
    just any server that may hold the port); fail if it exits or takes over a minute."""
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"pywb exited ({proc.returncode}) before it served {base}")
        try:
            with urllib.request.urlopen(base + "/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:  # not listening yet (URLError), or not yet serving it (HTTPError)
            pass
        assert time.monotonic() < deadline, f"pywb did not serve {base} within a minute"
        time.sleep(0.3)


def start_wayback(root: Path, base: str) -> subprocess.Popen[bytes]:
    port = base.split(":")[2].split("/")[0]
    log = open(root / "wayback.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [str(WAYBACK), "-p", port, "-b", "127.0.0.1"], cwd=root, stdout=log, stderr=log
    )
    try:
        wait_for_pywb(proc, base)
    except AssertionError:
        proc.terminate()
        raise AssertionError((root / "wayback.log").read_text(errors="replace")[-2000:]) from None
    return proc


def replay(base: str, url: str) -> bytes:
    with urllib.request.urlopen(f"{base}/2100id_/{url}", timeout=30) as response:
        assert response.status == 200
        return bytes(response.read())


@needs_tools
def test_pywb_replays_every_archived_url(
    story: Story, tmp_path: Path, pywb: tuple[Path, str]
) -> None:
    path = tmp_path / "all.wacz"
    export(story, path)
    root, base = pywb
    subprocess.run(
        [str(WB_MANAGER), "add", "--unpack-wacz", "c", str(path)],
        cwd=root,
        check=True,
        capture_output=True,
    )
    proc = start_wayback(root, base)
    try:
        for route_path in ("/99663", "/euckr", "/plain"):
            body = replay(base, story.url(route_path))
            assert body == story.site.routes[route_path].content(), route_path
        korean = replay(base, story.url("/euckr")).decode("euc-kr")
        assert "반도체" in korean
        seed_url = pages(path)[1]["url"]
        seed_page = replay(base, seed_url).decode("utf-8")
        assert "세계 최고 인공지능 회사 CEO가 잘렸다" in seed_page
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def search(store: Path, query: str) -> list[tuple[str, str, int]]:
    result = cli_store(store, "search", query, "--all-versions", "--json")
    assert result.exit_code == 0, result.output
    return sorted((h["url"], h["title"], h["version"]) for h in json.loads(result.stdout))


def versions(store: Path, url: str) -> list[tuple[int, str]]:
    result = cli_store(store, "history", url, "--json")
    assert result.exit_code == 0, result.output
    return [(v["version"], v["content_hash"]) for v in json.loads(result.stdout)]


def counts(store: Path) -> dict[str, int]:
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        return {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
            for t in ("seeds", "targets", "captures", "versions")
        }


def test_round_trip_gives_the_same_versions_and_search_results(
    story: Story, tmp_path: Path
) -> None:
    path = tmp_path / "story.wacz"
    export(story, path, "--seed", "1")
    copy = tmp_path / "copy"
    result = cli_store(copy, "import", str(path), "--json")
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["seeds"][0]["created"] is True
    for route_path in ("/99663",):  # the story: the seed's source
        assert versions(copy, story.url(route_path)) == versions(story.store, story.url(route_path))
    in_story = {"seed:1", story.url("/99663")}
    for query in ("올트먼", "이사회", "인공지능 회사"):
        expected = [hit for hit in search(story.store, query) if hit[0] in in_story]
        assert expected, query
        assert search(copy, query) == expected, query
    # The pages keep their provenance, so the data export reads the same (the seed's
    # claims included).
    lines = [cli_store(store, "export", "--jsonl", "-").stdout for store in (story.store, copy)]
    original = [json.loads(x) for x in lines[0].splitlines()]
    assert [json.loads(x) for x in lines[1].splitlines()] == [
        row for row in original if row["url"] == story.url("/99663")
    ]
    shown = json.loads(cli_store(copy, "show", "seed:1", "--json").stdout)
    assert "올트먼" in shown["text"]
    # Importing the same WACZ again changes nothing.
    before = counts(copy)
    again = cli_store(copy, "import", str(path), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["files"][0]["skipped"] == "already imported"
    assert counts(copy) == before
    assert search(copy, "올트먼") == search(copy, "올트먼")
    assert cli_store(copy, "verify").exit_code == 0


def test_round_trip_of_the_whole_archive(story: Story, tmp_path: Path) -> None:
    path = tmp_path / "all.wacz"
    export(story, path)
    copy = tmp_path / "copy"
    assert cli_store(copy, "import", str(path)).exit_code == 0
    for route_path in PAGES:
        url = story.url(route_path)
        assert versions(copy, url) == versions(story.store, url)
    for query in ("올트먼", "반도체", "이사회"):
        assert search(copy, query) == search(story.store, query)
    assert counts(copy)["versions"] == counts(story.store)["versions"]
    jsonl = [cli_store(store, "export", "--jsonl", "-").stdout for store in (story.store, copy)]
    assert sorted(jsonl[1].splitlines()) == sorted(jsonl[0].splitlines())


@needs_tools
def test_import_a_wacz_another_tool_wrote(story: Story, tmp_path: Path) -> None:
    """A WACZ as py-wacz (Webrecorder's, the layout Browsertrix writes) makes it: its own
    index.cdx.gz and pages, the store's WARC files inside, no seed posts."""
    path = tmp_path / "pywacz.wacz"
    warcs = sorted(str(p) for p in (story.store / "warc").glob("*.warc.gz"))
    done = subprocess.run(
        [str(WACZ), "create", "-o", str(path), *warcs], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "copy"
    result = cli_store(copy, "import", str(path), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["seeds"] == [] and summary["ok"] is True
    for route_path in PAGES:
        url = story.url(route_path)
        assert versions(copy, url) == versions(story.store, url)
    pages_only = [hit for hit in search(story.store, "반도체") if hit[0] != "seed:1"]
    assert search(copy, "반도체") == pages_only  # the pages: py-wacz carries no seed post


def _zip(members: dict[str, bytes], package: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if package is not None:
            archive.writestr("datapackage.json", json.dumps(package))
    return buf.getvalue()


def _members(path: Path) -> tuple[dict[str, bytes], dict]:
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n != "datapackage.json"}
        return members, json.loads(archive.read("datapackage.json"))


def _bad_hash(path: Path) -> bytes:
    members, package = _members(path)
    data = bytearray(members["archive/data.warc.gz"])
    data[-40] ^= 0xFF  # one byte of the last record
    members["archive/data.warc.gz"] = bytes(data)
    return _zip(members, package)


def _traversal(path: Path) -> bytes:
    members, package = _members(path)
    members["../../evil.warc.gz"] = members["archive/data.warc.gz"]
    return _zip(members, package)


def _not_a_warc(path: Path) -> bytes:
    members, package = _members(path)
    junk = b"<html>no WARC here</html>" * 40
    members["archive/data.warc.gz"] = junk
    for resource in package["resources"]:
        if resource["path"] == "archive/data.warc.gz":
            resource["hash"] = "sha256:" + hashlib.sha256(junk).hexdigest()
            resource["bytes"] = len(junk)
    return _zip(members, package)


BAD: dict[str, Callable[[Path], bytes]] = {
    "truncated": lambda path: path.read_bytes()[: path.stat().st_size * 2 // 3],
    "bad hash": _bad_hash,
    "path traversal": _traversal,
    "not a zip": lambda path: gzip.compress(path.read_bytes()[:1000]),
    "member not a WARC": _not_a_warc,
}


@pytest.mark.parametrize("damage", list(BAD))
def test_a_bad_wacz_imports_nothing(story: Story, tmp_path: Path, damage: str) -> None:
    good = tmp_path / "good.wacz"
    export(story, good, "--seed", "1")
    bad = tmp_path / "bad.wacz"
    bad.write_bytes(BAD[damage](good))
    copy = tmp_path / "copy"
    result = cli_store(copy, "import", str(bad))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archiver: error:"), result.stderr
    assert "nothing was imported" in lines[0]
    assert not (copy / "catalog.sqlite3").exists() or sum(counts(copy).values()) == 0
    assert not list(copy.glob("**/*.warc.gz"))
    assert not (tmp_path / "evil.warc.gz").exists()
    assert str(tmp_path / "copy") not in lines[0]  # names the member, not a scratch copy


@needs_tools
def test_an_export_that_selects_nothing_is_valid_and_imports_nothing(
    story: Story, tmp_path: Path
) -> None:
    path = tmp_path / "none.wacz"
    summary = export(story, path, "--url", "https://nowhere.example/")
    assert summary["records"] == 0 and summary["pages"] == 0
    validate(path)
    copy = tmp_path / "copy"
    result = cli_store(copy, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "no WARC record and no seed post" in result.stdout


JSONL_KEYS = {
    "url", "version", "fetched_at", "published_at", "modified_at", "title", "author", "text",
    "content_hash", "status", "provenance", "claims",
}  # fmt: skip


def test_jsonl_export(story: Story, tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    result = cli(story.config, "export", "--jsonl", str(path))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert {r["url"] for r in rows} == {story.url(p) for p in PAGES}
    for row in rows:
        assert set(row) == JSONL_KEYS
        assert set(row["provenance"]) == {"via", "depth", "score"}
    by_url = {r["url"]: r for r in rows}
    source = by_url[story.url("/99663")]
    assert source["provenance"]["via"] == "seed:1"
    assert source["claims"]["seed"] == "seed:1"
    statuses = {s["status"] for s in source["claims"]["sentences"]}
    assert statuses <= {"present", "paraphrased", "contradicted", "absent"} and statuses
    assert by_url[story.url("/euckr")]["claims"] is None  # a target, no seed's source
    assert "반도체" in by_url[story.url("/euckr")]["text"]
    # Same filters as --wacz; "-" writes to stdout.
    out = cli(story.config, "export", "--jsonl", "-", "--seed", "1")
    assert out.exit_code == 0, out.output
    assert [json.loads(x)["url"] for x in out.stdout.splitlines()] == [story.url("/99663")]
    prefix = cli(story.config, "export", "--jsonl", "-", "--url", story.url("/eu"))
    assert [json.loads(x)["url"] for x in prefix.stdout.splitlines()] == [story.url("/euckr")]
    late = cli(story.config, "export", "--jsonl", "-", "--since", "2100-01-01")
    assert late.exit_code == 0 and late.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["--wacz", "x.wacz", "--jsonl", "-"],
        [],
        ["--jsonl", "-", "--since", "yesterday"],
        ["--jsonl", "-", "--seed", "9"],
        ["--jsonl", "-", "--since", "2026-02-01", "--until", "2026-01-01"],
    ],
)
def test_export_usage_errors(story: Story, args: list[str]) -> None:
    result = cli(story.config, "export", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_surt_keys_match_the_surt_package() -> None:
    surt_package = pytest.importorskip("surt")  # pywb's dependency
    for url in (
        "http://127.0.0.1:8080/euckr",
        "https://www.Example.com/a/B?z=1&a=2",
        "https://slownews.kr/99663",
        "http://example.com/%ea%b0%80?q=%EA%B0%80",
        "https://news.example.co.kr/article/1?utm=1&id=2",
        "https://example.com:443/",
        "http://WWW2.Example.COM./Path/To",
        "http://example.com",
        "http://example.com:80/x",
        "https://a.b.example.org:8443/p;x=1/@y:z",
        "http://www.example.com/~user/a_b-c.html",
        "http://example.com/a#frag",
        " http://example.com:/x",
    ):
        assert surt(url) == surt_package.surt(url), url


def test_archived_bytes_unchanged_by_export(story: Story, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in (story.store / "warc").iterdir()}
    export(story, tmp_path / "x.wacz")
    after = {p.name: p.read_bytes() for p in (story.store / "warc").iterdir()}
    assert before == after
    with zipfile.ZipFile(tmp_path / "x.wacz") as archive:
        data = archive.read("archive/data.warc.gz")
    types = [r.rec_type for r in ArchiveIterator(io.BytesIO(data))]
    assert types.count("revisit") == 3 and types.count("response") == 3


@needs_tools
def test_replay_serves_the_store_in_place(story: Story) -> None:
    """`archiver replay`: pywb on 127.0.0.1 reading the store's own WARC files."""
    port = free_port()
    proc = subprocess.Popen(
        [ARCHIVER, "--config", str(story.config), "replay", "--port", str(port), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["url"] == f"http://127.0.0.1:{port}/archive/"
        assert ready["records"] == len([r for r in captures(story.store) if r["status"] != 304])
        wait_for_pywb(proc, ready["url"].rstrip("/"))
        base = ready["url"].rstrip("/")
        for route_path in PAGES:
            body = replay(base, story.url(route_path))
            assert body == story.site.routes[route_path].content(), route_path
        assert "반도체" in replay(base, story.url("/euckr")).decode("euc-kr")
        # Nothing in the store changed but the derived replay/ folder.
        assert sorted(p.name for p in (story.store / "replay").iterdir()) == [
            "config.yaml",
            "index.cdxj",
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_replay_of_no_store_is_one_line(tmp_path: Path) -> None:
    result = cli_store(tmp_path / "nothing", "replay")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().startswith("archiver: error: no archive at")


def children() -> set[int]:
    """The processes this one started and has not reaped (zombies included)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found.add(int(stat.parent.name))
    return found


def export_in_process(story: Story, out: Path, *, worker: bool) -> object:
    from archiver.crawler import wacz_export
    from archiver.crawler.selection import Selection
    from archiver.storage.store import Store

    return wacz_export.export_wacz(Store(story.store), Selection(), out, worker=worker)


@needs_tools
def test_pages_worker_writes_the_same_wacz(story: Story, tmp_path: Path) -> None:
    """With the pages written by a worker process or by the export's own, the WACZ
    holds the same members, byte for byte (but the seed posts' records, new each time:
    their record IDs), and is valid either way."""
    members = {}
    for worker in (True, False):
        out = tmp_path / f"{worker}.wacz"
        export_in_process(story, out, worker=worker)
        validate(out)
        with zipfile.ZipFile(out) as archive:
            members[worker] = {i.filename: archive.read(i) for i in archive.infolist()}
    assert set(members[True]) == set(members[False])
    for name, data in members[True].items():
        if name == "indexes/index.cdx":  # the seed records' lines name their new lengths
            lines = [
                [x for x in d.splitlines() if b'"archiver-seeds.warc.gz"' not in x]
                for d in (data, members[False][name])
            ]
            assert lines[0] == lines[1] and len(lines[0]) > 3
        elif name not in ("datapackage.json", "archive/archiver-seeds.warc.gz"):
            assert data == members[False][name], name
    new_each_time = ("archive/archiver-seeds.warc.gz", "indexes/index.cdx")
    resources = [
        sorted(
            (r["path"], r["hash"], r["bytes"])
            for r in json.loads(m["datapackage.json"])["resources"]
            if r["path"] not in new_each_time
        )
        for m in members.values()
    ]
    assert resources[0] == resources[1]
    assert "반도체" in members[True]["pages/pages.jsonl"].decode("utf-8")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".wacz") == [
        "False.wacz",
        "True.wacz",
    ]


@pytest.mark.parametrize("worker", [True, False], ids=["pages-worker", "in-process"])
def test_a_catalog_error_mid_export_leaves_nothing(
    story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker: bool
) -> None:
    """The catalog is read on a thread of its own (or by the pages worker process) and
    the bytes hashed on another: a failure there still reaches the caller, and the export
    leaves no file, no .part, no scratch folder, no thread and no process behind."""
    import threading

    from archiver.errors import StoreError
    from archiver.storage.catalog import Catalog

    def failing(self: Catalog, ids: list[int]) -> list[object]:
        raise StoreError("catalog query failed: disk I/O error")

    monkeypatch.setattr(Catalog, "version_texts_of", failing)  # the worker inherits it
    out = tmp_path / "out" / "x.wacz"
    out.parent.mkdir()
    before, processes = set(threading.enumerate()), children()
    with pytest.raises(StoreError, match="^catalog query failed: disk I/O error$"):
        export_in_process(story, out, worker=worker)
    assert list(out.parent.iterdir()) == []
    assert set(threading.enumerate()) == before
    assert children() == processes


def test_a_pages_worker_that_dies_leaves_nothing(
    story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages worker killed mid-export (as the OOM killer would): a one-line error,
    no file and no process left."""
    import signal

    from archiver.errors import StoreError
    from archiver.storage.catalog import Catalog

    test_process = os.getpid()

    def killed(self: Catalog, ids: list[int]) -> list[object]:
        assert os.getpid() != test_process  # only ever called in the worker
        os.kill(os.getpid(), signal.SIGKILL)
        return []

    monkeypatch.setattr(Catalog, "version_texts_of", killed)
    out = tmp_path / "out" / "x.wacz"
    out.parent.mkdir()
    processes = children()
    with pytest.raises(StoreError, match="^the WACZ pages writer stopped unexpectedly$") as lost:
        export_in_process(story, out, worker=True)
    assert lost.value.exit_code == 2  # the CLI's exit status
    assert list(out.parent.iterdir()) == []
    assert children() == processes


@needs_tools
def test_pages_worker_on_a_postgresql_catalog(
    config_dir: Path, site: FixtureSite, pg_dsn: str, tmp_path: Path
) -> None:
    """The worker opens its own PostgreSQL connection (never the one it was forked
    with): the same pages as the export's own process writes, and the export's process
    can use its catalog afterwards."""
    config = write_config(config_dir, site, targets=["/euckr", "/plain"])
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('path = "store"', f'path = "store"\ncatalog = "{pg_dsn}"'))
    assert cli(config, "crawl").exit_code == 0
    from archiver.crawler.selection import Selection
    from archiver.crawler.wacz_export import export_wacz
    from archiver.storage.store import Store

    store = Store(config_dir / "store", pg_dsn)  # one connection for both exports
    written = {}
    for worker in (True, False):
        out = tmp_path / f"{worker}.wacz"
        export_wacz(store, Selection(), out, worker=worker)
        validate(out)
        with zipfile.ZipFile(out) as archive:
            written[worker] = archive.read("pages/pages.jsonl")
    assert written[True] == written[False]
    assert "반도체" in written[True].decode("utf-8")


@needs_tools
def test_the_command_writes_its_pages_in_a_worker(story: Story, tmp_path: Path) -> None:
    """`archiver export --wacz` as a user runs it (its own process, no other thread): the
    pages come from the worker, the file is valid, and no process is left."""
    out = tmp_path / "cmd.wacz"
    done = subprocess.run(
        [ARCHIVER, "--config", str(story.config), "export", "--wacz", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pages"] == len(pages(out)) - 1  # the header line
    validate(out)
    by_url = {p["url"]: p for p in pages(out)[1:]}
    assert "반도체" in by_url[story.url("/euckr")]["text"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "project") == ["cmd.wacz"]


def test_no_process_to_be_had_writes_the_pages_in_process(
    story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork refused (a process limit reached): the export writes its pages itself."""
    import errno

    def refused() -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    out = tmp_path / "x.wacz"
    export_in_process(story, out, worker=True)
    by_url = {p["url"]: p for p in pages(out)[1:]}
    assert "반도체" in by_url[story.url("/euckr")]["text"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "project") == ["x.wacz"]
