"""Seed posts by URL (issue 20): `seeds add URL` and `[[seeds]] url`, the post's page
archived and read like a Careerly post, its edits as seed versions, its deletion an event.

The fixture site serves a Careerly-like post page (tests/fixtures/site/careerly/): site
chrome, the author block, the post body with its links, a link-preview card, a login box
and the author's other posts; then an edited version (one sentence changed, one more
reference), then the post deleted (a 410, or a "deleted post" page answering 200).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pytest

from archiver import views
from archiver.config import load_config
from archiver.storage.catalog import Catalog
from archiver.storage.store import Store
from archiver.web import create_app

from .helpers import SITE, FixtureSite, Route, cli, cli_json, write_config

with warnings.catch_warnings():  # starlette 1.x asks for httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

POST = "/comments/310001"
OLD_SENTENCE = "이 논의가 이사회와 충분히 공유되지 않았다는 점이 해임의 직접적인 계기로 보입니다."
NEW_SENTENCE = "해임의 직접적인 계기였는지는 아직 확인되지 않았습니다."
TEASER = "팹리스 스타트업이 첫 양산에서 가장 많이 놓치는 것은 검증 일정입니다."
HOME = (
    "<html><head><title>커리어리</title></head><body><main><h1>오늘의 추천 글</h1>"
    "<p>개발자와 기획자가 함께 읽는 커리어 이야기를 매일 골라 드립니다. 지금 가입하고"
    " 관심 분야의 새 글을 받아 보세요.</p></main></body></html>"
).encode()


def serve_post(site: FixtureSite, file: str, *, status: int = 200) -> None:
    """Serve a Careerly fixture page at POST, its absolute links pointed at the site."""
    body = (SITE / "careerly" / file).read_bytes().replace(b"https://site.test", site.base.encode())
    site.routes[POST] = Route(body=body, status=status)


def seed_config(directory: Path, site: FixtureSite, *, in_config: bool = False) -> Path:
    extra = f'\n[[seeds]]\nurl = "{site.url(POST)}"\n' if in_config else ""
    config = write_config(directory, site, seed=False)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[crawl]", extra + "[crawl]", 1), encoding="utf-8")
    return config


def catalog(config: Path) -> Catalog:
    return Catalog(config.parent / "store" / "catalog.sqlite3")


def test_seeds_add_url_reads_the_post_and_crawl_archives_its_references(
    config_dir: Path, site: FixtureSite
) -> None:
    serve_post(site, "post.html")
    config = seed_config(config_dir, site)
    added = cli(config, "seeds", "add", site.url(POST))
    assert added.exit_code == 0, added.output
    title = "오픈AI 대표 해임, 칩 사업이 불씨였을까"
    assert f"seed 1 registered: {title} (2 references)" in added.output

    listed = cli_json(config, "seeds", "list")
    assert len(listed) == 1
    seed = listed[0]
    assert seed["url"] == site.url(POST) and seed["ref"] == "seed:1"
    assert seed["versions"] == 1 and seed["state"] == "live"
    assert [r["url"] for r in seed["references"]] == [site.url("/99663"), site.url("/99700")]
    assert seed["posted_at"] == "2023-11-19T23:40:00+09:00"
    assert seed["source_label"] == "슬로우뉴스"  # the outlet of the link-preview card

    shown = cli_json(config, "show", "seed:1")
    assert shown["author"] == "윤다온"
    text = shown["text"]
    assert OLD_SENTENCE in text
    # Platform chrome, the login box, navigation and other posts' teasers stay out.
    chrome = ("다음 내용이 궁금하다면", "이미 회원이신가요", "팔로우", "조회", "이용약관", TEASER)
    assert not [words for words in chrome if words in text]
    assert shown["fetched_at"] and shown["provenance"]["via"] == site.url(POST)

    crawled = cli_json(config, "crawl")
    states = {t["url"]: t["state"] for t in crawled["targets"]}
    assert states[site.url("/99663")] == "new" and states[site.url("/99700")] == "new"
    # Fetched again with the ETag of its first fetch: a conditional GET, 304.
    assert states[site.url(POST)] == "not modified"
    assert crawled["seeds"] == [1]
    # The post page itself is in the WARC, once per fetch, with its captures.
    store = catalog(config)
    target = store.target_by_url(site.url(POST))
    assert target is not None and target.via == "seed page"
    statuses = [(c.status, c.record_type) for c in store.captures(target.id)]
    assert statuses == [(200, "response"), (304, "revisit")]
    assert all(c.warc_file for c in store.captures(target.id))
    store.close()
    assert any(h.get("If-None-Match") for p, h, _ in site.requests if p == POST)
    # The web UI's story counts the post's references, not the post's own page.
    with Store.from_config(load_config(config)) as opened:
        (story,) = views.stories(opened)
    assert story.references == 2


def test_an_edit_is_a_new_seed_version_its_new_reference_crawled_alignment_on_new_text(
    config_dir: Path, site: FixtureSite
) -> None:
    serve_post(site, "post.html")
    config = seed_config(config_dir, site, in_config=True)
    first = cli_json(config, "crawl")  # [[seeds]] url: registered by the crawl itself
    assert {t["url"]: t["state"] for t in first["targets"]}[site.url(POST)] == "new"
    assert site.hits("/99710") == 0

    serve_post(site, "post.v2.html")
    second = cli_json(config, "crawl")
    states = {t["url"]: (t["state"], t["version"]) for t in second["targets"]}
    assert states[site.url(POST)] == ("changed", 2)
    assert states[site.url("/99710")] == ("new", 1)  # the added reference, crawled now

    history = cli_json(config, "history", "seed:1")
    assert [v["version"] for v in history] == [1, 2]
    assert cli_json(config, "seeds", "list")[0]["versions"] == 2
    assert OLD_SENTENCE in cli_json(config, "show", "seed:1", "--version", "1")["text"]
    assert NEW_SENTENCE in cli_json(config, "show", "seed:1")["text"]

    diffed = cli(config, "diff", "seed:1", "--format", "json")
    assert diffed.exit_code == 1, diffed.output  # different
    change = json.loads(diffed.output)
    assert change["from"] == 1 and change["to"] == 2
    assert any(NEW_SENTENCE in unit for unit in change["added"])
    assert any("공유되지 않았다는" in unit for unit in change["removed"])

    # Alignment and claim checks use the latest version of the post.
    aligned = cli(config, "diff", site.url("/99663"), "--against-seed", "--format", "json")
    sentences = [s["text"] for s in json.loads(aligned.output)["seed_sentences"]]
    assert any(NEW_SENTENCE in s for s in sentences)
    assert not any("공유되지 않았다는" in s for s in sentences)

    # The run's report says the post itself changed, and which reference it added.
    report = cli_json(config, "report")["runs"][0]
    event = report["seeds"][0]
    assert event["event"] == "changed" and event["version"] == 2
    assert event["added_references"] == [site.url("/99710")]
    markdown = cli(config, "report").output
    assert "the post was edited: v1 → v2" in markdown
    with Store.from_config(load_config(config)) as opened:
        page = TestClient(create_app(opened.root)).get("/story/1").text
    assert "Post edited" in page and "2 versions" in page

    # A reference the post drops later stays tracked, marked as removed.
    serve_post(site, "post.html")
    third = cli_json(config, "crawl")
    still = {t["url"]: t["state"] for t in third["targets"]}[site.url("/99710")]
    assert still == "not modified"  # fetched again (conditionally)
    seed = cli_json(config, "seeds", "list")[0]
    assert seed["versions"] == 3
    assert seed["removed_references"] == [
        {"url": site.url("/99710"), "label": "이 기사", "removed_in": 3}
    ]


@pytest.mark.parametrize("gone", ["404", "410", "deleted page", "sent home"])
def test_a_deleted_post_keeps_its_versions_is_marked_deleted_and_stays_searchable(
    config_dir: Path, site: FixtureSite, gone: str
) -> None:
    serve_post(site, "post.html")
    config = seed_config(config_dir, site)
    assert cli(config, "seeds", "add", site.url(POST)).exit_code == 0
    cli_json(config, "crawl")
    if gone == "sent home":  # the platform redirects a removed post to its home page
        site.routes["/"] = Route(body=HOME)
        site.routes[POST] = Route(status=302, headers={"Location": "/"}, body=b"")
    else:
        serve_post(site, "deleted.html", status=200 if gone == "deleted page" else int(gone))
    crawled = cli_json(config, "crawl")
    state = {t["url"]: t for t in crawled["targets"]}[site.url(POST)]
    assert state["state"] == "deleted" and crawled["outcome"] == "ok"

    seed = cli_json(config, "seeds", "list")[0]
    assert seed["state"] == "deleted" and seed["state_since"]
    assert seed["versions"] == 1
    assert OLD_SENTENCE in cli_json(config, "show", "seed:1", "--version", "1")["text"]
    hits = cli_json(config, "search", "티그리스 국부펀드")
    assert "seed:1" in [h["url"] for h in hits]
    report = cli_json(config, "report")["runs"][0]
    assert report["seeds"][0]["event"] == "deleted"
    assert "deleted: first seen" in cli(config, "report").output

    # The web UI's story shows the post's state and its deletion on the timeline.
    with Store.from_config(load_config(config)) as opened:
        page = TestClient(create_app(opened.root)).get("/story/1").text
    assert f"deleted since {seed['state_since']}" in page and "Post deleted" in page

    # Seen deleted again (a "deleted" page confirmed by a 304 too): its first time is kept.
    time.sleep(1.1)  # times have whole seconds: a new time would differ
    again = cli_json(config, "crawl")
    assert {t["url"]: t["state"] for t in again["targets"]}[site.url(POST)] == "deleted"
    later = cli_json(config, "seeds", "list")[0]
    assert (later["state"], later["state_since"]) == ("deleted", seed["state_since"])

    # A post that comes back is live again, its text unchanged: no new version.
    serve_post(site, "post.html")
    back = cli_json(config, "crawl")
    assert {t["url"]: t["state"] for t in back["targets"]}[site.url(POST)] == "unchanged"
    restored = cli_json(config, "seeds", "list")[0]
    assert (restored["state"], restored["versions"]) == ("live", 1)
    assert cli_json(config, "report")["runs"][0]["seeds"][0]["event"] == "restored"


@pytest.mark.parametrize(
    ("path", "route", "message"),
    [
        ("/img.png", Route(body=b"\x89PNG\r\n\x1a\n" + bytes(200), content_type="image/png"),
         "not a post page (image/png, not HTML)"),
        ("/status/500", None, "HTTP 500"),
        ("/status/404", None, "HTTP 404"),
        ("/loop/a", None, "redirect"),
    ],
)  # fmt: skip
def test_seeds_add_of_a_url_that_is_no_post_is_one_line_exit_2_nothing_registered(
    config_dir: Path, site: FixtureSite, path: str, route: Route | None, message: str
) -> None:
    if route is not None:
        site.routes[path] = route
    config = seed_config(config_dir, site)
    result = cli(config, "seeds", "add", site.url(path))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archiver: error: seed ")
    assert message in lines[0] and "Traceback" not in result.output
    assert cli_json(config, "seeds", "list") == []
    assert cli_json(config, "runs") == []


def test_a_post_only_in_a_script_payload_is_read_from_it(
    config_dir: Path, site: FixtureSite
) -> None:
    serve_post(site, "payload.html")
    config = seed_config(config_dir, site)
    assert cli(config, "seeds", "add", site.url(POST)).exit_code == 0
    seed = cli_json(config, "seeds", "list")[0]
    assert seed["title"] == "AI 반도체 투자, 누가 돈을 대나"
    assert seed["posted_at"] == "2023-11-21T08:05:00+09:00"
    assert seed["references"] == [
        {
            "url": site.url("/99710"),
            "label": "슬로우뉴스 - 티그리스는 어디로, 올트먼의 반도체 구상과 "
            "오픈AI 이사회의 뒷이야기",
        }
    ]
    assert "불러오는 중" not in cli_json(config, "show", "seed:1")["text"]


def test_any_other_page_is_a_post_by_its_main_text_and_the_links_inside_it(
    config_dir: Path, site: FixtureSite
) -> None:
    config = seed_config(config_dir, site)
    assert cli(config, "seeds", "add", site.url("/99700")).exit_code == 0
    seed = cli_json(config, "seeds", "list")[0]
    assert seed["title"] == "올트먼은 돌아왔고, 이사회는 바뀌었다"
    # The article's own link, not the site's menu, tags or related posts.
    assert seed["references"] == [{"url": site.url("/99663"), "label": "앞선 기사"}]
    shown = cli_json(config, "show", "seed:1")
    assert shown["author"] == "정우진"
    assert shown["text"].startswith("올트먼은 돌아왔고, 이사회는 바뀌었다\n닷새 전 해임됐던")


def test_seeds_add_url_keeps_the_crawl_guards(config_dir: Path, site: FixtureSite) -> None:
    serve_post(site, "post.html")
    site.routes["/private/post"] = site.routes[POST]
    config = seed_config(config_dir, site)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("respect_robots = false", "respect_robots = true"))
    refused = cli(config, "seeds", "add", site.url("/private/post"))
    assert refused.exit_code == 2 and "robots.txt" in refused.output
    guarded = config.read_text(encoding="utf-8")
    config.write_text(
        guarded.replace("allow_private_networks = true", "allow_private_networks = false")
    )
    blocked = cli(config, "seeds", "add", site.url(POST))
    assert blocked.exit_code == 2 and "non-public address" in blocked.output
    assert site.hits(POST) == 0 and cli_json(config, "seeds", "list") == []
    # Registered once: the same address again is "already registered", no new fetch.
    config.write_text(guarded)
    assert cli(config, "seeds", "add", site.url(POST)).exit_code == 0
    again = cli(config, "seeds", "add", site.url(POST) + "#top")
    assert "seed 1 already registered" in again.output and site.hits(POST) == 1


def test_a_config_seed_url_that_is_no_post_is_an_error_of_the_run_only(
    config_dir: Path, site: FixtureSite
) -> None:
    site.routes[POST] = Route(status=500, body=b"<h1>oops</h1>")
    config = seed_config(config_dir, site, in_config=True)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[crawl]", '[[targets]]\nurl = "/99663"\n[crawl]', 1))
    config.write_text(config.read_text().replace('url = "/99663"', f'url = "{site.url("/99663")}"'))
    result = cli(config, "crawl", "--json")
    assert result.exit_code == 1  # a URL in error
    summary = json.loads(result.stdout)
    states = {t["url"]: t["state"] for t in summary["targets"]}
    assert states == {site.url(POST): "error", site.url("/99663"): "new"}
    assert cli_json(config, "seeds", "list") == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('path = "a.txt"\nurl = "https://example.org/p"', "needs one of 'path' or 'url'"),
        ('url = "ftp://example.org/p"', "seeds.url"),
        ("url = 3", "seeds.url"),
    ],
)
def test_bad_seed_url_entries_are_one_line_config_errors(
    config_dir: Path, site: FixtureSite, entry: str, message: str
) -> None:
    config = seed_config(config_dir, site)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[crawl]", f"[[seeds]]\n{entry}\n[crawl]", 1))
    result = cli(config, "seeds", "list")
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_seeds_by_url_on_a_postgresql_catalog(
    config_dir: Path, site: FixtureSite, pg_dsn: str
) -> None:
    serve_post(site, "post.html")
    config = seed_config(config_dir, site)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('path = "store"', f'path = "store"\ncatalog = "{pg_dsn}"'))
    assert cli(config, "seeds", "add", site.url(POST)).exit_code == 0
    serve_post(site, "post.v2.html")
    states = {t["url"]: t["state"] for t in cli_json(config, "crawl")["targets"]}
    assert states[site.url(POST)] == "changed" and states[site.url("/99710")] == "new"
    serve_post(site, "deleted.html", status=410)
    cli_json(config, "crawl")
    seed = cli_json(config, "seeds", "list")[0]
    assert (seed["versions"], seed["state"]) == (2, "deleted")
    assert [v["version"] for v in cli_json(config, "history", "seed:1")] == [1, 2]
    assert not (config_dir / "store" / "catalog.sqlite3").exists()
