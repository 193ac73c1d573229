"""End to end through the CLI: crawl → search → a changed page → history → diff."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import FixtureSite, cli, cli_json, write_config

EDITED_OLD = (
    "회의는 시작부터 끝까지 30분이 채 걸리지 않았고, 올트먼은 회의 직전까지도 "
    "아무런 낌새를 알아채지 못했다고 한다."
)
EDITED_NEW = (
    "회의는 시작부터 끝까지 10분 남짓 걸렸고, 올트먼은 회의 직전까지도 "
    "아무런 낌새를 알아채지 못했다고 한다."
)
CORRECTION = (
    "[정정] 이 기사의 처음 버전은 해임 통보 회의가 30분 가까이 이어졌다는 취지로 "
    "썼으나, 실제 회의 시간은 10분 남짓이었기에 바로잡습니다. "
    "(2023년 11월 19일 오전 8시 30분 수정)"
)


@pytest.fixture
def config(config_dir: Path, site: FixtureSite) -> Path:
    return write_config(config_dir, site)


def test_crawl_search_change_history_diff(config: Path, site: FixtureSite) -> None:
    page = site.url("/99663")

    # 1. First crawl: the seed's reference is fetched and becomes version 1.
    summary = cli_json(config, "crawl")
    assert summary["fetched"] == 1 and summary["new_versions"] == 1
    assert summary["errors"] == [] and summary["unchanged"] == 0
    assert isinstance(summary["run_id"], int) and summary["follow_ups"] == []
    html = [Path(r) for r in summary["reports"] if r.endswith(".html")]
    assert len(html) == 1 and html[0].is_file() and html[0].parent.name == "reports"

    # 2. 올트먼 appears in the page only with particles; the seed post is found too.
    hits = cli_json(config, "search", "올트먼")
    found = {h["url"]: h for h in hits}
    assert page in found and "seed:1" in found
    assert "올트먼" in found[page]["snippet"]
    for key in ("url", "title", "version", "fetched_at", "published_at", "score", "snippet"):
        assert key in found[page]
    assert found[page]["published_at"] == "2023-11-18T09:12:00+09:00"

    # 3. The page changes: one edited sentence and a correction line.
    site.serve("/99663", "slownews/99663.v2.html")
    summary = cli_json(config, "crawl")
    assert summary["new_versions"] == 1 and summary["targets"][0]["state"] == "changed"

    versions = cli_json(config, "history", page)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["content_hash"] != versions[1]["content_hash"]
    assert all(v["status"] == 200 and v["title"] for v in versions)

    result = cli(config, "diff", page, "--format", "json")
    assert result.exit_code == 1, result.output  # diff(1): 1 means different
    diff = json.loads(result.stdout)
    assert (diff["from"], diff["to"], diff["changed"]) == (1, 2, True)
    assert diff["removed"] == [EDITED_OLD]
    assert diff["added"] == [EDITED_NEW, CORRECTION]
    assert 0.8 < diff["similarity"] < 1.0

    text = cli(config, "diff", page)
    assert text.exit_code == 1
    assert f"-{EDITED_OLD}" in text.output and f"+{CORRECTION}" in text.output

    same = cli(config, "diff", page, "--from", "2", "--to", "2")
    assert same.exit_code == 0

    # 4. show: latest by default, any version on request.
    latest = cli_json(config, "show", page)
    assert latest["version"] == 2 and CORRECTION in latest["text"]
    assert latest["modified_at"] == "2023-11-19T08:30:00+09:00"
    assert latest["author"] == "한서윤"
    assert latest["title"] == "오픈AI 이사회는 왜 샘 올트먼을 내보냈나"
    assert latest["metadata"]["site_name"] == "슬로우뉴스"
    assert latest["metadata"]["section"] == "테크"
    assert latest["provenance"] == {"via": "seed:1", "depth": 0, "score": None}
    first = cli_json(config, "show", page, "--version", "1")
    assert first["version"] == 1 and CORRECTION not in first["text"]

    # 5. Default search covers the latest text; --all-versions finds the old wording.
    assert page not in {h["url"] for h in cli_json(config, "search", "30분이")}
    old_hits = cli_json(config, "search", "30분이", "--all-versions")
    assert [(h["url"], h["version"]) for h in old_hits] == [(page, 1)]

    # 6. A crawl with no change adds nothing (the server answers 304 to our ETag).
    summary = cli_json(config, "crawl")
    assert summary["new_versions"] == 0 and summary["not_modified"] == 1
    assert [v["version"] for v in cli_json(config, "history", page)] == [1, 2]
    # The 304 is archived as a server-not-modified revisit of the response it confirms.
    from warcio.archiveiterator import ArchiveIterator

    newest = max(
        (config.parent / "store" / "warc").glob("*.warc.gz"), key=lambda p: p.stat().st_mtime_ns
    )
    with open(newest, "rb") as fh:
        [revisit] = [r for r in ArchiveIterator(fh) if r.rec_type == "revisit"]
        assert revisit.rec_headers.get_header("WARC-Profile").endswith("/server-not-modified")
        assert revisit.http_headers.get_statuscode() == "304"
    assert cli_json(config, "verify")["problems"] == []


def test_unchanged_page_without_validators_stores_a_revisit(
    config: Path, site: FixtureSite
) -> None:
    site.routes["/99663"].etag = False
    cli_json(config, "crawl")
    summary = cli_json(config, "crawl")
    assert summary["unchanged"] == 1 and summary["new_versions"] == 0
    verify = cli_json(config, "verify")
    assert verify == {"checked": 2, "problems": [], "torn_tails": []}
    runs = cli_json(config, "runs")
    assert [r["outcome"] for r in runs] == ["ok", "ok"]
    assert runs[1]["new_versions"] == 0


def test_against_seed_classifies_every_seed_sentence(config: Path, site: FixtureSite) -> None:
    cli_json(config, "crawl")
    result = cli(config, "diff", site.url("/99663"), "--against-seed", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    statuses = {s["status"] for s in data["seed_sentences"]}
    assert statuses <= {"present", "paraphrased", "absent"} and len(data["seed_sentences"]) > 5
    assert 0.0 <= data["similarity"] <= 1.0
    # The seed's speculation ("뇌피셜") is not in the article.
    speculation = next(s for s in data["seed_sentences"] if "퀀텀점프" in s["text"])
    assert speculation["status"] == "absent" and speculation["match"] is None


def test_warc_files_pass_warcio_check(config: Path, site: FixtureSite) -> None:
    write_config(config.parent, site, targets=["/files/report.pdf", "/moved", "/euckr"])
    cli_json(config, "crawl")
    warcs = sorted((config.parent / "store" / "warc").glob("*.warc.gz"))
    assert warcs
    for warc in warcs:
        check = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", "-v", str(warc)],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert "digest pass" in check.stdout
    index = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "index", str(warcs[0])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    types = [json.loads(line)["warc-type"] for line in index.splitlines()]
    assert types.count("response") == 5  # 99663, pdf, 301 hop, its target 99700, euckr
    assert types.count("request") == 5 and types[0] == "warcinfo"


def test_crawl_records_non_html_redirects_and_euckr(config: Path, site: FixtureSite) -> None:
    write_config(config.parent, site, targets=["/files/report.pdf", "/moved", "/euckr"])
    summary = cli_json(config, "crawl")
    states = {t["url"]: t["state"] for t in summary["targets"]}
    assert states[site.url("/files/report.pdf")] == "archived"
    assert states[site.url("/moved")] == "new"
    assert states[site.url("/euckr")] == "new"
    euckr = cli_json(config, "show", site.url("/euckr"))
    assert euckr["charset"] == "euc-kr" and "반도체" in euckr["text"]
    assert cli(config, "show", site.url("/files/report.pdf")).exit_code == 2
