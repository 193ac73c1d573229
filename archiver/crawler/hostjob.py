"""Cluster mode's work, without the queue: plan a scheduler tick, crawl one host's due
pages. :mod:`archiver.crawler.cluster` runs these as Procrastinate jobs.

A page is fetched and recorded by the same code as ``archiver crawl``
(:func:`~archiver.crawler.pipeline.fetch_page`, :class:`~archiver.crawler.recorder.CrawlRun`):
robots.txt, the SSRF guard, conditional GET, WARC records fsynced (into the spool when
the WARC files live on S3), then one catalog transaction.

Invariants:

- Politeness holds across workers: the queue runs one job per host at a time, and the
  state between two requests lives in the catalog's ``hosts`` table. The time of the last
  request is stamped before a request and again when its page is recorded, and a job waits
  ``max(per_host_delay, Crawl-delay)`` after the later stamp (or until ``blocked_until``
  after a 429 or 503). robots.txt is kept there too, so a host's next job does not ask
  for it again within :data:`ROBOTS_TTL`. (Workers' clocks must agree: NTP.)
- A page lands in one transaction with its "no longer due" mark and its run's counters
  (:meth:`Catalog.take_due`, :meth:`Catalog.page_done`). A job killed at any point leaves
  the page due, to be fetched again by the next job; one that finds the page already
  recorded (its job was declared stalled while only slow) rolls its copy back. Nothing
  is lost, nothing is recorded twice.
- A run is one scheduler tick (:func:`plan_tick`): its pages carry its id, and it ends
  (outcome, report) when the last of them is recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from archiver.config import Config
from archiver.errors import ArchiverError
from archiver.extractor.page import Document
from archiver.net.exchange import FetchResult
from archiver.net.fetch import Fetcher
from archiver.net.robots import RobotsPolicy
from archiver.net.urls import canonicalize
from archiver.storage.catalog import TargetRow
from archiver.storage.store import Store

from .frontier import FrontierItem
from .outcome import CHANGED, ERROR, NEW, TargetOutcome, counted_outcome
from .pipeline import build_frontier, fetch_page, record_seed
from .recorder import CrawlRun

log = logging.getLogger(__name__)

ROBOTS_TTL = 3600.0  # seconds a host's robots.txt is trusted before it is asked again
BACKOFF = 60.0  # seconds a host is left alone after a 429/503 without Retry-After
TICK_LOCK = 0x7469636B  # "tick": the advisory lock of planning


class PageTaken(ArchiverError):
    """Another job recorded this page meanwhile: this copy is rolled back."""


def host_key(url: str) -> str:
    """The politeness key of a URL: its host name (as the fetcher's per-host limits)."""
    try:
        return (urlsplit(url).hostname or "").lower() or "-"
    except ValueError:
        return "-"


@dataclass(frozen=True)
class Plan:
    run_id: int
    pages: int  # pages this tick made due (others were still due from earlier ticks)
    hosts: list[str]  # every host with a page due now


def plan_tick(config: Config, store: Store, tick: int) -> Plan | None:
    """Plan scheduler tick ``tick`` (seconds since the epoch): one run, and every page
    of the config's frontier due now. None when the tick was already planned (by
    another scheduler, or by this job's earlier try): the catalog's ``ticks`` table
    makes it one run per tick whoever asks."""
    catalog = store.catalog
    seeds = [record_seed(store, path)[0] for path in config.seeds]
    now = time.time()
    with catalog.transaction():  # the tick and its plan land together, or not at all
        run_id = catalog.start_tick(tick, TICK_LOCK)
        if run_id is None:
            return None
        frontier = build_frontier(config, seeds, catalog)
        planned = 0
        while (item := frontier.pop()) is not None:
            via = "feed" if item.kind == "feed" else item.via
            planned += catalog.plan(
                run_id,
                item.url,
                host_key(item.url),
                now,
                via=via,
                depth=item.depth,
                score=item.score,
                seed_id=item.seed_id,
            )
    log.info("run %d (tick %d): %d pages planned", run_id, tick, planned)
    finish_run_if_done(config, store, run_id)
    return Plan(run_id, planned, catalog.due_hosts(now))


def finish_run_if_done(config: Config, store: Store, run_id: int) -> bool:
    """End run ``run_id`` (outcome, report) once none of its pages is due; idempotent."""
    catalog = store.catalog
    if catalog.runs_left(run_id):
        return False
    run = catalog.run(run_id)
    outcome, reason = counted_outcome(run.fetched, len(run.errors))
    if not catalog.close_run(run_id, outcome, reason):
        return False
    from archiver.changes.report import save_run_report  # jinja2 only when a run ends

    save_run_report(store, run_id, config)
    log.info("run %d ended: %s", run_id, outcome)
    return True


@dataclass
class HostReport:
    host: str
    pages: int = 0  # pages recorded by this job
    new_versions: int = 0
    handed_back: bool = False  # stopped with pages still due


class HostCrawler:
    """One worker process's crawl state, shared by its concurrent host jobs: the store,
    one WARC writer and one fetcher. Jobs share them safely because recording is
    synchronous (one page at a time in the event loop)."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.run = CrawlRun(config.crawl, store, 0, None, indexing=False)
        self.run.render_modes = {canonicalize(url): mode for url, mode in config.target_render}
        self._fetcher: Fetcher | None = None
        self._page: TargetRow | None = None  # the page being recorded

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:  # inside the event loop: httpx binds to it
            self._fetcher = Fetcher(self.config.crawl)
        return self._fetcher

    async def aclose(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None

    def close(self) -> None:
        """Close the WARC file (and upload the spool when it is on S3)."""
        self.run.warc.close()
        if self.run.uploader is not None:
            self.run.uploader.close()

    async def crawl_host(
        self, host: str, stop: Callable[[], bool], *, limit: int = 50
    ) -> HostReport:
        """Fetch and record ``host``'s due pages, oldest first, until none is due,
        ``limit`` pages are recorded or ``stop()``; the pages left stay due (handed back
        to the queue, where the host's next job may go to another worker)."""
        catalog = self.store.catalog
        report = HostReport(host)
        robots = RobotsPolicy(
            self.fetcher, self.config.crawl.user_agent, respect=self.config.crawl.respect_robots
        )
        while True:
            target = catalog.next_due(host, time.time())
            if target is None:
                return report
            if stop() or report.pages >= limit or not await self._wait_turn(host, stop):
                report.handed_back = True
                return report
            item = FrontierItem(
                target.url,
                target.via,
                target.depth,
                target.seed_id,
                target.score,
                "feed" if target.via == "feed" else "page",
            )
            if robots.needs_fetch(item.url):
                await self._load_robots(host, robots, item.url, stop)
                if not await self._wait_turn(host, stop):
                    report.handed_back = True
                    return report
            # Stamped before the request (a worker killed mid-request leaves it), and
            # again inside the page's transaction (see _page_done), so that the next
            # request waits from the answer: one commit per page more, not two (none
            # for a host with no delay to keep).
            if self.fetcher.host_delay(host) > 0:
                catalog.update_host(host, last_request_at=time.time())
            try:
                fetched = await fetch_page(self.run, self.fetcher, robots, None, item)
            except BaseException:
                catalog.update_host(host, last_request_at=time.time())
                raise
            _, result, doc, _ = fetched
            self._backoff(host, result)
            outcome = self._record(target, item, result, doc)
            if outcome is not None:
                report.pages += 1
                if outcome.state in (NEW, CHANGED):
                    report.new_versions += 1
                if target.planned_run is not None:
                    finish_run_if_done(self.config, self.store, target.planned_run)

    def _record(
        self, target: TargetRow, item: FrontierItem, result: FetchResult, doc: Document | None
    ) -> TargetOutcome | None:
        self.run.run_id = target.planned_run or 0
        self.run.on_page = self._page_done
        self._page = target
        try:
            return self.run.record(item, result, doc)
        except PageTaken:
            log.warning("%s: recorded by another job meanwhile; this copy dropped", item.url)
            return None
        finally:
            self._page = None

    def _page_done(self, target: TargetRow, outcome: TargetOutcome) -> None:
        planned = self._page
        assert planned is not None and planned.id == target.id
        catalog = self.store.catalog
        if not catalog.take_due(target.id, planned.next_fetch_at, planned.planned_run):
            raise PageTaken(target.url)
        if planned.host is not None:
            catalog.update_host(planned.host, last_request_at=time.time())
        if planned.planned_run is not None:
            error = outcome.error if outcome.state == ERROR else None
            catalog.page_done(target.id, planned.planned_run, outcome.state, error)

    async def _wait_turn(self, host: str, stop: Callable[[], bool]) -> bool:
        """Wait until ``host`` may get its next request; False when stopped first."""
        while True:
            state = self.store.catalog.host(host)
            delay = max(self.fetcher.host_delay(host), state.crawl_delay or 0.0)
            ready = max((state.last_request_at or 0.0) + delay, state.blocked_until or 0.0)
            wait = ready - time.time()
            if wait <= 0:
                return True
            if stop():
                return False
            await asyncio.sleep(min(wait, 0.25))

    async def _load_robots(
        self, host: str, robots: RobotsPolicy, url: str, stop: Callable[[], bool]
    ) -> None:
        """robots.txt from the hosts table when fresh, else fetched in the host's turn."""
        catalog = self.store.catalog
        state = catalog.host(host)
        if state.robots is not None and time.time() - (state.robots_at or 0.0) < ROBOTS_TTL:
            robots.preload(url, state.robots)
            return
        if not await self._wait_turn(host, stop):
            return  # disallowed() will then ask without waiting; the job is stopping
        catalog.update_host(host, last_request_at=time.time())
        try:
            await robots.disallowed(url)
        finally:
            catalog.update_host(host, last_request_at=time.time())
        body = robots.bodies.get(robots.origin(url))
        if body is not None:  # loaded (a 5xx or no answer is asked again next job)
            delay = self.fetcher.host_delay(host)
            catalog.update_host(
                host,
                robots=body,
                robots_at=time.time(),
                crawl_delay=delay if delay > self.config.crawl.per_host_delay else None,
            )

    def _backoff(self, host: str, result: FetchResult) -> None:
        response = result.response
        if response is None or response.status not in (429, 503):
            return
        told = response.header("retry-after")
        seconds = float(told) if told and told.strip().isdigit() else BACKOFF
        self.store.catalog.update_host(host, blocked_until=time.time() + min(seconds, 3600.0))
