"""The read-side library API: search, history, show, diff, report and verify over a store.

The CLI and the web UI call one function here per command and only format what they get
back, so everything a user can do from the shell is also a Python call. Every function
returns typed records (each with ``as_json()`` giving the documented `--json` shape) and
raises only :class:`~archiver.errors.ArchiverError`. A store that does not exist yet is a
:class:`~archiver.errors.NotFoundError`; nothing here creates one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archiver.errors import NotFoundError
from archiver.storage.rows import (
    NotificationRow,
    RunRow,
    SeedRow,
    SeedVersionRow,
    TargetRow,
    VersionRow,
)
from archiver.storage.store import Store

if TYPE_CHECKING:
    from archiver.changes.compare import SeedChange, VersionChange
    from archiver.changes.report import RunReport
    from archiver.fulltext.index import Hit
    from archiver.storage.verify import VerifyReport
    from archiver.text.ignore import IgnoreRule

log = logging.getLogger(__name__)

__all__ = [
    "History",
    "SeedHistory",
    "Provenance",
    "VersionView",
    "diff",
    "diff_against_seed",
    "history",
    "reindex",
    "render_diff",
    "report",
    "runs",
    "search",
    "seeds",
    "show",
    "verify",
]

METADATA_KEYS = (
    "site_name", "language", "canonical_url", "description", "authors", "section", "tags",
    "content_type", "final_url",
)  # fmt: skip


@dataclass(frozen=True)
class Provenance:
    """How a page was found: the page or seed it came from, links away, relevance."""

    via: str | None
    depth: int
    score: float | None

    def as_json(self) -> dict[str, Any]:
        return {"via": self.via, "depth": self.depth, "score": self.score}


@dataclass(frozen=True)
class VersionView:
    """One version of a page, or a seed post (``is_seed``), as `show` presents it."""

    url: str
    version: int
    title: str | None
    author: str | None
    published_at: str | None
    modified_at: str | None
    text: str
    links: list[dict[str, str]]
    provenance: Provenance
    fetched_at: str | None = None
    content_hash: str | None = None
    charset: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    is_seed: bool = False

    def as_json(self) -> dict[str, Any]:
        """The `show --json` shape (a seed post has no fetch, hash, charset or metadata)."""
        data: dict[str, Any] = {
            "url": self.url,
            "version": self.version,
            "title": self.title,
            "author": self.author,
            "published_at": self.published_at,
            "modified_at": self.modified_at,
        }
        if self.is_seed:
            if self.fetched_at is not None:  # a seed by URL: when this version was fetched
                data["fetched_at"] = self.fetched_at
            data.update(text=self.text, links=self.links, provenance=self.provenance.as_json())
            return data
        data.update(
            fetched_at=self.fetched_at,
            content_hash=self.content_hash,
            text=self.text,
            links=self.links,
            charset=self.charset,
            metadata=self.metadata,
            provenance=self.provenance.as_json(),
        )
        return data


@dataclass(frozen=True)
class History:
    """A page's last state and its versions, oldest first."""

    target: TargetRow
    versions: list[VersionRow]

    def as_json(self) -> list[dict[str, Any]]:
        """The `history --json` shape: one object per version."""
        return [v.as_json() for v in self.versions]


@dataclass(frozen=True)
class SeedHistory:
    """A seed post's state and its versions, oldest first (`history seed:N`)."""

    seed: SeedRow
    versions: list[SeedVersionRow]

    def as_json(self) -> list[dict[str, Any]]:
        """The `history --json` shape: one object per version."""
        return [v.as_json() for v in self.versions]


# SQLite integers are 64-bit: a number outside cannot name anything in the catalog (and
# sqlite3 raises OverflowError on it), so it is "not found" before any query is made.
_SQLITE_INT = range(-(2**63), 2**63)


def check_version(store: Store, url: str, *numbers: int | None) -> None:
    """NotFoundError for a version number no catalog can hold (after the page's own)."""
    for number in numbers:
        if number is not None and number not in _SQLITE_INT:
            target = store.catalog.find_target(url)  # an unknown page is said so first
            raise NotFoundError(f"no version {number} of {target.url}")


def check_id(number: int | None, what: str) -> None:
    """NotFoundError for an id no catalog can hold (a number past SQLite's integers)."""
    if number is not None and number not in _SQLITE_INT:
        raise NotFoundError(f"no {what} with id {number}")


def require_store(store: Store) -> None:
    """NotFoundError when there is no archive at the store's folder yet."""
    if not store.exists():
        raise NotFoundError(f"no archive at {store.root}; run `archiver crawl` first")


def seed_by_ref(store: Store, ref: str) -> SeedRow:
    """The seed named ``seed:N`` (or ``N``); NotFoundError for any other name."""
    require_store(store)
    number = ref.removeprefix("seed:")
    if not (number.isascii() and number.isdigit()):
        raise NotFoundError(f"no seed {ref!r} (seeds are named seed:N)")
    check_id(int(number), "seed")
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
    """Search the archive's index (see :mod:`archiver.fulltext.query` for the syntax).

    Words are ANDed; ``any_words`` ranks pages holding any of them, best first.
    """
    # Imported here: the index (Whoosh, numpy) is the costliest import, and the commands
    # that do not search start without it.
    from archiver.fulltext.rebuild import shared_index

    require_store(store)
    index = shared_index(store)  # warm across calls in a long-running process
    hits = index.search(
        query,
        limit=limit,
        site=site,
        since=since,
        until=until,
        all_versions=all_versions,
        any_words=any_words,
    )
    expected = len(store.catalog.seeds()) + store.catalog.count_versions()
    indexed = index.doc_count()
    if indexed < expected:
        log.warning(
            "the index is behind the catalog (%d of %d documents); run `archiver reindex`",
            indexed,
            expected,
        )
    return hits


def reindex(store: Store, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the index from the catalog, holding the store's lock (no crawl meanwhile)."""
    from archiver.fulltext.rebuild import reindex as rebuild

    require_store(store)
    store.lock()
    try:
        return rebuild(store, progress)
    finally:
        store.unlock()


def history(store: Store, url: str) -> History | SeedHistory:
    """The versions of one page (the URL as typed; its canonical form is looked up), or
    of a seed post for ``seed:N``."""
    if url.startswith("seed:"):
        from archiver.changes.compare import seed_history

        seed = seed_by_ref(store, url)
        return SeedHistory(seed, seed_history(store, seed))
    require_store(store)
    target = store.catalog.find_target(url)
    return History(target, store.catalog.versions(target.id))


def show(store: Store, url: str, number: int | None = None) -> VersionView:
    """One version (default the latest), or a seed post's for ``seed:N``."""
    if url.startswith("seed:"):
        from archiver.changes.compare import seed_version

        seed = seed_by_ref(store, url)
        check_id(number, "version")
        found = seed_version(store, seed, number)
        return VersionView(
            url=seed.url,
            version=found.version,
            title=found.title,
            author=found.data.get("author") or found.source_label,
            published_at=found.posted_at,
            modified_at=None,
            text=found.text,
            links=[{"url": r["url"], "text": r["label"] or ""} for r in found.data["references"]],
            provenance=Provenance(seed.page_url or seed.path, 0, None),
            fetched_at=found.fetched_at if seed.page_url else None,
            is_seed=True,
        )
    require_store(store)
    check_version(store, url, number)
    target = store.catalog.find_target(url)
    version = store.catalog.version_or_latest(target, number)
    return VersionView(
        url=target.url,
        version=version.version,
        title=version.title,
        author=version.author,
        published_at=version.published_at,
        modified_at=version.modified_at,
        text=version.text,
        links=version.links,
        provenance=Provenance(target.via, target.depth, target.score),
        fetched_at=version.fetched_at,
        content_hash=version.content_hash,
        charset=version.meta.get("charset"),
        metadata={key: version.meta.get(key) for key in METADATA_KEYS},
    )


def diff(
    store: Store,
    url: str,
    from_version: int | None = None,
    to_version: int | None = None,
    *,
    ignore: Sequence[IgnoreRule] = (),
    granularity: str = "sentence",
) -> VersionChange:
    """Two versions of a page (default: previous and latest), or of a seed post for
    ``seed:N`` (its edits); see archiver.changes."""
    from archiver.changes.compare import (  # the differ loads only when asked for
        diff_seed_versions,
        diff_versions,
    )

    if url.startswith("seed:"):
        seed = seed_by_ref(store, url)
        check_id(from_version, "version")
        check_id(to_version, "version")
        return diff_seed_versions(
            store, seed, from_version, to_version, ignore=ignore, granularity=granularity
        )
    require_store(store)
    check_version(store, url, from_version, to_version)
    return diff_versions(
        store, url, from_version, to_version, ignore=ignore, granularity=granularity
    )


def diff_against_seed(
    store: Store,
    url: str,
    number: int | None = None,
    seed_id: int | None = None,
    *,
    ignore: Sequence[IgnoreRule] = (),
) -> SeedChange:
    """Align the seed post's sentences with a version of the page."""
    from archiver.changes.compare import diff_against_seed as align

    require_store(store)
    check_version(store, url, number)
    if seed_id is not None and seed_id not in _SQLITE_INT:
        store.catalog.find_target(url)  # an unknown page is said so first
        check_id(seed_id, "seed")
    return align(store, url, number, seed_id, ignore=ignore)


def render_diff(
    change: VersionChange | SeedChange,
    fmt: str,
    *,
    link_base: Path | None = None,
    store: Store | None = None,
) -> str:
    """A change as text (unified), markdown, json or html (see archiver.changes.render)."""
    from archiver.changes.render import render

    return render(
        change,
        fmt,
        link_base=link_base,
        warc_dir=store.warc_dir if store is not None else None,
        remote=store.remote if store is not None else None,
    )


def report(
    store: Store,
    *,
    run_id: int | None = None,
    since: str | None = None,
    ignore: Sequence[IgnoreRule] = (),
) -> list[RunReport]:
    """Change reports of one crawl run (default the last) or of every run since ``since``."""
    from archiver.changes.report import build_reports

    if store.exists():  # else build_reports says there is no archive
        check_id(run_id, "crawl run")
    return build_reports(store, run_id=run_id, since=since, ignore=ignore)


def runs(store: Store) -> list[RunRow]:
    """Every crawl run, oldest first; none for a store that does not exist yet."""
    return store.catalog.runs() if store.exists() else []


def notifications(store: Store) -> dict[int, list[NotificationRow]]:
    """Run id → the messages about it to [[notify]] entries (issue 16), oldest first."""
    found: dict[int, list[NotificationRow]] = {}
    if store.exists():
        for row in store.catalog.notifications():
            found.setdefault(row.run_id, []).append(row)
    return found


def seeds(store: Store) -> list[SeedRow]:
    """The registered seed posts; none for a store that does not exist yet."""
    return store.catalog.seeds() if store.exists() else []


def verify(store: Store) -> VerifyReport:
    """Re-read every WARC record the catalog references; see archiver.storage.verify."""
    from archiver.storage.verify import verify_store

    return verify_store(store)
