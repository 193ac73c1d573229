"""Notifications (issue 16): messages to [[notify]] entries after each run, through real
receivers on 127.0.0.1 (tests/receivers.py): an aiosmtpd SMTP server and a webhook
server. Every event comes from a real crawl of the fixture site."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from archiver.config import load_config
from archiver.crawler.pipeline import crawl as crawl_run
from archiver.notify.events import Event
from archiver.notify.message import compose
from archiver.storage.store import Store

from .helpers import ARCHIVER, SITE, FixtureSite, Route, cli, cli_json, write_config
from .receivers import SmtpReceiver, WebhookReceiver

CLAIM = (
    "회의는 시작부터 끝까지 30분이 채 걸리지 않았고, "
    "올트먼은 회의 직전까지도 아무런 낌새를 알아채지 못했다고 한다."
)
TITLE = "오픈AI 이사회는 왜 샘 올트먼을 내보냈나"
FOLLOW = 'follow_hosts = ["127.0.0.1"]\nfollow_depth = 2'


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.up()
    yield receiver
    receiver.release.set()
    receiver.down()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


def notify_block(url: str, on: Sequence[str], **keys: object) -> str:
    lines = ["[[notify]]", f'url = "{url}"', f"on = {json.dumps(list(on))}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def configure(
    config_dir: Path,
    site: FixtureSite,
    blocks: Sequence[str],
    *,
    claim: bool = True,
    extra: str = "",
    targets: Sequence[str] = (),
    feeds: Sequence[str] = (),
    serve: str | None = None,
) -> Path:
    """The fixture site's config with [[notify]] entries; the seed states CLAIM, which
    version 1 of /99663 supports and version 2 contradicts (30분 → 10분 남짓)."""
    config = write_config(config_dir, site, extra=extra, targets=targets, feeds=feeds)
    if claim:
        seed = config_dir / "seeds" / "careerly-altman-tigris.txt"
        text = seed.read_text(encoding="utf-8").replace("해임 사유\n", f"해임 사유\n{CLAIM}\n", 1)
        assert CLAIM in text
        seed.write_text(text, encoding="utf-8")
    text = config.read_text(encoding="utf-8") + "\n" + "\n".join(blocks)
    if serve is not None:
        text += f'\n[serve]\npublic_url = "{serve}"\n'
    config.write_text(text, encoding="utf-8")
    return config


def crawl(config: Path, expect: int = 0) -> dict[str, Any]:
    result = cli(config, "crawl", "--json")
    assert result.exit_code == expect, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def runs(config: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = cli_json(config, "runs")
    return data


def edit(site: FixtureSite) -> None:
    site.serve("/99663", "slownews/99663.v2.html")


# --------------------------------------------------------------------------- Korean text


def test_korean_subject_and_body_arrive_intact_by_mail_and_webhook(
    config_dir: Path, site: FixtureSite, smtp: SmtpReceiver, hooks: WebhookReceiver
) -> None:
    config = configure(
        config_dir,
        site,
        [
            notify_block(smtp.url, ["claim", "changed"]),
            notify_block(hooks.url(), ["claim", "changed"]),
        ],
        serve="https://archive.example.org/",
    )
    crawl(config)
    assert smtp.mails == [] and hooks.hooks == []  # version 1 supports the seed: quiet
    edit(site)
    summary = crawl(config)
    assert [n["state"] for n in summary["notifications"]] == ["sent", "sent"]
    title = f"archiver run 2: 1 seed claim contradicted, 1 page changed — {TITLE}"
    [mail] = smtp.mails
    assert mail.subject == title  # RFC 2047-encoded on the wire, decoded here
    assert "30분" in mail.text and "10분" in mail.text and "[정정]" in mail.text
    assert "회의는 시작부터 끝까지 10분 남짓 걸렸고" in mail.text
    [hook] = hooks.hooks
    assert hook.payload["title"] == title
    body = hook.payload["message"]
    assert "count: seed **30분**, source **10분**" in body
    assert "**contradicted** (was present): 회의는 시작부터 끝까지 30분이" in body
    assert "- added: " in body and "10분 남짓 걸렸고" in body
    assert "- removed: ~~" in body
    # links: the HTML report and, with [serve] public_url, the run and the diff in serve
    report = config_dir / "store" / "reports" / "run-000002.html"
    assert f"({report.as_uri()})" in body
    assert "(https://archive.example.org/runs/2)" in body
    assert "https://archive.example.org/diff?url=" in body
    assert [n["state"] for n in runs(config)[1]["notifications"]] == ["sent", "sent"]


def test_notify_test_reports_each_entry(
    config_dir: Path, site: FixtureSite, smtp: SmtpReceiver, hooks: WebhookReceiver
) -> None:
    closed = WebhookReceiver()  # never started: connection refused
    config = configure(
        config_dir,
        site,
        [
            notify_block(smtp.url, ["error"]),
            notify_block(hooks.url(), ["error"]),
            notify_block(closed.url(), ["error"], attempts=1),
        ],
    )
    result = cli(config, "notify", "test", "--json")
    assert result.exit_code == 1, result.output
    entries = json.loads(result.stdout)["entries"]
    assert [e["ok"] for e in entries] == [True, True, False]
    assert entries[1]["to"] == f"json://127.0.0.1:{hooks.port}/hook"
    assert entries[2]["error"] and entries[2]["attempts"] == 1
    [mail] = smtp.mails
    assert mail.subject == "archiver: test message — 알림 시험"
    assert "한글이 깨지지 않고 보이면" in mail.text
    assert hooks.hooks[0].payload["title"] == "archiver: test message — 알림 시험"
    text = cli(config, "notify", "test")
    assert text.exit_code == 1 and "sent" in text.stdout and "failed" in text.stdout


# --------------------------------------------------------------------------- events


def test_follow_ups_with_relevance_and_url_filters(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    # the feed lists a tag page, which lists 99710 and 99700 (relevant) and 99720 (not)
    site.routes["/feed"] = Route(
        body=(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>슬로우뉴스</title><item><title>태그: 오픈AI</title>"
            f"<link>{site.url('/tag/openai')}</link></item></channel></rss>"
        ).encode(),
        content_type="application/rss+xml",
    )
    config = configure(
        config_dir,
        site,
        [
            notify_block(hooks.url("/all"), ["follow_up"]),
            notify_block(hooks.url("/one"), ["follow_up"], url_prefix=site.url("/99710")),
            notify_block(hooks.url("/strict"), ["follow_up"], min_relevance=1.0),
            notify_block(hooks.url("/other"), ["changed", "claim", "error"]),
        ],
        claim=False,
        extra=FOLLOW,
        feeds=["/feed"],
    )
    summary = crawl(config)
    follow_ups = set(summary["follow_ups"])
    assert follow_ups == {site.url("/99710"), site.url("/99700")}
    [everything] = hooks.at("/all")
    assert everything.payload["title"] == "archiver run 1: 2 new follow-ups"
    for url in follow_ups:
        assert url in everything.payload["message"]
    assert "relevance 0." in everything.payload["message"]
    [one] = hooks.at("/one")
    assert site.url("/99710") in one.payload["message"]
    assert site.url("/99700") not in one.payload["message"]
    assert one.payload["title"].startswith("archiver run 1: 1 new follow-up — ")
    assert hooks.at("/strict") == [] and hooks.at("/other") == []
    crawl(config)  # nothing new: no message at all
    assert len(hooks.hooks) == 2


def test_a_changed_page_without_a_claim_sends_changed_only(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    config = configure(
        config_dir,
        site,
        [
            notify_block(hooks.url("/changed"), ["changed"]),
            notify_block(hooks.url("/claim"), ["claim"]),
        ],
        claim=False,
    )
    crawl(config)
    edit(site)
    crawl(config)
    [changed] = hooks.at("/changed")
    assert changed.payload["title"] == f"archiver run 2: 1 page changed — {TITLE}"
    assert "10분 남짓 걸렸고" in changed.payload["message"]
    assert hooks.at("/claim") == []  # the real seed does not state the 30 minutes


def test_error_fires_once_when_a_url_has_failed_n_runs_in_a_row(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    config = configure(
        config_dir,
        site,
        [notify_block(hooks.url(), ["error"], error_runs=2)],
        claim=False,
        targets=["/status/500"],
    )
    crawl(config, 1)
    assert hooks.hooks == []  # one failing run is not yet a pattern
    crawl(config, 1)
    [hook] = hooks.hooks
    assert hook.payload["title"] == "archiver run 2: 1 URL failing"
    assert site.url("/status/500") in hook.payload["message"]
    assert "failing 2 runs in a row" in hook.payload["message"]
    crawl(config, 1)  # still failing: announced already
    assert len(hooks.hooks) == 1
    site.routes["/status/500"] = Route("slownews/99700.html")
    crawl(config)
    site.routes["/status/500"] = Route(status=500, body=b"down again")
    crawl(config, 1)
    crawl(config, 1)  # a new streak of two
    assert len(hooks.hooks) == 2


# --------------------------------------------------------------------------- delivery


def test_a_receiver_that_is_down_gets_the_message_once_it_is_back(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    config = configure(config_dir, site, [notify_block(hooks.url(), ["changed"], attempts=2)])
    crawl(config)
    hooks.down()
    edit(site)
    summary = crawl(config)  # the run itself is fine
    assert summary["outcome"] == "ok"
    [waiting] = runs(config)[1]["notifications"]
    assert waiting["state"] == "pending" and waiting["attempts"] == 2
    assert "Connection" in waiting["error"] or "connect" in waiting["error"].lower()
    text = cli(config, "runs").stdout
    assert "not sent after 2 attempts" in text and "retried at the next run" in text
    hooks.up()
    crawl(config)  # nothing new in run 3; run 2's message goes now
    [hook] = hooks.hooks
    assert hook.payload["title"].startswith("archiver run 2: 1 page changed")
    [sent] = runs(config)[1]["notifications"]
    assert sent["state"] == "sent" and sent["attempts"] == 3 and sent["sent_at"]
    crawl(config)
    assert len(hooks.hooks) == 1  # exactly once


def test_a_slow_receiver_does_not_hold_up_the_run_and_gets_it_once(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    config = configure(
        config_dir, site, [notify_block(hooks.url(), ["changed"], timeout=1, attempts=1)]
    )
    crawl(config)
    edit(site)
    hooks.stall = 1  # the receiver would hold the request for 30 s
    started = time.monotonic()
    crawl(config)
    took = time.monotonic() - started
    # the client gave up after its 1 s timeout; the run did not wait for an answer
    [hung_up] = hooks.hang_ups()
    assert hung_up < 3.5, hung_up  # Apprise's own default would be 4 s
    assert took < 15, took
    assert hooks.hooks == []
    [waiting] = runs(config)[1]["notifications"]
    assert waiting["state"] == "pending" and "within 1 s" in waiting["error"]
    crawl(config)
    crawl(config)
    [hook] = hooks.hooks
    assert hook.payload["title"].startswith("archiver run 2: 1 page changed")


def test_a_message_whose_sending_was_cut_off_by_a_kill_is_never_sent_twice(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    config = configure(
        config_dir, site, [notify_block(hooks.url(), ["changed"], timeout=30, attempts=1)]
    )
    crawl(config)
    edit(site)
    hooks.stall = 1  # holds the message unanswered: the crawl is now sending it
    process = subprocess.Popen(
        [ARCHIVER, "--config", str(config), "crawl"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    try:
        deadline = time.monotonic() + 60
        while hooks.held == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hooks.held == 1, "the crawl never sent its message"
    finally:
        process.kill()  # SIGKILL mid-send: maybe delivered, maybe not
        process.wait()
    assert len(hooks.hang_ups()) == 1
    [cut] = runs(config)[1]["notifications"]
    assert cut["state"] == "sending"
    crawl(config)  # the next run settles it and does not send it again
    crawl(config)
    assert hooks.hooks == []
    [settled] = runs(config)[1]["notifications"]
    assert settled["state"] == "unknown" and "may or may not have arrived" in settled["error"]


def test_secrets_from_the_environment_never_show(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-t0ken-4f9a"
    monkeypatch.setenv("HOOK_PASSWORD", secret)
    url = f"json://desk:${{HOOK_PASSWORD}}@127.0.0.1:{hooks.port}/hook"
    config = configure(config_dir, site, [notify_block(url, ["changed"], attempts=1)])
    crawl(config)
    hooks.down()
    edit(site)
    result = cli(config, "-v", "crawl", "--json")
    assert result.exit_code == 0
    hooks.up()
    crawl(config)
    [hook] = hooks.hooks
    assert hook.headers["Authorization"].startswith("Basic ")  # the secret was used
    shown = [
        result.output,
        cli(config, "runs").output,
        cli(config, "runs", "--json").output,
        cli(config, "notify", "test", "--json").output,
    ]
    shown += [p.read_text(encoding="utf-8") for p in (config_dir / "store" / "reports").iterdir()]
    for text in shown:
        assert secret not in text
    assert f"json://desk:****@127.0.0.1:{hooks.port}/hook" in shown[2]


# --------------------------------------------------------------------------- bad config


@pytest.mark.parametrize(
    ("url", "command", "says"),
    [
        ("json:/127.0.0.1/hook", "runs", "must be an Apprise URL"),
        ("nosuchservice://example.org/x", "crawl", "nosuchservice:// URL that Apprise cannot"),
        ("mailto://", "notify", "a mailto:// URL that Apprise cannot use"),
        ("json://x:${ARCHIVER_TEST_UNSET}@example.org/", "runs", "ARCHIVER_TEST_UNSET"),
    ],
)
def test_a_malformed_apprise_url_is_a_one_line_config_error(
    config_dir: Path, site: FixtureSite, url: str, command: str, says: str
) -> None:
    assert "ARCHIVER_TEST_UNSET" not in os.environ
    config = configure(config_dir, site, [notify_block(url, ["changed"])])
    args = ["notify", "test"] if command == "notify" else [command]
    result = cli(config, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archiver: error: "), result.stderr
    assert says in lines[0] and "notify.url" in lines[0]
    assert not (config_dir / "store" / "catalog.sqlite3").exists()  # nothing crawled


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ('url = "json://h/"\non = ["changes"]', "'notify.on' takes"),
        ('url = "json://h/"\nmin_relevance = 2', "'notify.min_relevance' must be between"),
        ('url = "json://h/"\nerror_runs = 0', "'notify.error_runs' must be at least 1"),
        ('url = "json://h/"\ncolour = "red"', "unknown key 'notify.colour'"),
        ('on = ["error"]', "needs 'url'"),
        ('url = "json://h/"\nurl_prefix = "ftp://x"', "'notify.url_prefix' must be an http(s)"),
        ('url = "json://h/"\n[[notify]]\nurl = "json://h/"', "the same 'url'"),
    ],
)
def test_bad_notify_keys_are_one_line_errors(
    config_dir: Path, site: FixtureSite, block: str, says: str
) -> None:
    config = configure(config_dir, site, ["[[notify]]\n" + block + "\n"], claim=False)
    result = cli(config, "runs")
    assert result.exit_code == 2 and says in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_commands_that_do_not_send_never_load_apprise(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    config = configure(config_dir, site, [notify_block(hooks.url(), ["changed"])])
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from archiver.cli import main\n"
        f"r = CliRunner().invoke(main, ['--config', {str(config)!r}, sys.argv[1]])\n"
        "print(r.exit_code, 'apprise' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    for command, loads in (("runs", False), ("crawl", True)):
        done = subprocess.run(
            [sys.executable, "-c", probe, command], capture_output=True, text=True, env=env
        )
        assert done.stdout.split() == ["0", str(loads)], done.stderr


def test_a_scheduled_run_notifies(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    """The scheduler's call: trigger "scheduled", stopped through ``should_stop``."""
    config_path = configure(config_dir, site, [notify_block(hooks.url(), ["changed"])])
    config = load_config(config_path)
    stopping = threading.Event()
    with Store.from_config(config) as store:
        crawl_run(config, store, trigger="scheduled", should_stop=stopping.is_set)
        edit(site)
        summary = crawl_run(config, store, trigger="scheduled", should_stop=stopping.is_set)
    assert [n["state"] for n in summary.notifications] == ["sent"]
    [hook] = hooks.hooks
    assert hook.payload["title"] == f"archiver run 2: 1 page changed — {TITLE}"


def test_serve_shows_a_runs_notifications(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what is installed
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from archiver.web import create_app

    config = configure(config_dir, site, [notify_block(hooks.url(), ["changed"], attempts=1)])
    crawl(config)
    hooks.down()
    edit(site)
    crawl(config)
    client = TestClient(create_app(config_dir / "store"))
    page = client.get("/runs/2").text
    assert "<h2>Notifications</h2>" in page
    assert f"json://127.0.0.1:{hooks.port}/hook" in page
    assert "not sent (retried at the next run)" in page and "Connection error" in page
    assert "<h2>Notifications</h2>" not in client.get("/runs/1").text


def test_a_claim_the_source_drops_is_announced_as_absent(
    config_dir: Path, site: FixtureSite, hooks: WebhookReceiver
) -> None:
    config = configure(config_dir, site, [notify_block(hooks.url(), ["claim"])])
    crawl(config)
    html = (SITE / "slownews" / "99663.html").read_text(encoding="utf-8")
    assert CLAIM in html
    site.routes["/99663"] = Route(body=html.replace(CLAIM, "").encode())  # the source drops it
    crawl(config)
    [hook] = hooks.hooks
    assert hook.payload["title"] == f"archiver run 2: 1 seed claim changed — {TITLE}"
    assert f"- **absent** (was present): {CLAIM}" in hook.payload["message"]


def test_archived_text_is_inert_and_long_runs_are_cut() -> None:
    hostile = "![pixel](http://evil.example/p.png) <img src=x> [click](http://evil.example)"
    events = [
        Event("changed", f"https://example.org/{i}", hostile, None, (1, 2), added=(hostile,) * 9)
        for i in range(25)
    ]
    message = compose(7, events, report=None, serve_url=None)
    assert message is not None
    assert message.title == "archiver run 7: 25 pages changed"
    # no link or image forms (brackets escaped), no HTML
    assert not re.search(r"(?<!\\)\]\(http://evil", message.body) and "<img" not in message.body
    assert "!\\[pixel\\](http://evil.example/p.png)" in message.body
    assert message.body.count("- added: ") == 20 * 5  # 5 sentences a page, 20 pages
    assert "… and 4 more changed sentences" in message.body
    assert "… and 5 more (see the report)" in message.body
    assert compose(7, [], report=None, serve_url=None) is None
