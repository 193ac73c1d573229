"""Issue 18, rows 6 and 11 (and the catalog half of row 20): a crawl that is stopped
(Ctrl-C, SIGTERM), killed, or fails (a full disk, a failed catalog write, a bug) is
recorded with that outcome and the reason; Ctrl-C is one line, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from archiver.errors import StoreError
from archiver.storage.catalog import Catalog
from archiver.storage.sqlite import SqliteDb

from .helpers import ARCHIVER, FixtureSite, Route, cli, cli_json, write_config

SLOW = [f"/slow/{i}" for i in range(12)]


def runs(config: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = cli_json(config, "runs")
    return data


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def catalog_runs(config: Path) -> int:
    path = config.parent / "store" / "catalog.sqlite3"
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0


def slow_site(site: FixtureSite) -> None:
    for path in SLOW:
        site.routes[path] = Route("slownews/99700.html", delay=6)


@pytest.fixture
def crawl_process(config_dir: Path) -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """`archiver crawl` as a real process in its own process group (as a terminal runs
    it), so a signal can go to the whole group, as Ctrl-C does."""
    procs: list[subprocess.Popen[str]] = []

    def start(config: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [ARCHIVER, "--config", str(config), "crawl"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_only_line(stderr: str, start: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(start), stderr
    return lines[0]


# --- row 11: Ctrl-C (and SIGTERM) during `archiver crawl` ----------------------------


@pytest.mark.parametrize(
    ("how", "reason"),
    [("ctrl-c", "SIGINT"), ("sigterm", "SIGTERM"), ("ctrl-c twice", "SIGINT")],
)
def test_a_stopped_crawl_is_one_line_and_recorded_as_interrupted(
    config_dir: Path,
    site: FixtureSite,
    crawl_process: Callable[[Path], subprocess.Popen[str]],
    how: str,
    reason: str,
) -> None:
    slow_site(site)
    config = write_config(
        config_dir,
        site,
        targets=["/99700", *SLOW],
        extra="respect_robots = true\nconcurrency = 16\nper_host_concurrency = 16",
    )
    proc = crawl_process(config)
    wait_for(lambda: all(site.hits(path) for path in SLOW))  # the slow pages in flight
    wait_for(lambda: site.hits("/99700") and site.hits("/99663"))
    time.sleep(0.3)  # both fast pages recorded
    sent = time.monotonic()
    if how == "sigterm":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        if how == "ctrl-c twice":
            time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert time.monotonic() - sent < 4  # the 6-second pages were abandoned
    assert proc.returncode == 130, stderr
    line = assert_only_line(stderr, "archiver: error: interrupted")
    [run] = runs(config)
    assert run["outcome"] == "interrupted", run
    assert reason in run["reason"] and str(run["run_id"]) in line
    assert run["finished_at"] is not None
    # What was fetched before the stop is kept: catalog, WARC and index agree.
    verify = cli(config, "verify", "--json")
    assert verify.exit_code == 0 and json.loads(verify.stdout)["problems"] == []
    history = cli_json(config, "history", site.url("/99700"))
    assert [v["version"] for v in history] == [1]
    hits = cli_json(config, "search", "올트먼")
    assert site.url("/99700") in {hit["url"] for hit in hits}
    assert (config_dir / "store" / "reports" / "run-000001.json").is_file()


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_before_the_first_fetch_is_recorded_too(
    config_dir: Path,
    site: FixtureSite,
    crawl_process: Callable[[Path], subprocess.Popen[str]],
    presses: int,
) -> None:
    # With follow_hosts the run loads kiwipiepy (seconds) before it fetches anything.
    config = write_config(
        config_dir, site, extra='respect_robots = true\nfollow_hosts = ["127.0.0.1"]'
    )
    proc = crawl_process(config)
    wait_for(lambda: catalog_runs(config) == 1)
    for _ in range(presses):  # a second press stops the loading of the seed's terms
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.2)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "run 1 stopped by SIGINT" in assert_only_line(stderr, "archiver: error: interrupted")
    [run] = runs(config)
    assert (run["outcome"], run["fetched"]) == ("interrupted", 0), run
    assert "SIGINT" in run["reason"]
    assert site.hits("/99663") == 0


# --- row 6: a killed, interrupted or failed run says so in `runs` --------------------


def test_a_killed_crawl_is_marked_abandoned_by_the_next_crawl(
    config_dir: Path, site: FixtureSite, crawl_process: Callable[[Path], subprocess.Popen[str]]
) -> None:
    slow_site(site)
    config = write_config(config_dir, site, targets=SLOW[:2])
    proc = crawl_process(config)
    wait_for(lambda: site.hits(SLOW[0]))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert [r["outcome"] for r in runs(config)] == [None]  # as the kill left it
    site.routes[SLOW[0]].delay = site.routes[SLOW[1]].delay = 0
    assert cli(config, "crawl").exit_code == 0
    killed, second = runs(config)
    assert killed["outcome"] == "abandoned" and "killed" in killed["reason"]
    assert second["outcome"] == "ok" and second["reason"] is None


def _fill_catalog_after(monkeypatch: pytest.MonkeyPatch, spare_pages: int) -> None:
    """Every catalog opened from now on may grow by ``spare_pages`` pages only, and
    spills its cache early: a write beyond that is SQLite's 'database or disk is full',
    and SQLite rolls the whole transaction back by itself, as on a real full disk."""
    original = Catalog.__init__

    def limited(self: Catalog, path: Path) -> None:
        original(self, path)
        sql = self._sql  # noqa: SLF001 - the test reaches into the connection on purpose
        assert isinstance(sql, SqliteDb)
        db = sql.db
        pages = int(db.execute("PRAGMA page_count").fetchone()["page_count"])
        db.execute("PRAGMA cache_size = 1")
        db.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    monkeypatch.setattr(Catalog, "__init__", limited)


@pytest.mark.parametrize("spare_pages", [1, 3, 6])
def test_a_full_disk_during_the_catalog_commit_fails_the_run_with_the_real_cause(
    config_dir: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch, spare_pages: int
) -> None:
    config = write_config(config_dir, site, targets=["/99700"], seed=False)
    assert cli(config, "crawl").exit_code == 0
    big = "".join(f"<p>올트먼 문단 {i} {os.urandom(300).hex()}</p>" for i in range(60))
    site.routes["/big"] = Route(body=f"<html><body><article>{big}</article></body></html>".encode())
    config = write_config(config_dir, site, targets=["/99700", "/big"], seed=False)
    _fill_catalog_after(monkeypatch, spare_pages)
    result = cli(config, "crawl")
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    line = assert_only_line(result.stderr, "archiver: error: ")
    assert "disk is full" in line and "no transaction" not in line, line
    first, second = runs(config)
    assert first["outcome"] == "ok"
    assert second["outcome"] == "failed" and "disk is full" in second["reason"], second
    assert second["finished_at"] is not None
    verify = cli(config, "verify", "--json")
    assert verify.exit_code == 0 and json.loads(verify.stdout)["problems"] == []
    assert [v["version"] for v in cli_json(config, "history", site.url("/99700"))] == [1]


@pytest.mark.parametrize(
    ("where", "error", "expected"),
    [
        (
            "archiver.storage.warc.WarcWriter.write_exchange",
            OSError(28, "No space left on device"),
            "No space left on device",
        ),
        (
            "archiver.storage.catalog.Catalog.add_capture",
            StoreError("catalog.sqlite3: catalog write failed: database or disk is full"),
            "disk is full",
        ),
        (
            "archiver.crawler.discover.Discovery.next_wave",
            RuntimeError("a bug"),
            "RuntimeError: a bug",
        ),
    ],
)
def test_a_run_that_fails_is_recorded_failed_with_the_reason(
    config_dir: Path,
    site: FixtureSite,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    error: BaseException,
    expected: str,
) -> None:
    config = write_config(config_dir, site, targets=["/99700"], seed=False)

    def fail(*args: object, **kwargs: object) -> Any:
        raise error

    monkeypatch.setattr(where, fail)
    result = cli(config, "crawl")
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert expected in assert_only_line(result.stderr, "archiver: error: ")
    [run] = runs(config)
    assert run["outcome"] == "failed" and expected in run["reason"], run
    assert cli(config, "crawl").exit_code == 0  # the store is usable afterwards
    assert [r["outcome"] for r in runs(config)] == ["failed", "ok"]


# --- row 20 (catalog half): a rollback after SQLite rolled back by itself -----------


def _many_runs(catalog: Catalog) -> None:
    for i in range(200):
        catalog.start_run(f"t{i}" * 100)


def test_a_transaction_rolled_back_by_sqlite_reports_the_real_error(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    sql = catalog._sql  # noqa: SLF001
    assert isinstance(sql, SqliteDb)
    db = sql.db
    pages = int(db.execute("PRAGMA page_count").fetchone()["page_count"])
    db.execute("PRAGMA cache_size = 1")
    db.execute(f"PRAGMA max_page_count = {pages + 2}")
    for nested in (False, True):
        with pytest.raises(StoreError) as info, catalog.transaction():
            if nested:
                with catalog.transaction():  # a SAVEPOINT inside the transaction
                    _many_runs(catalog)
            else:
                _many_runs(catalog)
        assert "disk is full" in str(info.value), info.value
        assert "no transaction" not in str(info.value) and "savepoint" not in str(info.value)
        assert not db.in_transaction
    db.execute("PRAGMA max_page_count = 1000000")
    with catalog.transaction():  # the connection is usable again
        run_id = catalog.start_run("manual")
    assert [r.id for r in catalog.runs()] == [run_id]
    catalog.close()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_big_run_stopped_with_its_index_workers_keeps_catalog_and_index_equal(
    config_dir: Path,
    site: FixtureSite,
    crawl_process: Callable[[Path], subprocess.Popen[str]],
    sig: signal.Signals,
) -> None:
    # Past PARALLEL_INDEX_DOCS the run streams to two indexing processes; a terminal's
    # Ctrl-C or a service manager's SIGTERM reaches them too.
    paths = [f"/p/{i}" for i in range(230)]
    for i, path in enumerate(paths):
        body = f"<html><head><title>기사 {i}</title></head><body><article>" + "".join(
            f"<p>올트먼 해임 사건 {i}-{j}번째 문단입니다. 이사회가 결정했다.</p>" for j in range(4)
        )
        site.routes[path] = Route(body=(body + "</article></body></html>").encode())
    slow_site(site)
    config = write_config(
        config_dir,
        site,
        targets=[*paths, *SLOW],
        seed=False,
        extra="respect_robots = true\nconcurrency = 16\nper_host_concurrency = 16",
    )
    proc = crawl_process(config)
    wait_for(lambda: all(site.hits(path) for path in paths), timeout=60)
    time.sleep(1.0)
    os.killpg(proc.pid, sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert_only_line(stderr, "archiver: error: interrupted")
    [run] = runs(config)
    assert run["outcome"] == "interrupted" and run["new_versions"] == len(paths)
    hits = cli_json(config, "search", "올트먼", "--limit", "1000")
    assert len(hits) == len(paths)  # the index holds every version the catalog does


def test_a_catalog_from_before_the_reason_column_gains_it(
    config_dir: Path, site: FixtureSite
) -> None:
    config = write_config(config_dir, site, targets=["/99700"], seed=False)
    assert cli(config, "crawl").exit_code == 0
    path = config_dir / "store" / "catalog.sqlite3"
    with sqlite3.connect(path) as db:  # the runs table as version 0.1 made it
        db.execute("ALTER TABLE runs DROP COLUMN reason")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")  # its schema
        db.execute("INSERT INTO runs(started_at, trigger) VALUES ('2024-01-01T00:00:00Z', 'x')")
    db.close()
    assert cli(config, "crawl").exit_code == 0
    assert [(r["outcome"], r["reason"]) for r in runs(config)] == [
        ("ok", None),
        ("abandoned", "its process was killed, or its end could not be recorded (a full disk)"),
        ("ok", None),
    ]
