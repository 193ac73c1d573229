"""What older and other archives hold, through `archiver import` (issue 22): ARC files,
pages stored as `resource` records, and WARCs gzipped whole.

The files are written by tests/archive_samples.py: one page captured as an ARC, as a
`resource` record and as a WARC gzipped whole. The import checks also run on warcio's own
test samples when they are in the workspace's shared/bench/warcio-samples/ (fetched data is
kept there, never committed); without them those cases skip.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from . import archive_samples as ours
from .archive_samples import first_record_offset, write_samples
from .helpers import cli, cli_store
from .test_hostile_import import (
    Rec,
    import_json,
    no_traceback,
    page,
    verify_clean,
    warc_bytes,
    write_warc,
)

WARCIO_SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "warcio-samples"


@dataclass(frozen=True)
class Samples:
    """One page captured in each format (file names by role), and what a user sees of it."""

    directory: Path
    url: str
    title: str
    word: str  # a word of the page's text, found by search
    arc_date: str
    resource_date: str
    whole_date: str
    names: dict[str, str]

    def __getitem__(self, role: str) -> Path:
        return self.directory / self.names[role]


OURS = {
    "arc": ours.ARC,
    "arc.gz": ours.ARC_GZ,
    "short arc": ours.SHORT_ARC,
    "arc v2": ours.ARC_V2,
    "resource": ours.RESOURCE_WARC,
    "whole": ours.WHOLE_WARC,
    "per record": ours.PER_RECORD_WARC,
}
# warcio's test/data files: http://example.com/ as an ARC (2014), as a Webrecorder
# resource record (2017) and as a WARC gzipped whole (2017).
WARCIO = Samples(
    WARCIO_SAMPLES,
    "http://example.com/",
    "Example Domain",
    "illustrative",
    "2014-02-16T05:02:21+00:00",
    "2017-04-29T01:30:30+00:00",
    "2017-03-06T04:02:06+00:00",
    {
        "arc": "example.arc",
        "arc.gz": "example.arc.gz",
        "short arc": "example-space-in-url.arc",
        "resource": "example-resource.warc.gz",
        "whole": "example-bad-non-chunked.warc.gz",
        "per record": "example.warc.gz",
    },
)


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    """The files archive_samples writes, once per test session."""
    directory = write_samples(tmp_path_factory.mktemp("archive-samples"))
    return Samples(
        directory,
        ours.URL,
        ours.TITLE,
        ours.WORD,
        ours.ARC_DATE,
        ours.RESOURCE_DATE,
        ours.WHOLE_DATE,
        OURS,
    )


@pytest.fixture(params=["ours", "warcio"])
def any_samples(request: pytest.FixtureRequest, samples: Samples) -> Samples:
    """Our files, then warcio's real ones when shared/bench holds them."""
    if request.param == "ours":
        return samples
    if not all(WARCIO[role].is_file() for role in WARCIO.names):
        pytest.skip(f"warcio's sample files are not in {WARCIO_SAMPLES}")
    return WARCIO


def history(store: Path, url: str) -> list[tuple[int, str]]:
    result = cli_store(store, "history", url, "--json")
    assert result.exit_code == 0, result.output
    return [(v["version"], v["fetched_at"]) for v in json.loads(result.stdout)]


def capture_rows(store: Path) -> list[tuple[str, int, str | None, str | None]]:
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        return db.execute(
            "SELECT warc_file, warc_offset, record_type, payload_digest FROM captures ORDER BY id"
        ).fetchall()


def members(data: bytes) -> int:
    """How many gzip members ``data`` holds."""
    count = 0
    while data:
        decoder = zlib.decompressobj(31)
        decoder.decompress(data)
        data = decoder.unused_data
        count += 1
    return count


def gc_config(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "archiver.toml"
    path.write_text('[store]\npath = "store"\n\n[retention]\nkeep_last = 1\n', encoding="utf-8")
    return path


def other_text(path: Path, url: str, date: str, word: str) -> Path:
    """A WARC with another text of ``url``, captured at ``date``."""
    return write_warc(path, [Rec("response", url, date=date, body=page(word, "Example"))])


def import_between(tmp_path: Path, sample: Path, url: str) -> tuple[Path, dict]:
    """Import a sample between two other texts of its page (2010, 2020), so that its
    version is neither the first nor the latest; then `gc` with ``keep_last = 1``."""
    config = gc_config(tmp_path)
    store = tmp_path / "store"
    for path in (
        other_text(tmp_path / "2010.warc.gz", url, "2010-01-01T00:00:00Z", "사과꽃"),
        sample,
        other_text(tmp_path / "2020.warc.gz", url, "2020-01-01T00:00:00Z", "배꽃"),
    ):
        assert import_json(store, path)[0] == 0
    assert [v for v, _ in history(store, url)] == [1, 2, 3]  # the sample's page is v2
    stored = {  # name in the store: its size
        str(p.relative_to(store)): p.stat().st_size for p in store.glob("*/import-*")
    }
    done = cli(config, "gc", "--json")
    assert done.exit_code == 0, done.output
    assert [v for v, _ in history(store, url)] == [1, 3]
    verify_clean(store)
    return store, {"before": stored, **json.loads(done.stdout)}


# =========================================================================== ARC


@pytest.mark.parametrize("role", ["arc", "arc.gz"])
def test_an_arc_file_is_imported_and_kept_as_it_was(
    tmp_path: Path, any_samples: Samples, role: str
) -> None:
    sample = any_samples[role]
    store = tmp_path / "store"
    code, summary = import_json(store, sample)
    assert code == 0, summary
    [entry] = summary["files"]
    assert entry["format"] == "arc"
    assert (entry["records_read"], entry["captures"], entry["kept"]) == (2, 1, {"warcinfo": 1})
    assert entry["skipped_records"] == [] and "error" not in entry
    # The ARC itself is the evidence: in the store byte for byte, captures point into it.
    stored = store / "warc" / entry["stored_as"]
    assert stored.name.startswith("import-") and stored.name.endswith("." + role)
    assert stored.read_bytes() == sample.read_bytes()
    if role == "arc.gz":
        assert members(stored.read_bytes()) == 2  # gzipped per record: no copy made
        assert entry.get("original") is None
    [(file, offset, record_type, digest)] = capture_rows(store)
    assert (file, record_type) == (stored.name, "response") and offset > 0
    assert digest and digest.startswith("sha1:")  # computed: ARC records carry none
    # As a crawl's page: a version dated by the ARC, its text shown, searchable.
    assert history(store, any_samples.url) == [(1, any_samples.arc_date)]
    shown = json.loads(cli_store(store, "show", any_samples.url, "--json").stdout)
    assert shown["title"] == any_samples.title and any_samples.word in shown["text"]
    hits = json.loads(cli_store(store, "search", any_samples.word, "--json").stdout)
    assert [h["url"] for h in hits] == [any_samples.url]
    assert verify_clean(store)["checked"] == 1
    text = cli_store(store, "import", str(sample))
    assert text.exit_code == 0 and "already imported" in text.stdout


def test_verify_finds_a_damaged_arc_record(tmp_path: Path, samples: Samples) -> None:
    """The digest computed at import stands in for the one ARC lacks."""
    store = tmp_path / "store"
    code, summary = import_json(store, samples["arc"])
    assert code == 0
    stored = store / "warc" / summary["files"][0]["stored_as"]
    data = stored.read_bytes()
    assert data.count(ours.WORD.encode()) == 1
    stored.write_bytes(data.replace(ours.WORD.encode(), "가지치기".encode()))
    result = cli_store(store, "verify", "--json")
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert stored.name in problem and "payload digest" in problem


def test_gc_deletes_an_arc_file_no_version_needs(tmp_path: Path, samples: Samples) -> None:
    store, result = import_between(tmp_path, samples["arc"], samples.url)
    [arc] = [name.removeprefix("warc/") for name in result["before"] if name.endswith(".arc")]
    assert [v["version"] for v in result["versions"]] == [2]
    assert [w["file"] for w in result["warc_files"]] == [arc]
    assert not (store / "warc" / arc).exists()


def test_an_arc_record_longer_than_the_file_is_no_capture(
    tmp_path: Path, any_samples: Samples
) -> None:
    """An ARC whose URL has spaces and whose one record is 12 bytes shorter than its
    length field says. Read as a file cut short: the offset, exit 1, nothing kept."""
    sample = any_samples["short arc"]
    store = tmp_path / "store"
    result = cli_store(store, "import", str(sample), "--json")
    no_traceback(result)
    assert result.exit_code == 1
    [entry] = json.loads(result.stdout)["files"]
    # Where the record starts (byte 151 in warcio's file).
    assert entry["stopped_at"] == first_record_offset(sample.read_bytes())
    assert entry["captures"] == 0
    assert entry["stored_as"] is None and "no capture" in entry["error"]
    assert not any((store / "warc").glob("*"))


def test_an_arc_of_another_version_is_a_one_line_error(tmp_path: Path, samples: Samples) -> None:
    """ARC version 2 headers have ten fields, not five: read as version 1, every URL
    would come out wrong. Refused like a file that is no archive: exit 2, nothing copied."""
    store = tmp_path / "store"
    result = cli_store(store, "import", str(samples["arc v2"]))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "ARC version '2' is not supported" in result.stderr
    assert not (store / "warc").exists()


# =========================================================================== resource records


def test_an_html_resource_record_is_a_capture(tmp_path: Path, any_samples: Samples) -> None:
    store = tmp_path / "store"
    code, summary = import_json(store, any_samples["resource"])
    assert code == 0, summary
    [entry] = summary["files"]
    assert (entry["records_read"], entry["captures"], entry["kept"]) == (3, 1, {"warcinfo": 2})
    [(_, _, record_type, _)] = capture_rows(store)
    assert record_type == "resource"
    assert history(store, any_samples.url) == [(1, any_samples.resource_date)]
    shown = json.loads(cli_store(store, "show", any_samples.url, "--json").stdout)
    assert shown["title"] == any_samples.title and any_samples.word in shown["text"]
    verify_clean(store)


def test_other_resources_are_counted_and_listed_as_kept(tmp_path: Path) -> None:
    """A Browsertrix-style page: the HTML as a resource record, its screenshot and a PDF
    as resource records too. The page is ingested; the others are listed, not ingested."""
    url = "http://example.com/orchard"
    warc = write_warc(
        tmp_path / "resources.warc.gz",
        [
            Rec("warcinfo"),
            Rec("resource", url, body=page("사과꽃"), content_type="text/html", http=False),
            Rec(
                "resource",
                "urn:view:" + url,
                body=b"\x89PNG\r\n\x1a\n" + bytes(100),
                content_type="image/png",
                http=False,
            ),
            Rec(
                "resource",
                url + ".pdf",
                body=b"%PDF-1.4\n" + bytes(100),
                content_type="application/pdf",
                http=False,
            ),
        ],
    )
    store = tmp_path / "store"
    code, summary = import_json(store, warc)
    assert code == 0, summary
    [entry] = summary["files"]
    assert entry["captures"] == 1 and entry["kept"] == {"resource": 2, "warcinfo": 1}
    kept = {(k["uri"], k["content_type"]) for k in entry["kept_resources"]}
    assert kept == {("urn:view:" + url, "image/png"), (url + ".pdf", "application/pdf")}
    hits = json.loads(cli_store(store, "search", "사과꽃", "--json").stdout)
    assert [h["url"] for h in hits] == [url]
    text = cli_store(store, "import", str(warc))
    assert "already imported" in text.stdout
    verify_clean(store)


def test_the_text_summary_counts_per_file(tmp_path: Path, samples: Samples) -> None:
    store = tmp_path / "store"
    result = cli_store(store, "import", str(samples["arc"]))
    assert result.exit_code == 0, result.output
    assert f"{ours.ARC} (arc): 2 records read; 1 captures; kept 1 warcinfo" in result.stdout


# =========================================================================== gzipped whole


def test_a_warc_gzipped_whole_is_recompressed_with_the_original_kept(
    tmp_path: Path, any_samples: Samples
) -> None:
    source = any_samples["whole"]
    assert members(source.read_bytes()) == 1  # six records in one gzip member
    store = tmp_path / "store"
    code, summary = import_json(store, source)
    assert code == 0, summary
    [entry] = summary["files"]
    assert (entry["records_read"], entry["captures"]) == (6, 2)
    assert entry["kept"] == {"request": 2, "warcinfo": 2}
    original = store / entry["original"]
    copy = store / "warc" / entry["stored_as"]
    assert original.read_bytes() == source.read_bytes()  # kept as it was
    assert original.name == copy.name and original.parent.name == "originals"
    # The copy: one member per record, the same bytes once decompressed, and warcio
    # (which refuses the original) reads it.
    assert members(copy.read_bytes()) == 6
    assert gzip.decompress(copy.read_bytes()) == gzip.decompress(source.read_bytes())
    with open(copy, "rb") as fh:
        types = [r.rec_type for r in ArchiveIterator(fh)]
    assert types.count("response") == types.count("revisit") == 1
    assert history(store, any_samples.url) == [(1, any_samples.whole_date)]
    report = verify_clean(store)
    assert report["checked"] == 2 and report["originals"] == 1
    again = json.loads(cli_store(store, "import", str(source), "--json").stdout)
    assert again["files"][0]["skipped"] == "already imported"


def test_verify_notices_an_original_that_changed(tmp_path: Path, samples: Samples) -> None:
    store = tmp_path / "store"
    code, summary = import_json(store, samples["whole"])
    assert code == 0
    original = store / summary["files"][0]["original"]
    original.write_bytes(original.read_bytes()[:-8] + b"\0" * 8)
    result = cli_store(store, "verify", "--json")
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert problem.startswith(f"originals/{original.name}")


def test_gc_deletes_the_original_with_its_copy(tmp_path: Path, samples: Samples) -> None:
    store, result = import_between(tmp_path, samples["whole"], samples.url)
    [copy] = [w["file"] for w in result["warc_files"]]
    assert [o["file"] for o in result["original_files"]] == [f"originals/{copy}"]
    before = result["before"]
    assert result["bytes_freed"] == before[f"warc/{copy}"] + before[f"originals/{copy}"]
    assert not (store / "warc" / copy).exists() and not any((store / "originals").iterdir())


def compressed_prefix(data: bytes, size: int) -> int:
    """The length of the shortest start of gzip ``data`` that decompresses to at least
    ``size`` bytes."""
    decoder, out = zlib.decompressobj(31), 0
    for position in range(len(data)):
        out += len(decoder.decompress(data[position : position + 1]))
        if out >= size:
            return position + 1
    raise AssertionError(f"{len(data)} bytes decompress to fewer than {size}")


def test_a_warc_gzipped_whole_and_cut_short(tmp_path: Path, samples: Samples) -> None:
    """The records before the cut are imported; the offset named is the original's."""
    data = samples["whole"].read_bytes()
    records = gzip.decompress(data)
    revisit = records.index(b"WARC-Type: revisit")
    length = compressed_prefix(data, revisit + 100)  # inside the revisit, after the response
    assert length < len(data) - 100
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[:length])
    store = tmp_path / "store"
    code, summary = import_json(store, cut)
    assert code == 1
    [entry] = summary["files"]
    assert entry["stopped_at"] == length and "cut short" in entry["error"]
    assert entry["captures"] == 1 and not summary["complete"]
    assert history(store, samples.url) == [(1, samples.whole_date)]
    verify_clean(store)


# =========================================================================== one page, many files


@pytest.mark.parametrize(
    "roles",
    [
        ["arc", "per record"],
        ["per record", "arc"],
        ["resource", "arc.gz", "whole"],
    ],
    ids=["arc-then-warc", "warc-then-arc", "resource-arc-whole"],
)
def test_the_same_page_from_several_formats_is_one_version(
    tmp_path: Path, any_samples: Samples, roles: list[str]
) -> None:
    store = tmp_path / "store"
    for role in roles:
        code, summary = import_json(store, any_samples[role])
        assert code == 0, summary
        verify_clean(store)
    assert len(history(store, any_samples.url)) == 1
    assert len(capture_rows(store)) >= len(roles)  # every capture is kept all the same


# =========================================================================== no capture


def test_a_file_that_yields_no_capture_says_so_and_exits_1(tmp_path: Path) -> None:
    shots = write_warc(
        tmp_path / "shots.warc.gz",
        [
            Rec("warcinfo"),
            Rec(
                "resource",
                "urn:view:http://example.com/",
                body=b"\x89PNG\r\n\x1a\n" + bytes(100),
                content_type="image/png",
                http=False,
            ),
        ],
    )
    store = tmp_path / "store"
    result = cli_store(store, "import", str(shots))
    no_traceback(result)
    assert result.exit_code == 1
    assert "no capture" in result.stdout and "1 resource" in result.stdout
    code, summary = import_json(store, shots)  # not kept: tried again, same answer
    assert code == 1 and not summary["ok"]
    [entry] = summary["files"]
    assert entry["stored_as"] is None and entry["kept"] == {"resource": 1, "warcinfo": 1}
    assert not any((store / "warc").glob("*"))


def test_verify_notices_a_copy_that_no_longer_matches_its_original(
    tmp_path: Path, samples: Samples
) -> None:
    """A record no capture points at (the copy's first warcinfo) changed in the copy."""
    store = tmp_path / "store"
    code, summary = import_json(store, samples["whole"])
    assert code == 0
    copy = store / "warc" / summary["files"][0]["stored_as"]
    data = copy.read_bytes()
    decoder = zlib.decompressobj(31)
    first = decoder.decompress(data)
    recorder = ours.RECORDER.encode()
    assert recorder in first
    copy.write_bytes(gzip.compress(first.replace(recorder, recorder.upper())) + decoder.unused_data)
    result = cli_store(store, "verify", "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert any(p.startswith("originals/") and "same records" in p for p in problems), problems


def test_a_gzip_member_holding_two_records_further_on_is_recompressed_too(
    tmp_path: Path,
) -> None:
    """Gzipped per record at first, then two records in one member (gzipped in blocks):
    every record becomes readable by offset, so the file is recompressed like one
    gzipped whole and all three pages are imported."""
    first = warc_bytes([Rec("response", "http://example.com/a", body=page("사과꽃"))])
    pair = warc_bytes(
        [
            Rec("response", "http://example.com/b", body=page("배꽃")),
            Rec("response", "http://example.com/c", body=page("복숭아꽃")),
        ],
        gz=False,
    )
    mixed = tmp_path / "mixed.warc.gz"
    mixed.write_bytes(first + gzip.compress(pair))
    store = tmp_path / "store"
    code, summary = import_json(store, mixed)
    assert code == 0, summary
    [entry] = summary["files"]
    assert entry["captures"] == 3 and entry["original"].startswith("originals/")
    assert (store / entry["original"]).read_bytes() == mixed.read_bytes()
    assert members((store / "warc" / entry["stored_as"]).read_bytes()) == 3
    assert verify_clean(store)["originals"] == 1
