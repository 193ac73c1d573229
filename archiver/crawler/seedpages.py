"""Seed posts by URL: the post's own page, fetched like any page, archived and versioned.

The page goes through the same machinery as a reference (robots.txt, the fetcher's
politeness, retries and SSRF guard, conditional GET, ``crawl.render``), its exchanges
are written to the WARC and the catalog as captures of a target whose ``via`` is
``seed page``, and the page is read into a :class:`SeedPost`
(:mod:`archiver.extractor.seedpage`). Each crawl fetches it again:

- a changed post (title, text or references) is a new seed version
  (``seed_versions``); the seeds row then holds the latest one, so alignment, claim
  checks and the index use it. References the post no longer has stay in the
  frontier, listed as ``removed_references`` with the version that dropped them;
- a 404 or 410, or a page that says the post was deleted, makes the seed *deleted*
  (with the time and run first seen): its versions stay, and so does its index entry;
- anything else that fails (a 500, a timeout, a redirect loop) is an error of this run.

``seeds add URL`` fetches the page first and registers nothing unless it is a post.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from archiver.config import Config, CrawlConfig
from archiver.errors import SeedError
from archiver.extractor.seed import SeedPost
from archiver.extractor.seedpage import Deleted, read_seed_page
from archiver.fulltext.rebuild import seed_doc
from archiver.net.exchange import Conditional, FetchResult
from archiver.net.fetch import Fetcher
from archiver.net.render import Rendered, Renderer, RenderError
from archiver.net.robots import RobotsPolicy
from archiver.net.urls import canonicalize
from archiver.storage.catalog import Catalog, SeedRow
from archiver.storage.rows import SEED_PAGE
from archiver.storage.store import Store

from .outcome import (
    CHANGED,
    ERROR,
    NEW,
    NOT_MODIFIED,
    SKIPPED,
    UNCHANGED,
    CrawlSummary,
    TargetOutcome,
)
from .recorder import RENDER_AUTO_CHARS, CrawlRun, finish_run, is_html

log = logging.getLogger(__name__)

__all__ = [
    "SEED_PAGE", "SeedFetch", "add_seed_url", "fetch_all_seed_pages", "fetch_context",
    "fetch_seed_page", "looks_like_url", "record_seed_page", "register_fetched",
]  # fmt: skip

DELETED = "deleted"  # the outcome (and seed state) of a post gone from its page
GONE = (404, 410)


@dataclass
class SeedFetch:
    """One fetch of a seed post's page and what it held."""

    url: str
    result: FetchResult
    post: SeedPost | None = None
    deleted: bool = False
    rendered: Rendered | None = None
    error: str | None = None  # why the page is no post (or could not be fetched)
    gone: str | None = None  # how the page said the post is gone, when it did

    @property
    def problem(self) -> str | None:
        """Why no post can be registered from this fetch (None: a post was read)."""
        if self.error is not None:
            return self.error
        if self.deleted:
            return self.gone or "the page says the post was deleted"
        return None if self.post is not None else "no post on the page"

    @property
    def not_modified(self) -> bool:
        response = self.result.response
        return self.error is None and response is not None and response.status == 304


def looks_like_url(value: str) -> bool:
    """Whether a `seeds add` argument is an address rather than a file path."""
    return value.strip().lower().startswith(("http://", "https://"))


def seed_key(page_url: str) -> str:
    """A seed by URL's ``seeds.sha256``: that of its address, so it registers once."""
    return hashlib.sha256(f"url:{page_url}".encode()).hexdigest()


def conditional_for(catalog: Catalog, seed: SeedRow | None, url: str) -> Conditional | None:
    """The validators of the last 200 response of a live seed page that has a version (a
    deleted post's page is fetched whole: a 304 could confirm the "deleted" page as well
    as the post it replaced)."""
    if seed is None or seed.state == DELETED or not catalog.seed_versions(seed.id):
        return None
    target = catalog.target_by_url(url)
    if target is None:
        return None
    for capture in reversed(catalog.captures(target.id)):
        if capture.status == 200 and capture.record_type == "response":
            if capture.etag or capture.last_modified:
                return Conditional(capture.etag, capture.last_modified)
            return None
    return None


def _sent_home(url: str, final: str) -> bool:
    """Whether a post's address redirected to its site's home page."""
    start, end = urlsplit(url), urlsplit(final)
    return start.path.strip("/") != "" and end.path.strip("/") == "" and not end.query


def _read(fetched: SeedFetch, html: bytes | str, content_type: str | None) -> None:
    try:
        found = read_seed_page(html, fetched.result.final_url, content_type=content_type)
    except SeedError as exc:
        fetched.error = str(exc)
        return
    if isinstance(found, Deleted):
        fetched.deleted = True
    else:
        fetched.post = found


async def fetch_seed_page(
    url: str,
    fetcher: Fetcher,
    robots: RobotsPolicy,
    renderer: Renderer | None,
    *,
    mode: str,
    conditional: Conditional | None = None,
) -> SeedFetch:
    """Fetch a seed post's page and read it (in a worker thread: a page may be big)."""
    reason = await robots.disallowed(url)
    if reason:
        return SeedFetch(url, FetchResult(url=url, skipped=reason), error=reason)
    # A rendered page's text depends on more than its HTML: no conditional GET.
    result = await fetcher.fetch(url, conditional if mode == "never" else None)
    fetched = SeedFetch(url, result)
    response = result.response
    if result.error or response is None:
        fetched.error = result.error or "no response"
    elif response.status in GONE:
        fetched.deleted, fetched.gone = True, f"HTTP {response.status} {response.reason}".strip()
    elif response.status == 200 and _sent_home(url, response.url):
        # Platforms send readers of a removed post to their home page.
        fetched.deleted, fetched.gone = True, f"redirected to the home page {response.url}"
    elif response.status == 304:
        pass
    elif response.status >= 400:
        fetched.error = f"HTTP {response.status} {response.reason}".strip()
    elif response.status >= 300:
        fetched.error = f"HTTP {response.status}: a redirect without a usable Location"
    elif response.truncated:
        fetched.error = "the page is larger than crawl.max_bytes"
    elif not is_html(response.content_type, response.body):
        kind = (response.content_type or "untyped").split(";")[0]
        fetched.error = f"not a post page ({kind}, not HTML)"
    else:
        await asyncio.to_thread(_read, fetched, response.body, response.content_type)
        thin = fetched.post is None or len(fetched.post.text) < RENDER_AUTO_CHARS
        wants = mode == "always" or (mode == "auto" and thin and not fetched.deleted)
        if renderer is not None and wants:
            try:
                fetched.rendered = await renderer.render(response)
            except RenderError as exc:
                log.warning("%s: %s; the post is read from the HTML as served", url, exc)
            else:
                fetched.error, fetched.post, fetched.deleted = None, None, False
                await asyncio.to_thread(_read, fetched, fetched.rendered.html, None)
    return fetched


def seed_data(old: dict[str, Any], post: SeedPost, version: int) -> dict[str, Any]:
    """The seed's data for a new version: its references, and the earlier ones it dropped
    (still tracked), each with the version that no longer had it."""
    current = [{"url": r.url, "label": r.label} for r in post.references]
    urls = {r["url"] for r in current}
    removed = {r["url"]: r for r in old.get("removed_references", [])}
    for ref in old.get("references", []):
        if ref["url"] not in urls:
            removed[ref["url"]] = {**ref, "removed_in": version}
    for url in urls:
        removed.pop(url, None)  # back in the post
    return {
        "body": post.body,
        "teasers": post.teasers,
        "references": current,
        "removed_references": list(removed.values()),
        "author": post.author,
        "format": post.format,
    }


def record_seed_page(run: CrawlRun, seed: SeedRow, fetched: SeedFetch) -> TargetOutcome:
    """Record one fetch of a seed's page in one catalog transaction: its captures, and a
    new seed version or state when the post changed or went."""
    catalog = run.catalog
    url = fetched.url
    with catalog.transaction():
        target = catalog.upsert_target(url, via=SEED_PAGE, seed_id=seed.id)
        result = fetched.result
        if result.skipped:
            outcome = TargetOutcome(url, SKIPPED, error=result.skipped)
        else:
            capture_id = run.store_result(target, url, result, fetched.rendered)
            outcome = _seed_outcome(run, seed, fetched, capture_id)
        catalog.set_target_state(target.id, outcome.state, error=outcome.error, tries=result.tries)
    run.index_feed.flush()
    level = logging.WARNING if outcome.state in (ERROR, DELETED) else logging.INFO
    log.log(level, "seed:%d %s %s%s", seed.id, outcome.state, url, _colon(outcome.error))
    if run.progress:
        run.progress(outcome)
    return outcome


def _colon(error: str | None) -> str:
    return f": {error}" if error else ""


def _seed_outcome(
    run: CrawlRun, seed: SeedRow, fetched: SeedFetch, capture_id: int
) -> TargetOutcome:
    catalog, url, tries = run.catalog, fetched.url, fetched.result.tries
    if fetched.deleted:
        catalog.set_seed_state(seed.id, DELETED, run_id=run.run_id)
        first = catalog.seed(seed.id)
        return TargetOutcome(url, DELETED, first.versions, f"deleted since {first.state_since}")
    if fetched.error is not None:
        return TargetOutcome(url, ERROR, error=fetched.error, tries=tries)
    versions = catalog.seed_versions(seed.id)
    if fetched.not_modified or fetched.post is None:
        # Only a live post is asked for conditionally (conditional_for): still there.
        return TargetOutcome(url, NOT_MODIFIED, len(versions) or None, tries=tries)
    catalog.set_seed_state(seed.id, "live", run_id=run.run_id)
    post = fetched.post
    if versions and versions[-1].content_hash == post.sha256:
        return TargetOutcome(url, UNCHANGED, versions[-1].version, tries=tries)
    number = versions[-1].version + 1 if versions else 1
    response = fetched.result.response
    assert response is not None  # a post was read from it
    version = catalog.add_seed_version(
        seed.id,
        run_id=run.run_id,
        capture_id=capture_id or None,
        fetched_at=response.fetched_at,
        content_hash=post.sha256,
        title=post.title,
        source_label=post.source_label,
        posted_at=post.posted_at,
        text=post.text,
        data=seed_data(seed.data, post, number),
    )
    run.index_feed.add(seed_doc(catalog.seed(seed.id)))
    return TargetOutcome(url, CHANGED if versions else NEW, version.version, tries=tries)


async def fetch_all_seed_pages(
    run: CrawlRun,
    seeds: list[SeedRow],
    fetcher: Fetcher,
    robots: RobotsPolicy,
    renderer: Renderer | None,
) -> list[TargetOutcome]:
    """Fetch every registered seed by URL again and record it; one failing post is an
    error of the run, never its end."""
    mode = run.crawl_config.render

    async def one(seed: SeedRow) -> tuple[SeedRow, SeedFetch]:
        assert seed.page_url is not None
        conditional = conditional_for(run.catalog, seed, seed.page_url)
        page = await fetch_seed_page(
            seed.page_url, fetcher, robots, renderer, mode=mode, conditional=conditional
        )
        return seed, page

    outcomes = []
    for seed, page in await asyncio.gather(*(one(s) for s in seeds)):
        outcomes.append(record_seed_page(run, run.catalog.seed(seed.id), page))
    return outcomes


@asynccontextmanager
async def fetch_context(
    config: CrawlConfig,
    *,
    render: bool,
    fetcher_factory: Callable[[], Fetcher] | None = None,
) -> AsyncIterator[tuple[Fetcher, RobotsPolicy, Renderer | None]]:
    """A fetcher, its robots.txt policy and (with ``render``) a browser, closed after."""
    fetcher = fetcher_factory() if fetcher_factory else Fetcher(config)
    robots = RobotsPolicy(fetcher, config.user_agent, respect=config.respect_robots)
    renderer = None
    if render:
        renderer = Renderer(
            user_agent=config.user_agent,
            allow_private=config.allow_private_networks,
            timeout=config.render_timeout,
            allowed=robots.disallowed,
        )
    try:
        yield fetcher, robots, renderer
    finally:
        try:
            if renderer is not None:
                await renderer.aclose()
        finally:
            await fetcher.aclose()


def add_seed_url(config: Config, store: Store, url: str) -> tuple[SeedRow, bool]:
    """`archiver seeds add URL`: fetch the post's page and, only if it is a post, register
    it as a seed with its first version (recorded as a run triggered by ``seeds add``).
    SeedError (one line, nothing registered) when it is not."""
    page_url = canonicalize(url.strip())
    if not looks_like_url(page_url):
        raise SeedError(f"seed {url}: not an http(s) address")
    if store.exists() and (known := store.catalog.seed_by_page(page_url)) is not None:
        return known, False
    mode = config.crawl.render

    async def fetch() -> SeedFetch:
        async with fetch_context(config.crawl, render=mode != "never") as (fetcher, robots, view):
            return await fetch_seed_page(page_url, fetcher, robots, view, mode=mode)

    fetched = asyncio.run(fetch())
    if (problem := fetched.problem) is not None:
        raise SeedError(f"seed {page_url}: {problem}")
    store.lock()
    try:
        run_id = store.catalog.start_run("seeds add")
        run = CrawlRun(config.crawl, store, run_id, None)
        summary = CrawlSummary(run_id=run_id)
        try:
            row, outcome = register_fetched(run, page_url, fetched)
            summary.seeds.append(row.id)
            summary.outcomes.append(outcome)
        finally:
            finish_run(run, summary)
        return row, True
    finally:
        store.unlock()


def register_fetched(
    run: CrawlRun, page_url: str, fetched: SeedFetch
) -> tuple[SeedRow, TargetOutcome]:
    """Register the seed a fetch found a post on, that fetch being its version 1: the
    seed, its captures and its version land together or not at all."""
    post = fetched.post
    assert post is not None
    with run.catalog.transaction():
        row, _ = run.catalog.add_seed(
            name=post.name,
            path=None,
            sha256=seed_key(page_url),
            fmt=post.format,
            title=post.title,
            source_label=post.source_label,
            posted_at=post.posted_at,
            text=post.text,
            data=seed_data({}, post, 1),
            page_url=page_url,
        )
        outcome = record_seed_page(run, row, fetched)
    return run.catalog.seed(row.id), outcome
