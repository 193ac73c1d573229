"""One crawl run, wiring the stages: seeds → frontier → fetch → WARC → catalog →
extract → version → index.

Every URL ends the run in a recorded state (new, changed, unchanged, not modified,
archived, error) instead of an exception escaping, as urlwatch does with its jobs. Each
page is committed to the catalog as it is processed; the index is committed at the end
of the run (and is rebuilt from the catalog by :func:`reindex`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog, SeedRow, TargetRow, VersionRow, now_iso
from .config import Config, CrawlConfig
from .discover import Discovery
from .errors import ArchiverError, StoreError
from .extract import extract
from .fetch import Conditional, Exchange, Fetcher, FetchResult
from .frontier import Frontier, FrontierItem, host_of
from .index import IndexDoc
from .relevance import SeedTerms, seed_terms
from .robots import RobotsPolicy
from .seed import parse_seed_file
from .store import Store
from .warc import WarcWriter, payload_digest

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")

# Target states, as shown by `history` and the crawl summary.
NEW, CHANGED, UNCHANGED, NOT_MODIFIED, ARCHIVED, SKIPPED, IRRELEVANT, DUPLICATE, ERROR = (
    "new",
    "changed",
    "unchanged",
    "not modified",
    "archived",
    "skipped",
    "irrelevant",
    "duplicate",
    "error",
)


@dataclass
class TargetOutcome:
    url: str
    state: str
    version: int | None = None
    error: str | None = None
    tries: int = 0
    score: float | None = None  # relevance to the seed, for follow-up pages


@dataclass
class CrawlSummary:
    run_id: int
    seeds: list[int] = field(default_factory=list)
    outcomes: list[TargetOutcome] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    interrupted: bool = False

    def count(self, *states: str) -> int:
        return sum(1 for o in self.outcomes if o.state in states)

    @property
    def fetched(self) -> int:
        return sum(1 for o in self.outcomes if o.state not in (ERROR, SKIPPED))

    @property
    def errors(self) -> list[dict[str, str]]:
        return [
            {"url": o.url, "error": o.error or "error"} for o in self.outcomes if o.state == ERROR
        ]

    @property
    def outcome(self) -> str:
        if self.interrupted:
            return "interrupted"
        if not self.errors:
            return "ok"
        return "failed" if self.fetched == 0 else "partial"

    def as_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "outcome": self.outcome,
            "fetched": self.fetched,
            "new_versions": self.count(NEW, CHANGED),
            "unchanged": self.count(UNCHANGED),
            "not_modified": self.count(NOT_MODIFIED),
            "errors": self.errors,
            "skipped": [
                {"url": o.url, "reason": o.error or ""} for o in self.outcomes if o.state == SKIPPED
            ],
            "follow_ups": self.follow_ups,
            "seeds": self.seeds,
            "targets": [
                {
                    "url": o.url,
                    "state": o.state,
                    "version": o.version,
                    "error": o.error,
                    "tries": o.tries,
                    "score": o.score,
                }
                for o in self.outcomes
            ],
        }


ProgressFn = Callable[[TargetOutcome], None]


def seed_doc(seed: SeedRow) -> IndexDoc:
    return IndexDoc(
        doc_id=seed.url,
        url=seed.url,
        kind="seed",
        version=1,
        latest=True,
        title=seed.title,
        text=seed.text,
        author=seed.source_label or "",
        published_at=seed.posted_at,
        fetched_at=seed.registered_at,
    )


def version_doc(version: VersionRow, latest: bool) -> IndexDoc:
    return IndexDoc(
        doc_id=f"{version.url}#v{version.version}",
        url=version.url,
        kind="page",
        version=version.version,
        latest=latest,
        title=version.title or "",
        text=version.text,
        author=version.author or "",
        site=host_of(version.url),
        published_at=version.published_at,
        fetched_at=version.fetched_at,
    )


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
    if created or not store.index.exists():
        store.index.add([seed_doc(row)])
    return row, created


def _is_html(content_type: str | None, body: bytes) -> bool:
    if b"\x00" in body[:1024]:
        return False  # binary bytes, whatever the label says: archive, do not extract
    if content_type:
        return content_type.split(";")[0].strip().lower() in HTML_TYPES
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


class CrawlRun:
    """State of one run: the store, the open WARC file and the documents to index."""

    def __init__(
        self, crawl_config: CrawlConfig, store: Store, run_id: int, progress: ProgressFn | None
    ) -> None:
        self.crawl_config = crawl_config
        self.store = store
        self.catalog: Catalog = store.catalog
        self.run_id = run_id
        self.progress = progress
        self.warc = WarcWriter(store.warc_dir, max_size=crawl_config.warc_max_size)
        self.pending_docs: list[IndexDoc] = []
        # Scores a new follow-up's (title, text) against the seed; None: no gate.
        self.relevance: Callable[[str, str], float] | None = None

    def record(self, item: FrontierItem, result: FetchResult) -> TargetOutcome:
        # One transaction per page: its captures, version and state land together (after
        # the WARC records they point at were fsynced), or not at all.
        with self.catalog.transaction():
            target = self.catalog.upsert_target(
                item.url, via=item.via, depth=item.depth, score=item.score, seed_id=item.seed_id
            )
            try:
                with self.catalog.transaction():
                    outcome = self._record(target, item, result)
            except StoreError:
                raise
            except ArchiverError as exc:
                outcome = TargetOutcome(item.url, ERROR, error=str(exc), tries=result.tries)
            self.catalog.set_target_state(
                target.id, outcome.state, error=outcome.error, tries=outcome.tries
            )
        level = logging.WARNING if outcome.state == ERROR else logging.INFO
        log.log(
            level, "%s %s%s", outcome.state, item.url, f": {outcome.error}" if outcome.error else ""
        )
        if self.progress:
            self.progress(outcome)
        return outcome

    def _store_exchange(self, target: TargetRow, exchange: Exchange) -> int:
        location = None
        if exchange.raw_body or exchange.status:
            digest = payload_digest(exchange.raw_body)
            original = (
                self.catalog.original_response(digest, exchange.url) if exchange.raw_body else None
            )
            revisit = (original.url, original.fetched_at) if original else None
            location = self.warc.write_exchange(exchange, revisit_of=revisit)
        return self.catalog.add_capture(
            target_id=target.id,
            run_id=self.run_id,
            url=exchange.url,
            fetched_at=exchange.fetched_at,
            status=exchange.status,
            content_type=exchange.content_type,
            payload_digest=location.payload_digest if location else None,
            record_type=location.record_type if location else None,
            warc_file=location.file if location else None,
            warc_offset=location.offset if location else None,
            warc_length=location.length if location else None,
            etag=exchange.header("etag"),
            last_modified=exchange.header("last-modified"),
        )

    def _record(self, target: TargetRow, item: FrontierItem, result: FetchResult) -> TargetOutcome:
        if result.skipped:
            return TargetOutcome(item.url, SKIPPED, error=result.skipped)
        capture_id = 0
        for exchange in result.exchanges:
            capture_id = self._store_exchange(target, exchange)
        response = result.response
        tries = result.tries
        if result.error or response is None:
            error = result.error or "no response"
            if not result.exchanges:
                self.catalog.add_capture(
                    target_id=target.id,
                    run_id=self.run_id,
                    url=item.url,
                    fetched_at=now_iso(),
                    status=None,
                    error=error,
                )
            return TargetOutcome(item.url, ERROR, error=error, tries=tries)
        follow_up = item.depth > 0 and self.catalog.latest_version(target.id) is None
        return self.ingest(
            target,
            item.url,
            response,
            capture_id,
            tries=tries,
            extract_text=item.kind == "page",
            follow_up=follow_up,
        )

    def ingest(
        self,
        target: TargetRow,
        url: str,
        response: Exchange,
        capture_id: int,
        *,
        tries: int = 1,
        extract_text: bool = True,
        follow_up: bool = False,
    ) -> TargetOutcome:
        """Turn a stored final response into a target state, and a version if new.

        A page first reached as a follow-up becomes an article only when its text is
        relevant enough to the seed; otherwise it stays in the WARC as "irrelevant".
        """
        if response.status == 304:
            return TargetOutcome(url, NOT_MODIFIED, tries=tries)
        if response.status >= 400:
            return TargetOutcome(
                url, ERROR, tries=tries, error=f"HTTP {response.status} {response.reason}".strip()
            )
        if response.truncated:
            return TargetOutcome(
                url,
                ERROR,
                tries=tries,
                error=f"response larger than max_bytes "
                f"({self.crawl_config.max_bytes}); archived truncated",
            )
        if not extract_text or not _is_html(response.content_type, response.body):
            return TargetOutcome(url, ARCHIVED, tries=tries)
        doc = extract(response.body, response.url, content_type=response.content_type)
        score = None
        if follow_up and self.relevance is not None:
            score = self.relevance(doc.title or "", doc.text)
            self.catalog.set_target_score(target.id, score)
            if score < self.crawl_config.follow_threshold:
                return TargetOutcome(url, IRRELEVANT, tries=tries, score=score)
        content_hash = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
        if follow_up and (twin := self.catalog.version_by_hash(content_hash)) is not None:
            # The same article under another URL (AMP, print view, tracking variant).
            return TargetOutcome(
                url,
                DUPLICATE,
                tries=tries,
                score=score,
                error=f"same text as {twin.url} v{twin.version}",
            )
        previous = self.catalog.latest_version(target.id)
        if previous is not None and previous.content_hash == content_hash:
            return TargetOutcome(url, UNCHANGED, previous.version, tries=tries)
        version = self.catalog.add_version(
            target_id=target.id,
            capture_id=capture_id,
            fetched_at=response.fetched_at,
            status=response.status,
            content_hash=content_hash,
            title=doc.title,
            author=doc.author,
            published_at=doc.published_at,
            modified_at=doc.modified_at,
            text=doc.text,
            links=[{"url": link.url, "text": link.text} for link in doc.links],
            meta={
                "final_url": response.url,
                "charset": doc.charset,
                "site_name": doc.site_name,
                "language": doc.language,
                "canonical_url": doc.canonical_url,
                "description": doc.description,
                "authors": doc.authors,
                "section": doc.section,
                "tags": doc.tags,
                "content_type": response.content_type,
            },
        )
        self.pending_docs.append(version_doc(version, latest=True))
        if previous is not None:
            self.pending_docs.append(version_doc(previous, latest=False))
        return TargetOutcome(
            url, CHANGED if previous else NEW, version.version, tries=tries, score=score
        )

    def conditional_for(self, url: str) -> Conditional | None:
        """Validators of the last good capture, when the page already has a version."""
        target = self.catalog.target_by_url(url)
        if target is None or self.catalog.latest_version(target.id) is None:
            return None
        for capture in reversed(self.catalog.captures(target.id)):
            if capture.status == 200:
                if capture.etag or capture.last_modified:
                    return Conditional(capture.etag, capture.last_modified)
                return None
        return None


def finish_run(run: CrawlRun, summary: CrawlSummary) -> None:
    """Close the run's WARC file, index its new versions and record its outcome."""
    run.warc.close()
    index_error: ArchiverError | None = None
    if run.pending_docs:
        try:
            run.store.index.add(run.pending_docs)
        except ArchiverError as exc:  # the catalog holds everything; reindex catches up
            index_error = exc
    run.catalog.finish_run(
        run.run_id,
        outcome=summary.outcome,
        fetched=summary.fetched,
        new_versions=summary.count(NEW, CHANGED),
        unchanged=summary.count(UNCHANGED),
        not_modified=summary.count(NOT_MODIFIED),
        errors=summary.errors,
    )
    if index_error is not None:
        raise index_error


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
    return seed_terms([s.title for s in seeds], ["\n".join(s.data.get("body", [])) for s in seeds])


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
        from .report import save_run_report  # imported late: jinja2 only when a run ends

        save_run_report(store, run_id, config)  # logs a failure, never raises (issue 6)
        return summary
    finally:
        store.unlock()


def reindex(store: Store, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the index from the catalog alone; return the number of documents."""
    catalog = store.catalog
    total = len(catalog.seeds()) + catalog.count_versions()

    def docs() -> Iterator[IndexDoc]:
        done = 0
        for seed in catalog.seeds():
            yield seed_doc(seed)
            done += 1
            if progress:
                progress(done, total)
        for version, latest in catalog.iter_versions():
            yield version_doc(version, latest)
            done += 1
            if progress:
                progress(done, total)

    return store.index.rebuild(docs())
