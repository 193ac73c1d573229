"""Cluster mode's work queue: Procrastinate jobs on the PostgreSQL catalog (the only
module that imports procrastinate).

Jobs (each idempotent: a job that runs twice after a crash changes nothing more):

- ``archiver.plan(timestamp)``, a periodic task on the ``[schedule]``: Procrastinate
  defers it once per tick however many workers run its periodic deferrer (its
  ``procrastinate_periodic_defers`` table is unique per tick), and the catalog's
  ``ticks`` table makes it one run per tick even if the job runs twice. It makes the
  tick's pages due and defers one ``crawl_host`` per host.
- ``archiver.crawl_host(host)``: :meth:`HostCrawler.crawl_host`. Its ``lock`` (one per
  host) lets one job per host run at a time, across workers; its ``queueing_lock`` keeps
  at most one waiting. Deferring when one waits raises AlreadyEnqueued, which means
  "already queued", never an error.
- ``archiver.index()`` on the ``index`` queue, which only the search host's worker
  (``archiver worker --index``) takes: drains the versions not yet indexed.
- ``archiver.recover(timestamp)``, periodic, every :data:`RECOVER_EVERY` seconds, with no
  lock (a sweep stalled with its worker must not hold back the next): the jobs of workers
  whose heartbeat stopped (killed, or cut off) are marked failed, never retried in place;
  a stalled ``plan`` is deferred again for its tick; every host with a page due and no
  job gets one, and the indexer a job when versions wait. Procrastinate's
  documented retry of stalled jobs puts the stalled job back to ``todo``; with a
  queueing lock and another job of the host already waiting, that raises a
  UniqueViolation and the stalled job keeps the host's lock for good (upstream issue
  #1543). Failing the stalled job frees its lock, and deferring anew can only meet
  AlreadyEnqueued, which is absorbed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from contextlib import suppress
from datetime import datetime
from typing import Any

import croniter  # Procrastinate's own dependency, for its periodic tasks
import procrastinate
from procrastinate import exceptions as queue_errors
from procrastinate.jobs import Status

from archiver.config import Config, parse_duration
from archiver.errors import ConfigError
from archiver.fulltext.rebuild import drain
from archiver.storage.postgres import scrub
from archiver.storage.store import PidLock, Store

from .hostjob import HostCrawler, Plan, plan_tick

log = logging.getLogger(__name__)

PLAN, CRAWL, INDEX, RECOVER = (
    "archiver.plan",
    "archiver.crawl_host",
    "archiver.index",
    "archiver.recover",
)
CRAWL_QUEUE, INDEX_QUEUE, CONTROL_QUEUE = "crawl", "index", "control"
RECOVER_EVERY = 5  # seconds between two sweeps for stalled jobs and hosts without a job
SCHEMA_LOCK = 0x70726F63  # "proc": one worker applies Procrastinate's schema
POLL = 0.5  # seconds between two looks for jobs (LISTEN/NOTIFY is off: it does not
# survive a server restart, polling does)


def tick_cron(config: Config) -> str:
    """The [schedule] as a cron line for Procrastinate (seconds as a 6th field)."""
    schedule = config.schedule
    if schedule.cron is not None:
        return schedule.cron
    assert schedule.every is not None
    seconds = int(parse_duration(schedule.every, key="schedule.every"))
    for unit, size, template in (
        ("s", 1, "* * * * * */{n}"),
        ("m", 60, "*/{n} * * * *"),
        ("h", 3600, "0 */{n} * * *"),
    ):
        span = {"s": 60, "m": 60, "h": 24}[unit]
        if seconds % size == 0 and span % (n := seconds // size) == 0 and n < span:
            return template.format(n=n).replace("*/1 ", "* ").replace(" */1", " *")
    if seconds == 86400:
        return "0 0 * * *"
    raise ConfigError(
        f"schedule.every = {schedule.every!r}: cluster mode ticks on a cron line; use an"
        " interval that divides a minute, an hour or a day, or schedule.cron"
    )


class Cluster:
    """One `archiver worker` process: a Procrastinate worker running cluster jobs."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        concurrency: int = 1,
        index: bool = False,
        stalled_after: float = 10.0,
        pages_per_job: int = 50,
    ) -> None:
        if store.catalog_dsn is None:
            raise ConfigError(
                "archiver worker needs a PostgreSQL catalog: [store] catalog ="
                ' "postgresql://…" or ARCHIVER_CATALOG'
            )
        self.config = config
        self.store = store
        self.dsn = store.catalog_dsn
        self.concurrency = max(1, concurrency)
        self.index = index
        self.stalled_after = stalled_after
        self.pages_per_job = pages_per_job
        self.stopping = False
        self.crawler = HostCrawler(config, store)
        self.app = self._app()
        self._run: asyncio.Task[Any] | None = None

    # -- the jobs ----------------------------------------------------------------

    def _app(self) -> procrastinate.App:
        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=self.dsn,
                kwargs={"application_name": "archiver-worker"},
                min_size=1,
                max_size=4 + self.concurrency,
            )
        )

        @app.periodic(cron=tick_cron(self.config), periodic_id="tick")
        # One plan at a time; no queueing lock: a plan waiting for its turn is a tick of
        # its own (and a stalled plan is deferred again, see recover).
        @app.task(name=PLAN, queue=CONTROL_QUEUE, lock=PLAN)
        async def plan(timestamp: int) -> None:
            await self._plan(timestamp)

        @app.task(name=CRAWL, queue=CRAWL_QUEUE)
        async def crawl_host(host: str) -> None:
            await self._crawl_host(host)

        @app.task(name=INDEX, queue=INDEX_QUEUE, lock=INDEX, queueing_lock=INDEX)
        async def index() -> None:
            count = await asyncio.to_thread(_drain, self.config, self.store)
            log.info("indexed %d versions", count)

        @app.periodic(cron=f"* * * * * */{RECOVER_EVERY}", periodic_id="recover")
        # No lock: a recover job stalled with its worker must not hold back the next one
        # (which fails it); two sweeps at once do nothing twice.
        @app.task(name=RECOVER, queue=CONTROL_QUEUE, queueing_lock=RECOVER)
        async def recover(timestamp: int) -> None:
            await self.recover()

        return app

    async def _plan(self, tick: int) -> None:
        plan = plan_tick(self.config, self.store, tick)
        if plan is None:
            log.info("tick %d was planned already", tick)
            return
        for host in plan.hosts:
            await self.defer_host(host)

    async def _crawl_host(self, host: str) -> None:
        report = await self.crawler.crawl_host(
            host, lambda: self.stopping, limit=self.pages_per_job
        )
        if report.handed_back:  # stopping, or its share done: the rest waits in the queue
            await self.defer_host(host)
        if report.new_versions:
            await self.defer_index()

    async def defer_host(self, host: str) -> bool:
        """Queue ``crawl_host(host)``; False when one is waiting already (it will see
        every page due by the time it runs)."""
        task = self.app.tasks[CRAWL]
        try:
            await task.configure(lock=f"host:{host}", queueing_lock=f"host:{host}").defer_async(
                host=host
            )
        except queue_errors.AlreadyEnqueued:
            return False
        return True

    async def defer_index(self) -> None:
        with suppress(queue_errors.AlreadyEnqueued):  # the waiting one drains these too
            await self.app.tasks[INDEX].defer_async()

    async def recover(self) -> list[int]:
        """Fail the jobs of stalled workers; give every host with due pages a job and the
        indexer a job when versions wait. The ids of the jobs failed."""
        manager = self.app.job_manager
        await manager.prune_stalled_workers(self.stalled_after)
        failed = []
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self.stalled_after):
            assert job.id is not None
            # Failed, not retried: a retry puts it back to `todo` beside the host's
            # waiting job, which the queueing lock forbids (upstream #1543).
            try:
                await manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
            except queue_errors.ConnectorException:
                continue  # another sweep failed it first
            log.warning(
                "job %d (%s) lost its worker; its work is queued again", job.id, job.call_string
            )
            failed.append(job.id)
            if job.task_name == PLAN:  # its tick, planned (once: the ticks table) anew
                await self.app.tasks[PLAN].defer_async(**job.task_kwargs)
        queued = await self._queued_hosts()
        for host in self.store.catalog.due_hosts():
            if host not in queued:
                await self.defer_host(host)
        if self.store.catalog.unindexed_versions(1):
            await self.defer_index()
        return failed

    async def _queued_hosts(self) -> set[str]:
        rows = await self.app.connector.execute_query_all_async(
            "SELECT lock FROM procrastinate_jobs WHERE task_name = %(task)s"
            " AND status IN ('todo', 'doing')",
            task=CRAWL,
        )
        return {str(r["lock"]).removeprefix("host:") for r in rows if r["lock"]}

    # -- running -----------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Procrastinate's tables, created once in the catalog's database."""
        ddl = self.app.schema_manager.get_schema()
        if self.store.catalog.ensure_tables("procrastinate_jobs", ddl, SCHEMA_LOCK):
            log.info("created the work queue's tables in %s", self.store.catalog.label)

    def stop(self) -> None:
        """Finish the pages in hand, hand the rest back, then exit."""
        if not self.stopping:
            log.warning("stopping: finishing the page in hand")
        self.stopping = True
        if self._run is not None:
            self._run.cancel()

    def run(self, stopped: list[int] | None = None) -> None:
        """Run jobs until SIGTERM or SIGINT; reconnect when the server goes away.
        ``stopped`` collects the signals that come before the event loop takes them."""
        self.ensure_schema()
        asyncio.run(self._main(stopped if stopped is not None else []))

    async def _main(self, stopped: list[int]) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        if stopped:
            self.stopping = True
        try:
            while not self.stopping:
                try:
                    await self._work()
                except asyncio.CancelledError:
                    if not self.stopping:
                        raise
                except Exception as exc:  # noqa: BLE001 - the server went away, say; the
                    # queue's errors come from procrastinate, psycopg and its pool alike
                    if self.stopping:
                        break
                    log.warning("work queue: %s; reconnecting", scrub(exc, self.dsn))
                    log.debug("work queue failure", exc_info=True)
                    await asyncio.sleep(1.0)
        finally:
            await self.crawler.aclose()
            self.crawler.close()

    async def _work(self) -> None:
        queues = [CRAWL_QUEUE, CONTROL_QUEUE] + ([INDEX_QUEUE] if self.index else [])
        async with self.app.open_async():
            if self.stopping:  # a signal while the pool opened: nothing to cancel yet
                return
            self._run = asyncio.create_task(
                self.app.run_worker_async(
                    queues=queues,
                    concurrency=self.concurrency + 1,  # + the control jobs
                    install_signal_handlers=False,
                    listen_notify=False,
                    fetch_job_polling_interval=POLL,
                    update_heartbeat_interval=max(0.5, self.stalled_after / 5),
                    stalled_worker_timeout=self.stalled_after,
                    delete_jobs="successful",
                )
            )
            try:
                await self._run
            finally:
                self._run = None
        if not self.stopping:  # a side task (heartbeat, deferrer) failed: start again
            raise queue_errors.ProcrastinateException("the worker stopped by itself")


def _drain(config: Config, store: Store) -> int:
    # Its own catalog connection: the worker's serves the event loop meanwhile.
    with Store(store.root, store.catalog_dsn, store.remote) as own:
        return drain(own)


def run_worker(
    config: Config,
    store: Store,
    *,
    concurrency: int,
    index: bool,
    stalled_after: float,
    pages_per_job: int = 50,
    stopped: list[int] | None = None,
) -> None:
    """`archiver worker`: hold the store folder (its WARC spool) and run jobs."""
    # With WARC files on S3, store.path is this worker's spool, which it uploads whole:
    # two workers must not share one. Local WARC files may share a folder (names differ).
    lock = PidLock(
        store.root / "lock",
        busy="another worker or crawl (pid {pid}) uses the WARC spool {where}; give each"
        " worker its own store.path",
    )
    if store.remote is not None:
        lock.acquire()
    try:
        from archiver.storage import spool

        spool.start_run(store)  # files a killed worker left behind upload now
        cluster = Cluster(
            config,
            store,
            concurrency=concurrency,
            index=index,
            stalled_after=stalled_after,
            pages_per_job=pages_per_job,
        )
        cluster.stopping = bool(stopped)  # signals that came while it started
        cluster.run(stopped)
        spool.end_run(store)
    finally:
        lock.release()


def plan_now(config: Config, store: Store) -> Plan | None:
    """Plan a tick now, outside the schedule, and queue its hosts (what a periodic
    ``plan`` job does): the library's way to start a cluster crawl at once."""
    plan = plan_tick(config, store, int(time.time()))
    if plan is None:
        return None
    cluster = Cluster(config, store)

    async def defer() -> None:
        async with cluster.app.open_async():
            for host in plan.hosts:
                await cluster.defer_host(host)

    cluster.ensure_schema()
    asyncio.run(defer())
    return plan


def next_tick(config: Config, now: datetime) -> tuple[str, datetime]:
    """`schedule --list` in cluster mode: the tick's cron line and its next time."""
    cron = tick_cron(config)
    following: datetime = croniter.croniter(cron, now).get_next(datetime)
    return cron, following
