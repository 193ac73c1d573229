"""One crawl run, wiring the stages: seeds → frontier → fetch → WARC → catalog →
extract → version → index, with follow-up discovery between waves.

Each page is committed to the catalog as it is recorded (archiver.recorder); the index
is committed at the end of the run and rebuilt from the catalog by :func:`reindex`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from archiver.config import Config
from archiver.errors import ArchiverError
from archiver.extractor.seed import parse_seed_file
from archiver.fulltext.rebuild import open_index, seed_doc
from archiver.net.exchange import FetchResult
from archiver.net.fetch import Fetcher
from archiver.net.robots import RobotsPolicy
from archiver.storage.catalog import Catalog, SeedRow
from archiver.storage.store import Store

from .discover import Discovery
from .frontier import Frontier, FrontierItem
from .outcome import NEW, CrawlSummary, ProgressFn, TargetOutcome
from .recorder import CrawlRun, finish_run
from .relevance import SeedTerms, seed_terms

log = logging.getLogger(__name__)

__all__ = ["crawl", "register_seed"]


def register_seed(store: Store, path: Path) -> tuple[SeedRow, bool]:
    """Parse a seed file, record it in the catalog and index it; return (row, created)."""
    post = parse_seed_file(path)
    row, created = store.catalog.add_seed(
        name=post.name,
        path=str(path),
        sha256=post.sha256,
        fmt=post.format,
        title=post.title,
        source_label=post.source_label,
        posted_at=post.posted_at,
        text=post.text,
        data={
            "body": post.body,
            "teasers": post.teasers,
            "references": [{"url": r.url, "label": r.label} for r in post.references],
        },
    )
    index = open_index(store)
    if created or not index.exists():
        index.add([seed_doc(row)])
    return row, created


def build_frontier(config: Config, seeds: list[SeedRow], catalog: Catalog) -> Frontier:
    """Seeds' references, configured targets and feeds, then follow-ups found earlier
    (so a story's later pages keep being tracked)."""
    frontier = Frontier()
    for seed in seeds:
        for ref in seed.data.get("references", []):
            frontier.add(FrontierItem(ref["url"], via=seed.url, depth=0, seed_id=seed.id))
    for url in config.targets:
        frontier.add(FrontierItem(url, via="target"))
    for url in config.feeds:
        frontier.add(FrontierItem(url, via="feed", kind="feed"))
    for target in catalog.targets():
        if target.depth > 0 and catalog.latest_version(target.id) is not None:
            frontier.add(
                FrontierItem(target.url, target.via, target.depth, target.seed_id, target.score)
            )
    return frontier


def _terms(config: Config, seeds: list[SeedRow]) -> SeedTerms | None:
    """The seeds' key terms, computed only when follow-ups may be discovered."""
    if not (config.crawl.follow_hosts and config.crawl.follow_depth > 0 and seeds):
        return None
    return seed_terms(
        [s.title for s in seeds],
        ["\n".join(s.data.get("body", [])) for s in seeds],
        [rule.aliases for rule in config.ignore if rule.aliases],
    )


StopFn = Callable[[], bool]


def _follow(
    run: CrawlRun,
    discovery: Discovery,
    frontier: Frontier,
    item: FrontierItem,
    result: FetchResult,
    outcome: TargetOutcome,
    summary: CrawlSummary,
) -> None:
    """Feed a recorded page, feed or listing to discovery; list new follow-ups."""
    response = result.response
    if not discovery.enabled or response is None or response.status != 200:
        return
    links: list[dict[str, str]] = []
    if item.kind == "page" and outcome.version is not None:
        target = run.catalog.target_by_url(item.url)
        assert target is not None
        links = run.catalog.version(target.id, outcome.version).links
        if item.depth > 0 and outcome.state == NEW:
            summary.follow_ups.append(item.url)
    for child in discovery.observe(item, body=response.body, links=links, known=frontier.seen):
        frontier.add(child)


async def _run_frontier(
    run: CrawlRun,
    frontier: Frontier,
    summary: CrawlSummary,
    fetcher: Fetcher,
    should_stop: StopFn | None,
    discovery: Discovery,
) -> None:
    """Fetch until the frontier is empty (it may grow while pages are recorded).

    A bounded number of fetches is scheduled at a time (the fetcher's semaphores do the
    real limiting); results are recorded one at a time, in this task, so a page is
    always recorded whole. When ``should_stop`` turns true, fetches still in flight are
    abandoned and the run ends normally.
    """
    robots = RobotsPolicy(
        fetcher, run.crawl_config.user_agent, respect=run.crawl_config.respect_robots
    )

    async def one(item: FrontierItem) -> tuple[FrontierItem, FetchResult]:
        reason = await robots.disallowed(item.url)
        if reason:
            return item, FetchResult(url=item.url, skipped=reason)
        return item, await fetcher.fetch(item.url, run.conditional_for(item.url))

    window = max(4, run.crawl_config.concurrency * 2)
    pending: set[asyncio.Task[tuple[FrontierItem, FetchResult]]] = set()
    while True:
        stopping = should_stop is not None and should_stop()
        while not stopping and len(pending) < window and (item := frontier.pop()) is not None:
            pending.add(asyncio.create_task(one(item)))
        if not stopping and not pending:
            for item in discovery.next_wave():  # the frontier ran dry: next depth
                frontier.add(item)
            if len(frontier):
                continue
        if stopping or not pending:
            break
        # The timeout only re-polls should_stop, so a stop never waits for a slow page.
        done, pending = await asyncio.wait(
            pending, timeout=0.25, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            item, result = task.result()
            outcome = run.record(item, result)
            summary.outcomes.append(outcome)
            _follow(run, discovery, frontier, item, result, outcome, summary)
    if stopping:  # stopped before the work ran out, with or without fetches in flight
        summary.interrupted = True
    if pending:
        log.warning("stopping: %d fetches in flight abandoned", len(pending))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def crawl(
    config: Config,
    store: Store,
    *,
    trigger: str = "manual",
    progress: ProgressFn | None = None,
    fetcher_factory: Callable[[], Fetcher] | None = None,
    should_stop: StopFn | None = None,
) -> CrawlSummary:
    """Run one crawl: register seeds, fetch their references and the targets, record all."""
    store.lock()
    try:
        seeds = [register_seed(store, path)[0] for path in config.seeds]
        run_id = store.catalog.start_run(trigger)
        summary = CrawlSummary(run_id=run_id, seeds=[s.id for s in seeds])
        run = CrawlRun(config.crawl, store, run_id, progress)
        frontier = build_frontier(config, seeds, store.catalog)
        terms = _terms(config, seeds)
        discovery = Discovery(config.crawl, terms)
        if terms is not None:
            run.relevance = terms.score
        log.info("run %d: %d URLs to fetch", run_id, len(frontier))

        async def main() -> None:
            fetcher = fetcher_factory() if fetcher_factory else Fetcher(config.crawl)
            try:
                await _run_frontier(run, frontier, summary, fetcher, should_stop, discovery)
            finally:
                await fetcher.aclose()

        try:
            asyncio.run(main())
        except BaseException:
            # Record what can be recorded, but let the first error be the one reported.
            try:
                finish_run(run, summary)
            except ArchiverError as exc:
                log.error("while closing the run: %s", exc)
            raise
        finish_run(run, summary)
        from archiver.changes.report import (
            save_run_report,  # imported late: jinja2 only when a run ends
        )

        # logs a failure, never raises: a report must not fail the run it reports
        summary.reports = [str(p) for p in save_run_report(store, run_id, config)]
        return summary
    finally:
        store.unlock()
