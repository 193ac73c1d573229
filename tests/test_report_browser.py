"""The HTML report in a real browser: headless Chromium renders it, scripts enabled.

The DOM after rendering must show the inserted and deleted words, and the hostile page's
markup must have stayed text: no script ran, no element from the archive exists.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from .helpers import CHROMIUM_ARGS, FixtureSite, Route, cli, write_config
from .report_pages import PWN_IMG, PWN_SCRIPT, hostile_page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (`.ci/run` installs Debian's package)"
)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    command = [
        CHROMIUM or "chromium",
        "--headless",
        *CHROMIUM_ARGS,
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_html_report_renders_changes_and_runs_no_archived_script(
    config_dir: Path, site: FixtureSite, tmp_path: Path
) -> None:
    site.routes["/hostile"] = Route(body=hostile_page(1))
    config = write_config(config_dir, site, targets=["/hostile"])
    assert cli(config, "crawl").exit_code == 0
    site.serve("/99663", "slownews/99663.v2.html")
    site.routes["/hostile"] = Route(body=hostile_page(2))
    assert cli(config, "crawl").exit_code == 0
    report = tmp_path / "report.html"
    result = cli(config, "report", "--format", "html", "--output", str(report))
    assert result.exit_code == 0, result.output

    dom = chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    tree = LexborHTMLParser(dom)
    assert tree.body is not None
    inserted = [n.text() for n in tree.css("ins")]
    deleted = [n.text() for n in tree.css("del")]
    assert "10분 남짓 걸렸고" in inserted and "30분이 채 걸리지 않았고" in deleted
    assert any("여전히" in t for t in inserted)
    assert tree.css("tr.moved")
    # The hostile page: its markup is on screen as text, and none of it became live.
    text = tree.body.text()
    assert PWN_SCRIPT in text and PWN_IMG in text
    assert tree.css("script") == [] and tree.css("img") == []
    assert "data-pwned" not in tree.body.attributes
    assert not any(name.startswith("on") for node in tree.css("*") for name in node.attributes)

    screenshot = tmp_path / "report.png"
    chromium(tmp_path, "--window-size=1280,2400", f"--screenshot={screenshot}", report.as_uri())
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000
