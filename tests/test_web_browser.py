"""`archiver serve` as a real process, driven through Debian's headless Chromium.

A user's path through the UI: search, a page, its diff, the story, a snapshot. The
browser's own network log must show no request leaving the server, and no script from the
archive may have run in any page or frame. Screenshots of each page are kept as test
artefacts in the test's tmp_path (`screenshots/`); see the README's test section.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import ARCHIVER, CHROMIUM_ARGS, FixtureSite
from .report_pages import PWN_SCRIPT
from .web_store import BAIT_MARK, StoryStore, build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import Frame, Page, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]

_missing = (
    "chromium is not installed (`.ci/run` installs Debian's package)"
    if CHROMIUM is None
    else "playwright is not installed (the dev extra has it)"
    if sync_playwright is None
    else None
)
if _missing and os.environ.get("CI"):
    raise RuntimeError(f"the browser tests cannot run in CI: {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture
def served(config_dir: Path, site: FixtureSite) -> Iterator[tuple[StoryStore, str]]:
    """The store behind `archiver serve --port 0`, started as a real process."""
    story = build(config_dir, site)
    server = subprocess.Popen(
        [ARCHIVER, "--config", str(story.config), "serve", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line, server.stderr.read() if server.stderr else ""
        url = json.loads(line)["url"]
        assert url.startswith("http://127.0.0.1:")
        yield story, url
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode in (0, -signal.SIGINT, 130), server.returncode


def pwned(frame: Frame) -> Any:
    """The mark a script from the archive would leave, in one frame (None: never ran)."""
    return frame.evaluate(
        f"""() => document.documentElement.getAttribute('{BAIT_MARK}')
            || (document.body && document.body.getAttribute('{BAIT_MARK}'))"""
    )


def test_the_ui_in_chromium(
    served: tuple[StoryStore, str], site: FixtureSite, tmp_path: Path
) -> None:
    story, base = served
    shots = tmp_path / "screenshots"
    shots.mkdir()
    assert sync_playwright is not None and CHROMIUM is not None
    requests: list[str] = []
    blocked: dict[str, str | None] = {}  # URL: why the browser did not send it
    site_hits_before = len(site.requests)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.on("request", lambda request: requests.append(request.url))
        context.on("requestfailed", lambda request: blocked.update({request.url: request.failure}))
        page = context.new_page()
        visited: list[Page] = []

        def shot(name: str) -> None:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            for frame in page.frames:
                assert pwned(frame) is None, (name, frame.url)
            visited.append(page)

        # Stories → the story's timeline.
        page.goto(base)
        assert page.evaluate("getComputedStyle(document.body).wordBreak") == "keep-all"
        assert page.evaluate("document.documentElement.lang") == "ko"
        shot("home")
        page.click("table.stories a")
        page.wait_for_url("**/story/1")
        kinds = page.eval_on_selector_all("ol.timeline li", "els => els.map(e => e.className)")
        assert kinds[0] == "post" and sorted(kinds[1:]) == ["follow-up", "version", "version"]
        assert page.locator("table.claims span.paraphrased").count() > 0
        shot("story")

        # Search through the form: 올트먼 finds the pages that write 올트먼이 and 올트먼은.
        page.fill("form.quick input[name=q]", "올트먼")
        page.press("form.quick input[name=q]", "Enter")
        page.wait_for_url("**/search?q=*")
        marks = page.locator("ol.hits mark").all_inner_texts()
        assert marks and all(m.startswith("올트먼") for m in marks)
        snippets = " ".join(page.locator("p.snippet").all_inner_texts())
        assert "올트먼은" in snippets or "올트먼이" in snippets
        titles = page.locator("ol.hits a.title").all_inner_texts()
        assert "오픈AI 이사회는 왜 샘 올트먼을 내보냈나" in titles
        shot("search")

        # The edited article: its page, then the diff with the previous version.
        page.click("ol.hits a.title >> text=오픈AI 이사회는 왜 샘 올트먼을 내보냈나")
        page.wait_for_url("**/page?*")
        assert page.locator("table.versions td.num a").all_inner_texts() == ["v1", "v2"]
        shot("page")
        page.click("table.versions a >> text=diff with previous")
        page.wait_for_url("**/diff?*")
        assert "10분 남짓 걸렸고" in page.locator("td.new ins").all_inner_texts()
        assert "30분이 채 걸리지 않았고" in page.locator("td.old del").all_inner_texts()
        shot("diff")

        # The hostile page's diff shows its markup as text.
        page.goto(f"{base}diff?url={story.hostile}")
        assert PWN_SCRIPT in page.inner_text("main")
        shot("hostile-diff")

        # Snapshots: the bait page (live script, external image, style sheet, refresh)
        # and the hostile page (its own script), each inside the sandboxed frame.
        for name, url in (("snapshot", story.bait), ("hostile-snapshot", story.hostile)):
            page.goto(f"{base}page?url={url}")
            page.click("table.versions a >> text=snapshot")
            page.wait_for_url("**/snapshot?*")
            frame = page.frame_locator("iframe.snapshot")
            assert frame.locator("h1").first.inner_text()  # the archived page is there
            page.wait_for_load_state("networkidle")
            assert url in page.inner_text(".banner")
            shot(name)
        inner = [f for f in page.frames if "/snapshot/raw" in f.url]
        assert inner and inner[0].title() != "this page's own script, never archived as text"

        page.goto(f"{base}runs/2")
        shot("run")

        # Without JavaScript: the same path works, forms and links being plain HTML.
        plain = browser.new_context(java_script_enabled=False).new_page()
        plain.goto(base)
        plain.fill("form.quick input[name=q]", "올트먼")
        plain.press("form.quick input[name=q]", "Enter")
        plain.wait_for_url("**/search?q=*")
        plain.click("ol.hits a.title >> text=오픈AI 이사회는 왜 샘 올트먼을 내보냈나")
        plain.wait_for_url("**/page?*")
        plain.select_option("form.pick select[name=from]", "1")
        plain.select_option("form.pick select[name=granularity]", "word")
        plain.click("form.pick button")
        plain.wait_for_url("**/diff?*granularity=word*")
        assert plain.locator("td.new ins").count() > 0
        browser.close()

    assert requests, "the network log is empty"
    # The snapshot's style sheet and image were asked for, and the policy refused each
    # before any byte left: the other origin saw no request at all.
    outside = {url for url in requests if not url.startswith(base)}
    assert outside == {site.url("/bait.css"), site.url("/pixel.png")}
    assert all(blocked.get(url) == "csp" for url in outside), blocked
    assert len(site.requests) == site_hits_before  # nothing reached the other origin
    assert {p.name for p in shots.iterdir()} >= {
        "home.png", "story.png", "search.png", "diff.png", "snapshot.png"
    }  # fmt: skip
