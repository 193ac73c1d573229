"""Fault fixtures: each ends in a recorded outcome, and nothing stored earlier is lost."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from .helpers import FixtureSite, Route, cli, cli_json, write_config

PAGE = "/99663"


def crawl(config: Path) -> Any:
    result = cli(config, "crawl", "--json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def state(summary: Any, url: str) -> Any:
    return next(t for t in summary["targets"] if t["url"] == url)


def assert_nothing_lost(config: Path, site: FixtureSite) -> None:
    versions = cli_json(config, "history", site.url(PAGE))
    assert [v["version"] for v in versions] == [1]
    assert cli_json(config, "verify")["problems"] == []
    hits = cli_json(config, "search", "올트먼")
    assert site.url(PAGE) in {h["url"] for h in hits}


@pytest.mark.parametrize(
    ("route", "extra", "expected"),
    [
        (Route("slownews/99663.html", delay=1.5), "timeout = 0.3", "timed out"),
        (Route("slownews/99663.html", reset_after=500), "", "connection"),
        (
            Route(body=b"x" * 300_000, content_type="text/html"),
            "max_bytes = 100000",
            "larger than max_bytes",
        ),
        (
            Route(body=gzip.compress(b"\0" * 50_000_000), headers={"Content-Encoding": "gzip"}),
            "max_bytes = 1000000",
            "larger than max_bytes",
        ),
        (Route(status=503, body=b"down"), "retries = 2", "HTTP 503"),
    ],
    ids=["slow", "reset", "too-big", "gzip-bomb", "503-always"],
)
def test_fault_after_a_good_crawl_loses_nothing(
    config_dir: Path, site: FixtureSite, route: Route, extra: str, expected: str
) -> None:
    config = write_config(config_dir, site, extra=extra)
    assert crawl(config)["new_versions"] == 1
    site.routes[PAGE] = route
    summary = crawl(config)
    outcome = state(summary, site.url(PAGE))
    assert outcome["state"] == "error" and expected in outcome["error"], outcome
    assert summary["errors"] == [{"url": site.url(PAGE), "error": outcome["error"]}]
    assert_nothing_lost(config, site)


def test_503_then_200_is_retried(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site, extra="retries = 3")
    site.routes[PAGE].statuses = [503]
    outcome = state(crawl(config), site.url(PAGE))
    assert (outcome["state"], outcome["tries"]) == ("new", 2)


def test_429_retry_after_is_honoured(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site, extra="retries = 2")
    site.routes[PAGE].statuses = [429]
    site.routes[PAGE].headers = {"Retry-After": "1"}
    outcome = state(crawl(config), site.url(PAGE))
    assert (outcome["state"], outcome["tries"]) == ("new", 2)
    first, second = site.times(PAGE)
    assert second - first >= 0.95


def test_wrong_charset_declaration_still_decodes(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site, targets=["/euckr"])
    site.routes["/euckr"].content_type = "text/html; charset=utf-8"  # a lie: bytes are EUC-KR
    assert state(crawl(config), site.url("/euckr"))["state"] == "new"
    shown = cli_json(config, "show", site.url("/euckr"))
    assert "반도체" in shown["text"] and "\ufffd" not in shown["text"]


def test_binary_labelled_html_is_archived_not_extracted(
    config_dir: Path, site: FixtureSite
) -> None:
    config = write_config(config_dir, site, targets=["/blob"])
    site.routes["/blob"] = Route(body=bytes(range(256)) * 64, content_type="text/html")
    outcome = state(crawl(config), site.url("/blob"))
    assert outcome["state"] == "archived"
    assert cli_json(config, "verify")["problems"] == []


def test_robots_disallow_is_never_requested_and_crawl_delay_is_kept(
    config_dir: Path, site: FixtureSite
) -> None:
    config = write_config(config_dir, site, targets=["/private/secret", "/99700"])
    config.write_text(config.read_text().replace("respect_robots = false", ""))
    site.routes["/robots.txt"] = Route(
        body=b"User-agent: *\nDisallow: /private/\nCrawl-delay: 0.5\n", content_type="text/plain"
    )
    site.routes["/private/secret"] = Route("slownews/99700.html")
    started = time.monotonic()
    summary = crawl(config)
    assert state(summary, site.url("/private/secret"))["state"] == "skipped"
    assert summary["skipped"] == [
        {"url": site.url("/private/secret"), "reason": "disallowed by robots.txt"}
    ]
    assert site.hits("/private/secret") == 0 and site.hits("/robots.txt") == 1
    pages = sorted(site.times(PAGE) + site.times("/99700"))
    assert len(pages) == 2 and pages[1] - pages[0] >= 0.45
    assert time.monotonic() - started < 10
