"""Follow-up discovery: outlinks, listing pages, feeds and sitemaps, ranked by relevance."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from archiver.crawler.discover import classify
from archiver.crawler.relevance import seed_terms

from .helpers import FixtureSite, Route, cli, cli_json, write_config

SCOPE = 'follow_hosts = ["127.0.0.1"]'


def crawl(config: Path) -> Any:
    result = cli(config, "crawl", "--json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def states(summary: Any) -> dict[str, str]:
    return {t["url"]: t["state"] for t in summary["targets"]}


def show(config: Path, url: str) -> Any:
    return cli_json(config, "show", url)


def test_url_shapes() -> None:
    assert classify("https://slownews.kr/99663") == "article"
    assert classify("https://www.news.co.kr/news/articleView.html?idxno=12345") == "article"
    assert classify("https://example.com/2023/11/20/board-fires-ceo") == "article"
    for listing in (
        "https://slownews.kr/",
        "https://slownews.kr/category/tech",
        "https://slownews.kr/tag/openai",
        "https://slownews.kr/author/x",
        "https://slownews.kr/page/2",
    ):
        assert classify(listing) == "listing", listing
    assert classify("https://slownews.kr/feed") == "feed"
    assert classify("https://slownews.kr/sitemap_index.xml") == "feed"


def test_seed_key_terms_favour_names_over_common_words() -> None:
    terms = seed_terms(
        ["오픈AI가 샘 올트먼을 해고했다"],
        [
            "이사회는 올트먼의 칩 벤처 티그리스를 몰랐다. OpenAI 투자자들은 화가 났다.",
            "OpenAI의 미래는 불투명하다.",
        ],
    )
    top = terms.top(6)
    assert "openai" in top and "티그리스" in top
    assert terms.score("올트먼이 세운 티그리스, OpenAI 이사회") > 0.5
    assert terms.score("겨울 난방비 고지서") == 0.0


def test_outlinks_of_a_reference_page_are_followed_when_relevant(
    config_dir: Path, site: FixtureSite
) -> None:
    config = write_config(config_dir, site, seed=True, targets=["/99710"], extra=SCOPE)
    summary = crawl(config)
    found = states(summary)
    # 99710 links to 99663 ("이사회의 해임 결정": relevant) and 99720 ("다른 기사": no key
    # term in the anchor, so never fetched); 99663 is also the seed's own reference.
    assert site.hits("/99720") == 0
    assert found[site.url("/99710")] == "new"
    assert summary["follow_ups"] == []  # 99663 came as a reference (depth 0), not a follow-up
    provenance = show(config, site.url("/99710"))["provenance"]
    assert provenance == {"via": "target", "depth": 0, "score": None}


def feed(site: FixtureSite, items: list[tuple[str, str, str]]) -> Route:
    entries = "".join(
        f"<item><title>{t}</title><link>{site.url(p)}</link><description>{d}</description></item>"
        for p, t, d in items
    )
    return Route(
        body=f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>슬로우뉴스</title>{entries}</channel></rss>".encode(),
        content_type="application/rss+xml",
    )


def test_listing_pages_discover_but_are_not_archived(config_dir: Path, site: FixtureSite) -> None:
    site.routes["/feed"] = feed(site, [("/tag/openai", "태그: 오픈AI", "")])
    config = write_config(
        config_dir, site, seed=True, feeds=["/feed"], extra=SCOPE + "\nfollow_depth = 2"
    )
    summary = crawl(config)
    found = states(summary)
    assert found[site.url("/tag/openai")] == "archived"  # fetched, kept in WARC, no version
    # The tag page lists 99710 and 99700 (titles with seed terms) and 99720 (none).
    assert set(summary["follow_ups"]) == {site.url("/99710"), site.url("/99700")}
    assert site.hits("/99720") == 0
    follow = show(config, site.url("/99710"))
    assert follow["provenance"]["via"] == site.url("/tag/openai")
    assert follow["provenance"]["depth"] == 2 and follow["provenance"]["score"] >= 0.2
    assert site.hits("/tag/openai/page/2") == 0  # listing at depth 3 is beyond follow_depth
    history = cli(config, "history", site.url("/tag/openai"))
    assert history.exit_code == 0 and "archived" in history.stderr


def test_feed_items_ranked_and_unrelated_ones_skipped(config_dir: Path, site: FixtureSite) -> None:
    site.routes["/feed"] = feed(
        site,
        [
            ("/99710", "티그리스는 어디로", "올트먼의 반도체 구상과 오픈AI 이사회"),
            ("/99720", "겨울 난방비 고지서", "도시가스 요금이 오른다"),
            ("/99700", "올트먼은 돌아왔고, 이사회는 바뀌었다", "마이크로소프트와 오픈AI"),
        ],
    )
    config = write_config(config_dir, site, seed=True, feeds=["/feed"], extra=SCOPE)
    summary = crawl(config)
    assert states(summary)[site.url("/feed")] == "archived"
    assert set(summary["follow_ups"]) == {site.url("/99710"), site.url("/99700")}
    assert site.hits("/99720") == 0
    # A second run re-crawls the follow-ups it found and lists no new ones.
    again = crawl(config)
    assert again["follow_ups"] == []
    assert states(again)[site.url("/99710")] in ("not modified", "unchanged")


def test_sitemap_index_with_gzipped_child(config_dir: Path, site: FixtureSite) -> None:
    child = (
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{site.url('/99710')}</loc></url>"
        f"<url><loc>{site.url('/99720')}</loc></url></urlset>"
    )
    site.routes["/sitemap_index.xml"] = Route(
        body=(
            f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
            f'sitemap/0.9"><sitemap><loc>{site.url("/post-sitemap.xml.gz")}</loc></sitemap>'
            f"</sitemapindex>"
        ).encode(),
        content_type="application/xml",
    )
    site.routes["/post-sitemap.xml.gz"] = Route(
        body=gzip.compress(child.encode()), content_type="application/x-gzip"
    )
    config = write_config(
        config_dir,
        site,
        seed=True,
        feeds=["/sitemap_index.xml"],
        extra=SCOPE + "\nfollow_threshold = 0.2",
    )
    summary = crawl(config)
    found = states(summary)
    assert found[site.url("/post-sitemap.xml.gz")] == "archived"
    # Sitemap entries carry only their URL as context: nothing matches the seed there,
    # so no article is fetched from a bare sitemap (it is discovery without evidence).
    assert site.hits("/99720") == 0


def test_budget_limits_follow_ups(config_dir: Path, site: FixtureSite) -> None:
    site.routes["/feed"] = feed(site, [("/tag/openai", "태그: 오픈AI", "")])
    config = write_config(
        config_dir,
        site,
        seed=True,
        feeds=["/feed"],
        extra=SCOPE + "\nfollow_budget = 1\nfollow_depth = 2",
    )
    summary = crawl(config)
    assert len(summary["follow_ups"]) == 1
    assert site.hits("/99710") + site.hits("/99700") == 1


def test_same_article_under_another_url_is_a_duplicate(config_dir: Path, site: FixtureSite) -> None:
    site.routes["/99711"] = Route("slownews/99710.html")  # e.g. a print or AMP view
    site.routes["/feed"] = feed(
        site,
        [
            ("/99710", "티그리스는 어디로", "올트먼의 반도체 구상과 오픈AI 이사회"),
            ("/99711", "티그리스는 어디로 (인쇄용)", "올트먼의 반도체 구상과 오픈AI 이사회"),
        ],
    )
    config = write_config(config_dir, site, seed=True, feeds=["/feed"], extra=SCOPE)
    summary = crawl(config)
    # Both are fetched at once: whichever is recorded first is the article.
    [original] = summary["follow_ups"]
    twin = next(
        t
        for t in summary["targets"]
        if t["url"] in (site.url("/99710"), site.url("/99711")) and t["url"] != original
    )
    assert twin["state"] == "duplicate"
    assert twin["error"] == f"same text as {original} v1"


def test_aliases_count_other_spellings_as_the_seed_s_terms() -> None:
    titles, bodies = ["알트만 해임"], ["알트만은 OpenAI를 떠났다. 알트만의 칩 회사. OpenAI 이사회."]
    text = "올트먼은 오픈AI를 떠났다"
    plain = seed_terms(titles, bodies)
    named = seed_terms(titles, bodies, [("올트먼", "알트만"), ("오픈AI", "OpenAI")])
    assert named.score(text) > plain.score(text)
    assert named.score(text) >= 0.5


def test_reports_show_how_each_new_page_was_found(config_dir: Path, site: FixtureSite) -> None:
    site.routes["/feed"] = feed(site, [("/tag/openai", "태그: 오픈AI", "")])
    config = write_config(
        config_dir, site, seed=True, feeds=["/feed"], extra=SCOPE + "\nfollow_depth = 2"
    )
    crawl(config)
    data = cli_json(config, "report")
    new = {p["url"]: p["provenance"] for p in data["runs"][0]["new"]}
    assert new[site.url("/99663")] == {"via": "seed:1", "depth": 0, "score": None}
    follow = new[site.url("/99710")]
    assert follow["via"] == site.url("/tag/openai") and follow["depth"] == 2
    assert follow["score"] >= 0.2
    md = cli(config, "report", "--format", "markdown").output
    assert f"via {site.url('/tag/openai')}, depth 2, relevance" in md
