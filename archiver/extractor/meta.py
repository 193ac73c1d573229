"""Page metadata for the extractor: title, authors, times, site, language, section, tags.

:func:`page_metadata` reads a parsed page (meta tags, JSON-LD, headings) plus the byline
texts the content walk found; the helpers above it work on plain strings and JSON values,
so each can be tested alone. Dates are parsed by :mod:`archiver.text.dates`. Nothing here
raises on bad input: unknown or unparsable values come back as None (or empty).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from archiver.text.dates import KST, byline_dates, parse_date

from .jsonld import (
    article_node,
    author_names,
    json_ld_nodes,
    keywords,
    site_name,
    text_value,
)
from .rules import matches

__all__ = [
    "PageMeta", "absolute_url", "byline_author", "clean_author", "collapse", "page_metadata",
    "publication_like", "reporter_names", "strip_site_suffix",
]  # fmt: skip

_WS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")

_REPORTER = re.compile(
    r"(?<![가-힣])(?P<name>[가-힣]{2,4})\s?(?:선임|수석|객원|전문|인턴|대기자|특파원)?\s?"
    r"(?:기자|특파원|논설위원|칼럼니스트)(?![가-힣])"
)
_NOT_NAMES = {
    "담당", "취재", "사진", "영상", "전문", "인턴", "선임", "수석", "객원", "편집", "해당",
    "현장", "소속", "일선", "외신", "방송", "신문", "경제", "정치", "사회", "기사", "한국",
}  # fmt: skip
_REPORTERS = re.compile(
    r"(?<![가-힣])(?P<names>[가-힣]{2,4}(?:\s*[·,/]\s*[가-힣]{2,4})*)\s?"
    r"(?:선임|수석|객원|전문|인턴|대)?\s?(?:기자|특파원)(?![가-힣])"
)
_PUBLICATION = re.compile(
    # Korean person names never hold these; English names end with none of the others.
    r"뉴스|일보|신문|방송|미디어|닷컴|타임스|저널|매거진|통신|TV|티비|"
    r"(?:\.com|\.co\.kr|News|Times|Post|Media|Daily|Journal|Press)\s*$",
    re.IGNORECASE,
)
# A separator ending what is left once the site name is cut: ' - ', '|', 'ㅣ', ':', '·'.
_SEPARATOR_END = re.compile(r"\s*(?:[-–—|｜ㅣ:·:>»]|::)\s*$")
# The site's name, a word or two ("모바일"), then a separator: a prefix to cut.
_SITE_LEAD = re.compile(r"^\S+(?:\s\S+){0,2}?\s*(?:\||｜|ㅣ|::|-|–|—|:|·)\s")
_SEPARATOR_START = re.compile(r"^\s*(?:[-–—|｜ㅣ:·>»]|::)")
_SECTION_END = re.compile(r"\s*[-–—|｜ㅣ:·>»]\s*(?P<section>[^\s\-–—|｜ㅣ:·>»]{1,8})$")
_SECTIONS = frozenset((
    "정치", "경제", "사회", "국제", "세계", "문화", "스포츠", "연예", "오피니언", "사설", "칼럼",
    "IT", "과학", "IT과학", "라이프", "생활", "건강", "교육", "전국", "지역", "산업", "금융",
    "증권", "부동산", "북한", "피플", "인물", "여행", "영상", "뉴스", "종합", "기업", "테크",
))  # fmt: skip
_BY = re.compile(r"^\s*by\s+(?P<name>[A-Z][\w.'’-]+(?:\s+(?:[A-Z][\w.'’-]+|de|van|von)){0,3})")
_EMAIL = re.compile(r"\S+@\S+")
_SITE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " : ", " · ", " ｜ ")
_CHROME = re.compile(r"logo|brand|masthead|site-title|gnb|site-header", re.IGNORECASE)
_CHROME_TAGS = ("nav", "footer", "aside")
_KR_HOST = re.compile(r"(^|\.)(kr|xn--3e0b707e)$")
# How many of a kind are looked at: a hostile page has thousands (each with its ancestors).
_MAX_HEADINGS = 16
_MAX_AUTHOR_NODES = 32
_MAX_TIMES = 64
_MAX_ANCESTORS = 128


def collapse(text: str | None) -> str:
    """Collapse runs of whitespace (and zero-width characters) to one space, strip."""
    if not text:
        return ""
    return _WS.sub(" ", text).strip()


def has_hangul(text: str | None) -> bool:
    return bool(text) and _HANGUL.search(text or "") is not None


# --------------------------------------------------------------------------- people, titles


def clean_author(value: str | None) -> str | None:
    """Tidy an author string: drop e-mail addresses, URLs, 'By', a trailing '기자'."""
    text = collapse(value)
    if not text or text.startswith(("http://", "https://", "//")):
        return None
    text = _EMAIL.sub("", text)
    text = re.sub(r"^(?:by|글쓴이|글|작성자|기자)\s*[:：]?\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^[^=\s]{1,20}=\s*", "", text)  # "스포츠조선=선수민 기자": the outlet goes
    text = re.sub(r"\s*(?:선임|수석|객원)?\s*기자$", "", text.strip(" /|·,"))
    text = collapse(text.strip(" /|·,()[]"))
    return text if 0 < len(text) <= 100 else None


def byline_author(text: str) -> str | None:
    """A name from a byline: '홍길동 기자' gives 홍길동, 'By Ann Lee' gives Ann Lee."""
    for match in _REPORTER.finditer(text):
        name = match.group("name")
        if name not in _NOT_NAMES:
            return name
    found = _BY.match(text)
    return found.group("name") if found else None


def reporter_names(text: str) -> list[str]:
    """Every reporter named in a byline: '홍길동·김철수 기자' gives both, in order."""
    names: list[str] = []
    for match in _REPORTERS.finditer(text):
        for name in re.split(r"\s*[·,/]\s*", match.group("names")):
            if name not in _NOT_NAMES and name not in names:
                names.append(name)
    if not names:
        name = byline_author(text)
        names = [name] if name else []
    return names


def publication_like(name: str, publications: Iterable[str]) -> bool:
    """A publication's name, not a person's: the site's own names, or a name that ends
    like one (…일보, …뉴스, …방송, …TV)."""
    key = _WS.sub("", name).lower()
    if any(key and key == _WS.sub("", p).lower() for p in publications if p):
        return True
    return _PUBLICATION.search(name) is not None


def strip_site_suffix(
    title: str, site_name: str | None, *, guess: bool = False, section: str | None = None
) -> str:
    """Remove a trailing (or leading) site name: 'Title - 슬로우뉴스' becomes 'Title',
    and '제목-정치ㅣ한국일보' becomes '제목' (a section before the site name goes too).

    With ``guess=True`` and no known site name, a short last segment after a separator
    (' | ', ' - ', ...) is dropped too.
    """
    title = collapse(title)
    if site_name:
        site = collapse(site_name)
        lead = _SITE_LEAD.match(title) if title.startswith(site) else None
        if lead and len(title) > lead.end():  # "대전일보 모바일 :: 제목"
            return title[lead.end() :].strip()
        if title.endswith(site) and len(title) > len(site):
            head = title[: -len(site)]
            if _SEPARATOR_END.search(head):
                head = _SEPARATOR_END.sub("", head)
                last = _SECTION_END.search(head)
                if last and _section_name(last.group("section"), section):
                    head = head[: last.start()]
                if head.strip():
                    return head.strip()
    if guess:
        for sep in _SITE_SEPARATORS[:5]:
            head, found, tail = title.rpartition(sep)
            if found and head.strip() and len(tail) <= 25 and len(head) >= len(tail):
                return head.strip()
    return title


def _section_name(segment: str, section: str | None) -> bool:
    return segment == collapse(section) or segment in _SECTIONS


def absolute_url(base: str, href: str | None) -> str | None:
    """``href`` resolved against ``base``, fragment removed; None unless http(s)."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return None
    try:
        joined, _ = urldefrag(urljoin(base, href))
        parts = urlsplit(joined)
    except ValueError:
        return None
    return joined if parts.scheme in ("http", "https") and parts.netloc else None


# --------------------------------------------------------------------------- the page


@dataclass
class PageMeta:
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: str | None = None
    modified_at: str | None = None
    site_name: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    korean: bool = False
    base: str = ""  # the URL relative links resolve against (<base href> or the page's)
    publications: list[str] = field(default_factory=list)  # names that are never authors


@dataclass
class _Page:
    """What one pass of CSS matching found (lexbor walks the tree once for the list)."""

    metas: dict[str, str] = field(default_factory=dict)  # first value per lower-case key
    tags: list[str] = field(default_factory=list)  # every article:tag, in order
    scripts: list[str] = field(default_factory=list)  # JSON-LD bodies
    canonical: str | None = None
    base: str | None = None
    title: str | None = None
    h1s: list[LexborNode] = field(default_factory=list)
    times: list[tuple[str, str]] = field(default_factory=list)  # (kind, value)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    article: dict[str, Any] | None = None
    bylines: Sequence[str] = ()
    lines: Sequence[str] = ()


SCAN = (
    "meta[content], link[rel][href], script[type='application/ld+json'], base[href], title, "
    "h1, time[datetime], [itemprop=datePublished], [itemprop=dateModified], [data-date-time]"
)


def _scan(scanned: Iterable[LexborNode]) -> _Page:
    page = _Page()
    for node in scanned:
        tag, attrs = node.tag, node.attributes
        if tag == "meta":
            key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
            key = (key or attrs.get("http-equiv") or "").lower()
            value = collapse(attrs.get("content"))
            if key and value:
                page.metas.setdefault(key, value)
                if key == "article:tag":
                    page.tags.extend(keywords(value))
            prop = attrs.get("itemprop")
            if prop in ("datePublished", "dateModified") and len(page.times) < _MAX_TIMES:
                page.times.append((prop, attrs.get("content") or ""))
        elif tag == "link":
            if page.canonical is None and "canonical" in (attrs.get("rel") or "").lower().split():
                page.canonical = attrs.get("href")
        elif tag == "script":
            page.scripts.append(node.text(deep=True))
        elif tag == "base":
            page.base = page.base or attrs.get("href")
        elif tag == "title":
            page.title = page.title or node.text(deep=True)
        elif tag == "h1":
            if len(page.h1s) < _MAX_HEADINGS:
                page.h1s.append(node)
        elif len(page.times) >= _MAX_TIMES:
            continue
        elif "data-date-time" in attrs and tag != "time":  # portal pages: the exact time
            label = (attrs.get("class") or "").lower()
            kind = "updated" if "modif" in label or "update" in label else "published"
            page.times.append((kind, attrs.get("data-date-time") or ""))
        elif tag == "time" or attrs.get("itemprop") in ("datePublished", "dateModified"):
            kind = attrs.get("itemprop") or ""
            if tag == "time":
                label = attrs.get("class") or ""
                kind = kind or ("published" if "published" in label else "")
                kind = kind or ("updated" if "updated" in label else "time")
            page.times.append((kind, attrs.get("datetime") or attrs.get("content") or ""))
    page.tags = list(dict.fromkeys(page.tags))
    return page


def page_metadata(
    tree: LexborHTMLParser,
    url: str,
    author_selectors: tuple[str, ...] = (),
    bylines: Sequence[str] = (),
    lines: Sequence[str] = (),
    scanned: Iterable[LexborNode] | None = None,
) -> PageMeta:
    """Everything about the page except its main text.

    ``bylines`` are texts of byline-like elements (author, date, ...) found by the content
    walk; they are searched for reporter names and labelled dates. ``lines`` are the
    page's other short lines, searched for a labelled date (``입력 2023.11.20 02:21``)
    when nothing else gives one. ``scanned`` is ``tree.css(SCAN)`` (possibly with more
    nodes) when the caller has already run it.
    """
    page = _scan(tree.css(SCAN) if scanned is None else scanned)
    metas = page.metas
    page.nodes = json_ld_nodes(page.scripts)
    page.article = article_node(page.nodes)
    page.bylines = bylines
    page.lines = lines
    base = (absolute_url(url, page.base) if page.base else None) or url
    site = metas.get("og:site_name") or metas.get("application-name") or site_name(page.nodes)
    root = tree.root
    lang = (root.attributes.get("lang") if root else None) or metas.get("content-language")
    lang = collapse(lang or metas.get("og:locale")).replace("_", "-") or None
    publisher = text_value(page.article, "publisher")
    publications = [collapse(s) for s in (
        metas.get("og:site_name"), metas.get("application-name"), site_name(page.nodes),
        publisher, metas.get("twitter:site", "").lstrip("@") or None,
    ) if s]  # fmt: skip
    publications = list(dict.fromkeys(publications))
    section = metas.get("article:section") or text_value(page.article, "articleSection")
    title = _title(page, publications, section)
    korean = (lang or "").lower().startswith("ko") or has_hangul(title)
    korean = korean or bool(_KR_HOST.search(_host(url))) or has_hangul(" ".join(bylines))
    published, modified = _dates(page, KST if korean else UTC)
    authors = _authors(tree, page, author_selectors)
    return PageMeta(
        title=title,
        authors=[a for a in authors if not publication_like(a, publications)],
        published_at=published,
        modified_at=modified,
        site_name=collapse(site) or None,
        language=lang,
        canonical_url=absolute_url(base, page.canonical or metas.get("og:url")),
        description=metas.get("description") or metas.get("og:description")
        or text_value(page.article, "description"),
        section=section or metas.get("section") or None,
        tags=_tags(page),
        korean=korean,
        base=base,
        publications=publications,
    )  # fmt: skip


def page_tz(info: PageMeta) -> tzinfo:
    """The zone of a time the page gives without an offset: Korea time on a Korean page."""
    return KST if info.korean else UTC


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _tags(page: _Page) -> list[str]:
    if page.tags:
        return page.tags
    for value in (
        page.article.get("keywords") if page.article else None,
        page.metas.get("news_keywords"),
        page.metas.get("keywords"),
    ):
        if value:
            return list(dict.fromkeys(keywords(value)))[:50]
    return []


def _in_chrome(node: LexborNode) -> bool:
    """Whether node sits in page chrome: nav/footer/aside, a logo, a site header."""
    current: LexborNode | None = node
    steps = _MAX_ANCESTORS
    while current is not None and current.tag not in ("body", "html") and steps:
        attrs = current.attributes
        label = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        if current.tag in _CHROME_TAGS or _CHROME.search(label):
            return True
        current = current.parent
        steps -= 1
    return False


def _title(page: _Page, sites: list[str], section: str | None) -> str | None:
    headings = [collapse(h1.text(deep=True, separator=" ")) for h1 in page.h1s]
    headings = [text for text, h1 in zip(headings, page.h1s, strict=True) if text]
    headings = [text for text, h1 in zip(headings, page.h1s, strict=False) if not _in_chrome(h1)]
    metas = page.metas
    stated = [
        metas.get("og:title"),
        text_value(page.article, "headline"),
        metas.get("twitter:title"),
    ]
    chosen = next((collapse(t) for t in stated if t), None)
    guess = chosen is None and not headings
    if chosen is None:
        chosen = headings[0] if headings else collapse(page.title)
    for site in sites or [""]:
        shorter = strip_site_suffix(chosen, site or None, guess=guess, section=section)
        if shorter != chosen:
            chosen = shorter
            break
    # A suffix learned from the page's other titles: one of them is this title cut
    # before a separator ("제목" beside "제목 - 정치ㅣ한국일보").
    for other in (*headings, *map(collapse, filter(None, stated)), collapse(page.title)):
        rest = chosen[len(other) :] if other and chosen.startswith(other) else ""
        if rest and len(other) >= 8 and _SEPARATOR_START.match(rest):
            chosen = other
    return chosen or None


def _authors(tree: LexborHTMLParser, page: _Page, selectors: tuple[str, ...]) -> list[str]:
    raw = author_names(page.article, page.nodes) if page.article else []
    names = list(dict.fromkeys(filter(None, map(clean_author, raw))))
    if names:
        return names
    for key in ("author", "dable:author", "article:author", "byl", "dc.creator", "sailthru.author"):
        name = clean_author(page.metas.get(key))
        if name:
            return [name]
    selectors = (*selectors, "a[rel=author]", "[itemprop=author] [itemprop=name]")
    found = tree.css(", ".join(selectors))[:_MAX_AUTHOR_NODES]  # one pass; then in order
    for selector in selectors if found else ():
        for node in (n for n in found if matches(n, selector)):
            text = collapse(node.text(deep=True, separator=" "))
            name = byline_author(text)
            if name is None and not re.search(r"\d", text):
                name = clean_author(text)
            if name and len(name) <= 40:
                return [name]
    return [name for name in map(byline_author, page.bylines) if name][:1]


def _dates(page: _Page, tz: tzinfo) -> tuple[str | None, str | None]:
    metas = page.metas

    def first(*values: str | None) -> str | None:
        return next(filter(None, (parse_date(v, tz) for v in values if v)), None)

    def marked(*kinds: str) -> list[str]:
        return [value for kind, value in page.times if kind in kinds]

    published = first(
        text_value(page.article, "datePublished"), metas.get("article:published_time"),
        metas.get("og:article:published_time"), metas.get("datepublished"),
        metas.get("pubdate"), metas.get("publishdate"), metas.get("date"),
        metas.get("dc.date"), metas.get("dc.date.issued"),
        *marked("published", "datePublished"),
    )  # fmt: skip
    modified = first(
        text_value(page.article, "dateModified"), metas.get("article:modified_time"),
        metas.get("og:updated_time"), metas.get("datemodified"), metas.get("lastmod"),
        *marked("updated", "dateModified"),
    )  # fmt: skip
    for text in page.bylines:
        found_published, found_modified = byline_dates(text, tz)
        published, modified = published or found_published, modified or found_modified
    if published is None:
        published = first(*marked("time"))
    for text in page.bylines:
        published = published or byline_dates(text, tz, unlabelled=True)[0]
    for text in page.lines if published is None else ():
        found_published, found_modified = byline_dates(text, tz)
        published, modified = published or found_published, modified or found_modified
    for text in page.lines if published is None else ():  # "홍길동 기자 | 2020-03-04 16:52"
        if _REPORTER.search(text):
            published = byline_dates(text, tz, unlabelled=True)[0]
            if published:
                break
    return published, modified
