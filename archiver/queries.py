"""Read-side library API: search, history, show, diff and verify over a store.

The CLI calls one function here per command and only formats what it gets back, so
everything a user can do from the shell is also a Python call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog import RunRow, SeedRow, TargetRow, VersionRow
from .errors import NotFoundError
from .frontier import canonicalize
from .index import Hit
from .store import Store

if TYPE_CHECKING:
    from .changes import SeedChange, VersionChange
    from .sentences import IgnoreRule

log = logging.getLogger(__name__)


def _require_store(store: Store) -> None:
    if not store.exists():
        raise NotFoundError(f"no archive at {store.root}; run `archiver crawl` first")


def find_target(store: Store, url: str) -> TargetRow:
    """The archived page for a URL as the user typed it (canonicalised)."""
    _require_store(store)
    for candidate in (canonicalize(url), url.strip()):
        target = store.catalog.target_by_url(candidate)
        if target is not None:
            return target
    raise NotFoundError(f"no archived page for {url}")


def _seed_by_ref(store: Store, ref: str) -> SeedRow:
    _require_store(store)
    number = ref.removeprefix("seed:")
    if not number.isdigit():
        raise NotFoundError(f"no seed {ref!r} (seeds are named seed:N)")
    return store.catalog.seed(int(number))


def search(
    store: Store,
    query: str,
    *,
    limit: int = 10,
    site: str | None = None,
    since: str | None = None,
    until: str | None = None,
    all_versions: bool = False,
    any_words: bool = False,
) -> list[Hit]:
    """Search the archive's index (see :mod:`archiver.querylang` for the syntax).

    Words are ANDed; ``any_words`` ranks pages holding any of them, best first.
    """
    _require_store(store)
    index = store.index
    try:
        hits = index.search(query, limit=limit, site=site, since=since, until=until,
                            all_versions=all_versions, any_words=any_words)
        expected = len(store.catalog.seeds()) + store.catalog.count_versions()
        indexed = index.doc_count()
    finally:
        index.close()
    if indexed < expected:
        log.warning("the index is behind the catalog (%d of %d documents);"
                    " run `archiver reindex`", indexed, expected)
    return hits


def reindex(store: Store, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the index from the catalog, holding the store's lock (no crawl meanwhile)."""
    from .pipeline import reindex as rebuild  # late: pipeline imports the crawl stack

    _require_store(store)
    store.lock()
    try:
        return rebuild(store, progress)
    finally:
        store.unlock()


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "url": hit.url,
        "kind": hit.kind,
        "title": hit.title,
        "version": hit.version,
        "fetched_at": hit.fetched_at,
        "published_at": hit.published_at,
        "score": hit.score,
        "snippet": hit.snippet,
        "highlights": [list(span) for span in hit.highlights],
    }


def history(store: Store, url: str) -> tuple[TargetRow, list[VersionRow]]:
    target = find_target(store, url)
    return target, store.catalog.versions(target.id)


def history_json(version: VersionRow) -> dict[str, Any]:
    return {
        "version": version.version,
        "fetched_at": version.fetched_at,
        "status": version.status,
        "content_hash": version.content_hash,
        "title": version.title,
    }


def _version(store: Store, target: TargetRow, number: int | None) -> VersionRow:
    if number is not None:
        return store.catalog.version(target.id, number)
    latest = store.catalog.latest_version(target.id)
    if latest is None:
        reason = f" ({target.last_error})" if target.last_error else ""
        raise NotFoundError(f"{target.url} has no extracted version yet{reason}")
    return latest


def show(store: Store, url: str, number: int | None = None) -> dict[str, Any]:
    """One version (or a seed post, for ``seed:N``) as the `show --json` shape."""
    if url.startswith("seed:"):
        seed = _seed_by_ref(store, url)
        return {
            "url": seed.url,
            "version": 1,
            "title": seed.title,
            "author": seed.source_label,
            "published_at": seed.posted_at,
            "modified_at": None,
            "text": seed.text,
            "links": [{"url": r["url"], "text": r["label"] or ""} for r in seed.data["references"]],
            "provenance": {"via": seed.path, "depth": 0, "score": None},
        }
    target = find_target(store, url)
    version = _version(store, target, number)
    return {
        "url": target.url,
        "version": version.version,
        "title": version.title,
        "author": version.author,
        "published_at": version.published_at,
        "modified_at": version.modified_at,
        "fetched_at": version.fetched_at,
        "content_hash": version.content_hash,
        "text": version.text,
        "links": version.links,
        "charset": version.meta.get("charset"),
        "metadata": {key: version.meta.get(key) for key in (
            "site_name", "language", "canonical_url", "description", "authors", "section",
            "tags", "content_type", "final_url")},
        "provenance": {"via": target.via, "depth": target.depth, "score": target.score},
    }


def diff_versions(
    store: Store,
    url: str,
    from_version: int | None = None,
    to_version: int | None = None,
    *,
    ignore: Sequence[IgnoreRule] = (),
    granularity: str = "sentence",
) -> VersionChange:
    """Two versions of a page (default: previous and latest); see archiver.changes."""
    from .changes import diff_versions as run  # the differ loads only when asked for

    return run(store, url, from_version, to_version, ignore=ignore, granularity=granularity)


def diff_against_seed(
    store: Store,
    url: str,
    number: int | None = None,
    seed_id: int | None = None,
    *,
    ignore: Sequence[IgnoreRule] = (),
) -> SeedChange:
    """Align the seed post's sentences with a version of the page."""
    from .changes import diff_against_seed as run

    return run(store, url, number, seed_id, ignore=ignore)


def render_diff(
    change: VersionChange | SeedChange,
    fmt: str,
    *,
    link_base: Path | None = None,
    store: Store | None = None,
) -> str:
    """A change as text (unified), markdown, json or html (see archiver.render)."""
    from .render import render

    return render(
        change, fmt, link_base=link_base, warc_dir=store.warc_dir if store is not None else None
    )


def seed_json(seed: SeedRow) -> dict[str, Any]:
    return {
        "id": seed.id,
        "url": seed.url,
        "name": seed.name,
        "path": seed.path,
        "title": seed.title,
        "source_label": seed.source_label,
        "posted_at": seed.posted_at,
        "references": seed.data["references"],
    }


def run_json(run: RunRow) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "trigger": run.trigger,
        "outcome": run.outcome,
        "fetched": run.fetched,
        "new_versions": run.new_versions,
        "unchanged": run.unchanged,
        "not_modified": run.not_modified,
        "errors": run.errors,
    }
