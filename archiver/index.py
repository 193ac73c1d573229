"""The full-text index (Whoosh) behind a small interface of our own.

The index is derived data: every document comes from the catalog (a version of a page,
or a seed post) and :func:`archiver.pipeline.reindex` rebuilds it from scratch. Each
page version is a document; ``latest`` marks the newest version of its page so the
default search covers current text only, while ``all_versions`` answers "which version
said X". Whoosh stays behind this module so another engine can replace it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.fields import BOOLEAN, DATETIME, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.qparser import AndGroup, MultifieldParser
from whoosh.query import And, DateRange, Every, NullQuery, Term

from .analysis import korean_analyzer, match_spans
from .errors import IndexError_, QueryError

SNIPPET_CHARS = 160


def _schema() -> Schema:
    analyzer = korean_analyzer()
    return Schema(
        doc_id=ID(stored=True, unique=True),
        url=ID(stored=True),
        site=ID(stored=True),
        kind=ID(stored=True),
        version=NUMERIC(stored=True),
        latest=BOOLEAN(stored=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=2.0, multitoken_query="phrase"),
        author=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        text=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        published=DATETIME(),
        published_at=STORED(),
        fetched_at=STORED(),
    )


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


def make_snippet(
    text: str, terms: set[str], width: int = SNIPPET_CHARS
) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` around the densest cluster of matches, and their offsets."""
    spans = match_spans(text, terms)
    if not spans:
        snippet = text[:width].replace("\n", " ")
        return (snippet + ("…" if len(text) > width else "")), []
    best_start, best_count = spans[0][0], 0
    for i, (start, _end) in enumerate(spans):
        count = sum(1 for s, e in spans[i:] if e <= start + width)
        if count > best_count:
            best_start, best_count = start, count
    begin = max(0, best_start - width // 4)
    # Start at a word boundary when one is near, so the snippet does not open mid-word.
    space = text.rfind(" ", max(0, begin - 15), best_start)
    if begin > 0 and space != -1:
        begin = space + 1
    end = min(len(text), begin + width)
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(text) else ""
    body = text[begin:end].replace("\n", " ")
    shift = len(prefix) - begin
    highlights = [(s + shift, min(e, end) + shift) for s, e in spans if s >= begin and s < end]
    return prefix + body + suffix, highlights


class Index:
    """A Whoosh index in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._ix: Any = None

    def exists(self) -> bool:
        return self.directory.is_dir() and whoosh_index.exists_in(str(self.directory))

    def _open(self, create: bool = False) -> Any:
        if self._ix is not None:
            return self._ix
        try:
            if self.exists():
                self._ix = whoosh_index.open_dir(str(self.directory))
            elif create:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._ix = whoosh_index.create_in(str(self.directory), _schema())
            else:
                raise IndexError_(f"no search index at {self.directory}; run `archiver reindex`")
        except IndexError_:
            raise
        except Exception as exc:  # whoosh raises many unrelated types on damaged files
            raise IndexError_(
                f"search index at {self.directory} is damaged ({type(exc).__name__});"
                " run `archiver reindex`"
            ) from exc
        return self._ix

    def add(self, docs: Iterable[IndexDoc]) -> int:
        """Add or replace documents (by ``doc_id``) in one commit; return how many."""
        ix = self._open(create=True)
        count = 0
        try:
            writer = ix.writer(limitmb=128)
        except Exception as exc:
            raise IndexError_(f"cannot write the search index: {exc}") from exc
        try:
            for doc in docs:
                writer.update_document(**_fields(doc))
                count += 1
            writer.commit()
        except OSError as exc:  # a full or read-only disk: the catalog still has it all
            with contextlib.suppress(Exception):  # cancelling may hit the same disk
                writer.cancel()
            raise IndexError_(f"cannot write the search index: {exc.strerror or exc};"
                              " run `archiver reindex` once fixed") from exc
        except Exception:
            writer.cancel()
            raise
        return count

    def rebuild(self, docs: Iterable[IndexDoc]) -> int:
        """Replace the whole index with ``docs`` (built aside, then swapped in)."""
        staging = self.directory.with_name(self.directory.name + ".rebuild")
        shutil.rmtree(staging, ignore_errors=True)
        fresh = Index(staging)
        count = fresh.add(docs)
        if self._ix is not None:
            self._ix.close()
            self._ix = None
        old = self.directory.with_name(self.directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            self.directory.rename(old)
        staging.rename(self.directory)
        shutil.rmtree(old, ignore_errors=True)
        return count

    def doc_count(self) -> int:
        ix = self._open()
        return int(ix.doc_count())

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        site: str | None = None,
        since: str | None = None,
        until: str | None = None,
        all_versions: bool = False,
    ) -> list[Hit]:
        """Search latest versions (or all); raise QueryError for an unusable query."""
        if not query.strip():
            raise QueryError("empty search query")
        since_dt = _parse_time(since, "--since")
        until_dt = _parse_time(until, "--until")
        ix = self._open()
        parser = MultifieldParser(["title", "text"], schema=ix.schema, group=AndGroup)
        try:
            parsed = parser.parse(query)
        except Exception as exc:
            raise QueryError(f"cannot parse query {query!r}: {exc}") from exc
        if parsed is NullQuery or not list(parsed.all_terms()):
            raise QueryError(f"query {query!r} has no searchable words")
        filters: list[Any] = [] if all_versions else [Term("latest", True)]
        if site:
            filters.append(Term("site", site.lower()))
        if since_dt or until_dt:
            filters.append(DateRange("published", since_dt, until_dt))
        terms = {text for field_name, text in parsed.all_terms() if field_name in ("title", "text")}
        terms = {t.decode() if isinstance(t, bytes) else t for t in terms}
        try:
            with ix.searcher() as searcher:
                results = searcher.search(
                    parsed,
                    limit=None if all_versions else limit,
                    filter=And(filters) if filters else Every(),
                )
                hits = [_hit(r, terms) for r in results]
        except Exception as exc:
            raise IndexError_(f"search failed: {exc}; try `archiver reindex`") from exc
        if all_versions:
            # "Which version said X, and when": grouped by page, oldest version first.
            order: dict[str, float] = {}
            for hit in hits:
                order[hit.url] = max(order.get(hit.url, 0.0), hit.score)
            hits.sort(key=lambda h: (-order[h.url], h.url, h.version))
            hits = hits[:limit] if limit else hits
        return hits


def _fields(doc: IndexDoc) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "doc_id": doc.doc_id,
        "url": doc.url,
        "site": doc.site.lower(),
        "kind": doc.kind,
        "version": doc.version,
        "latest": doc.latest,
        "title": doc.title or "",
        "author": doc.author or "",
        "text": doc.text,
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


def _hit(result: Any, terms: set[str]) -> Hit:
    stored = result.fields()
    snippet, highlights = make_snippet(stored.get("text", ""), terms)
    return Hit(
        url=stored["url"],
        kind=stored.get("kind", "page"),
        title=stored.get("title", ""),
        version=int(stored.get("version", 0)),
        fetched_at=stored.get("fetched_at"),
        published_at=stored.get("published_at"),
        score=round(float(result.score), 4),
        snippet=snippet,
        highlights=highlights,
    )
