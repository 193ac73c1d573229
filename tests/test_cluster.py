"""Cluster mode's work distribution (issue 14, items 2, 4 and 6): `archiver worker`
processes on a real PostgreSQL, crawling the fixture sites.

Several sites on 127.0.0.1, 127.0.0.2, … are several hosts to the crawler's politeness.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from archiver.config import load_config
from archiver.storage.catalog import Catalog
from archiver.storage.store import Store

from .cluster import Worker, cluster_config, plan, run_done, wait_for
from .helpers import ARCHIVER, FixtureSite, Route, cli, cli_json
from .postgres import PASSWORD, PASSWORD_ROLE, PgCluster

PAGES = ["/99663", "/99700", "/99710", "/99720", "/plain"]
NEVER = 'cron = "0 0 1 1 *"'  # no tick during a test: it plans with plan_now


@pytest.fixture
def sites() -> Iterator[list[FixtureSite]]:
    started = [FixtureSite(f"127.0.0.{n}") for n in (1, 2, 3)]
    for site in started:
        site.thread.start()
    yield started
    for site in started:
        site.server.shutdown()
        site.server.server_close()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.close()


def _config(
    directory: Path, sites: list[FixtureSite], dsn: str, paths: list[str], **kw: Any
) -> Path:
    targets = [site.url(path) for site in sites for path in paths]
    if "every" not in kw:
        kw.setdefault("tail", NEVER)
        text = cluster_config(directory, sites[0], dsn, targets=targets, **kw)
        # [schedule] may hold every or cron, not both
        text.write_text(text.read_text().replace('every = "1h"\n', ""), encoding="utf-8")
        return text
    return cluster_config(directory, sites[0], dsn, targets=targets, **kw)


def _more_versions(catalog: Catalog, before: int) -> bool:
    return catalog.count_versions() > before


def _indexed(dsn: str) -> bool:
    catalog = Catalog(dsn)
    try:
        return not catalog.unindexed_versions(1)
    finally:
        catalog.close()


def _archive(config: Path, dsn: str) -> dict[str, Any]:
    """What a user compares between two archives: captures, versions, search, verify."""
    catalog = Catalog(dsn)
    try:
        captures = sorted(
            (c.url, c.status, c.record_type, c.payload_digest) for c in catalog.captures()
        )
        versions = sorted(
            (t.url, v.version, v.content_hash)
            for t in catalog.targets()
            for v in catalog.versions(t.id)
        )
    finally:
        catalog.close()
    hits = cli_json(config, "search", "올트먼", "--json", "--limit", "50")
    verify = cli(config, "verify", "--json")
    assert verify.exit_code == 0, verify.output
    report = json.loads(verify.output)
    return {
        "captures": captures,
        "versions": versions,
        "search": sorted((h["url"], h["version"]) for h in hits),
        "verify": {k: v for k, v in report.items() if k not in ("store", "catalog")},
    }


def test_three_workers_make_the_archive_one_worker_makes(
    tmp_path: Path, sites: list[FixtureSite], pg_cluster: PgCluster, workers: list[Worker]
) -> None:
    archives = []
    for count in (1, 3):
        dsn = pg_cluster.new_database()
        config = _config(tmp_path / f"w{count}", sites, dsn, PAGES)
        run_id = plan(config)
        workers += [
            Worker(config, "--concurrency", "2", *(["--index"] if n == 0 else []))
            for n in range(count)
        ]
        wait_for(partial(run_done, dsn, run_id), 60, f"run {run_id} ({count} workers)")
        # the indexer drains what the last pages added
        wait_for(partial(_indexed, dsn), 30, "the indexer")
        for worker in workers[-count:]:
            assert worker.stop() == 0, worker.stderr
        archives.append(_archive(config, dsn))
        report = cli_json(config, "report", "--run", str(run_id), "--json")["runs"][0]
        assert len(report["new"]) == 3 * len(PAGES) and report["errors"] == []
    one, three = archives
    assert len(one["versions"]) == 3 * len(PAGES) and len(one["search"]) >= 6
    assert one == three
    for worker in workers:
        assert "Traceback" not in worker.stderr


def _pages(
    sites: list[FixtureSite], prefix: str, file: str, delay: float = 0.0, count: int = 6
) -> list[str]:
    """``count`` pages (``/<prefix>0`` …) serving ``file`` on each of ``sites``."""
    paths = [f"/{prefix}{n}" for n in range(count)]
    for site in sites:
        for path in paths:
            site.routes[path] = Route(file, delay=delay)
    return paths


def _gaps(site: FixtureSite) -> list[float]:
    times = sorted(t for _, _, t in site.requests)
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_politeness_holds_across_three_workers(
    tmp_path: Path, sites: list[FixtureSite], pg_dsn: str, workers: list[Worker]
) -> None:
    site = sites[0]
    paths = _pages([site], "p", "slownews/99700.html")
    config = _config(
        tmp_path, [site], pg_dsn, paths, extra="per_host_delay = 0.5\nrespect_robots = true"
    )
    run_id = plan(config)
    # Two pages per job: the host's jobs go from worker to worker.
    workers += [Worker(config, "--pages-per-job", "2") for _ in range(3)]
    wait_for(lambda: run_done(pg_dsn, run_id), 60, "the run")
    for worker in workers:
        assert worker.stop() == 0
    served = [path for path, _, _ in site.requests]
    assert sorted(served) == sorted(["/robots.txt", *paths])  # robots.txt asked once
    gaps = _gaps(site)
    assert min(gaps) >= 0.5, gaps
    busy = [w for w in workers if "new http://" in w.stderr]
    assert len(busy) >= 2, "the host's jobs all ran on one worker"


def _recorded_once(dsn: str, urls: list[str]) -> None:
    """Nothing lost, nothing duplicated: each page one capture and one version."""
    catalog = Catalog(dsn)
    try:
        for url in urls:
            target = catalog.target_by_url(url)
            assert target is not None, f"{url} lost"
            assert len(catalog.versions(target.id)) == 1, url
            assert len(catalog.captures(target.id)) == 1, url
            assert target.next_fetch_at is None
    finally:
        catalog.close()


@pytest.mark.parametrize(
    "kills", [3, pytest.param(12, marks=pytest.mark.slow, id="soak")], ids=["3", "soak"]
)
def test_killed_workers_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, sites: list[FixtureSite], pg_dsn: str, workers: list[Worker], kills: int
) -> None:
    paths = _pages(sites[:2], "k", "slownews/99710.html", delay=0.3, count=max(6, kills))
    config = _config(tmp_path, sites[:2], pg_dsn, paths)
    run_id = plan(config)
    catalog = Catalog(pg_dsn)
    killed = 0
    try:
        for _ in range(kills):  # kill -9 in the middle of a job, again and again
            worker = Worker(config, "--concurrency", "2")
            workers.append(worker)
            before = catalog.count_versions()
            wait_for(partial(_more_versions, catalog, before), 30, "a page recorded")
            time.sleep(0.15)  # the next page is in flight
            worker.kill()
            killed += 1
        survivor = Worker(config, "--concurrency", "2")
        workers.append(survivor)
        wait_for(lambda: run_done(pg_dsn, run_id), 60, "the run after the kills")
        assert survivor.stop() == 0, survivor.stderr
    finally:
        catalog.close()
    _recorded_once(pg_dsn, [site.url(p) for site in sites[:2] for p in paths])
    verify = cli(config, "verify")
    assert verify.exit_code == 0 and "0 problems" in verify.output, verify.output
    assert json.loads(cli(config, "runs", "--json").output)[0]["fetched"] == 2 * len(paths)


def test_sigterm_hands_back_and_exits_0(
    tmp_path: Path, sites: list[FixtureSite], pg_dsn: str, workers: list[Worker]
) -> None:
    site = sites[0]
    paths = _pages([site], "s", "slownews/99720.html", delay=0.4)
    config = _config(tmp_path, [site], pg_dsn, paths)
    run_id = plan(config)
    worker = Worker(config)
    workers.append(worker)
    catalog = Catalog(pg_dsn)
    try:
        wait_for(lambda: catalog.count_versions() >= 1, 30, "a page recorded")
        sent = time.monotonic()
        assert worker.stop() == 0, worker.stderr
        assert time.monotonic() - sent < 5
        assert catalog.runs_left(run_id) > 0  # the rest was handed back, still due
        assert "Traceback" not in worker.stderr
    finally:
        catalog.close()
    workers.append(Worker(config))
    wait_for(lambda: run_done(pg_dsn, run_id), 60, "the run on the next worker")
    _recorded_once(pg_dsn, [site.url(p) for p in paths])


def test_workers_ride_out_a_postgresql_restart(
    tmp_path: Path, sites: list[FixtureSite], pg_cluster: PgCluster, workers: list[Worker]
) -> None:
    dsn = pg_cluster.new_database()
    paths = _pages(sites[:2], "r", "slownews/99663.html", delay=0.3)
    config = _config(tmp_path, sites[:2], dsn, paths)
    run_id = plan(config)
    workers += [Worker(config, "--concurrency", "2") for _ in range(2)]
    catalog = Catalog(dsn)
    try:
        wait_for(lambda: catalog.count_versions() >= 2, 30, "pages recorded")
    finally:
        catalog.close()
    pg_cluster.outage(3.0)  # down long enough for the queue's pool to fail to reconnect
    wait_for(lambda: run_done(dsn, run_id), 90, "the run after the restart")
    for worker in workers:
        assert worker.proc.poll() is None, worker.stderr  # still running: reconnected
        assert worker.stop() == 0
    _recorded_once(dsn, [site.url(p) for site in sites[:2] for p in paths])


def test_two_schedulers_plan_one_run_per_tick(
    tmp_path: Path, sites: list[FixtureSite], pg_dsn: str, workers: list[Worker]
) -> None:
    config = _config(tmp_path, sites[:1], pg_dsn, PAGES[:2], every="2s")
    workers += [Worker(config), Worker(config)]  # each runs the periodic deferrer
    catalog = Catalog(pg_dsn)
    try:
        wait_for(lambda: len(catalog.runs()) >= 3, 30, "three ticks")
        for worker in workers:
            assert worker.stop() == 0
        runs = catalog.runs()
        ticks = catalog._query("SELECT tick, run_id FROM ticks ORDER BY tick")
    finally:
        catalog.close()
    assert len(runs) == len(ticks) and all(r.trigger == "scheduled" for r in runs)
    stamps = [int(t["tick"]) for t in ticks]
    assert all(b - a >= 2 and (b - a) % 2 == 0 for a, b in zip(stamps, stamps[1:], strict=False))
    listed = cli_json(config, "schedule", "--list", "--json")
    assert listed[0]["trigger"] == "cron * * * * * */2"
    assert listed[0]["last_run"]["run_id"] == runs[-1].id


@pytest.mark.parametrize("wrong", ["password", "socket"])
def test_wrong_dsn_is_one_line_and_exit_2(
    tmp_path: Path, sites: list[FixtureSite], pg_cluster: PgCluster, wrong: str
) -> None:
    if wrong == "password":
        dsn = pg_cluster.dsn(user=PASSWORD_ROLE, password=PASSWORD + "x")
    else:
        dsn = f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@/postgres?host={tmp_path}/none"
    config = _config(tmp_path, sites[:1], "postgresql://placeholder@/x", PAGES[:1])
    done = subprocess.run(
        [ARCHIVER, "--config", str(config), "worker"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ARCHIVER_CATALOG": dsn},
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archiver: error:"), done.stderr
    assert "Traceback" not in done.stderr and PASSWORD not in done.stderr + done.stdout


def test_stalled_job_with_locks_blocks_its_host_until_recovered(
    tmp_path: Path, sites: list[FixtureSite], pg_dsn: str
) -> None:
    """Upstream Procrastinate #1543, on the real server: a stalled crawl_host job with a
    per-host lock and a queueing lock, and another job of the host waiting. Retrying
    the stalled job (the documented way) raises UniqueViolation and the host stays
    blocked; Cluster.recover fails it instead and the waiting job runs."""
    from procrastinate import exceptions as queue_errors

    from archiver.crawler.cluster import CRAWL, CRAWL_QUEUE, Cluster

    config = _config(tmp_path, sites[:1], pg_dsn, PAGES[:1])
    settings = load_config(config)

    async def scenario(cluster: Cluster) -> None:
        manager = cluster.app.job_manager
        async with cluster.app.open_async():
            assert await cluster.defer_host("h")
            assert not await cluster.defer_host("h")  # one waiting job per host
            worker_id = await manager.register_worker()
            stalled = await manager.fetch_job(queues=[CRAWL_QUEUE], worker_id=worker_id)
            assert stalled is not None and stalled.task_name == CRAWL
            assert await cluster.defer_host("h")  # the first one runs: another may wait
            await cluster.app.connector.execute_query_async(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
            )
            other = await manager.register_worker()
            assert await manager.fetch_job(queues=[CRAWL_QUEUE], worker_id=other) is None
            with pytest.raises(queue_errors.UniqueViolation):
                await manager.retry_job(stalled)  # the bug, reproduced
            assert await manager.fetch_job(queues=[CRAWL_QUEUE], worker_id=other) is None
            assert await cluster.recover() == [stalled.id]
            freed = await manager.fetch_job(queues=[CRAWL_QUEUE], worker_id=other)
            assert freed is not None and freed.task_kwargs == {"host": "h"}

    with Store.from_config(settings) as store:
        cluster = Cluster(settings, store, stalled_after=2)
        cluster.ensure_schema()
        asyncio.run(scenario(cluster))


def test_embedded_crawl_imports_no_cluster_library(tmp_path: Path, site: FixtureSite) -> None:
    from .helpers import write_config

    config = write_config(tmp_path, site, targets=["/99700"], seed=False)
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom archiver.cli.app import main\n"
        f"r = CliRunner().invoke(main, ['--config', {str(config)!r}, 'crawl'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('procrastinate', 'psycopg', 'psycopg_pool', 'boto3')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cluster_schedule_misuse_is_one_line(
    tmp_path: Path, sites: list[FixtureSite], pg_dsn: str
) -> None:
    config = _config(tmp_path / "a", sites[:1], pg_dsn, PAGES[:1], every="2s")
    refused = cli(config, "schedule")
    assert refused.exit_code == 2 and "archiver worker" in refused.output
    odd = _config(tmp_path / "b", sites[:1], pg_dsn, PAGES[:1], every="7m")
    done = subprocess.run(
        [ARCHIVER, "--config", str(odd), "worker"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "schedule.every" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_stalled_plan_or_sweep_never_loses_its_tick_or_blocks_recovery(
    tmp_path: Path, sites: list[FixtureSite], pg_dsn: str
) -> None:
    """A worker killed while it plans a tick or sweeps: the next sweep fails both jobs
    (no lock holds it back) and defers the tick's plan again."""
    from archiver.crawler.cluster import CONTROL_QUEUE, PLAN, RECOVER, Cluster

    settings = load_config(_config(tmp_path, sites[:1], pg_dsn, PAGES[:1]))

    async def scenario(cluster: Cluster) -> None:
        manager = cluster.app.job_manager
        async with cluster.app.open_async():
            await cluster.app.tasks[PLAN].defer_async(timestamp=1234)
            await cluster.app.tasks[RECOVER].defer_async(timestamp=1235)
            dead = await manager.register_worker()
            taken = [await manager.fetch_job(queues=[CONTROL_QUEUE], worker_id=dead) for _ in "ab"]
            assert {job.task_name for job in taken if job} == {PLAN, RECOVER}
            await cluster.app.connector.execute_query_async(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
            )
            alive = await manager.register_worker()
            # the next sweep runs although the stalled one was never finished
            await cluster.app.tasks[RECOVER].defer_async(timestamp=1240)
            sweep = await manager.fetch_job(queues=[CONTROL_QUEUE], worker_id=alive)
            assert sweep is not None and sweep.task_name == RECOVER
            ids = {job.id for job in taken if job is not None}
            assert set(await cluster.recover()) == ids
            again = await manager.fetch_job(queues=[CONTROL_QUEUE], worker_id=alive)
            assert again is not None and again.task_name == PLAN
            assert again.task_kwargs == {"timestamp": 1234}

    with Store.from_config(settings) as store:
        cluster = Cluster(settings, store, stalled_after=2)
        cluster.ensure_schema()
        asyncio.run(scenario(cluster))


def test_a_sigterm_while_the_queue_connects_still_stops_the_worker(
    tmp_path: Path, sites: list[FixtureSite], pg_dsn: str
) -> None:
    # SIGTERM can come while the worker opens its connection pool, before the job loop
    # exists to be cancelled; the worker must still exit instead of running on. (In a
    # process of its own: the worker's signal handlers need the main thread.)
    config = _config(tmp_path, sites[:1], pg_dsn, PAGES[:1])
    script = f"""
from archiver.config import load_config
from archiver.crawler.cluster import Cluster
from archiver.storage.store import Store

config = load_config({str(config)!r})
with Store.from_config(config) as store:
    cluster = Cluster(config, store, stalled_after=2.0)
    opening = cluster.app.open_async

    def open_then_signal():
        cluster.stop()  # what the SIGTERM handler does, at the worst moment
        return opening()

    cluster.app.open_async = open_then_signal
    cluster.run()
print("stopped")
"""
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the worker ran on after SIGTERM")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"
