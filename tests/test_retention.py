"""`archiver gc`: retention of versions, their captures and WARC files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.config import load_config
from archiver.crawler import pipeline
from archiver.crawler.retention import collect, report_refs
from archiver.errors import StoreError
from archiver.storage.store import Store

from .helpers import FixtureSite, Route, cli, write_config

# One distinct flower per version, so a search tells which versions are still indexed.
FLOWERS = ["사과꽃", "배꽃", "복숭아꽃", "자두꽃", "살구꽃"]


def page(flower: str) -> bytes:
    return (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>과수원 일지</title>'
        f"</head><body><article><h1>과수원 일지</h1><p>올해 처음으로 {flower}이 피었다."
        " 과수원 주인은 늦서리를 걱정하며 밤새 불을 지폈다.</p></article></body></html>"
    ).encode()


def make_config(config_dir: Path, site: FixtureSite, retention: str) -> Path:
    path = write_config(config_dir, site, targets=["/orchard"], seed=False)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n[retention]\n" + retention + "\n")
    return path


def crawl_versions(config_path: Path, site: FixtureSite, flowers: list[str]) -> list[str]:
    """One crawl per entry (the page serving that text); return each run's new WARC file."""
    config = load_config(config_path)
    files: list[str] = []
    for flower in flowers:
        site.routes["/orchard"] = Route(body=page(flower))
        warc = config.store / "warc"
        before = set(warc.iterdir()) if warc.is_dir() else set()
        with Store(config.store) as store:
            summary = pipeline.crawl(config, store)
        assert not summary.errors
        [new] = set(warc.iterdir()) - before
        files.append(new.name)
    return files


def versions(config: Path, site: FixtureSite) -> list[int]:
    result = cli(config, "history", site.url("/orchard"), "--json")
    assert result.exit_code == 0, result.output
    return [v["version"] for v in json.loads(result.output)]


def indexed(config: Path, flower: str) -> list[int]:
    result = cli(config, "search", flower, "--all-versions", "--json")
    assert result.exit_code == 0, result.output
    return sorted(hit["version"] for hit in json.loads(result.output))


def verify_clean(config: Path) -> None:
    result = cli(config, "verify", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["problems"] == []


def test_gc_keeps_first_and_last_n_and_deletes_the_rest_with_their_warc_files(
    site: FixtureSite, config_dir: Path
) -> None:
    config = make_config(config_dir, site, "keep_last = 2")
    # v1, an unchanged re-crawl (304), v2, v3, v4
    files = crawl_versions(config, site, [FLOWERS[0], FLOWERS[0], *FLOWERS[1:4]])
    warc = config_dir / "store" / "warc"
    assert versions(config, site) == [1, 2, 3, 4]

    dry = cli(config, "gc", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.output)
    assert [v["version"] for v in planned["versions"]] == [2]
    assert [w["file"] for w in planned["warc_files"]] == [files[2]]  # v2's run only
    assert planned["bytes_freed"] == (warc / files[2]).stat().st_size
    assert versions(config, site) == [1, 2, 3, 4] and (warc / files[2]).is_file()

    done = cli(config, "gc")
    assert done.exit_code == 0, done.output
    assert "deleted 1 versions" in done.output
    assert versions(config, site) == [1, 3, 4]  # numbers are kept: reports cite them
    assert sorted(p.name for p in warc.iterdir()) == sorted(files[:2] + files[3:])
    assert indexed(config, FLOWERS[1]) == []  # v2's text is gone from the index
    assert indexed(config, FLOWERS[0]) == [1] and indexed(config, FLOWERS[3]) == [4]
    missing = cli(config, "show", site.url("/orchard"), "--version", "2")
    assert missing.exit_code == 2
    verify_clean(config)
    # No report left in the store names the deleted version.
    _, run_refs = report_refs(config_dir / "store" / "reports")
    assert all((site.url("/orchard"), 2) not in refs for refs in run_refs.values())
    again = json.loads(cli(config, "gc", "--json").output)
    assert again["versions"] == [] and again["captures"] == 0


def test_a_version_a_report_refers_to_is_kept(site: FixtureSite, config_dir: Path) -> None:
    config = make_config(config_dir, site, "keep_last = 1")
    crawl_versions(config, site, FLOWERS[:4])
    reports = config_dir / "store" / "reports"
    reports.mkdir(exist_ok=True)
    url = site.url("/orchard")
    (reports / "weekly.json").write_text(
        json.dumps({"title": "주간 보고", "pages": [{"url": url, "from": 2, "to": 4}]}),
        encoding="utf-8",
    )
    result = json.loads(cli(config, "gc", "--json").output)
    assert [v["version"] for v in result["versions"]] == [3]
    assert result["pinned_by_reports"] == [{"url": url, "version": 2, "reports": ["weekly.json"]}]
    assert versions(config, site) == [1, 2, 4]
    verify_clean(config)


def test_an_unreadable_report_stops_gc_before_anything_is_deleted(
    site: FixtureSite, config_dir: Path
) -> None:
    config = make_config(config_dir, site, "keep_last = 1")
    crawl_versions(config, site, FLOWERS[:3])
    (config_dir / "store" / "reports").mkdir(exist_ok=True)
    (config_dir / "store" / "reports" / "notes.json").write_text("{not json", encoding="utf-8")
    result = cli(config, "gc")
    assert result.exit_code == 1
    assert "notes.json: cannot read this report" in result.output
    assert result.output.count("\n") == 1
    assert versions(config, site) == [1, 2, 3]


def test_keep_days_counts_from_the_fetch_time(site: FixtureSite, config_dir: Path) -> None:
    config_path = make_config(config_dir, site, "keep_days = 1.5")
    crawl_versions(config_path, site, FLOWERS[:4])
    config = load_config(config_path)
    with Store(config.store) as store:
        young = collect(store, config, dry_run=True)
        assert young.versions == []  # all fetched just now
        later = datetime.now(UTC) + timedelta(days=2)
        old = collect(store, config, now=later)
    # Two days later only the first and the latest version are still kept.
    assert [v.version for v in old.versions] == [2, 3]
    assert versions(config_path, site) == [1, 4]
    verify_clean(config_path)


def test_a_kept_revisit_keeps_the_response_it_points_at(
    site: FixtureSite, config_dir: Path
) -> None:
    config = make_config(config_dir, site, "keep_last = 1")
    # v4 has v2's exact bytes: its capture is a revisit record pointing at v2's response.
    files = crawl_versions(config, site, [FLOWERS[0], FLOWERS[1], FLOWERS[2], FLOWERS[1]])
    result = json.loads(cli(config, "gc", "--json").output)
    assert [v["version"] for v in result["versions"]] == [2, 3]
    assert [w["file"] for w in result["warc_files"]] == [files[2]]  # not v2's: still needed
    warc = config_dir / "store" / "warc"
    assert (warc / files[1]).is_file() and not (warc / files[2]).exists()
    assert versions(config, site) == [1, 4]
    verify_clean(config)
    shown = json.loads(cli(config, "show", site.url("/orchard"), "--json").output)
    assert FLOWERS[1] in shown["text"]
    # The default diff compares the latest with the version kept before it.
    diff = cli(config, "diff", site.url("/orchard"), "--format", "json")
    assert diff.exit_code == 1, diff.output
    assert (json.loads(diff.output)["from"], json.loads(diff.output)["to"]) == (1, 4)


def test_without_retention_gc_deletes_nothing(site: FixtureSite, config_dir: Path) -> None:
    config = make_config(config_dir, site, "")
    crawl_versions(config, site, FLOWERS[:3])
    result = cli(config, "gc")
    assert result.exit_code == 0
    assert "retention is off" in result.output
    assert versions(config, site) == [1, 2, 3]


def test_gc_waits_for_no_one_while_a_crawl_holds_the_store(
    site: FixtureSite, config_dir: Path
) -> None:
    config = make_config(config_dir, site, "keep_last = 1")
    crawl_versions(config, site, FLOWERS[:3])
    holder = Store(config_dir / "store")
    holder.lock()
    try:
        result = cli(config, "gc")
    finally:
        holder.unlock()
    assert result.exit_code == 1
    assert "another crawl run" in result.output and result.output.count("\n") == 1
    assert versions(config, site) == [1, 2, 3]


def test_catalog_deletions_are_one_transaction(site: FixtureSite, config_dir: Path) -> None:
    config = load_config(make_config(config_dir, site, "keep_last = 1"))
    crawl_versions(config.path or Path(), site, FLOWERS[:3])
    with Store(config.store) as store:
        target = store.catalog.targets()[0]
        v1, v2, v3 = store.catalog.versions(target.id)
        # Deleting v2 together with a capture v3 still points at must fail as a whole.
        with pytest.raises(StoreError):
            store.catalog.delete_versions([v2.id], [v3.capture_id])
        assert [v.version for v in store.catalog.versions(target.id)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('keep_last = "3"', "key 'retention.keep_last' must be int"),
        ("keep_days = -1", "key 'retention.keep_days' must not be negative"),
        ("keep = 3", "unknown key 'retention.keep'"),
    ],
)
def test_bad_retention_config_is_a_one_line_error(
    site: FixtureSite, config_dir: Path, table: str, message: str
) -> None:
    result = cli(make_config(config_dir, site, table), "gc", "--dry-run")
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1
