"""Run reports and diff formats through the CLI: what a user reads after each crawl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from archiver import api
from archiver.changes.render import terminal
from archiver.storage.store import Store

from .helpers import FixtureSite, Route, cli, write_config
from .report_pages import EDITED_NEW, EDITED_OLD, MOVED, PWN_IMG, PWN_SCRIPT, hostile_page
from .test_e2e import CORRECTION
from .test_e2e import EDITED_NEW as SLOW_NEW
from .test_e2e import EDITED_OLD as SLOW_OLD


def run_json(config: Path, *args: str) -> Any:
    result = cli(config, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_inert(html: str) -> None:
    """No markup from archived content: no script, no img, no event handler attribute."""
    tree = HTMLParser(html)
    assert tree.css("script") == [] and tree.css("img") == []
    for node in tree.css("*"):
        assert not any(name.lower().startswith("on") for name in node.attributes), node.html
    text = tree.body.text() if tree.body else ""
    assert PWN_SCRIPT in text or PWN_IMG in text  # shown, as text


@pytest.fixture
def crawled(config_dir: Path, site: FixtureSite) -> Path:
    """Two crawls: 99663 and the hostile page are new, then both change."""
    site.routes["/hostile"] = Route(body=hostile_page(1))
    config = write_config(config_dir, site, targets=["/hostile"])
    assert cli(config, "crawl").exit_code == 0
    site.serve("/99663", "slownews/99663.v2.html")
    site.routes["/hostile"] = Route(body=hostile_page(2))
    assert cli(config, "crawl").exit_code == 0
    return config


def test_every_crawl_writes_its_report_named_by_run_id(crawled: Path, site: FixtureSite) -> None:
    reports = crawled.parent / "store" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        f"run-00000{n}.{ext}" for n in (1, 2) for ext in ("html", "json", "md")
    ]
    first = json.loads((reports / "run-000001.json").read_text(encoding="utf-8"))["runs"][0]
    assert first["run_id"] == 1 and first["counts"]["new"] == 2
    new = {p["url"]: p for p in first["new"]}
    assert new[site.url("/99663")]["seed"] == "seed:1"
    assert 0 < new[site.url("/99663")]["coverage"] < 1
    second = json.loads((reports / "run-000002.json").read_text(encoding="utf-8"))["runs"][0]
    assert second["counts"] == {
        "new": 0,
        "changed": 2,
        "unchanged": 0,
        "not_modified": 0,
        "archived": 0,
        "errors": 0,
    }
    changed = {c["url"]: c for c in second["changed"]}
    slow = changed[site.url("/99663")]
    assert (slow["from"], slow["to"]) == (1, 2)
    assert slow["removed"] == [SLOW_OLD] and slow["added"] == [SLOW_NEW, CORRECTION]
    assert slow["metadata"]["modified_at"] == {
        "from": "2023-11-18T10:05:00+09:00",
        "to": "2023-11-19T08:30:00+09:00",
    }
    assert slow["seed"]["seed"] == "seed:1"
    hostile = changed[site.url("/hostile")]
    assert hostile["removed"] == [EDITED_OLD] and hostile["added"] == [EDITED_NEW]
    assert "title" in hostile["metadata"]
    moves = [h for h in hostile["hunks"] if h["op"] == "move"]
    assert [(m["granularity"], m["new"]) for m in moves] == [("paragraph", MOVED)]
    markdown = (reports / "run-000002.md").read_text(encoding="utf-8")
    assert "## Changed pages" in markdown and "~~" in markdown and "**" in markdown
    assert "<script" not in markdown and "<img" not in markdown


def test_report_command_selects_runs_and_formats(crawled: Path, tmp_path: Path) -> None:
    last = run_json(crawled, "report", "--json")
    assert [r["run_id"] for r in last["runs"]] == [2]
    assert [
        r["run_id"] for r in run_json(crawled, "report", "--run", "1", "--format", "json")["runs"]
    ] == [1]
    assert [
        r["run_id"] for r in run_json(crawled, "report", "--since", "2000-01-01", "--json")["runs"]
    ] == [1, 2]
    assert run_json(crawled, "report", "--since", "2999-01-01", "--json") == {"runs": []}
    for bad in (
        ["--run", "1", "--since", "2000-01-01"],
        ["--run", "99"],
        ["--since", "yesterday-ish"],
    ):
        result = cli(crawled, "report", *bad)
        assert result.exit_code == 2 and result.stderr.startswith("archiver: error:"), bad
        assert len(result.stderr.strip().splitlines()) == 1
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    assert cli(crawled, "report", "--format", "html", "--output", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert_inert(html)
    tree = HTMLParser(html)
    assert [n.text() for n in tree.css("h1")] == ["Crawl run 2"]
    assert tree.css("del") and tree.css("ins") and tree.css("tr.moved")
    # Links to archived versions are relative paths to the store's WARC files.
    warc_links = [str(a.attributes["href"]) for a in tree.css("a") if "WARC" in a.text()]
    assert warc_links and all(h.startswith("../project/store/warc/") for h in warc_links)
    for href in warc_links:
        assert (out.parent / href).resolve().is_file()


def test_report_lists_not_modified_and_errors(config_dir: Path, site: FixtureSite) -> None:
    # A fresh route: another test may have turned off the shared default route's ETag.
    site.routes["/99663"] = Route("slownews/99663.html")
    config = write_config(config_dir, site, targets=["/status/404", "/files/report.pdf"])
    cli(config, "crawl")
    cli(config, "crawl")  # the page answers 304 to our ETag now
    report = run_json(config, "report", "--json")["runs"][0]
    assert [p["url"] for p in report["not_modified"]] == [site.url("/99663")]
    assert report["not_modified"][0]["version"] == 1
    assert [p["url"] for p in report["errors"]] == [site.url("/status/404")]
    assert "404" in report["errors"][0]["error"]
    assert [p["url"] for p in report["archived"]] + [p["url"] for p in report["unchanged"]] == [
        site.url("/files/report.pdf")
    ]
    markdown = cli(config, "report").stdout
    assert "## Not modified (HTTP 304)" in markdown and "## Errors" in markdown


def test_a_failing_report_never_fails_the_crawl(
    config_dir: Path, site: FixtureSite, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(config_dir, site)
    store = config_dir / "store"
    store.mkdir()
    (store / "reports").write_text("not a folder", encoding="utf-8")
    result = cli(config, "crawl", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new_versions"] == 1
    assert "cannot write the change report" in caplog.text
    assert (store / "reports").read_text(encoding="utf-8") == "not a folder"


def test_diff_formats_escape_hostile_content(
    crawled: Path, site: FixtureSite, tmp_path: Path
) -> None:
    page = site.url("/hostile")
    html_file = tmp_path / "diff.html"
    result = cli(crawled, "diff", page, "--format", "html", "--output", str(html_file))
    assert result.exit_code == 1
    html = html_file.read_text(encoding="utf-8")
    assert_inert(html)
    tree = HTMLParser(html)
    # Self-contained: no external stylesheet, script, image or font, and a CSP forbidding them.
    assert tree.css("link") == [] and tree.css("[src]") == [] and "url(" not in html
    csp = tree.css_first("meta[http-equiv]")
    assert csp is not None and "default-src 'none'" in str(csp.attributes["content"])
    assert "여전히" in " ".join(n.text() for n in tree.css("ins"))
    seed_html = cli(crawled, "diff", site.url("/99663"), "--against-seed", "--format", "html")
    seed_tree = HTMLParser(seed_html.stdout)
    statuses = {n.text() for n in seed_tree.css("table.seed td.status")}
    assert statuses and statuses <= {"present", "paraphrased", "absent"}
    markdown = cli(crawled, "diff", page, "--format", "markdown").stdout
    assert "<script" not in markdown and "<img" not in markdown and "&lt;script&gt;" in markdown
    assert "~~" in markdown and "**" in markdown and "moved" in markdown
    text = cli(crawled, "diff", page, "--format", "text").stdout
    assert f"-{EDITED_OLD}" in text and f"+{EDITED_NEW}" in text and "# moved:" in text
    assert "# title:" in text


def test_diff_granularity_and_terminal(crawled: Path, site: FixtureSite) -> None:
    page = site.url("/99663")
    words = cli(crawled, "diff", page, "--format", "json", "--granularity", "word")
    data = json.loads(words.stdout)
    assert data["removed"] == ["30분이 채 걸리지 않았고"]
    assert data["added"][0] == "10분 남짓 걸렸고" and data["added"][1] == CORRECTION
    paragraphs = json.loads(
        cli(crawled, "diff", page, "--format", "json", "--granularity", "paragraph").stdout
    )
    assert len(paragraphs["added"]) == 2 and SLOW_NEW in paragraphs["added"][0]
    wdiff = cli(crawled, "diff", page, "--granularity", "word").stdout
    assert "[-30분이 채 걸리지 않았고-]{+10분 남짓 걸렸고+}" in wdiff
    term = cli(crawled, "diff", page, "--format", "terminal")
    assert term.exit_code == 1 and "similarity" in term.stdout and "edited" in term.stdout
    # Not a colour terminal here: the inline diff marks the words instead of colouring them.
    assert "[-30분이 채 걸리지 않았고-]{+10분 남짓 걸렸고+}" in term.stdout.replace("\n", "")


def test_terminal_diff_is_coloured_and_side_by_side_when_wide(
    crawled: Path, site: FixtureSite
) -> None:
    with Store(crawled.parent / "store") as store:
        change = api.diff(store, site.url("/99663"))
    wide = Console(width=160, record=True, force_terminal=True, color_system="standard")
    wide.print(terminal(change, wide.width))
    narrow = Console(width=80, record=True, force_terminal=True, color_system="standard")
    narrow.print(terminal(change, narrow.width))
    coloured = wide.export_text(styles=True, clear=False)
    wide_text, narrow_text = wide.export_text(), narrow.export_text()
    # Side by side: old and new wording on the same row; inline: one after the other.
    row = next(line for line in wide_text.splitlines() if "30분이" in line)
    assert "10분" in row and "v1" in wide_text and "v2" in wide_text
    assert "30분이 채 걸리지 않았고10분 남짓 걸렸고" in narrow_text.replace("\n", "")
    assert "\x1b[31" in coloured and "\x1b[1;32" in coloured  # red deletions, green insertions


def test_ignore_rules_from_config(config_dir: Path, site: FixtureSite) -> None:
    def page(views: str, minutes: int, extra: str = "") -> bytes:
        return (
            f"<html><head><title>조회수 기사</title></head><body><article>"
            f"<p>이 기사는 지금까지 조회 {views}회를 기록했다. "
            f"마지막 수정은 {minutes}분 전이다.</p>"
            f"<p>본문의 둘째 문단은 조회수와 상관없이 처음부터 끝까지 바뀌지 않는다.{extra}</p>"
            "</article></body></html>"
        ).encode()

    site.routes["/counter"] = Route(body=page("662", 3))
    config = write_config(config_dir, site, targets=["/counter"], seed=False)
    with config.open("a", encoding="utf-8") as f:
        f.write(
            '\n[[ignore]]\npattern = "조회 [0-9,]+회"\n\n'
            f'[[ignore]]\npattern = "[0-9]+분 전"\nurl = "{site.url("/")}"\n'
        )
    cli(config, "crawl")
    site.routes["/counter"] = Route(body=page("1,024", 15))
    cli(config, "crawl")
    url = site.url("/counter")
    assert [v["version"] for v in json.loads(cli(config, "history", url, "--json").stdout)] == [
        1,
        2,
    ]  # the archive keeps every version ...
    same = cli(config, "diff", url, "--format", "json")
    assert same.exit_code == 0, same.output  # ... but the diff ignores the counters
    assert json.loads(same.stdout)["changed"] is False
    site.routes["/counter"] = Route(body=page("2,048", 20, " 새 문장이 붙었다."))
    cli(config, "crawl")
    real = cli(config, "diff", url, "--format", "json")
    assert real.exit_code == 1
    assert json.loads(real.stdout)["added"] == ["새 문장이 붙었다."]


@pytest.mark.parametrize(
    "table, message",
    [
        ('[[ignore]]\npattern = "([0-9"', "ignore.pattern"),
        ('[[ignore]]\npatern = "x"', "unknown key 'ignore.patern'"),
        ('[[ignore]]\npattern = "x"\nurl = "slownews.kr"', "ignore.url"),
        ('[[ignore]]\nwhitespace = "yes"', "ignore.whitespace"),
        ('[[ignore]]\nurl = "https://slownews.kr/"', "needs 'pattern' or 'whitespace = true'"),
    ],
)
def test_bad_ignore_rules_are_one_line_errors(
    config_dir: Path, site: FixtureSite, table: str, message: str
) -> None:
    config = write_config(config_dir, site)
    with config.open("a", encoding="utf-8") as f:
        f.write("\n" + table + "\n")
    result = cli(config, "diff", site.url("/99663"))
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_long_quiet_lists_are_counted_not_listed(config_dir: Path, site: FixtureSite) -> None:
    paths = [f"/quiet/{n}" for n in range(14)]
    for path in paths:
        site.routes[path] = Route("slownews/99700.html")
    config = write_config(config_dir, site, targets=paths, seed=False)
    for _ in range(2):
        assert cli(config, "crawl").exit_code == 0
    md = cli(config, "report", "--format", "markdown")
    assert "## Not modified (HTTP 304) (14)" in md.output
    assert "… and 4 more (the JSON report lists all)" in md.output
    data = run_json(config, "report", "--json")
    assert len(data["runs"][0]["not_modified"]) == 14
