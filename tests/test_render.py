"""Pages whose text exists only after JavaScript: rendered in Debian's headless Chromium
(issue 13, item 5), with the crawler's guards on every request the browser makes.

The fixture pages are tests/fixtures/site/news/js/: ``article.html`` builds its article
from ``article.json`` by XHR and then asks for a path robots.txt disallows;
``restless.html`` never settles.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.net.render import Renderer, chromium_path

from .helpers import FixtureSite, Route, cli, cli_json, write_config

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Chromium (apt install chromium)")
    pytest.skip("Chromium is not installed", allow_module_level=True)
pytest.importorskip("playwright", reason="the render extra is not installed")

ARTICLE = "/news/js/article.html"
RESTLESS = "/news/js/restless.html"
PARAGRAPHS = [
    "시의회가 내년 예산안을 두고 밤늦게까지 논의를 이어갔다. "
    "쟁점은 청년 주거 지원 예산의 규모였다.",
    "의원들은 지원 대상을 넓히자는 안과 지원 금액을 늘리자는 안을 두고 의견이 갈렸다.",
    "의장은 다음 주 본회의에서 최종안을 표결에 부치겠다고 밝혔다.",
]


@pytest.fixture
def js_site(site: FixtureSite) -> FixtureSite:
    site.routes[ARTICLE] = Route("news/js/article.html")
    site.routes["/news/js/article.json"] = Route(
        "news/js/article.json", content_type="application/json"
    )
    site.routes[RESTLESS] = Route("news/js/restless.html")
    site.routes["/robots.txt"] = Route("robots.txt", content_type="text/plain")
    site.routes["/private/tracker.json"] = Route(body=b"{}", content_type="application/json")
    return site


def records(store: Path) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(type, URI, WARC headers, payload) of every record the store's WARC files hold."""
    found = []
    for path in sorted((store / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                headers = dict(record.rec_headers.headers)
                found.append(
                    (record.rec_type, headers.get("WARC-Target-URI", ""), headers,
                     record.content_stream().read())
                )  # fmt: skip
    return found


def test_auto_renders_a_page_built_by_javascript_and_archives_both(
    js_site: FixtureSite, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, js_site, targets=[ARTICLE], seed=False,
        extra='render = "auto"\nrespect_robots = true',
    )  # fmt: skip
    summary = cli_json(config, "crawl")
    [target] = summary["targets"]
    assert target["state"] == "new", target
    shown = cli_json(config, "show", js_site.url(ARTICLE))
    assert shown["text"].split("\n") == PARAGRAPHS
    assert shown["title"] == "앱으로 만든 기사"
    # The page itself was fetched once: the browser got the archived bytes, not a refetch.
    assert js_site.hits(ARTICLE) == 1
    assert js_site.hits("/news/js/article.json") == 1  # the browser's XHR, allowed
    assert js_site.hits("/private/tracker.json") == 0  # robots.txt applies to the browser
    # The HTTP response as served, and the rendered DOM as a conversion record of it.
    archived = records(tmp_path / "store")
    [response] = [r for r in archived if r[0] == "response" and r[1].endswith(ARTICLE)]
    [conversion] = [r for r in archived if r[0] == "conversion"]
    assert conversion[1] == response[1]
    assert conversion[2]["WARC-Refers-To"] == response[2]["WARC-Record-ID"]
    assert "불러오는 중" in response[3].decode() and PARAGRAPHS[0] not in response[3].decode()
    assert PARAGRAPHS[0] in conversion[3].decode()
    assert cli_json(config, "verify")["problems"] == []


def test_never_is_the_default_and_starts_no_browser(js_site: FixtureSite, tmp_path: Path) -> None:
    config = write_config(tmp_path, js_site, targets=[ARTICLE], seed=False)
    cli_json(config, "crawl")
    assert js_site.hits("/news/js/article.json") == 0
    assert not [r for r in records(tmp_path / "store") if r[0] == "conversion"]
    assert PARAGRAPHS[0] not in cli_json(config, "show", js_site.url(ARTICLE))["text"]


def test_a_target_can_ask_for_rendering_on_its_own(js_site: FixtureSite, tmp_path: Path) -> None:
    config = write_config(tmp_path, js_site, seed=False)
    text = config.read_text(encoding="utf-8")
    entry = f'[[targets]]\nurl = "{js_site.url(ARTICLE)}"\nrender = "always"\n\n'
    config.write_text(entry + text, encoding="utf-8")
    cli_json(config, "crawl")
    assert cli_json(config, "show", js_site.url(ARTICLE))["text"].split("\n") == PARAGRAPHS


def test_a_page_that_never_settles_times_out_and_keeps_its_html_text(
    js_site: FixtureSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(
        tmp_path, js_site, targets=[RESTLESS], seed=False,
        extra='render = "always"\nrender_timeout = 2',
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="archiver.crawler"):
        result = cli(config, "crawl", "--json")
    assert result.exit_code == 0, result.output
    [warning] = [r.getMessage() for r in caplog.records if "render" in r.getMessage()]
    assert warning == (
        f"{js_site.url(RESTLESS)}: render timed out after 2 s: the page never settled;"
        " its text is read from the HTML as served"
    )
    shown = cli_json(config, "show", js_site.url(RESTLESS))
    assert shown["text"].startswith("이 페이지는 스크립트가 쉬지 않고")
    assert not [r for r in records(tmp_path / "store") if r[0] == "conversion"]


def test_the_ssrf_guard_applies_to_the_browser_s_requests() -> None:
    async def nothing_disallowed(url: str) -> str | None:
        return None

    renderer = Renderer(user_agent="t", allow_private=False, timeout=5, allowed=nothing_disallowed)
    why = asyncio.run(renderer._refusal("http://10.1.2.3/internal"))
    assert why is not None and "non-public address 10.1.2.3" in why
    assert asyncio.run(renderer._refusal("ftp://example.com/x")) is not None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('[crawl]\nrender = "sometimes"',
         "key 'crawl.render' must be one of 'never', 'auto', 'always'"),
        ("[crawl]\nrender_timeout = 0", "key 'crawl.render_timeout' must be between 0 and 600"),
        ('[[targets]]\nurl = "https://a.example/"\nrender = 1',
         "key 'targets.render' must be one of"),
        ('[[feeds]]\nurl = "https://a.example/"\nrender = "auto"', "unknown key 'feeds.render'"),
    ],
)  # fmt: skip
def test_bad_render_settings_are_one_line_config_errors(
    tmp_path: Path, lines: str, message: str
) -> None:
    config = tmp_path / "archiver.toml"
    config.write_text(lines + "\n", encoding="utf-8")
    result = cli(config, "crawl")
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_seed_post_built_by_javascript_is_read_from_its_rendering(
    js_site: FixtureSite, tmp_path: Path
) -> None:
    config = write_config(tmp_path, js_site, seed=False, extra='render = "auto"')
    added = cli(config, "seeds", "add", js_site.url(ARTICLE))
    assert added.exit_code == 0, added.output
    shown = cli_json(config, "show", "seed:1")
    assert shown["text"].split("\n") == ["앱으로 만든 기사", *PARAGRAPHS]
    kinds = [(kind, uri) for kind, uri, _, _ in records(tmp_path / "store")]
    assert ("conversion", js_site.url(ARTICLE)) in kinds  # the DOM read, archived
    assert js_site.hits(ARTICLE) == 1
