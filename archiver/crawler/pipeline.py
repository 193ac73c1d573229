"""One crawl run, wiring the stages: seeds → frontier → fetch → WARC → catalog →
extract → version → index, with follow-up discovery between waves.

Each page is committed to the catalog as it is recorded (archiver.recorder); the index
is committed at the end of the run and rebuilt from the catalog by :func:`reindex`.

However a run ends, the catalog says how (``runs``): a stop (SIGINT, SIGTERM, the
scheduler) is ``interrupted``, an error of the run itself (a full disk, a failed catalog
write, a bug) is ``failed``, each with its reason; a run whose process was killed is
marked ``abandoned`` by the next crawl or scheduler start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from archiver.config import Config
from archiver.errors import ArchiverError, CatalogConnectionLost, SearchIndexError
from archiver.extractor.page import Document, extract
from archiver.extractor.seed import parse_seed_file
from archiver.fulltext.rebuild import open_index, seed_doc
from archiver.net.exchange import FetchResult
from archiver.net.fetch import Fetcher
from archiver.net.render import Renderer, RenderError
from archiver.net.robots import RobotsPolicy
from archiver.net.urls import canonicalize
from archiver.storage import spool
from archiver.storage.catalog import Catalog, SeedRow
from archiver.storage.store import Store

from .discover import Discovery
from .frontier import Frontier, FrontierItem
from .outcome import (
    ERROR,
    NEW,
    CrawlSummary,
    ProgressFn,
    TargetOutcome,
)
from .recorder import RENDER_AUTO_CHARS, CrawlRun, PageResult, finish_run, prepare_document
from .relevance import SeedTerms, seed_terms
from .seedpages import fetch_all_seed_pages, fetch_context, fetch_seed_page, register_fetched

if TYPE_CHECKING:
    from archiver.changes.report import RunReport

log = logging.getLogger(__name__)


__all__ = ["CrawlInterrupted", "crawl", "register_seed"]


class CrawlInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a crawl; raised once its run is recorded as interrupted
    (what it fetched is kept), so that the command line exits as for Ctrl-C."""


_SIGNAL_NAMES: dict[int, str] = {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM"}


class _StopSignals:
    """SIGINT and SIGTERM as a request to stop, while a crawl runs in the main thread.

    The first signal asks the run to stop: the fetch loop abandons the fetches in flight
    within a quarter of a second, and what was fetched is recorded, indexed and reported.
    A second one outside the fetch loop (while the seed's terms load, or the index
    commits) raises KeyboardInterrupt at once. Processes forked meanwhile (the index
    workers) inherit the handler and ignore both signals, which reach them too from a
    terminal's Ctrl-C or a service manager stopping the process group: their parent
    ends them (commit, or SIGKILL on cancel), and they exit if it dies.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self.in_loop = False
        self._pid = os.getpid()
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only; its owner handles them
        for sig in _SIGNAL_NAMES:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self._pid:  # a forked index worker: its parent ends it
            return
        if self.received is None:
            self.received = signum
        elif not self.in_loop:
            raise KeyboardInterrupt

    @property
    def reason(self) -> str | None:
        if self.received is None:
            return None
        return f"stopped by {_SIGNAL_NAMES.get(self.received, f'signal {self.received}')}"


def register_seed(store: Store, path: Path) -> tuple[SeedRow, bool]:
    """Parse a seed file, record it in the catalog and index it; return (row, created)."""
    row, created = record_seed(store, path)
    index = open_index(store)
    if created or not index.exists():
        index.add([seed_doc(row)])
    return row, created


def record_seed(store: Store, path: Path) -> tuple[SeedRow, bool]:
    """Parse a seed file and record it in the catalog (not in the index)."""
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
    return row, created


def build_frontier(config: Config, seeds: list[SeedRow], catalog: Catalog) -> Frontier:
    """Seeds' references, configured targets and feeds, then follow-ups found earlier
    (so a story's later pages keep being tracked)."""
    frontier = Frontier()
    for seed in seeds:  # references a post dropped in an edit are still tracked
        refs = [*seed.data.get("references", []), *seed.data.get("removed_references", [])]
        for ref in refs:
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
T = TypeVar("T")


async def _off_loop(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in a daemon thread, waited for by polling every quarter second: the
    main thread keeps running Python code, so a stop signal's handler runs (and may raise
    KeyboardInterrupt) at once, leaving the thread behind (asyncio.to_thread's would be
    waited for when the loop closes)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def work() -> None:
        try:
            value, error = func(*args), None
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting task
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name="archiver-seed-terms", daemon=True).start()
    while not future.done():
        await asyncio.wait({future}, timeout=0.25)
    return future.result()


async def _seed_pages(
    run: CrawlRun,
    config: Config,
    summary: CrawlSummary,
    fetcher: Fetcher,
    robots: RobotsPolicy,
    renderer: Renderer | None,
) -> list[SeedRow]:
    """Fetch every seed by URL again (and register the config's new ones): the seeds by
    URL as they are now. A page that is no post is an error of the run, never its end."""
    catalog = run.catalog
    registered = [s for s in catalog.seeds() if s.page_url]
    summary.outcomes.extend(await fetch_all_seed_pages(run, registered, fetcher, robots, renderer))
    ids = [s.id for s in registered]
    known = {s.page_url for s in registered}
    for url in config.seed_urls:
        page_url = canonicalize(url)
        if page_url in known:
            continue
        known.add(page_url)
        page = await fetch_seed_page(
            page_url, fetcher, robots, renderer, mode=run.crawl_config.render
        )
        if (error := page.problem) is not None:
            log.warning("seed %s: %s; not registered", page_url, error)
            summary.outcomes.append(
                TargetOutcome(page_url, ERROR, error=error, tries=page.result.tries)
            )
            continue
        row, outcome = register_fetched(run, page_url, page)
        summary.outcomes.append(outcome)
        ids.append(row.id)
    return [catalog.seed(i) for i in ids]


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


async def fetch_page(
    run: CrawlRun,
    fetcher: Fetcher,
    robots: RobotsPolicy,
    renderer: Renderer | None,
    item: FrontierItem,
) -> PageResult:
    """Fetch one page as every crawl does (robots.txt, conditional GET, extraction off
    the event loop, rendering when asked); :meth:`CrawlRun.record` records it."""
    reason = await robots.disallowed(item.url)
    if reason:
        return item, FetchResult(url=item.url, skipped=reason), None, None
    mode = run.render_modes.get(item.url, run.crawl_config.render)
    # A rendered page's text depends on more than its HTML: no conditional GET.
    conditional = None
    if mode == "never":
        try:
            conditional = run.conditional_for(item.url)
        except CatalogConnectionLost as exc:
            # The catalog restarted while a page group's transaction was open (its fsync
            # runs meanwhile): fetch in full instead; the group is recorded again.
            log.info("%s: fetched without a conditional GET: %s", item.url, exc)
    result = await fetcher.fetch(item.url, conditional)
    # Extraction in a worker thread: the loop keeps fetching while a page extracts.
    doc = await asyncio.to_thread(prepare_document, item, result)
    rendered = None
    if renderer is not None and doc is not None and _wants_render(mode, doc):
        assert result.response is not None  # prepare_document made a Document of it
        try:
            rendered = await renderer.render(result.response)
        except RenderError as exc:
            log.warning("%s: %s; its text is read from the HTML as served", item.url, exc)
        else:
            doc = await asyncio.to_thread(extract, rendered.html, result.response.url)
    return item, result, doc, rendered


async def _fetch_all(
    run: CrawlRun,
    frontier: Frontier,
    summary: CrawlSummary,
    fetcher: Fetcher,
    should_stop: StopFn | None,
    discovery: Discovery,
    robots: RobotsPolicy,
    renderer: Renderer | None,
) -> None:
    async def one(item: FrontierItem) -> PageResult:
        return await fetch_page(run, fetcher, robots, renderer, item)

    window = max(4, run.crawl_config.concurrency * 2)
    pending: set[asyncio.Task[PageResult]] = set()
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
        # The pages that finished together are recorded together: one group commit.
        fetched = [task.result() for task in done]
        for (item, result, _, _), outcome in zip(
            fetched, await run.record_group(fetched), strict=True
        ):
            summary.outcomes.append(outcome)
            _follow(run, discovery, frontier, item, result, outcome, summary)
    if stopping:  # stopped before the work ran out, with or without fetches in flight
        summary.interrupted = True
    if pending:  # the caller reports the stop itself: one line, not two
        log.info("stopping: %d fetches in flight abandoned", len(pending))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _wants_render(mode: str, doc: Document) -> bool:
    """``auto`` renders a page whose HTML gave almost no text."""
    return mode == "always" or (mode == "auto" and len(doc.text) < RENDER_AUTO_CHARS)


def crawl(
    config: Config,
    store: Store,
    *,
    trigger: str = "manual",
    progress: ProgressFn | None = None,
    fetcher_factory: Callable[[], Fetcher] | None = None,
    should_stop: StopFn | None = None,
) -> CrawlSummary:
    """Run one crawl: register seeds, fetch their references and the targets, record all.

    Without ``should_stop``, in the main thread, SIGINT and SIGTERM stop the run: it is
    recorded as interrupted, then :class:`CrawlInterrupted` is raised.
    """
    signals = _StopSignals()
    if should_stop is None:
        signals.install()
    try:
        return _crawl(config, store, trigger, progress, fetcher_factory, should_stop, signals)
    finally:
        signals.restore()


def _crawl(
    config: Config,
    store: Store,
    trigger: str,
    progress: ProgressFn | None,
    fetcher_factory: Callable[[], Fetcher] | None,
    should_stop: StopFn | None,
    signals: _StopSignals,
) -> CrawlSummary:
    def stop() -> bool:
        return signals.received is not None or (should_stop is not None and should_stop())

    store.lock()
    try:
        # Holding the lock, no live run is unfinished: an open one was killed.
        for killed in store.catalog.abandon_unfinished_runs():
            log.warning("run %d was killed before it ended; marked abandoned", killed)
        spool.start_run(store)  # a store on S3: check it; upload what earlier runs left
        seeds = [register_seed(store, path)[0] for path in config.seeds]
        run_id = store.catalog.start_run(trigger)
        summary = CrawlSummary(run_id=run_id, seeds=[s.id for s in seeds])
        run: CrawlRun | None = None
        closing = False
        try:
            run = CrawlRun(config.crawl, store, run_id, progress)
            run.render_modes = {canonicalize(url): mode for url, mode in config.target_render}
            render = config.crawl.render != "never" or bool(run.render_modes)
            # The seed posts by URL as the catalog has them; the run fetches them again.
            known = [s for s in store.catalog.seeds() if s.page_url]
            terms = None if stop() else _terms(config, [*seeds, *known])  # kiwipiepy: seconds

            async def main() -> None:
                assert run is not None
                async with fetch_context(
                    config.crawl, render=render, fetcher_factory=fetcher_factory
                ) as (fetcher, robots, renderer):
                    pages = await _seed_pages(run, config, summary, fetcher, robots, renderer)
                    every = [*seeds, *pages]
                    summary.seeds = [s.id for s in every]
                    frontier = build_frontier(config, every, store.catalog)
                    discovery = Discovery(config.crawl, terms)
                    if [(p.id, p.text) for p in pages] != [(k.id, k.text) for k in known]:
                        # A post edited or registered now: its terms count from this run on.
                        # As outside the fetch loop, a second stop signal ends the loading.
                        signals.in_loop = False
                        try:
                            fresh = None if stop() else await _off_loop(_terms, config, every)
                        finally:
                            signals.in_loop = True
                        discovery = Discovery(config.crawl, fresh)
                    if discovery.terms is not None:
                        run.relevance = discovery.terms.score
                    log.info("run %d: %d URLs to fetch", run_id, len(frontier))
                    await _fetch_all(
                        run, frontier, summary, fetcher, stop, discovery, robots, renderer
                    )

            signals.in_loop = True
            try:
                asyncio.run(main())
            finally:
                signals.in_loop = False
            if summary.interrupted:
                summary.stop_reason = signals.reason or (
                    "the scheduler is stopping" if trigger == "scheduled" else None
                )
            closing = True
            finish_run(run, summary)
        except BaseException as exc:
            # The run ends recorded as failed or interrupted, with the reason; the error
            # itself is the one reported. An index error raised by finish_run comes
            # after the run was recorded.
            if not (closing and isinstance(exc, SearchIndexError)):
                _record_abnormal_end(store, run, summary, exc, signals, close=not closing)
            if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, CrawlInterrupted):
                raise _interrupted(summary) from exc
            raise
        try:
            from archiver.changes.report import (
                save_run_report,  # imported late: jinja2 only when a run ends
            )

            report = _report_for_notify(store, run_id, config)
            # logs a failure, never raises: a report must not fail the run it reports
            summary.reports = [str(p) for p in save_run_report(store, run_id, config, report)]
            if config.notify:
                from archiver.notify import notify_run

                # After the run is recorded; never raises. A stopping process only queues:
                # the next run sends.
                notify_run(store, config, report, send=not stop())
                summary.notifications = [
                    n.as_json() for n in store.catalog.notifications(run_id=run_id)
                ]
        except KeyboardInterrupt as exc:  # a second Ctrl-C while the report is written
            raise _interrupted(summary) from exc
        if signals.received is not None:
            raise _interrupted(summary)
        return summary
    finally:
        store.unlock()


def _report_for_notify(store: Store, run_id: int, config: Config) -> RunReport | None:
    """The run's change report, built once for both the report files and the
    notifications; None without [[notify]] entries (the report files build their own)."""
    if not config.notify:
        return None
    from archiver.changes.report import build_run_report

    try:
        return build_run_report(store, store.catalog.run(run_id), config.ignore)
    except Exception as exc:  # noqa: BLE001 - as save_run_report: logged, never raised
        log.error("run %d: cannot build the change report: %s", run_id, exc)
        return None


def _interrupted(summary: CrawlSummary) -> CrawlInterrupted:
    if not summary.interrupted:  # the signal came once the work was done
        return CrawlInterrupted(f"interrupted once run {summary.run_id} had ended")
    return CrawlInterrupted(
        f"interrupted: run {summary.run_id} {summary.stop_reason or 'stopped'};"
        " what it fetched is kept"
    )


def describe_failure(exc: BaseException) -> str:
    """A run-ending error in one line, as the command line shows it."""
    if isinstance(exc, ArchiverError):
        text = str(exc)
    elif isinstance(exc, OSError):
        text = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    else:
        text = f"internal error ({type(exc).__name__}: {exc})"
    return " ".join(text.split())


def _record_abnormal_end(
    store: Store,
    run: CrawlRun | None,
    summary: CrawlSummary,
    exc: BaseException,
    signals: _StopSignals,
    *,
    close: bool,
) -> None:
    """Record a run that ended with ``exc``: closing its WARC file and indexing what it
    recorded when ``close`` (as a normal end does), and at least its outcome."""
    if isinstance(exc, Exception):
        summary.failure = describe_failure(exc)
    else:  # KeyboardInterrupt (a second Ctrl-C), SystemExit
        summary.interrupted = True
        summary.stop_reason = signals.reason or f"stopped by {type(exc).__name__}"
    if run is not None and close:
        try:
            finish_run(run, summary)
            return
        except SearchIndexError as err:  # recorded; `reindex` catches up
            log.warning("run %d: %s", summary.run_id, err)
            return
        except BaseException as err:  # noqa: BLE001 - the run's own error is reported
            log.debug("run %d: could not close: %s", summary.run_id, describe_failure(err))
    try:
        store.catalog.finish_run(summary.run_id, **summary.run_record())
    except ArchiverError as err:  # then the next start marks it abandoned
        log.warning("run %d: its end could not be recorded: %s", summary.run_id, err)
