"""Hostile URLs, feeds, robots.txt and charsets (issue 18): every URL ends the run in a
recorded state with a clear reason, scope rules hold for sitemaps and feeds, and odd
labels or spellings are read the way a browser reads them."""

from __future__ import annotations

import codecs
import dataclasses
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import archiver
from archiver.net.urls import canonicalize, url_problem

from .helpers import DEFAULT_SEED, FixtureSite, Route, cli, cli_json, write_config

PAGE = "/99663"  # the seed's reference on the fixture site
SCOPE = 'follow_hosts = ["127.0.0.1"]'


def crawl(config: Path) -> tuple[Result, Any]:
    result = cli(config, "crawl", "--json")
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result, json.loads(result.stdout)


def states(summary: Any) -> dict[str, Any]:
    return {t["url"]: t for t in summary["targets"]}


def no_traceback_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing a user sees without -v (warnings and up) carries a traceback."""
    leaked = [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
    assert not leaked, [r.getMessage() for r in leaked]


def assert_clean(config: Path) -> None:
    assert cli_json(config, "verify")["problems"] == []


# --------------------------------------------------------------------------- row 9


BAD_LOCATIONS = [
    ("javascript:alert(1)", "unsupported scheme javascript:"),
    ("ftp://127.0.0.1/file", "unsupported scheme ftp:"),
    ("http://127.0.0.1:99999/x", "port out of range"),
    ("http://127.0.0.1:http/x", "port is not a number"),
    ("http://[::1/x", "invalid IPv6 address"),
    ("http://[::1]]:80/x", "invalid URL"),
    ("http://exa mple.com/x", "invalid host name"),
    ("http://999.1.1.1/x", "invalid IPv4 address"),
    ("http://" + "a" * 9000 + ".com/", "URL too long"),
]


@pytest.mark.parametrize(("location", "reason"), BAD_LOCATIONS, ids=[r for _, r in BAD_LOCATIONS])
def test_a_redirect_to_an_unrequestable_url_is_that_url_s_error(
    config_dir: Path,
    site: FixtureSite,
    caplog: pytest.LogCaptureFixture,
    location: str,
    reason: str,
) -> None:
    site.routes["/r"] = Route(status=302, headers={"Location": location}, body=b"")
    config = write_config(config_dir, site, targets=["/r", "/99700"])
    for _ in range(2):  # on every run, not only the first
        result, summary = crawl(config)
        assert result.exit_code == 1
        found = states(summary)
        error = found[site.url("/r")]
        assert error["state"] == "error", error
        assert error["error"].startswith("bad redirect Location"), error
        assert reason in error["error"], error
        assert location[:40] in error["error"]  # the message names the Location
        assert "\n" not in error["error"] and len(error["error"]) < 400
        assert found[site.url("/99700")]["state"] in ("new", "not modified", "unchanged")
        assert found[site.url(PAGE)]["state"] in ("new", "not modified", "unchanged")
    history = cli(config, "history", site.url("/r"))
    assert history.exit_code == 0 and reason in history.stderr
    assert_clean(config)  # the redirect response itself is archived
    no_traceback_logged(caplog)


@pytest.mark.parametrize(
    "location",
    ["/뉴스/99700", "/뉴스/99700?q=올트먼 해임", "http://127.0.0.1:{port}/뉴스/99700#본문"],
)
def test_a_redirect_to_a_raw_utf8_location_is_followed(
    config_dir: Path, site: FixtureSite, caplog: pytest.LogCaptureFixture, location: str
) -> None:
    # Korean sites send Location as raw UTF-8 bytes; the hop is requested (and archived)
    # percent-encoded, as a browser requests it.
    location = location.replace("{port}", site.base.rsplit(":", 1)[1])
    site.routes["/뉴스/99700"] = Route("slownews/99700.html")
    site.routes["/r"] = Route(
        status=302, headers={"Location": location.encode().decode("latin-1")}, body=b""
    )
    config = write_config(config_dir, site, targets=["/r"])
    result, summary = crawl(config)
    assert result.exit_code == 0
    assert states(summary)[site.url("/r")]["state"] == "new"
    shown = cli_json(config, "show", site.url("/r"))
    assert shown["metadata"]["final_url"].startswith(site.url("/%EB%89%B4%EC%8A%A4/99700"))
    assert shown["metadata"]["final_url"].isascii()
    assert_clean(config)
    no_traceback_logged(caplog)


@pytest.mark.parametrize(
    "value", [";\x8f=\xe9", 'attachment; filename="\xea\xb8\xb0\xec\x82\xac.html"', "\xff"]
)
def test_header_values_with_raw_bytes_are_archived_percent_encoded(
    config_dir: Path, site: FixtureSite, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    # Found by the URL fuzz test: warcio refused a header value holding ";" and a byte
    # past ASCII, and the whole run ended in an internal error.
    site.routes["/odd"] = Route("slownews/99700.html", headers={"X-Odd": value})
    config = write_config(config_dir, site, targets=["/odd"])
    result, summary = crawl(config)
    assert result.exit_code == 0, result.output
    assert states(summary)[site.url("/odd")]["state"] == "new"
    from warcio.archiveiterator import ArchiveIterator

    headers = []
    for path in (config_dir / "store" / "warc").glob("*.warc.gz"):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response" and record.http_headers.get_header("X-Odd"):
                    headers.append(record.http_headers.get_header("X-Odd"))
    assert headers and all(h.isascii() and "%" in h for h in headers), headers
    assert_clean(config)
    no_traceback_logged(caplog)


# Targets the config accepts (it refuses a broken IPv6 literal or a port out of range
# when it loads: see test_targets_the_config_cannot_hold) but no request can be made to.
BAD_TARGETS = [
    ("http://127.0.0.1:0/a", "port 0"),
    ("http://127.0.0.1/" + "a" * 100_000, "URL too long"),
    ("http://999.1.1.1/a", "invalid IPv4 address"),
    ("http://a..b/", "invalid host name"),
]


@pytest.mark.parametrize(("url", "reason"), BAD_TARGETS, ids=[u[:30] for u, _ in BAD_TARGETS])
def test_an_unrequestable_target_is_that_url_s_error(
    config_dir: Path,
    site: FixtureSite,
    caplog: pytest.LogCaptureFixture,
    url: str,
    reason: str,
) -> None:
    config = write_config(config_dir, site, targets=[url, "/99700"])
    for _ in range(2):
        result, summary = crawl(config)
        assert result.exit_code == 1
        found = states(summary)
        [error] = [t for t in summary["targets"] if t["state"] == "error"]
        assert error["url"] == url
        assert reason in error["error"], error
        assert found[site.url("/99700")]["state"] in ("new", "not modified", "unchanged")
        assert found[site.url(PAGE)]["state"] in ("new", "not modified", "unchanged")
    history = cli(config, "history", url)
    assert history.exit_code == 0 and error["error"] in history.stderr
    assert_clean(config)
    no_traceback_logged(caplog)


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://[::1/", "invalid IPv6 address"), ("http://127.0.0.1:99999/a", "port out of range")],
)
def test_targets_the_config_cannot_hold(
    config_dir: Path, site: FixtureSite, url: str, reason: str
) -> None:
    # `archiver crawl` refuses them in the config file (one line, exit 2); a program
    # handing them to the library gets them recorded as errors, and the run goes on.
    config = write_config(config_dir, site, targets=[url])
    assert cli(config, "crawl").exit_code == 2
    loaded = archiver.load_config(write_config(config_dir, site, targets=["/99700"]))
    loaded = dataclasses.replace(loaded, targets=(url, site.url("/99700")))
    with archiver.Store(loaded.store) as store:
        summary = archiver.crawl(loaded, store).as_json()
    found = states(summary)
    assert found[url]["state"] == "error" and reason in found[url]["error"]
    assert found[site.url("/99700")]["state"] == "new"
    assert cli(config_dir / "archiver.toml", "history", url).exit_code == 0


def test_unrequestable_seed_references_are_errors_and_the_rest_is_archived(
    config_dir: Path, site: FixtureSite, caplog: pytest.LogCaptureFixture
) -> None:
    long_url = site.url("/" + "a" * 100_000)
    text = DEFAULT_SEED.read_text(encoding="utf-8").replace(
        "(https://slownews.kr/99663)",
        f"({site.url(PAGE)})\n참고기사: 포트 (http://127.0.0.1:99999/a)"
        f"\n참고기사: 긴 주소 ({long_url})",
    )
    seed = config_dir / "seed.txt"
    config = write_config(config_dir, site, seed=False)
    seed.write_text(text, encoding="utf-8")
    config.write_text(config.read_text() + '\n[[seeds]]\npath = "seed.txt"\n')
    result, summary = crawl(config)
    assert result.exit_code == 1
    found = states(summary)
    assert found[site.url(PAGE)]["state"] == "new"
    assert "port out of range" in found["http://127.0.0.1:99999/a"]["error"]
    assert "URL too long" in found[long_url]["error"]
    assert len(summary["errors"]) == 2
    no_traceback_logged(caplog)


def test_an_outlink_to_an_unrequestable_url_is_that_url_s_error(
    config_dir: Path, site: FixtureSite, caplog: pytest.LogCaptureFixture
) -> None:
    bad = "http://127.0.0.1:99999/2023/11/20/altman-tigris"
    site.routes["/links"] = Route(
        body=(
            "<html><head><title>올트먼과 티그리스</title></head><body><article>"
            "<p>오픈AI 이사회는 샘 올트먼을 해임했다. 티그리스 반도체 투자를 둘러싼 갈등이다. "
            f'자세한 내용은 <a href="{bad}">올트먼의 티그리스 반도체와 오픈AI 이사회</a> 기사와 '
            f'<a href="{site.url("/99710")}">티그리스는 어디로</a> 기사가 전한다. 이사회는 '
            "올트먼이 투자자들과 협의한 내용을 공유하지 않았다고 밝혔다.</p>"
            "</article></body></html>"
        ).encode()
    )
    config = write_config(config_dir, site, targets=["/links"], extra=SCOPE)
    result, summary = crawl(config)
    found = states(summary)
    assert found[bad]["state"] == "error" and "port out of range" in found[bad]["error"]
    assert found[site.url("/99710")]["state"] == "new"  # the other follow-up goes on
    assert found[site.url("/links")]["state"] == "new"
    no_traceback_logged(caplog)


def test_unparseable_feed_and_sitemap_entries_do_not_stop_the_run(
    config_dir: Path, site: FixtureSite, caplog: pytest.LogCaptureFixture
) -> None:
    bad = "http://[::1/2023/11/20/altman-tigris"
    site.routes["/feed"] = Route(
        body=(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>올트먼의 티그리스 반도체와 오픈AI 이사회</title><link>{bad}</link>"
            "</item></channel></rss>"
        ).encode(),
        content_type="application/rss+xml",
    )
    unrequestable_child = "http://127.0.0.1:99999/child.xml"  # the index's own host
    site.routes["/sitemap_index.xml"] = sitemap_index([bad + ".xml", unrequestable_child])
    site.routes["/news-sitemap.xml"] = urlset([bad])
    config = write_config(
        config_dir,
        site,
        feeds=["/feed", "/sitemap_index.xml", "/news-sitemap.xml"],
        extra=SCOPE,
    )
    with caplog.at_level(logging.INFO, logger="archiver.crawler.discover"):
        result, summary = crawl(config)
    found = states(summary)
    for feed in ("/feed", "/sitemap_index.xml", "/news-sitemap.xml"):
        assert found[site.url(feed)]["state"] == "archived"
    error = found[unrequestable_child]
    assert error["state"] == "error" and "port out of range" in error["error"]
    assert not [u for u in found if u.startswith("http://[")]  # no host: off-scope
    assert any("off-scope" in line for line in discovery_lines(caplog))
    no_traceback_logged(caplog)


def test_url_problems_and_canonical_forms_agree() -> None:
    odd_hosts = [
        ("http://exa\x00mple.com/", "invalid host name"),
        ("http://a..b/", "invalid host name"),
        ("http://" + "가" * 70 + ".com/", "invalid host name"),
        ("mailto:someone@example.com", "unsupported scheme mailto:"),
        ("/relative/path", "not an absolute URL"),
    ]
    for url, reason in BAD_TARGETS + BAD_LOCATIONS + odd_hosts:
        problem = url_problem(url)
        assert problem is not None and reason in problem, (url, problem)
        assert canonicalize(url) == url.strip()  # invalid: kept as given, never raises
    for url, canonical in [
        ("HTTP://Example.COM:80/a/./b/../c?utm_source=x#f", "http://example.com/a/c"),
        ("https://user:pw@example.com:443/", "https://example.com/"),
        ("http://[::1]:8080/a/../b", "http://[::1]:8080/b"),
        ("http://Bücher.example/ü", "http://bücher.example/%C3%BC"),
        ("http://example.com/a/%2E%2e/b/.", "http://example.com/b/"),
        ("http://exa\tmple.com/", "http://example.com/"),  # tabs and newlines dropped
    ]:
        assert url_problem(url) is None, url
        assert canonicalize(url) == canonical, url
        assert canonicalize(canonical) == canonical


# --------------------------------------------------------------------------- row 20 (fetch)


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [
        (503, "3600"),
        (429, "86400"),
        (503, "Wed, 21 Oct 2099 07:28:00 GMT"),
    ],
)
def test_retry_after_beyond_the_fetch_budget_is_reported_at_once(
    config_dir: Path, site: FixtureSite, status: int, retry_after: str
) -> None:
    site.routes["/busy"] = Route(status=status, body=b"busy", headers={"Retry-After": retry_after})
    config = write_config(config_dir, site, targets=["/busy"], extra="retries = 3\ntimeout = 2")
    started = time.monotonic()
    _, summary = crawl(config)
    assert time.monotonic() - started < 5  # no waiting for a retry that cannot come
    error = states(summary)[site.url("/busy")]
    assert error["state"] == "error"
    assert error["error"].startswith(f"HTTP {status} (Retry-After ")
    assert error["error"].endswith("s exceeds the fetch budget)")
    if retry_after.isdigit():
        assert f"Retry-After {retry_after} s" in error["error"]
    assert site.hits("/busy") == 1
    assert_clean(config)  # the answer was archived


@contextmanager
def raw_server(answer: bytes) -> Iterator[str]:
    """A server that answers every connection with ``answer`` and closes it cleanly."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\nshort",
            "connection closed mid-response (received 5 of 1000 bytes)",
        ),
        (b"", "server closed the connection without a response"),
        (b"HTTP/1.1 abc\r\n\r\n", "invalid HTTP response"),
    ],
    ids=["short-body", "no-response", "bad-status-line"],
)
def test_protocol_errors_name_the_real_cause(
    config_dir: Path, site: FixtureSite, answer: bytes, expected: str
) -> None:
    with raw_server(answer) as base:
        config = write_config(config_dir, site, targets=[base + "/x"])
        _, summary = crawl(config)
    error = states(summary)[base + "/x"]
    assert error["state"] == "error" and error["error"].startswith(expected), error
    assert states(summary)[site.url(PAGE)]["state"] == "new"


# --------------------------------------------------------------------------- row 18


@pytest.mark.parametrize("delay", ["100000", "86400", "1e9"])
def test_a_huge_crawl_delay_is_capped_with_one_warning(
    config_dir: Path,
    site: FixtureSite,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    delay: str,
) -> None:
    from archiver.net import robots

    assert getattr(robots, "CRAWL_DELAY_CAP", None) == 30.0  # what users get
    monkeypatch.setattr(robots, "CRAWL_DELAY_CAP", 0.3, raising=False)  # a test waits less
    config = write_config(config_dir, site, targets=["/99700"], extra="timeout = 1")
    config.write_text(config.read_text().replace("respect_robots = false", ""))
    site.routes["/robots.txt"] = Route(
        body=f"User-agent: *\nCrawl-delay: {delay}\n".encode(), content_type="text/plain"
    )
    with caplog.at_level(logging.WARNING, logger="archiver.net.robots"):
        _, summary = crawl(config)
    assert all(t["state"] == "new" for t in summary["targets"]), summary["targets"]
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "archiver.net.robots" and "Crawl-delay" in r.getMessage()
    ]
    assert len(warnings) == 1, warnings
    assert "127.0.0.1" in warnings[0] and f"Crawl-delay {float(delay):g} s" in warnings[0]
    assert "capped at 0.3 s" in warnings[0]
    first, second = sorted(site.times(PAGE) + site.times("/99700"))
    assert second - first >= 0.25


def test_waiting_for_a_host_s_turn_does_not_count_against_the_fetch_budget(
    config_dir: Path, site: FixtureSite
) -> None:
    # Budget per fetch: timeout * (retries + 1) * 2 = 1.2 s; one request at a time to the
    # host, 0.4 s apart: the fifth page waits 1.6 s for its turn, which is politeness, not
    # a slow server.
    pages = ["/99700", "/99710", "/99720", "/plain"]
    config = write_config(
        config_dir,
        site,
        targets=pages,
        extra="timeout = 0.3\nper_host_delay = 0.4\nper_host_concurrency = 1",
    )
    _, summary = crawl(config)
    assert {t["state"] for t in summary["targets"]} == {"new"}, summary["targets"]


def test_two_requests_in_flight_to_one_host_are_still_spaced_by_its_delay(
    config_dir: Path, site: FixtureSite
) -> None:
    pages = ["/99700", "/99710", "/99720"]
    config = write_config(
        config_dir, site, targets=pages, extra="per_host_delay = 0.3\nper_host_concurrency = 2"
    )
    _, summary = crawl(config)
    assert {t["state"] for t in summary["targets"]} == {"new"}
    times = sorted(t for page in [PAGE, *pages] for t in site.times(page))
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.25, gaps


# --------------------------------------------------------------------------- row 4


def sitemap_index(children: list[str], lastmods: list[str] | None = None) -> Route:
    items = "".join(
        f"<sitemap><loc>{c}</loc>"
        + (f"<lastmod>{lastmods[i]}</lastmod>" if lastmods else "")
        + "</sitemap>"
        for i, c in enumerate(children)
    )
    return Route(
        body=(
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
            f'sitemap/0.9">{items}</sitemapindex>'
        ).encode(),
        content_type="application/xml",
    )


def urlset(urls: list[str]) -> Route:
    items = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return Route(
        body=(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{items}</urlset>"
        ).encode(),
        content_type="application/xml",
    )


def other_host(site: FixtureSite, path: str) -> str:
    return site.url(path).replace("127.0.0.1", "localhost")


def discovery_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "archiver.crawler.discover"]


@pytest.mark.parametrize(
    ("scope", "fetched_elsewhere"),
    [
        ('follow_hosts = ["127.0.0.1"]', False),
        ('follow_hosts = ["example.org"]', False),  # the feed's own host is in scope
        ('follow_hosts = ["127.0.0.1", "localhost"]', True),
    ],
)
def test_sitemap_children_on_another_host_are_off_scope(
    config_dir: Path,
    site: FixtureSite,
    caplog: pytest.LogCaptureFixture,
    scope: str,
    fetched_elsewhere: bool,
) -> None:
    site.routes["/sitemap_index.xml"] = sitemap_index(
        [site.url("/own-sitemap.xml"), other_host(site, "/elsewhere-sitemap.xml")]
    )
    site.routes["/own-sitemap.xml"] = urlset([site.url("/99720")])
    site.routes["/elsewhere-sitemap.xml"] = urlset([site.url("/99720")])
    config = write_config(config_dir, site, feeds=["/sitemap_index.xml"], extra=scope)
    with caplog.at_level(logging.INFO, logger="archiver.crawler.discover"):
        _, summary = crawl(config)
    found = states(summary)
    assert found[site.url("/own-sitemap.xml")]["state"] == "archived"
    elsewhere = other_host(site, "/elsewhere-sitemap.xml")
    assert (elsewhere in found) == fetched_elsewhere
    assert site.hits("/elsewhere-sitemap.xml") == int(fetched_elsewhere)
    if not fetched_elsewhere:
        assert any("off-scope" in line and "localhost" in line for line in discovery_lines(caplog))
        assert cli(config, "history", elsewhere).exit_code == 2  # never recorded


def test_a_chain_of_sitemap_indexes_is_cut_at_follow_depth(
    config_dir: Path, site: FixtureSite, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(300):
        site.routes[f"/chain/{i}.xml"] = sitemap_index([site.url(f"/chain/{i + 1}.xml")])
    config = write_config(config_dir, site, feeds=["/chain/0.xml"], extra=SCOPE)
    with caplog.at_level(logging.INFO, logger="archiver.crawler.discover"):
        _, summary = crawl(config)
    fetched = [i for i in range(301) if site.hits(f"/chain/{i}.xml")]
    # The feed, its child (part of the feed) and one nested level (follow_depth = 1).
    assert fetched == [0, 1, 2], fetched
    assert sum(1 for u in states(summary) if "/chain/" in u) == 3
    assert any("follow_depth" in line for line in discovery_lines(caplog))


def test_a_huge_sitemap_index_is_cut_at_the_budget_newest_first(
    config_dir: Path, site: FixtureSite, caplog: pytest.LogCaptureFixture
) -> None:
    children = [site.url(f"/part/{i}.xml") for i in range(3000)]
    lastmods = [f"2023-{1 + i % 12:02d}-01" for i in range(3000)]
    lastmods[1234] = "2024-01-01"  # the newest two are fetched first
    lastmods[2345] = "2024-02-01"
    shared = urlset([])
    for i in range(3000):
        site.routes[f"/part/{i}.xml"] = shared
    site.routes["/sitemap_index.xml"] = sitemap_index(children, lastmods)
    config = write_config(
        config_dir, site, feeds=["/sitemap_index.xml"], extra=SCOPE + "\nfollow_budget = 2"
    )
    with caplog.at_level(logging.INFO, logger="archiver.crawler.discover"):
        _, summary = crawl(config)
    fetched = [i for i in range(3000) if site.hits(f"/part/{i}.xml")]
    assert fetched == [1234, 2345]
    assert any("2,998" in line and "follow_budget" in line for line in discovery_lines(caplog))
    assert len(summary["targets"]) == 4  # the seed's reference, the index, two children


# --------------------------------------------------------------------------- row 21


KOREAN_PAGE = (
    "<html><head><title>올트먼 해임</title></head><body><article>"
    "<p>오픈AI 이사회는 샘 올트먼을 해임했다고 밝혔다. 이사회는 소통이 부족했다고 설명했다.</p>"
    "</article></body></html>"
)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (KOREAN_PAGE.encode("utf-16-le"), "text/html; charset=utf-16le"),
        (KOREAN_PAGE.encode("utf-16-le"), "text/html; charset=UTF-16"),
        (KOREAN_PAGE.encode("utf-16-be"), "text/html; charset=utf-16be"),
        (codecs.BOM_UTF16_LE + KOREAN_PAGE.encode("utf-16-le"), "text/html"),
        (codecs.BOM_UTF16_BE + KOREAN_PAGE.encode("utf-16-be"), "text/html; charset=utf-16"),
    ],
    ids=["header-le", "header-utf16", "header-be", "bom-le", "bom-be-over-header"],
)
def test_a_page_labelled_utf16_is_decoded(
    config_dir: Path, site: FixtureSite, body: bytes, content_type: str
) -> None:
    site.routes["/u16"] = Route(body=body, content_type=content_type)
    config = write_config(config_dir, site, targets=["/u16"])
    _, summary = crawl(config)
    assert states(summary)[site.url("/u16")]["state"] == "new"
    shown = cli_json(config, "show", site.url("/u16"))
    assert "올트먼을 해임했다" in shown["text"] and shown["title"] == "올트먼 해임"
    assert shown["charset"].startswith("utf-16")


@pytest.mark.parametrize(
    "label", ["unicode_escape", "cp037", "rot13", "raw_unicode_escape", "utf-7", "punycode"]
)
@pytest.mark.parametrize("where", ["header", "meta"])
def test_python_only_codec_labels_are_ignored(
    config_dir: Path, site: FixtureSite, label: str, where: str
) -> None:
    page = KOREAN_PAGE.replace(
        "<head>", f'<head><meta charset="{label}">' if where == "meta" else "<head>"
    )
    page = page.replace("해임했다고", "해임했다고 \\u0041\\x41")  # escapes stay text
    content_type = f"text/html; charset={label}" if where == "header" else "text/html"
    site.routes["/odd"] = Route(body=page.encode(), content_type=content_type)
    config = write_config(config_dir, site, targets=["/odd"])
    crawl(config)
    shown = cli_json(config, "show", site.url("/odd"))
    assert "올트먼을 해임했다고 \\u0041\\x41" in shown["text"]
    assert shown["charset"] == "utf-8"


def test_whatwg_labels_decode_as_browsers_do() -> None:
    from archiver.text.charset import decode_html, normalise_charset

    assert normalise_charset("latin1") == normalise_charset("ASCII") == "windows-1252"
    assert normalise_charset("unicode-1-1-utf-8") == "utf-8"
    assert normalise_charset("ks_c_5601-1987") == normalise_charset("windows-949") == "euc-kr"
    assert normalise_charset("utf-16") == "utf-16le"
    assert normalise_charset("x-sjis") == "shift_jis"
    for python_only in ("unicode_escape", "cp037", "rot13", "base64", "utf-7", "utf_32", "mbcs"):
        assert normalise_charset(python_only) is None, python_only
    # windows-1252 maps its five unassigned bytes to C1 controls, never fails
    assert decode_html(b"caf\xe9 \x81", "text/html; charset=iso-8859-1") == (
        "café \x81",
        "windows-1252",
    )


@pytest.mark.parametrize(
    "path",
    ["/a/../99710", "/./99710", "/a/b/../../99710", "/../99710", "/%2e%2E/a/%2E/../99710"],
)
def test_dot_segments_are_removed(config_dir: Path, site: FixtureSite, path: str) -> None:
    config = write_config(config_dir, site, targets=[path])
    _, summary = crawl(config)
    assert set(states(summary)) == {site.url(PAGE), site.url("/99710")}
    assert states(summary)[site.url("/99710")]["state"] == "new"
    assert [p for p, _, _ in site.requests if "99710" in p] == ["/99710"]
    assert cli(config, "history", site.url(path)).exit_code == 0  # either spelling finds it


def test_an_upper_case_scheme_and_a_bom_in_the_config_are_accepted(
    config_dir: Path, site: FixtureSite
) -> None:
    # The config's side (utf-8-sig, the scheme in any case) is archiver/config.py's; the
    # URL is then canonical: lower-case scheme, fetched and recorded once.
    config = write_config(config_dir, site, targets=[site.url("/99710").replace("http", "HTTP")])
    config.write_bytes(codecs.BOM_UTF8 + config.read_bytes())
    _, summary = crawl(config)
    assert states(summary)[site.url("/99710")]["state"] == "new"
