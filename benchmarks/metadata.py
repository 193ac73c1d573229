"""Metadata scoring for extraction sets whose ground truth has more than the body.

A ground-truth record may carry ``headline`` (str), ``author`` (list of person names, empty
when the page names nobody) and ``datePublished`` (ISO 8601 with offset). A page counts as
right for a field when:

- title: the predicted title equals the headline once both are NFC-normalised and their
  whitespace collapsed (a kept site suffix such as "…ㅣ한국일보" is wrong);
- author: the predicted names equal the truth's as a set, after the same normalisation (a
  publication given as author, or "홍길동 기자" for "홍길동", is wrong; no names when the
  truth has none is right);
- published: both times are the same instant. A predicted time without an offset is read
  as Korea time (+09:00), the rule the truth follows; a bare date is midnight of that day.

Only pages whose record has the field are scored for it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

KST = timezone(timedelta(hours=9))
FIELDS = ("title", "author", "date")
_TRUTH_KEY = {"title": "headline", "author": "author", "date": "datePublished"}
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Meta:
    """What an extractor found: title, person names, published time as given."""

    title: str | None
    authors: tuple[str, ...]
    published: str | None


MetaExtractor = Callable[[str, str], Meta]


def _norm(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def instant(value: str | None) -> datetime | None:
    """The moment an ISO 8601 string names; no offset means Korea time; None if unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=KST)


def field_ok(field: str, record: Mapping[str, Any], found: Meta) -> bool:
    if field == "title":
        return found.title is not None and _norm(found.title) == _norm(record["headline"])
    if field == "author":
        want = {_norm(name) for name in record["author"]}
        return {_norm(name) for name in found.authors if _norm(name)} == want
    want_at = instant(record["datePublished"])
    return want_at is not None and instant(found.published) == want_at


def has_metadata(records: Iterable[Mapping[str, Any]]) -> bool:
    return any(_TRUTH_KEY[f] in r for r in records for f in FIELDS)


@dataclass
class MetaScore:
    """Share of scored pages right per field, and the wrong ones as (id, field, found)."""

    ok: dict[str, float]
    wrong: list[tuple[str, str, str]]


def score(
    extractor: MetaExtractor,
    pages: Sequence[Mapping[str, Any]],
    records: Mapping[str, Mapping[str, Any]],
) -> MetaScore:
    right = dict.fromkeys(FIELDS, 0)
    scored = dict.fromkeys(FIELDS, 0)
    wrong: list[tuple[str, str, str]] = []
    for page in pages:
        record = records[page["id"]]
        try:
            found = extractor(page["html"], page["url"])
        except Exception as exc:  # a crash is a page with nothing found
            found = Meta(None, (), None)
            wrong.append((page["id"], "error", repr(exc)))
        for field in FIELDS:
            if _TRUTH_KEY[field] not in record:
                continue
            scored[field] += 1
            if field_ok(field, record, found):
                right[field] += 1
            else:
                shown = {"title": found.title, "author": found.authors, "date": found.published}
                wrong.append((page["id"], field, repr(shown[field])))
    ok = {f: right[f] / scored[f] for f in FIELDS if scored[f]}
    return MetaScore(ok=ok, wrong=wrong)


def archiver_meta(html: str, url: str) -> Meta:
    from archiver.extractor.page import extract

    doc = extract(html, url)
    names = tuple(doc.authors) or tuple(
        n.strip() for n in (doc.author or "").split(",") if n.strip()
    )
    return Meta(doc.title, names, doc.published_at)


def trafilatura_meta() -> MetaExtractor | None:
    """trafilatura's own metadata pass (``extract_metadata``), asking htmldate for a time."""
    try:
        from trafilatura.metadata import extract_metadata
    except ImportError:
        return None
    # htmldate gives a day unless asked for a time; %z is empty when the page has no offset.
    date_config = {
        "original_date": True,
        "extensive_search": True,
        "outputformat": "%Y-%m-%dT%H:%M:%S%z",
        "max_date": datetime.now().strftime("%Y-%m-%d"),
    }

    def run(html: str, url: str) -> Meta:
        doc = extract_metadata(html, default_url=url, date_config=date_config)
        names = tuple(n.strip() for n in (doc.author or "").split(";") if n.strip())
        return Meta(doc.title, names, _iso_offset(doc.date))

    return run


def _iso_offset(value: str | None) -> str | None:
    # strftime's %z is "+0900"; fromisoformat needs "+09:00" before Python 3.11's wider parser.
    if value and re.search(r"[+-]\d{4}$", value):
        return f"{value[:-2]}:{value[-2:]}"
    return value
