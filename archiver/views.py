"""Read views of the web UI (`archiver serve`): stories, a story's timeline and claims,
a page, a snapshot, a run's errors, and a searcher kept warm across requests.

Each function reads what one browser page shows. Like :mod:`archiver.api`, on which they
build, they return typed records, raise only ArchiverError, and never create or change a
store.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archiver.api import (  # the read API, and the input checks it shares
    History,
    check_id,
    check_version,
    history,
    require_store,
    runs,
    seed_by_ref,
    seeds,
)
from archiver.errors import NotFoundError
from archiver.fulltext.index import Hit
from archiver.fulltext.rebuild import shared_index
from archiver.storage.rows import CaptureRow, RunRow, SeedRow, TargetRow, VersionRow
from archiver.storage.store import Store

if TYPE_CHECKING:
    from archiver.changes.claims import Conflict
    from archiver.text.ignore import IgnoreRule

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
    kind: str  # "post" | "post-edit" | "post-deleted" | "version" | "follow-up"
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
    seed = seed_by_ref(store, seed_ref)
    references, follow_ups = _story_targets(store, seed.id)
    timeline = [TimelineEntry(seed.posted_at, "post", seed.url, seed.title)]
    moments: list[TimelineEntry] = []
    # A seed by URL: its edits (versions after the first) and its deletion.
    for edit in store.catalog.seed_versions(seed.id)[1:]:
        moments.append(
            TimelineEntry(edit.fetched_at, "post-edit", seed.url, edit.title, edit.version)
        )
    if seed.state == "deleted":
        moments.append(TimelineEntry(seed.state_since, "post-deleted", seed.url, seed.title))
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
    if not isinstance(found, History):  # a seed post: no page of its own here
        raise NotFoundError(f"no archived page for {url}")
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
    require_store(store)
    check_version(store, url, number)
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

    require_store(store)
    check_version(store, url, number)
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
    require_store(store)
    check_id(run_id, "crawl run")
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
        require_store(self.store)
        return self._index.search(query, **options)

    def status(self) -> IndexStatus:
        """How many documents the index holds against the catalog's seeds and versions."""
        from archiver.errors import SearchIndexError

        require_store(self.store)
        expected = len(self.store.catalog.seeds()) + self.store.catalog.count_versions()
        try:
            return IndexStatus(self._index.doc_count(), expected)
        except SearchIndexError as exc:
            self._index.close()  # a missing index may be built later: look again next time
            return IndexStatus(0, expected, str(exc))

    def close(self) -> None:
        """Nothing to release: the shared index stays open for the process's other users."""
