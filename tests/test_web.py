"""`archiver serve` through Starlette's TestClient: what each page shows, and what no page
ever does (run archived markup, read outside the store, write, answer a huge request)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode

from archiver.storage.store import Store
from archiver.text.ignore import IgnoreRule
from archiver.web import create_app
from archiver.web.snapshot import SNAPSHOT_POLICY

from .helpers import ARCHIVER, FixtureSite, Route, cli_json, cli_store, write_config
from .report_pages import PWN_IMG, PWN_SCRIPT, TITLE_V2
from .test_claims import CLAIM
from .test_cluster_catalog import with_catalog
from .test_e2e import CORRECTION, EDITED_NEW, EDITED_OLD
from .web_store import StoryStore, build

with warnings.catch_warnings():  # starlette 1.x asks for httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import re  # noqa: E402 - after the guarded import above


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StoryStore, FixtureSite]]:
    site = FixtureSite()
    site.thread.start()
    try:
        yield build(tmp_path_factory.mktemp("web") / "project", site), site
    finally:
        site.server.shutdown()
        site.server.server_close()


@pytest.fixture(scope="module")
def story(built: tuple[StoryStore, FixtureSite]) -> StoryStore:
    return built[0]


@pytest.fixture(scope="module")
def client(story: StoryStore) -> TestClient:
    return TestClient(create_app(story.store))


def dom(response: object) -> LexborHTMLParser:
    return LexborHTMLParser(response.text)  # type: ignore[attr-defined]


def one(tree: LexborHTMLParser | LexborNode, selector: str) -> LexborNode:
    node = tree.css_first(selector)
    assert node is not None, selector
    return node


def texts(tree: LexborHTMLParser | LexborNode, selector: str) -> list[str]:
    return [node.text() for node in tree.css(selector)]


def test_home_lists_the_story_with_counts_last_run_and_claims(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    tree = dom(response)
    assert one(tree, "html").attributes["lang"] == "ko"
    row = one(tree, "table.stories tbody tr")
    cells = [c.text(strip=True) for c in row.css("td")]
    assert "세계 최고 인공지능 회사 CEO가 잘렸다" in cells[0] and "2023-11-20T02:21" in cells[0]
    assert cells[1] == "1" and cells[2] == "1"  # one reference, one follow-up
    assert "run 2" in cells[3] and "partial" in cells[3]  # /status/500 failed
    supported, claims = re.fullmatch(r"(\d+) of (\d+)", cells[4]).groups()  # type: ignore[union-attr]
    assert 0 < int(supported) < int(claims)


def test_story_timeline_and_claims_per_source(client: TestClient, story: StoryStore) -> None:
    tree = dom(client.get("/story/1"))
    entries = tree.css("ol.timeline li")
    kinds = [e.attributes["class"] or "" for e in entries]
    assert kinds[0] == "post" and sorted(kinds[1:]) == ["follow-up", "version", "version"]
    versions = [e.text() for e in entries if e.attributes["class"] == "version"]
    assert "v1" in versions[0] and "v2" in versions[1] and "what changed" in versions[1]
    (follow_up,) = [e.text() for e in entries if e.attributes["class"] == "follow-up"]
    assert "올트먼은 돌아왔고" in follow_up  # its title
    assert f"found via {story.article} · depth 1 · relevance 0." in " ".join(follow_up.split())
    header = texts(tree, "table.claims thead th")
    assert header[1] == story.article
    statuses = texts(
        tree,
        "table.claims tbody td span.present, table.claims tbody td "
        "span.paraphrased, table.claims tbody td span.absent",
    )
    assert "paraphrased" in statuses and "absent" in statuses
    # Both versions say the same about each claim but the contradicted one (its source's
    # figure changed in v2): the status holds since v1.
    rows = [r for r in tree.css("table.claims tbody tr") if one(r, "td").text() != CLAIM]
    assert len(rows) == len(tree.css("table.claims tbody tr")) - 1
    assert all("in v2, since v1" in one(r, "td .meta").text() for r in rows if r.css("td .meta"))


def test_a_contradicted_claim_shows_each_conflict_on_the_story_and_page(
    client: TestClient, story: StoryStore
) -> None:
    tree = dom(client.get("/story/1"))
    [row] = [r for r in tree.css("table.claims tbody tr") if one(r, "td").text() == CLAIM]
    assert one(row, "span.contradicted").text() == "contradicted"
    assert texts(row, "span.conflict") == ["count: 20분 → 10분"]  # v1 said 30분, v2 10분
    assert "in v2, changed in v2" in one(row, "td .meta").text()
    assert "contradicted" not in texts(
        tree, "table.claims tbody td span.present, table.claims tbody td span.paraphrased"
    )
    for number, value in (("1", "30분"), ("2", "10분")):
        page = dom(client.get("/page", params={"url": story.article, "v": number}))
        [row] = [r for r in page.css("table.seed tbody tr") if one(r, "td").text() == CLAIM]
        assert one(row, "td.status.contradicted").text().startswith("contradicted")
        assert texts(row, "span.conflict") == [f"count: 20분 → {value}"]
        assert "1 contradicted" in texts(page, "main p.meta span.contradicted")
    # the style sheet gives both their own colour
    assert ".contradicted, .conflict {" in client.get("/static/style.css").text


def test_search_finds_particle_forms_with_marks_and_says_bad_queries_inline(
    client: TestClient, story: StoryStore
) -> None:
    tree = dom(client.get("/search", params={"q": "올트먼"}))
    hits = tree.css("ol.hits li")
    urls = [one(h, "a.title").attributes["href"] for h in hits]
    assert any("99663" in (u or "") for u in urls) and "/story/1" in urls
    marks = texts(tree, "ol.hits mark")
    assert marks and all(m.startswith("올트먼") for m in marks)
    snippets = " ".join(texts(tree, "p.snippet"))
    assert "올트먼은" in snippets or "올트먼이" in snippets

    site_only = dom(client.get("/search", params={"q": "올트먼", "site": "example.org"}))
    assert site_only.css("ol.hits li") == [] and "No results" in one(site_only, "main").text()

    older = dom(client.get("/search", params={"q": "30분이 채", "all": "1"}))
    assert [one(h, ".meta").text().split(" ·")[0] for h in older.css("ol.hits li")] == ["v1"]

    bad = client.get("/search", params={"q": '"샘 올트먼'})
    assert bad.status_code == 200
    alert = one(dom(bad), "p.problem")
    assert alert is not None and "quotation mark" in alert.text()
    assert one(dom(bad), "form.search input[name=q]").attributes["value"] == '"샘 올트먼'

    assert client.get("/search", params={"q": "올트먼", "p": "51"}).status_code == 400
    assert client.get("/search", params={"q": "올트먼", "p": "x"}).status_code == 400


def test_search_pages_through_the_hits(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("archiver.web.app.PER_PAGE", 2)
    seen: list[str] = []
    path: str | None = "/search?q=%EC%98%AC%ED%8A%B8%EB%A8%BC&all=1"  # 올트먼, every version
    while path:
        tree = dom(client.get(path))
        hits = tree.css("ol.hits li")
        assert 1 <= len(hits) <= 2
        assert one(tree, "ol.hits").attributes["start"] == str(len(seen) + 1)
        seen += [one(h, "a.title").attributes["href"] or "" for h in hits]
        following = tree.css_first("nav.pages a[rel=next]")
        path = following.attributes["href"] if following else None
    assert len(seen) >= 4 and len(set(seen)) == len(seen)  # every hit once, none twice
    assert sum("v=1" in h for h in seen) >= 1 and sum("v=2" in h for h in seen) >= 1


def test_page_lists_versions_text_metadata_and_fetches(
    client: TestClient, story: StoryStore
) -> None:
    tree = dom(client.get("/page", params={"url": story.article, "v": "1"}))
    assert texts(tree, "table.versions td.num a") == ["v1", "v2"]
    text = one(tree, "div.text").text()
    assert EDITED_OLD in text and EDITED_NEW not in text
    facts = one(tree, "table.facts").text()
    assert "seed:1" in facts and "depth 0" in facts
    assert "2023-11-18T09:12:00+09:00" in one(tree, "main").text()  # published
    links = [a.attributes["href"] or "" for a in tree.css("table.versions a")]
    assert any("/diff?" in h and "to=2" in h for h in links)
    assert any("seed=1" in h for h in links) and any("/snapshot?" in h for h in links)
    assert len(tree.css("table.captures tbody tr")) == 2

    broken = dom(client.get("/page", params={"url": story.broken}))
    assert "error" in one(broken, "table.facts").text()
    assert any("500" in t for t in texts(broken, "table.captures td"))


def test_diff_side_by_side_with_word_marks_and_ignore_rules(
    client: TestClient, story: StoryStore
) -> None:
    tree = dom(client.get("/diff", params={"url": story.article}))
    assert "10분 남짓 걸렸고" in texts(tree, "td.new ins")
    assert "30분이 채 걸리지 않았고" in texts(tree, "td.old del")
    assert CORRECTION in texts(tree, "tr.added ins")
    assert "modified_at" in one(tree, "table.metadata").text()

    hostile = dom(client.get("/diff", params={"url": story.hostile}))
    assert hostile.css("tr.moved")
    assert TITLE_V2 in one(hostile, "table.metadata").text()

    ignoring = TestClient(
        create_app(story.store, ignore=[IgnoreRule(pattern=re.compile(r"\[정정\].*"))])
    )
    quiet = dom(ignoring.get("/diff", params={"url": story.article}))
    assert quiet.css("tr.added") == [] and quiet.css("tr.edited")

    seed = dom(client.get("/diff", params={"url": story.article, "seed": "1"}))
    assert "paraphrased" in texts(seed, "table.seed td.status")

    assert client.get("/diff", params={"url": story.article, "from": "7"}).status_code == 404
    bad = client.get("/diff", params={"url": story.article, "granularity": "x"})
    assert bad.status_code == 400


def test_runs_and_a_run_report_with_errors_and_tries(client: TestClient, story: StoryStore) -> None:
    tree = dom(client.get("/runs"))
    assert [a.text() for a in tree.css("table.runs td.num a")] == ["2", "1"]
    report = dom(client.get("/runs/2"))
    assert "Crawl run 2" in one(report, "h1").text()
    row = one(report, "table.errors tbody tr")
    cells = [c.text(strip=True) for c in row.css("td")]
    assert cells[0] == story.broken and "500" in cells[1] and cells[2] == "1"
    assert client.get("/runs/99").status_code == 404


def test_snapshot_is_the_archived_html_behind_a_sandbox(
    client: TestClient, story: StoryStore
) -> None:
    frame_page = client.get("/snapshot", params={"url": story.bait})
    tree = dom(frame_page)
    banner = one(tree, ".banner").text()
    assert story.bait in banner and "captured 20" in banner
    frame = one(tree, "iframe.snapshot")
    assert frame.attributes["sandbox"] in ("", None)  # present, and allows nothing

    raw = client.get(frame.attributes["src"] or "")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/html")
    policy = raw.headers["content-security-policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "script-src" not in policy
    assert "이 문단은 보관된 페이지의 본문이다" in raw.text  # the bytes as captured
    assert 'http-equiv="refresh"' not in raw.text.lower()
    assert client.get("/snapshot/raw", params={"url": story.broken}).status_code == 404
    # a page the crawl did not render has no rendered DOM, and no link to one
    assert "rendered DOM" not in frame_page.text
    assert client.get("/snapshot", params={"url": story.bait, "dom": "1"}).status_code == 404
    assert client.get("/snapshot/raw", params={"url": story.bait, "dom": "1"}).status_code == 404


def test_archived_markup_is_text_on_every_page(client: TestClient, story: StoryStore) -> None:
    pages = [
        client.get("/search", params={"q": "위험한 제목"}),
        client.get("/page", params={"url": story.hostile}),
        client.get("/diff", params={"url": story.hostile}),
        client.get("/runs/1"),
        client.get("/runs/2"),
        client.get("/snapshot", params={"url": story.hostile}),
    ]
    for response in pages:
        assert response.status_code == 200
        tree = dom(response)
        assert tree.css("script") == [] and tree.css("img") == []
        assert not any(n.startswith("on") for node in tree.css("*") for n in node.attributes)
    shown = " ".join(one(dom(p), "main").text() for p in pages[:3])
    assert PWN_SCRIPT in shown and PWN_IMG in shown


def test_security_headers_limits_and_read_only(client: TestClient, story: StoryStore) -> None:
    for path in ("/", "/search?q=x", "/static/style.css", "/nowhere", "/runs/1"):
        headers = client.get(path).headers
        assert "script-src" not in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    assert client.get("/search", params={"q": "올트먼" * 600}).status_code == 414
    assert client.get("/" + "a" * 5000).status_code == 414
    assert client.post("/search", data={"q": "x"}).status_code == 405
    assert client.delete("/").status_code == 405


def test_path_traversal_reaches_nothing_outside_the_store(
    story: StoryStore, tmp_path: Path
) -> None:
    copy = tmp_path / "store"
    shutil.copytree(story.store, copy)
    (tmp_path / "secret.html").write_text("<p>top secret</p>", encoding="utf-8")
    client = TestClient(create_app(copy))
    for path, params in [
        ("/page", {"url": "../../etc/passwd"}),
        ("/snapshot/raw", {"url": "file:///etc/passwd"}),
        ("/snapshot/raw", {"url": "../secret.html"}),
        ("/static/../catalog.sqlite3", {}),
        ("/static/%2e%2e/catalog.sqlite3", {}),
        ("/runs/../catalog.sqlite3", {}),
    ]:
        response = client.get(path, params=params)
        assert response.status_code == 404, (path, params)
        assert "SQLite format" not in response.text and "root:" not in response.text
    # Even a catalog row that points outside warc/ serves nothing from there.
    with sqlite3.connect(copy / "catalog.sqlite3") as db:
        db.execute("UPDATE captures SET warc_file = '../../secret.html'")
    response = client.get("/snapshot/raw", params={"url": story.bait})
    assert response.status_code == 404 and "top secret" not in response.text


def test_missing_or_outdated_index_says_to_reindex(story: StoryStore, tmp_path: Path) -> None:
    copy = tmp_path / "store"
    shutil.copytree(story.store, copy)
    with Store(copy) as store:  # a seed the index has not seen: the index is behind
        store.catalog.add_seed(
            name="extra", path=None, sha256="0" * 64, fmt="text", title="추가 글",
            source_label=None, posted_at=None, text="추가된 글", data={"references": []},
        )  # fmt: skip
    client = TestClient(create_app(copy))
    notice = one(dom(client.get("/")), "p.notice")
    assert notice is not None and "archiver reindex" in notice.text()
    assert "archiver reindex" in one(dom(client.get("/search?q=올트먼")), "p.notice").text()

    shutil.rmtree(copy / "index")
    response = client.get("/search", params={"q": "올트먼"})
    assert response.status_code == 503 and "archiver reindex" in response.text
    assert client.get("/story/1").status_code == 200  # the rest works without an index


def test_loopback_server_refuses_foreign_host_names(story: StoryStore) -> None:
    client = TestClient(
        create_app(story.store, allowed_hosts=["127.0.0.1", "localhost"]),
        base_url="http://127.0.0.1",
    )
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"host": "rebound.example"}).status_code == 400


def test_pages_stay_whole_while_a_crawl_writes(
    story: StoryStore, built: tuple[StoryStore, FixtureSite], tmp_path: Path
) -> None:
    site = built[1]
    copy = tmp_path / "project"
    shutil.copytree(story.config.parent, copy)
    for n in range(12):  # slow pages: the crawl writes while the UI reads
        site.routes[f"/slow/{n}"] = Route("slownews/99700.html", delay=0.15)
    config = copy / "archiver.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[crawl]",
            "".join(f'[[targets]]\nurl = "{site.url(f"/slow/{n}")}"\n\n' for n in range(12))
            + "[crawl]",
        ),
        encoding="utf-8",
    )
    crawl = subprocess.Popen(
        [ARCHIVER, "--config", str(config), "crawl"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = TestClient(create_app(copy / "store"))
    problems: list[str] = []

    def read() -> None:
        while crawl.poll() is None:
            for path in ("/", "/search?q=올트먼", "/runs", f"/page?url={site.url('/slow/3')}"):
                response = client.get(path)
                if response.status_code not in (200, 404) or "locked" in response.text:
                    problems.append(f"{path}: {response.status_code}")

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    _, err = crawl.communicate(timeout=120)
    for reader in readers:
        reader.join()
    assert crawl.returncode in (0, 1), err
    assert problems == []
    tree = dom(client.get("/page", params={"url": site.url("/slow/3")}))
    assert texts(tree, "table.versions td.num a") == ["v1"] and one(tree, "div.text").text()
    # The searchers the UI kept open during the crawl see what it committed.
    found = dom(client.get("/search", params={"q": "돌아왔고", "site": "127.0.0.1"}))
    urls = {h.text() for h in found.css("ol.hits .meta .url")}
    assert {site.url(f"/slow/{n}") for n in range(12)} <= urls
    assert found.css_first("p.notice") is None  # and the index is not behind


def test_serve_refuses_a_port_in_use_in_one_line(story: StoryStore) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = cli_store(story.store, "serve", "--port", port)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"archiver: error: cannot listen on 127.0.0.1:{port}")
    assert result.stderr.count("\n") == 1


def test_serve_refuses_a_missing_store_in_one_line(tmp_path: Path) -> None:
    result = cli_store(tmp_path / "none", "serve", "--port", "0")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "no archive at" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "none").exists()


def test_a_rendered_page_s_snapshot_is_the_response_and_its_dom_is_a_link(
    site: FixtureSite, tmp_path: Path
) -> None:
    from archiver.net.render import chromium_path

    from .test_render import ARTICLE, PARAGRAPHS

    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Chromium (apt install chromium)")
        pytest.skip("Chromium is not installed")
    pytest.importorskip("playwright", reason="the render extra is not installed")
    site.routes[ARTICLE] = Route("news/js/article.html")
    site.routes["/news/js/article.json"] = Route(
        "news/js/article.json", content_type="application/json"
    )
    config = write_config(tmp_path, site, targets=[ARTICLE], seed=False, extra='render = "always"')
    assert cli_json(config, "crawl")["new_versions"] == 1
    client = TestClient(create_app(tmp_path / "store"))
    url = site.url(ARTICLE)

    page = dom(client.get("/page", params={"url": url}))
    links = {a.text(): a.attributes["href"] or "" for a in page.css("table.versions a")}
    assert "dom=1" not in links["snapshot"] and "dom=1" in links["rendered DOM"]
    assert "conversion" in texts(page, "table.captures td")

    # The snapshot is the response as served (the app's empty shell), not the DOM.
    frame = one(dom(client.get(links["snapshot"])), "iframe.snapshot")
    served = client.get(frame.attributes["src"] or "")
    assert "불러오는 중" in served.text and PARAGRAPHS[0] not in served.text
    shown = dom(client.get(links["snapshot"]))
    assert any("dom=1" in (a.attributes["href"] or "") for a in shown.css(".banner a"))

    # The rendered DOM: behind the same sandbox and policy.
    rendered_page = dom(client.get(links["rendered DOM"]))
    assert "Rendered DOM" in one(rendered_page, ".banner").text()
    frame = one(rendered_page, "iframe.snapshot")
    assert frame.attributes["sandbox"] in ("", None) and "dom=1" in (frame.attributes["src"] or "")
    rendered = client.get(frame.attributes["src"] or "")
    assert rendered.status_code == 200 and PARAGRAPHS[0] in rendered.text
    assert rendered.headers["content-security-policy"] == served.headers["content-security-policy"]
    assert rendered.headers["content-security-policy"] == SNAPSHOT_POLICY


def test_the_ui_on_a_postgresql_catalog(site: FixtureSite, tmp_path: Path, pg_dsn: str) -> None:
    config = with_catalog(write_config(tmp_path, site, targets=["/99700"]), pg_dsn)
    assert cli_json(config, "crawl")["new_versions"] == 2
    assert not (tmp_path / "store" / "catalog.sqlite3").exists()
    server = subprocess.Popen(
        [ARCHIVER, "--config", str(config), "serve", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base = json.loads(server.stdout.readline())["url"]

        def get(path: str) -> LexborHTMLParser:
            with urllib.request.urlopen(base + path.lstrip("/"), timeout=30) as response:
                assert response.status == 200
                return LexborHTMLParser(response.read().decode("utf-8"))

        home = get("/")
        assert "세계 최고 인공지능 회사 CEO가 잘렸다" in one(home, "table.stories").text()
        article = get("/page?" + urllib.parse.urlencode({"url": site.url("/99663")}))
        assert texts(article, "table.versions td.num a") == ["v1"]
        assert article.css("table.seed tbody tr")  # the post's claims, from the catalog
        hits = get("/search?" + urllib.parse.urlencode({"q": "올트먼"})).css("ol.hits li a.title")
        assert {site.url("/99663"), site.url("/99700")} <= {
            urllib.parse.parse_qs(urllib.parse.urlsplit(a.attributes["href"] or "").query).get(
                "url", [""]
            )[0]
            for a in hits
        }
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "Traceback" not in errors
