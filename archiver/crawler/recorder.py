"""Record one fetched URL: WARC records, catalog rows, extraction, a new version.

A :class:`CrawlRun` holds what one run writes to: the store, its open WARC file and the
run's new index documents (:class:`~archiver.indexfeed.IndexFeed`), committed when the
run ends. Each page is recorded in one catalog transaction, after the WARC records it
points at were fsynced, so a crash loses at most the page in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence

from archiver.config import CrawlConfig, parse_duration
from archiver.errors import ArchiverError, CatalogConnectionLost, StoreError
from archiver.extractor.page import Document, extract
from archiver.fulltext.feed import IndexFeed
from archiver.fulltext.rebuild import open_index, version_doc
from archiver.net.exchange import Conditional, Exchange, FetchResult
from archiver.net.render import Rendered
from archiver.storage import spool
from archiver.storage.catalog import Catalog, TargetRow
from archiver.storage.store import Store
from archiver.storage.warc import WarcWriter, payload_digest
from archiver.text.charset import looks_binary
from archiver.text.dates import now_iso

from .frontier import FrontierItem
from .outcome import (
    ARCHIVED,
    CHANGED,
    DUPLICATE,
    ERROR,
    IRRELEVANT,
    NEW,
    NOT_MODIFIED,
    SKIPPED,
    UNCHANGED,
    CrawlSummary,
    ProgressFn,
    TargetOutcome,
)

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
RENDER_AUTO_CHARS = 200  # with render = "auto", a page whose HTML gives less text is rendered

# One fetched page, ready to record: what was asked, what came back, its extracted
# document (None: extract while recording) and its rendering, if any.
PageResult = tuple[FrontierItem, FetchResult, Document | None, Rendered | None]


def is_html(content_type: str | None, body: bytes) -> bool:
    if looks_binary(body, content_type):
        return False  # archived, never extracted
    if content_type:
        return content_type.split(";")[0].strip().lower() in HTML_TYPES
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def prepare_document(item: FrontierItem, result: FetchResult) -> Document | None:
    """The page's Document if :meth:`CrawlRun.record` will extract one, else None.

    Pure (no store, no catalog): the crawl runs it in a worker thread, so that the event
    loop keeps fetching while a big or hostile page extracts (issue 18).
    """
    response = result.response
    if (
        item.kind != "page"
        or result.skipped
        or result.error
        or response is None
        or response.status == 304
        or response.status >= 400
        or response.truncated
        or not is_html(response.content_type, response.body)
    ):
        return None
    return extract(response.body, response.url, content_type=response.content_type)


class CrawlRun:
    """State of one run: the store, the open WARC file and the documents to index."""

    def __init__(
        self,
        crawl_config: CrawlConfig,
        store: Store,
        run_id: int,
        progress: ProgressFn | None,
        *,
        indexing: bool = True,
    ) -> None:
        self.crawl_config = crawl_config
        self.store = store
        self.catalog: Catalog = store.catalog
        self.run_id = run_id
        self.progress = progress
        # A store on S3: each file the writer closes is uploaded while the run goes on.
        self.uploader = spool.Uploader(store) if store.remote is not None else None
        self.warc = WarcWriter(
            store.warc_dir,
            max_size=crawl_config.warc_max_size,
            max_age=parse_duration(crawl_config.warc_max_age, key="crawl.warc_max_age"),
            on_close=self.uploader.closed if self.uploader is not None else None,
        )
        self.index_feed = IndexFeed(open_index(store))
        # Scores a new follow-up's (title, text) against the seed; None: no gate.
        self.relevance: Callable[[str, str], float] | None = None
        # True for imports: a capture takes its place in the history by its time
        # (Catalog.add_version); a crawl's capture is always the page as it is now.
        self.by_capture_time = False
        self.render_modes: dict[str, str] = {}  # canonical [[targets]] URL -> its render mode
        self._record_id = ""  # WARC-Record-ID of the last response record written
        # False in cluster mode: the indexer job indexes what the catalog holds.
        self.indexing = indexing
        # Called inside each page's transaction with (target, outcome): what must land
        # with the page (cluster mode: the page is no longer due, its run counts it).
        self.on_page: Callable[[TargetRow, TargetOutcome], None] | None = None

    def record(
        self,
        item: FrontierItem,
        result: FetchResult,
        doc: Document | None = None,
        rendered: Rendered | None = None,
    ) -> TargetOutcome:
        """Record one page on its own (a cluster worker's): its records are fsynced, then
        its transaction commits."""
        pages = [(item, result, doc, rendered)]
        try:
            outcomes = self._record_now(pages)
        except CatalogConnectionLost as exc:
            # A cluster catalog restarted mid-page: the server rolled the page's
            # transaction back whole, so it is recorded once more on a new connection
            # (its first WARC records stay behind, referenced by nothing).
            log.warning("%s: recording again: %s", item.url, exc)
            outcomes = self._record_now(pages)
        return outcomes[0]

    def _record_now(self, pages: Sequence[PageResult]) -> list[TargetOutcome]:
        try:
            with self.catalog.transaction():
                outcomes = self._write_group(pages)
                self.warc.sync()
        except BaseException:
            self.index_feed.discard_all()  # the pages' versions were rolled back with them
            raise
        self._recorded(pages, outcomes)
        return outcomes

    async def record_group(self, pages: Sequence[PageResult]) -> list[TargetOutcome]:
        """Record pages under one catalog commit, preceded by one WARC fsync.

        This is a group commit: the pages that finished fetching together share the cost
        of making their records durable, and the fsync runs in a thread, so fetches go
        on meanwhile. Each page still lands whole or not at all (its own savepoint), and
        none is committed before all its records are on disk.
        """
        try:
            return await self._record_group(pages)
        except CatalogConnectionLost as exc:
            # A cluster catalog restarted mid-group: the server rolled the group's
            # transaction back whole, so it is recorded once more on a new connection
            # (its first WARC records stay behind, referenced by nothing).
            log.warning("recording %d pages again: %s", len(pages), exc)
            return await self._record_group(pages)

    async def _record_group(self, pages: Sequence[PageResult]) -> list[TargetOutcome]:
        try:
            with self.catalog.transaction():
                outcomes = self._write_group(pages)
                # Before the commit. Nothing else writes this WARC file meanwhile: the
                # pipeline records one group at a time.
                await asyncio.to_thread(self.warc.sync)
        except BaseException:
            self.index_feed.discard_all()  # the group's versions were rolled back with it
            raise
        self._recorded(pages, outcomes)
        return outcomes

    def _write_group(self, pages: Sequence[PageResult]) -> list[TargetOutcome]:
        """Inside an open transaction: each page's records and rows; no fsync yet."""
        outcomes: list[TargetOutcome] = []
        with self.warc.group():
            for item, result, doc, rendered in pages:
                outcomes.append(self._record_page(item, result, doc, rendered))
                self.index_feed.hold()
        return outcomes

    def _recorded(self, pages: Sequence[PageResult], outcomes: list[TargetOutcome]) -> None:
        """After the commit: index, upload, log and report progress."""
        self.index_feed.flush()
        if self.uploader is not None:  # committed: uploaded files may leave the spool
            self.uploader.settle()
        for (item, *_), outcome in zip(pages, outcomes, strict=True):
            level = logging.WARNING if outcome.state == ERROR else logging.INFO
            # A URL can be 100,000 characters long (and is then an error): a log line
            # stays short.
            shown = item.url if len(item.url) <= 300 else item.url[:299] + "…"
            log.log(
                level,
                "%s %s%s",
                outcome.state,
                shown,
                f": {outcome.error}" if outcome.error else "",
            )
            if self.progress:
                self.progress(outcome)

    def _record_page(
        self,
        item: FrontierItem,
        result: FetchResult,
        doc: Document | None,
        rendered: Rendered | None,
    ) -> TargetOutcome:
        """One page inside the group's transaction: its target, captures, version and
        state (the captures and version in a savepoint, so a bad page only loses them)."""
        target = self.catalog.upsert_target(
            item.url, via=item.via, depth=item.depth, score=item.score, seed_id=item.seed_id
        )
        try:
            with self.catalog.transaction():
                outcome = self._record(target, item, result, doc, rendered)
        except StoreError:
            raise
        except ArchiverError as exc:
            self.index_feed.discard()
            outcome = TargetOutcome(item.url, ERROR, error=str(exc), tries=result.tries)
        self.catalog.set_target_state(
            target.id, outcome.state, error=outcome.error, tries=outcome.tries
        )
        if self.on_page is not None:
            self.on_page(target, outcome)
        return outcome

    def store_result(
        self, target: TargetRow, url: str, result: FetchResult, rendered: Rendered | None
    ) -> int:
        """Write a fetch's exchanges (and rendered DOM) to the WARC and the catalog; the
        id of the capture a text is read from (0: none). A failed fetch without any
        exchange is one capture with its error."""
        capture_id = 0
        for exchange in result.exchanges:
            capture_id = self._store_exchange(target, exchange)
        response = result.response
        if not result.exchanges:
            self.catalog.add_capture(
                target_id=target.id,
                run_id=self.run_id,
                url=url,
                fetched_at=now_iso(),
                status=None,
                error=result.error or "no response",
            )
        elif rendered is not None and response is not None and response.status == 200:
            capture_id = self._store_rendering(target, response, rendered)
        return capture_id

    def _store_exchange(self, target: TargetRow, exchange: Exchange) -> int:
        self._record_id = ""
        location = None
        last = self.catalog.last_response(exchange.url) if exchange.status == 304 else None
        if last is not None and last.payload_digest:
            # Not modified: a revisit of the response the server confirmed.
            location = self.warc.write_exchange(
                exchange, not_modified_of=(last.url, last.fetched_at, last.payload_digest)
            )
        elif exchange.raw_body or exchange.status:
            digest = payload_digest(exchange.raw_body)
            original = (
                self.catalog.original_response(digest, exchange.url) if exchange.raw_body else None
            )
            revisit = (original.url, original.fetched_at) if original else None
            location = self.warc.write_exchange(exchange, revisit_of=revisit)
        self._record_id = location.record_id if location else ""
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

    def _store_rendering(self, target: TargetRow, response: Exchange, rendered: Rendered) -> int:
        """The rendered DOM as a conversion record of the response just written, and its
        capture (the one the page's version is made from)."""
        fetched_at = now_iso()
        location = self.warc.write_conversion(
            response.url, fetched_at, rendered.html, refers_to=self._record_id
        )
        return self.catalog.add_capture(
            target_id=target.id,
            run_id=self.run_id,
            url=response.url,
            fetched_at=fetched_at,
            status=response.status,
            content_type="text/html; charset=utf-8",
            payload_digest=location.payload_digest,
            record_type=location.record_type,
            warc_file=location.file,
            warc_offset=location.offset,
            warc_length=location.length,
        )

    def _record(
        self,
        target: TargetRow,
        item: FrontierItem,
        result: FetchResult,
        doc: Document | None,
        rendered: Rendered | None = None,
    ) -> TargetOutcome:
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
        if rendered is not None and response.status == 200:
            capture_id = self._store_rendering(target, response, rendered)
        follow_up = item.depth > 0 and self.catalog.latest_version(target.id) is None
        return self.ingest(
            target,
            item.url,
            response,
            capture_id,
            tries=tries,
            extract_text=item.kind == "page",
            follow_up=follow_up,
            doc=doc,
            rendered=rendered is not None,
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
        doc: Document | None = None,
        rendered: bool = False,
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
        if not extract_text or not is_html(response.content_type, response.body):
            return TargetOutcome(url, ARCHIVED, tries=tries)
        if doc is None:  # else extracted already, off the event loop (prepare_document)
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
        at = response.fetched_at if self.by_capture_time else None
        previous = self.catalog.version_before(target.id, at)
        if previous is not None and previous.content_hash == content_hash:
            return TargetOutcome(url, UNCHANGED, previous.version, tries=tries)
        # An older capture of the text the next version holds (the same page from an ARC
        # imported after a WARC) is no version of its own; its capture is kept.
        later = self.catalog.version_after(target.id, at) if at is not None else None
        if later is not None and later.content_hash == content_hash:
            return TargetOutcome(url, UNCHANGED, later.version, tries=tries)
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
                **({"rendered": True} if rendered else {}),
            },
            by_time=self.by_capture_time,
        )
        latest = self.catalog.latest_version(target.id) if self.by_capture_time else version
        is_latest = latest is not None and latest.id == version.id
        if self.indexing:
            self.index_feed.add(version_doc(version, latest=is_latest))
            if previous is not None and is_latest:
                self.index_feed.add(version_doc(previous, latest=False))
        return TargetOutcome(
            url, CHANGED if previous else NEW, version.version, tries=tries, score=score
        )

    def conditional_for(self, url: str) -> Conditional | None:
        """Validators of the last good capture, when the page already has a version."""
        target = self.catalog.target_by_url(url)
        if target is None or self.catalog.latest_version(target.id) is None:
            return None
        for capture in reversed(self.catalog.captures(target.id)):
            if capture.status == 200 and capture.record_type != "conversion":
                if capture.etag or capture.last_modified:
                    return Conditional(capture.etag, capture.last_modified)
                return None
        return None


def finish_run(run: CrawlRun, summary: CrawlSummary) -> None:
    """Close the run's WARC file, index its new versions and record its outcome."""
    run.warc.close()
    if run.uploader is not None:
        run.uploader.close()
    index_error: ArchiverError | None = None
    try:
        run.index_feed.commit()
    except ArchiverError as exc:  # the catalog holds everything; reindex catches up
        index_error = exc
    run.catalog.finish_run(run.run_id, **summary.run_record())
    spool.end_run(run.store)  # a store on S3: upload what the run wrote
    if index_error is not None:
        raise index_error
