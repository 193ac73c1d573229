"""A store for the web UI tests, built the way a user builds one: two crawls of the
fixture site (the seed's Slownews article edited between them, contradicting a claim of
the seed in both versions with another figure each time, a hostile page, a page
that always fails) and a snapshot bait page whose live script, external image and
meta refresh must all stay dead in the browser."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .helpers import SITE, FixtureSite, Route, cli, write_config
from .report_pages import hostile_page
from .test_claims import CLAIM

BAIT_MARK = "data-pwned"


def bait_page(site: FixtureSite) -> bytes:
    """A page whose every live part, if it ran or loaded, leaves a trace: the script
    marks the body, the image and style sheet hit the fixture site (another origin)."""
    return f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0; url={site.url("/refreshed")}">
<title>미끼 페이지</title>
<link rel="stylesheet" href="{site.url("/bait.css")}">
<script>document.documentElement.setAttribute('{BAIT_MARK}', 'snapshot');
fetch('{site.url("/fetched")}');</script>
</head><body>
<article><h1>미끼 페이지</h1>
<p>이 문단은 보관된 페이지의 본문이다. 스냅숏은 이것을 보여 주되 스크립트는 돌리지 않는다.</p>
<p>외부 이미지가 불러와지면 안 된다. <img src="{site.url("/pixel.png")}" alt="픽셀"></p>
</article></body></html>""".encode()


@dataclass(frozen=True)
class StoryStore:
    config: Path
    store: Path
    article: str  # the seed's reference, edited between the crawls
    follow_up: str  # linked from it
    hostile: str
    bait: str
    broken: str


# The article's link to OpenAI's announcement, pointed at another fixture article with
# words of the story in its anchor: the crawl follows it, so the story has a follow-up.
_LINK = '<a href="https://openai.com/blog/openai-announces-leadership-transition">발표문</a>'
FOLLOW_UP_LINK = '<a href="/99700">올트먼 해임 발표문</a>'


def article(file: str) -> Route:
    body = (SITE / "slownews" / file).read_text(encoding="utf-8")
    assert _LINK in body
    return Route(body=body.replace(_LINK, FOLLOW_UP_LINK).encode())


def build(directory: Path, site: FixtureSite) -> StoryStore:
    site.routes["/hostile"] = Route(body=hostile_page(1))
    site.routes["/bait"] = Route(body=bait_page(site))
    site.routes["/99663"] = article("99663.html")
    config = write_config(
        directory,
        site,
        targets=["/hostile", "/bait", "/status/500"],
        extra='follow_hosts = ["127.0.0.1"]',
    )
    # A claim of the post the article contradicts: 20 minutes, where v1 says 30 and v2 10.
    seed = directory / "seeds" / "careerly-altman-tigris.txt"
    text = seed.read_text(encoding="utf-8").replace("해임 사유\n", f"해임 사유\n{CLAIM}\n", 1)
    assert CLAIM in text
    seed.write_text(text, encoding="utf-8")
    for _ in range(2):
        result = cli(config, "crawl")
        assert result.exit_code in (0, 1), result.output  # /status/500 is an error
        site.routes["/99663"] = article("99663.v2.html")
        site.routes["/hostile"] = Route(body=hostile_page(2))
    return StoryStore(
        config,
        directory / "store",
        site.url("/99663"),
        site.url("/99700"),
        site.url("/hostile"),
        site.url("/bait"),
        site.url("/status/500"),
    )
