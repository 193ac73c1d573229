"""The read-side library API: search, history, show, diff, report and verify over a store.

The CLI and the web UI call one function here per command and only format what they get
back, so everything a user can do from the shell is also a Python call. Every function
returns typed records (each with ``as_json()`` giving the documented `--json` shape) and
raises only :class:`~archiver.errors.ArchiverError`. A store that does not exist yet is a
:class:`~archiver.errors.NotFoundError`; nothing here creates one.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archiver.errors import NotFoundError
from archiver.fulltext.index import Hit
from archiver.fulltext.rebuild import shared_index
from archiver.storage.rows import CaptureRow, RunRow, SeedRow, TargetRow, VersionRow
from archiver.storage.store import Store

if TYPE_CHECKING:
    from archiver.changes.claims import Conflict
    from archiver.changes.compare import SeedChange, VersionChange
    from archiver.changes.report import RunReport
    from archiver.storage.verify import VerifyReport
    from archiver.text.ignore import IgnoreRule

log = logging.getLogger(__name__)

__all__ = [
    "History",
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


# SQLite integers are 64-bit: a number outside cannot name anything in the catalog (and
# sqlite3 raises OverflowError on it), so it is "not found" before any query is made.
_SQLITE_INT = range(-(2**63), 2**63)


def _check_version(store: Store, url: str, *numbers: int | None) -> None:
    """NotFoundError for a version number no catalog can hold (after the page's own)."""
    for number in numbers:
        if number is not None and number not in _SQLITE_INT:
            target = store.catalog.find_target(url)  # an unknown page is said so first
            raise NotFoundError(f"no version {number} of {target.url}")


def _check_id(number: int | None, what: str) -> None:
    if number is not None and number not in _SQLITE_INT:
        raise NotFoundError(f"no {what} with id {number}")


def _require_store(store: Store) -> None:
    if not store.exists():
        raise NotFoundError(f"no archive at {store.root}; run `archiver crawl` first")


def _seed_by_ref(store: Store, ref: str) -> SeedRow:
    _require_store(store)
    number = ref.removeprefix("seed:")
    if not (number.isascii() and number.isdigit()):
        raise NotFoundError(f"no seed {ref!r} (seeds are named seed:N)")
    _check_id(int(number), "seed")
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
    _require_store(store)
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

    _require_store(store)
    store.lock()
    try:
        return rebuild(store, progress)
    finally:
        store.unlock()


def history(store: Store, url: str) -> History:
    """The versions of one page (the URL as typed; its canonical form is looked up)."""
    _require_store(store)
    target = store.catalog.find_target(url)
    return History(target, store.catalog.versions(target.id))


def show(store: Store, url: str, number: int | None = None) -> VersionView:
    """One version (default the latest), or a seed post for ``seed:N``."""
    if url.startswith("seed:"):
        seed = _seed_by_ref(store, url)
        return VersionView(
            url=seed.url,
            version=1,
            title=seed.title,
            author=seed.source_label,
            published_at=seed.posted_at,
            modified_at=None,
            text=seed.text,
            links=[{"url": r["url"], "text": r["label"] or ""} for r in seed.data["references"]],
            provenance=Provenance(seed.path, 0, None),
            is_seed=True,
        )
    _require_store(store)
    _check_version(store, url, number)
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
    """Two versions of a page (default: previous and latest); see archiver.changes."""
    from archiver.changes.compare import diff_versions  # the differ loads only when asked for

    _require_store(store)
    _check_version(store, url, from_version, to_version)
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

    _require_store(store)
    _check_version(store, url, number)
    if seed_id is not None and seed_id not in _SQLITE_INT:
        store.catalog.find_target(url)  # an unknown page is said so first
        _check_id(seed_id, "seed")
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
        _check_id(run_id, "crawl run")
    return build_reports(store, run_id=run_id, since=since, ignore=ignore)


def runs(store: Store) -> list[RunRow]:
    """Every crawl run, oldest first; none for a store that does not exist yet."""
    return store.catalog.runs() if store.exists() else []


def seeds(store: Store) -> list[SeedRow]:
    """The registered seed posts; none for a store that does not exist yet."""
    return store.catalog.seeds() if store.exists() else []


def verify(store: Store) -> VerifyReport:
    """Re-read every WARC record the catalog references; see archiver.storage.verify."""
    from archiver.storage.verify import verify_store

    return verify_store(store)


# -- read functions of the web UI (`archiver serve`) ---------------------------------------
# Each one reads what one page of the browser UI shows; like the rest of this module they
# return typed records and raise only ArchiverError, and never create or change a store.

MAX_SNAPSHOT_BYTES = 20_000_000  # a decoded archived body served to a browser, at most


@dataclass(frozen=True)
class IndexStatus:
    """Whether the search index answers for the whole catalog."""

    indexed: int
    expected: int
    problem: str | None = None  # why the index cannot be searched at all

    @property
    def behind(self) -> bool:
        return self.problem is None and self.indexed < self.expected


def index_status(store: Store) -> IndexStatus:
    """How many documents the index holds against the catalog's seeds and versions."""
    searcher = Searcher(store)
    try:
        return searcher.status()
    finally:
        searcher.close()


@dataclass(frozen=True)
class SourceStatus:
    """One seed sentence in one source: its status in the latest version, since when."""

    url: str
    # "present" | "paraphrased" | "contradicted" | "absent"; "unfetched" without any version
    status: str
    version: int | None  # the latest version
    since_version: int | None  # the first version of the run of this status and conflicts
    match: str | None
    conflicts: tuple[Conflict, ...] = ()  # what the source states otherwise ("contradicted")


@dataclass(frozen=True)
class Claim:
    """A sentence of the seed post and its status in each of the post's sources."""

    text: str
    sources: list[SourceStatus]

    @property
    def supported(self) -> bool:
        return any(s.status in ("present", "paraphrased") for s in self.sources)


@dataclass(frozen=True)
class TimelineEntry:
    """One moment of a story: the post, a source's version, or a follow-up found."""

    when: str | None
    kind: str  # "post" | "version" | "follow-up"
    url: str
    title: str | None
    version: int | None = None
    via: str | None = None
    depth: int = 0
    score: float | None = None


@dataclass(frozen=True)
class StorySummary:
    """One row of the stories list: a seed post and how its story stands."""

    seed: SeedRow
    references: int
    follow_ups: int
    last_run: RunRow | None
    supported: int
    claims: int


@dataclass(frozen=True)
class Story:
    """A seed post, its sources and follow-ups on one timeline, and its claims."""

    seed: SeedRow
    references: list[TargetRow]
    follow_ups: list[TargetRow]
    timeline: list[TimelineEntry]
    claims: list[Claim]
    last_run: RunRow | None


def _story_targets(store: Store, seed_id: int) -> tuple[list[TargetRow], list[TargetRow]]:
    mine = store.catalog.seed_targets(seed_id)
    return [t for t in mine if t.depth == 0], [t for t in mine if t.depth > 0]


def _claims(
    store: Store, seed: SeedRow, references: list[TargetRow], ignore: Sequence[IgnoreRule]
) -> list[Claim]:
    from archiver.changes.align import seed_sentences
    from archiver.changes.compare import rules_for, seed_body

    body = seed_body(seed)
    sentences = seed_sentences(body)
    per_source: list[list[SourceStatus]] = []
    for target in references:
        rules = tuple(rules_for(target.url, ignore))
        history_: list[tuple[int, list[_Aligned]]] = [
            (v.version, _aligned(body, v.text, rules)) for v in store.catalog.versions(target.id)
        ]
        row: list[SourceStatus] = []
        for i in range(len(sentences)):
            if not history_:
                row.append(SourceStatus(target.url, "unfetched", None, None, None))
                continue
            latest, statuses = history_[-1]
            status, match, found = statuses[i]
            since = latest
            for number, earlier in reversed(history_[:-1]):
                if (earlier[i][0], earlier[i][2]) != (status, found):  # another value: changed
                    break
                since = number
            row.append(SourceStatus(target.url, status, latest, since, match, found))
        per_source.append(row)
    return [Claim(text, [row[i] for row in per_source]) for i, text in enumerate(sentences)]


_Aligned = tuple[str, "str | None", "tuple[Conflict, ...]"]


@functools.lru_cache(maxsize=256)  # keys hold whole texts: a few stories fit
def _aligned(body: str, text: str, rules: tuple[IgnoreRule, ...]) -> list[_Aligned]:
    """(status, match, conflicts) of each seed sentence in a page text; cached, since
    versions never change once written and the stories list aligns every source on every
    view."""
    from archiver.changes.align import align_seed

    return [(s.status, s.match, s.conflicts) for s in align_seed(body, text, rules).sentences]


def _sort_key(entry: TimelineEntry) -> tuple[int, float]:
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(entry.when or "")
    except ValueError:
        return (1, 0.0)  # an unreadable time goes last
    return (0, (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def stories(store: Store, *, ignore: Sequence[IgnoreRule] = ()) -> list[StorySummary]:
    """Every seed post with its sources' and follow-ups' counts and its claims' support."""
    out: list[StorySummary] = []
    all_runs = runs(store)
    for seed in seeds(store):
        references, follow_ups = _story_targets(store, seed.id)
        claims = _claims(store, seed, references, ignore)
        out.append(
            StorySummary(
                seed,
                len(references),
                len(follow_ups),
                all_runs[-1] if all_runs else None,
                sum(1 for c in claims if c.supported),
                len(claims),
            )
        )
    return out


def story(store: Store, seed_ref: str, *, ignore: Sequence[IgnoreRule] = ()) -> Story:
    """One seed post (``seed:N``): its timeline and its claims' status per source."""
    seed = _seed_by_ref(store, seed_ref)
    references, follow_ups = _story_targets(store, seed.id)
    timeline = [TimelineEntry(seed.posted_at, "post", seed.url, seed.title)]
    moments: list[TimelineEntry] = []
    for target in references:
        moments += [
            TimelineEntry(v.fetched_at, "version", target.url, v.title, v.version, target.via)
            for v in store.catalog.versions(target.id)
        ]
    for target in follow_ups:
        latest = store.catalog.latest_version(target.id)
        moments.append(
            TimelineEntry(
                target.first_seen,
                "follow-up",
                target.url,
                latest.title if latest else None,
                latest.version if latest else None,
                target.via,
                target.depth,
                target.score,
            )
        )
    all_runs = runs(store)
    return Story(
        seed,
        references,
        follow_ups,
        timeline + sorted(moments, key=_sort_key),
        _claims(store, seed, references, ignore),
        all_runs[-1] if all_runs else None,
    )


@dataclass(frozen=True)
class PageView:
    """A page's state, its versions (oldest first) and every fetch of it."""

    target: TargetRow
    versions: list[VersionRow]
    captures: list[CaptureRow]


def page(store: Store, url: str) -> PageView:
    """Everything the catalog knows about one page (the URL as typed)."""
    found = history(store, url)
    return PageView(found.target, found.versions, store.catalog.captures(found.target.id))


@dataclass(frozen=True)
class Snapshot:
    """The archived response body of a version, as it was captured (decoded), or the DOM
    a browser rendered from it (``rendered``)."""

    url: str
    version: int
    fetched_at: str
    status: int | None
    content_type: str
    body: bytes
    rendered: bool = False


def rendering(store: Store, url: str, number: int | None = None) -> CaptureRow | None:
    """The ``conversion`` capture (the rendered DOM) a version was extracted from, if the
    crawl rendered the page (crawl.render)."""
    _require_store(store)
    _check_version(store, url, number)
    target = store.catalog.find_target(url)
    capture = store.catalog.capture(store.catalog.version_or_latest(target, number).capture_id)
    return capture if capture.record_type == "conversion" else None


def snapshot(
    store: Store, url: str, number: int | None = None, *, rendered: bool = False
) -> Snapshot:
    """The response a version was extracted from, read back from its WARC record; with
    ``rendered``, the DOM the browser built from it (NotFoundError if it was not rendered).
    A rendered version's snapshot is still the response as the server sent it."""
    from archiver.errors import FetchError, StoreError
    from archiver.net.encoding import decode_content
    from archiver.storage.foreign import dechunk
    from archiver.storage.spool import open_record
    from archiver.storage.warc import read_record

    _require_store(store)
    _check_version(store, url, number)
    target = store.catalog.find_target(url)
    version = store.catalog.version_or_latest(target, number)
    capture = store.catalog.capture(version.capture_id)
    if rendered and capture.record_type != "conversion":
        raise NotFoundError(f"version {version.version} of {target.url} was not rendered")
    if capture.record_type == "conversion" and not rendered:
        response = store.catalog.response_of(capture)
        if response is None:
            raise NotFoundError(f"no response record of version {version.version} of {target.url}")
        capture = response
    if capture.record_type == "revisit" and capture.payload_digest:
        capture = store.catalog.original_response(capture.payload_digest, url) or capture
    if not capture.warc_file or capture.warc_offset is None:
        raise NotFoundError(f"version {version.version} of {target.url} has no WARC record")
    warc_dir = store.warc_dir.resolve()
    path = (warc_dir / capture.warc_file).resolve()
    if not path.is_relative_to(warc_dir):  # a catalog row never points outside the store
        raise NotFoundError(f"no WARC file {capture.warc_file!r} in {warc_dir}")
    # the spool's (or local) file, else the record's bytes from S3 by a range request
    stream = open_record(store, capture.warc_file, capture.warc_offset, capture.warc_length)
    record = read_record(stream, capture.warc_file, capture.warc_offset)  # closes it
    headers = {k.lower(): v for k, v in record.http_headers}
    body = record.payload
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = dechunk(body) or body
    try:
        body, _ = decode_content(body, headers.get("content-encoding"), MAX_SNAPSHOT_BYTES)
    except FetchError as exc:
        raise StoreError(f"cannot decode the archived body of {target.url}: {exc}") from exc
    return Snapshot(
        target.url,
        version.version,
        version.fetched_at,
        record.status,
        headers.get("content-type", capture.content_type or "application/octet-stream"),
        body,
        capture.record_type == "conversion",
    )


@dataclass(frozen=True)
class RunError:
    """A URL a crawl run could not fetch, with how many tries its page has used up."""

    url: str
    error: str
    tries: int | None  # the page's consecutive failed tries now (None: not a page)
    state: str | None


def run_errors(store: Store, run_id: int) -> list[RunError]:
    """The errors one crawl run recorded, each with its page's tries and state."""
    _require_store(store)
    _check_id(run_id, "crawl run")
    out: list[RunError] = []
    for entry in store.catalog.run(run_id).errors:
        target = store.catalog.target_by_url(entry.get("url", ""))
        out.append(
            RunError(
                entry.get("url", ""),
                entry.get("error", ""),
                target.tries if target else None,
                target.state if target else None,
            )
        )
    return out


class Searcher:
    """Searches of one store for a process that answers many (the web UI keeps one per
    thread): all of them go through the process's one warm index of the store
    (:func:`archiver.fulltext.rebuild.shared_index`), whose searcher, term statistics and
    cached postings serve every thread, and which notices a crawl's commit or a `reindex`
    swap. Takes the keyword options of :func:`search`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index = shared_index(store)

    def search(self, query: str, **options: Any) -> list[Hit]:
        _require_store(self.store)
        return self._index.search(query, **options)

    def status(self) -> IndexStatus:
        """How many documents the index holds against the catalog's seeds and versions."""
        from archiver.errors import SearchIndexError

        _require_store(self.store)
        expected = len(self.store.catalog.seeds()) + self.store.catalog.count_versions()
        try:
            return IndexStatus(self._index.doc_count(), expected)
        except SearchIndexError as exc:
            self._index.close()  # a missing index may be built later: look again next time
            return IndexStatus(0, expected, str(exc))

    def close(self) -> None:
        """Nothing to release: the shared index stays open for the process's other users."""
