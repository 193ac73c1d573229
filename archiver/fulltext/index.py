"""The full-text index (Whoosh storage, our own query evaluation) behind a small interface.

The index is derived data: every document comes from the catalog (a version of a page,
or a seed post) and :func:`archiver.crawler.pipeline.reindex` rebuilds it from scratch. Each
page version is a document; ``latest`` marks the newest version of its page so the
default search covers current text only, while ``all_versions`` answers "which version
said X". Whoosh stores postings; :mod:`archiver.fulltext.engine` evaluates queries on them, so
another engine can replace both without touching callers.

The interface another backend (say OpenSearch with the nori Korean analyzer, for an
archive past one machine) must offer is :class:`Index`'s public methods, with these
invariants:

- ``add(docs)`` upserts by ``IndexDoc.doc_id`` (``<url>#v<n>``, ``seed:<id>``): adding
  a document twice leaves one; the documents become searchable together when it returns.
  ``writer()`` streams the same way (``add`` each, then ``commit`` or ``cancel``).
- ``rebuild(docs)`` replaces everything at once; readers see the old index until then.
- ``search(query, …)`` returns :class:`Hit` lists with the options of ``archiver search``
  (``latest`` only unless ``all_versions``; by site, date, kind); a malformed query is a
  ``SearchQueryError``, a broken index a ``SearchIndexError``.
- ``exists()`` and ``doc_count()``; ``close()`` frees what it holds.

Nothing else touches the backend: documents come from the catalog
(:mod:`archiver.fulltext.rebuild`), and cluster mode's one indexer job
(:func:`archiver.fulltext.rebuild.drain`) feeds them in.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh.fields import BOOLEAN, DATETIME, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.query import DateRange

from archiver.errors import ArchiverError, IndexDamagedError, QueryError, SearchIndexError

from . import engine, matching
from .analysis import (
    TermFrequency,
    korean_analyzer,
    normalize,
    stem_analyzer,
)
from .codec import CompactPositions, NumpyCodec
from .merging import merge_tiers
from .query import Leaf, has_positive, parse, positive_leaves
from .snippets import highlighter, make_snippet
from .whoosh_internals import ParallelWriter

# Tries of a search (and a count) that meets a generation a concurrent commit is deleting:
# with the waits between them (50 ms, then 100 ms, ...) about 0.75 s in all, so a search
# rides out a commit that merges segments on a loaded machine.
_ATTEMPTS = 6
log = logging.getLogger(__name__)

# Bumped when the schema changes: an index without these fields must be rebuilt.
REQUIRED_FIELDS = ("text_stem", "title_stem", "author_stem")
BLOCK_POSTINGS = 128
WRITE_LOCK_WAIT = 60.0  # seconds add() waits for another writer (a reindex) to finish


def _text(analyzer: Any, *, stored: bool = False, positions: bool = False) -> TEXT:
    field = TEXT(analyzer=analyzer, stored=stored, phrase=positions)
    # The same postings as Whoosh's formats, counted from the analyzer's term lists
    # (indexes written before CompactPositions keep TermPositions in their schema).
    field.format = CompactPositions() if positions else TermFrequency()
    return field


def _schema() -> Schema:
    bigrams = korean_analyzer()
    stems = stem_analyzer()
    return Schema(
        doc_id=ID(stored=True, unique=True),
        url=ID(stored=True),
        site=ID(stored=True),
        kind=ID(stored=True),
        version=NUMERIC(stored=True),
        latest=BOOLEAN(stored=True),
        # Frequencies only: phrases are checked on the stored text of the best candidates
        # (engine/matching), which keeps the index small and fast to write.
        title=_text(bigrams, stored=True),
        title_stem=_text(stems),
        author=_text(bigrams, stored=True),
        author_stem=_text(stems),
        text=_text(bigrams, stored=True),
        text_stem=_text(stems, positions=True),  # positions: the proximity bonus
        published=DATETIME(),
        published_at=STORED(),
        fetched_at=STORED(),
    )


def _codec() -> Any:
    # Numpy-readable blocks (codec.py); 128 postings a block, so that a search reading
    # only its candidates' blocks skips most of a frequent term's list.
    return NumpyCodec(blocklimit=BLOCK_POSTINGS)


@dataclass(frozen=True)
class IndexDoc:
    """What the index stores of one seed post or page version."""

    doc_id: str
    url: str
    kind: str  # "seed" or "page"
    version: int
    latest: bool
    title: str
    text: str
    author: str = ""
    site: str = ""
    published_at: str | None = None
    fetched_at: str | None = None


@dataclass(frozen=True)
class Hit:
    """One search result, with a snippet and the match offsets inside the snippet."""

    url: str
    kind: str
    title: str
    version: int
    fetched_at: str | None
    published_at: str | None
    score: float
    snippet: str
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The `search --json` shape of one hit."""
        return {
            "url": self.url,
            "kind": self.kind,
            "title": self.title,
            "version": self.version,
            "fetched_at": self.fetched_at,
            "published_at": self.published_at,
            "score": self.score,
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
        }


def _parse_time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise QueryError(f"{what}: not an ISO date or time: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Whoosh compares naive datetimes: store and query everything in UTC.
    return parsed.astimezone(UTC).replace(tzinfo=None)


class Index:
    """A Whoosh index in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # One search at a time per Index: Whoosh's files seek and read in place, and the
        # snapshot's caches are plain dicts (a server's threads share one warm Index).
        self._lock = threading.RLock()
        self._ix: Any = None
        self._snap: engine.Snapshot | None = None
        self._inode: int | None = None

    @classmethod
    def shared(cls, directory: Path) -> Index:
        """The process's one open Index of ``directory``, kept warm between calls.

        A server or scheduler searching repeatedly reuses its searcher, term statistics
        and cached postings (an updated or rebuilt index is noticed and reopened); the
        least recently used beyond WARM_INDEXES are closed. Safe across threads: an Index
        runs one search at a time.
        """
        with _warm_lock:
            index = _warm.pop(directory, None) or cls(directory)
            _warm[directory] = index
            while len(_warm) > WARM_INDEXES:
                _old_dir, old = _warm.popitem(last=False)
                old.close()
            return index

    def exists(self) -> bool:
        return self.directory.is_dir() and whoosh_index.exists_in(str(self.directory))

    def _open(self, create: bool = False) -> Any:
        if self._ix is not None:
            return self._ix
        try:
            if self.exists():
                ix = whoosh_index.open_dir(str(self.directory))
                missing = [f for f in REQUIRED_FIELDS if f not in ix.schema]
                if missing:
                    ix.close()
                    raise SearchIndexError(
                        f"search index at {self.directory} was built by an"
                        " older archiver; run `archiver reindex`"
                    )
                self._ix = ix
            elif create:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._ix = whoosh_index.create_in(str(self.directory), _schema())
            else:
                raise SearchIndexError(
                    f"no search index at {self.directory}; run `archiver reindex`"
                )
        except ArchiverError:
            raise
        except Exception as exc:  # whoosh raises many unrelated types on damaged files
            raise IndexDamagedError.at(self.directory, exc) from exc
        return self._ix

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._snap is not None:
            self._snap.close()
            self._snap = None
        if self._ix is not None:
            self._ix.close()
            self._ix = None

    def writer(self, *, procs: int = 1) -> IndexWriter:
        """A writer for documents added over time and committed together.

        With ``procs`` > 1, worker processes analyse and write segments while the
        caller goes on (a crawl keeps fetching); they are merged in at commit.
        """
        ix = self._open(create=True)
        # Separate files per segment: no second copy while a compound file is assembled
        # (that doubled the peak disk use of a commit).
        options: dict[str, Any] = {
            "limitmb": 256,
            "codec": _codec(),
            "compound": False,
            "timeout": WRITE_LOCK_WAIT,
            "delay": 0.25,
        }
        try:
            if procs > 1:
                return IndexWriter(ParallelWriter(ix, procs=procs, multisegment=True, **options))
            return IndexWriter(ix.writer(**options))
        except Exception as exc:
            raise SearchIndexError(
                f"cannot write the search index at {self.directory}: "
                f"{type(exc).__name__} {exc}".rstrip()
            ) from exc

    def add(self, docs: Iterable[IndexDoc], *, procs: int = 1) -> int:
        """Add or replace documents (by ``doc_id``) in one commit; return how many."""
        writer = self.writer(procs=procs)
        try:
            for doc in docs:
                writer.add(doc)
        except BaseException:
            writer.cancel()
            raise
        return writer.commit()

    def rebuild(self, docs: Iterable[IndexDoc], *, procs: int | None = None) -> int:
        """Replace the whole index with ``docs`` (built aside, then swapped in).

        A rebuild is bulk work: by default it analyses and writes on two processes, as a
        big crawl run does.
        """
        if procs is None:
            procs = min(2, os.cpu_count() or 1)
        staging = self.directory.with_name(self.directory.name + ".rebuild")
        shutil.rmtree(staging, ignore_errors=True)
        fresh = Index(staging)
        try:
            count = fresh.add(docs, procs=procs)
        finally:
            fresh.close()
        self.close()
        old = self.directory.with_name(self.directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            self.directory.rename(old)
        staging.rename(self.directory)
        shutil.rmtree(old, ignore_errors=True)
        return count

    def doc_count(self) -> int:
        with self._lock:
            return self._doc_count()

    def _doc_count(self) -> int:
        for attempt in range(_ATTEMPTS):
            try:
                return int(self._open().doc_count())
            except IndexDamagedError:
                if attempt == _ATTEMPTS - 1:
                    raise
            except ArchiverError:
                raise
            except Exception as exc:
                if attempt == _ATTEMPTS - 1:
                    raise IndexDamagedError.at(self.directory, exc) from exc
            self._close()  # changed under us by a concurrent commit: look again
            time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def segments(self) -> list[tuple[int, int]]:
        """(live, all) documents of each segment of the index, oldest first."""
        with self._lock:
            return [(int(s.doc_count()), int(s.doc_count_all())) for s in self._open()._segments()]

    def _being_replaced(self) -> bool:
        return any(
            self.directory.with_name(self.directory.name + suffix).exists()
            for suffix in (".rebuild", ".old")
        )

    def _snapshot(self) -> engine.Snapshot:
        snap = self._snap
        try:
            inode = self.directory.stat().st_ino
        except OSError:
            inode = None
        # A rebuilt index swapped in may restart at the same generation: compare folders.
        if snap is not None and inode == self._inode and snap.searcher.up_to_date():
            return snap
        self._close()
        self._inode = inode
        self._snap = engine.Snapshot(self._open().searcher())
        return self._snap

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        site: str | None = None,
        since: str | None = None,
        until: str | None = None,
        all_versions: bool = False,
        any_words: bool = False,
        syntax: bool = True,
    ) -> list[Hit]:
        """Search latest versions (or all); raise QueryError for an unusable query.

        Words are ANDed; ``any_words`` ranks documents holding any of the plain words;
        ``syntax`` False reads the query as plain words (no operators or phrases).
        """
        if not query.strip():
            raise QueryError("empty search query")
        node = parse(query, syntax=syntax)
        if not has_positive(node):
            raise QueryError(f"query {query.strip()!r} only excludes; add a word to find")
        since_dt = _parse_time(since, "--since")
        until_dt = _parse_time(until, "--until")
        if since_dt and until_dt and since_dt > until_dt:
            raise QueryError("--since is after --until")
        with self._lock:
            return self._search_retrying(
                node, limit, site, since_dt, until_dt, all_versions, any_words
            )

    def _search_retrying(
        self,
        node: Any,
        limit: int,
        site: str | None,
        since_dt: datetime | None,
        until_dt: datetime | None,
        all_versions: bool,
        any_words: bool,
    ) -> list[Hit]:
        for attempt in range(_ATTEMPTS):
            try:
                return self._search(node, limit, site, since_dt, until_dt, all_versions, any_words)
            except ArchiverError as exc:
                # A concurrent commit may delete the files of the generation just read,
                # and `reindex` swaps a rebuilt index in by two renames: look again.
                transient = isinstance(exc, IndexDamagedError) or (
                    isinstance(exc, SearchIndexError) and (self._being_replaced() or self.exists())
                )
                if not transient or attempt == _ATTEMPTS - 1:
                    raise
            except Exception as exc:
                if attempt == _ATTEMPTS - 1:
                    log.info("search failed", exc_info=True)  # the traceback with -v
                    raise IndexDamagedError.at(self.directory, exc) from exc
                log.info("search retry after %s: %s", type(exc).__name__, exc)
            self._close()
            time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _search(
        self,
        node: Any,
        limit: int,
        site: str | None,
        since: datetime | None,
        until: datetime | None,
        all_versions: bool,
        any_words: bool,
    ) -> list[Hit]:
        snap = self._snapshot()
        filters = np.ones(snap.size, dtype=bool)
        if not all_versions:
            filters &= snap.mask("latest", True)
        if site:
            filters &= engine.site_mask(snap, site.strip().lower().removeprefix("www."))
        if since or until:
            dates = np.zeros(snap.size, dtype=bool)
            dates[list(DateRange("published", since, until).docs(snap.searcher))] = True
            filters &= dates
        words = bool(positive_leaves(node))
        ranked = matching.rank(
            snap,
            node,
            filters,
            soft=any_words and words,
            limit=None if all_versions or not words else limit,
        )
        if not words:  # site:HOST alone (or with NOTs): nothing to rank by
            ranked = _newest_first(ranked)[: None if all_versions else limit]
        if all_versions:
            ranked = _group_by_page(ranked, limit)
        pattern = highlighter(
            (
                (leaf.text, leaf.phrase)
                for leaf in positive_leaves(node)
                if isinstance(leaf, Leaf) and leaf.field in (None, "text")
            ),
            stems=any_words,
        )
        return [_hit(stored, score, pattern) for _doc, score, stored in ranked]


WARM_INDEXES = 4  # indexes whose searchers a long-running process keeps open
_warm: OrderedDict[Path, Index] = OrderedDict()
_warm_lock = threading.Lock()


def _newest_first(
    ranked: list[tuple[int, float, dict[str, Any]]],
) -> list[tuple[int, float, dict[str, Any]]]:
    """By publication date (the fetch time when there is none), newest first."""

    def when(item: tuple[int, float, dict[str, Any]]) -> datetime:
        for key in ("published_at", "fetched_at"):
            try:
                moment = _parse_time(item[2].get(key), key)
            except QueryError:
                moment = None
            if moment is not None:
                return moment
        return datetime.min

    return sorted(ranked, key=when, reverse=True)


def _group_by_page(
    ranked: list[tuple[int, float, dict[str, Any]]], limit: int
) -> list[tuple[int, float, dict[str, Any]]]:
    """Hits per version, grouped by page (best page first), oldest version first."""
    pages: dict[str, list[tuple[int, float, dict[str, Any]]]] = {}
    for item in ranked:
        url = item[2]["url"]
        if url in pages or len(pages) < limit:
            pages.setdefault(url, []).append(item)
    out = [
        item
        for page in pages.values()
        for item in sorted(page, key=lambda i: int(i[2].get("version", 0)))
    ]
    return out[:limit]


class IndexWriter:
    """One Whoosh writer: documents added (or replaced, by ``doc_id``), then one commit."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self.count = 0

    def add(self, doc: IndexDoc) -> None:
        self._writer.update_document(**_fields(doc))
        self.count += 1

    def commit(self) -> int:
        """Make every added document searchable at once; return how many there were."""
        try:
            self._writer.commit(mergetype=merge_tiers)
        except Exception as exc:
            raise SearchIndexError(f"cannot commit the search index: {exc}") from exc
        return self.count

    def cancel(self) -> None:
        """Drop the added documents; the index stays at its last commit."""
        self._writer.cancel()


def _fields(doc: IndexDoc) -> dict[str, Any]:
    title, text, author = (
        normalize(doc.title or ""),
        normalize(doc.text),
        normalize(doc.author or ""),
    )
    fields: dict[str, Any] = {
        "doc_id": doc.doc_id,
        "url": doc.url,
        "site": doc.site.lower(),
        "kind": doc.kind,
        "version": doc.version,
        "latest": doc.latest,
        "title": title,
        "title_stem": title,
        "author": author,
        "author_stem": author,
        "text": text,
        "text_stem": text,
        "published_at": doc.published_at,
        "fetched_at": doc.fetched_at,
    }
    published = None
    if doc.published_at:
        try:
            published = _parse_time(doc.published_at, "published_at")
        except QueryError:
            published = None
    if published is not None:
        fields["published"] = published
    return fields


def _hit(stored: dict[str, Any], score: float, pattern: re.Pattern[str] | None) -> Hit:
    snippet, highlights = make_snippet(stored.get("text") or stored.get("title") or "", pattern)
    return Hit(
        url=stored["url"],
        kind=stored.get("kind", "page"),
        title=stored.get("title", ""),
        version=int(stored.get("version", 0)),
        fetched_at=stored.get("fetched_at"),
        published_at=stored.get("published_at"),
        score=round(float(score), 4),
        snippet=snippet,
        highlights=highlights,
    )
