"""Page metadata for the extractor: title, author, times, site name, language.

:func:`page_metadata` reads a parsed page (meta tags, JSON-LD, headings, bylines); the
helpers below it work on plain strings and JSON values, so each can be tested alone.
Nothing here raises on bad input: unknown or unparsable values come back as None.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = [
    "KST", "PageMeta", "absolute_url", "byline_author", "byline_dates", "clean_author",
    "collapse", "json_ld_nodes", "page_metadata", "parse_date", "strip_site_suffix",
]  # fmt: skip

KST = timezone(timedelta(hours=9), "KST")

_WS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")

_ARTICLE_TYPES = {
    "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "techarticle",
    "scholarlyarticle", "report", "liveblogposting", "socialmediaposting", "posting",
}  # fmt: skip
_PAGE_TYPES = {"webpage", "itempage", "collectionpage"}

# 2023-11-20 02:21 / 2023.11.20. 02:21 / 2023년 11월 20일 (월) 오전 2:21 / 2023/11/20 오후 2시 21분
_AMPM = r"오전|오후|[AaPp]\.?[Mm]\.?"
_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[.\-/년]\s*(?P<m>\d{1,2})\s*[.\-/월]\s*(?P<d>\d{1,2})\s*일?\.?"
    r"(?:\s*\(\s*[^)\s]{1,3}\s*\))?"
    rf"(?:[T\s]*(?P<ap>{_AMPM})?\s*(?P<H>\d{{1,2}})\s*(?::|시)\s*(?P<M>\d{{1,2}})?\s*분?"
    rf"(?:\s*:\s*(?P<S>\d{{2}}))?(?:\.\d+)?(?:\s*(?P<ap2>{_AMPM}))?)?"
    r"(?:\s*(?P<tz>Z(?![A-Za-z])|UTC|GMT|KST|[+-]\d{2}:?\d{2}))?"
)
_PUBLISHED_LABEL = r"기사\s*입력|입력|등록|게재|발행|작성|승인|송고|Published|Posted"
_MODIFIED_LABEL = r"최종\s*수정|기사\s*수정|수정|업데이트|갱신|Updated|Modified"
_LABELLED = re.compile(
    rf"(?P<label>{_MODIFIED_LABEL}|{_PUBLISHED_LABEL})\s*(?:일시|시간|일)?\s*[:：]?\s*"
    r"(?P<date>(?:19|20)\d{2}\s*[.\-/년])",
    re.IGNORECASE,
)
_MODIFIED_RE = re.compile(_MODIFIED_LABEL, re.IGNORECASE)

_REPORTER = re.compile(
    r"(?<![가-힣])(?P<name>[가-힣]{2,4})\s?(?:선임|수석|객원|전문|인턴|대기자|특파원)?\s?"
    r"(?:기자|특파원|논설위원|칼럼니스트)(?![가-힣])"
)
_NOT_NAMES = {
    "담당", "취재", "사진", "영상", "전문", "인턴", "선임", "수석", "객원", "편집", "해당",
    "현장", "소속", "일선", "외신", "방송", "신문", "경제", "정치", "사회", "기사", "한국",
}  # fmt: skip
_EMAIL = re.compile(r"\S+@\S+")
_SITE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " : ", " · ", " ｜ ")


def collapse(text: str | None) -> str:
    """Collapse runs of whitespace (and zero-width characters) to one space, strip."""
    if not text:
        return ""
    return _WS.sub(" ", text).strip()


def has_hangul(text: str | None) -> bool:
    return bool(text) and _HANGUL.search(text or "") is not None


# --------------------------------------------------------------------------- JSON-LD


def json_ld_nodes(scripts: Iterable[str]) -> list[dict[str, Any]]:
    """Every JSON object found in JSON-LD script bodies, @graph members flattened."""
    nodes: list[dict[str, Any]] = []
    for raw in scripts:
        raw = raw.strip().removeprefix("<!--").removesuffix("-->").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        nodes.extend(_walk(data, 0))
    return nodes


def _walk(value: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 8:
        return
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)
    elif isinstance(value, dict):
        yield value
        graph = value.get("@graph")
        if graph is not None:
            yield from _walk(graph, depth + 1)


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {v.lower().rsplit("/", 1)[-1] for v in values if isinstance(v, str)}


def article_node(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first Article-like node, else the first WebPage node, else None."""
    for wanted in (_ARTICLE_TYPES, _PAGE_TYPES):
        for node in nodes:
            if _types(node) & wanted:
                return node
    return None


def _site_name(nodes: list[dict[str, Any]]) -> str | None:
    for wanted in ({"website"}, {"organization", "newsmediaorganization"}):
        for node in nodes:
            if _types(node) & wanted and isinstance(node.get("name"), str):
                return collapse(node["name"]) or None
    return None


def json_ld_authors(node: dict[str, Any], nodes: list[dict[str, Any]]) -> list[str]:
    """Author names of an article node; ``{"@id": ...}`` references resolved in nodes."""
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    raw = node.get("author") or node.get("creator")
    items = raw if isinstance(raw, list) else [raw]
    names: list[str] = []
    for item in items:
        name: Any = item
        if isinstance(item, dict):
            name = item.get("name")
            if not name and isinstance(item.get("@id"), str):
                name = by_id.get(item["@id"], {}).get("name")
        if isinstance(name, list):
            name = " ".join(str(n) for n in name)
        cleaned = clean_author(name) if isinstance(name, str) else None
        if cleaned and cleaned not in names:
            names.append(cleaned)
    return names


def text_value(node: dict[str, Any] | None, key: str) -> str | None:
    if not node:
        return None
    value = node.get(key)
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return collapse(value) or None if isinstance(value, str) else None


# --------------------------------------------------------------------------- dates


def parse_date(value: str | None, default_tz: tzinfo = UTC) -> str | None:
    """Normalise a date string to ISO 8601 with an offset (seconds precision).

    Understands ISO 8601, RFC 2822 and the Korean forms ``2023.11.20 02:21``,
    ``2023-11-20 오전 2:21`` and ``2023년 11월 20일 오후 2시 21분``. A time without an
    offset is taken to be in ``default_tz``. Returns None when nothing parses.
    """
    text = collapse(value)
    if not text or len(text) > 200:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None:
        parsed = _parse_loose(text)
    if parsed is None and re.match(r"[A-Za-z]{3},? ", text):
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    try:
        return parsed.replace(microsecond=0).isoformat()
    except (ValueError, OverflowError):
        return None


def _parse_loose(text: str) -> datetime | None:
    match = _DATE.search(text)
    if not match:
        return None
    g = match.groupdict()
    try:
        hour = int(g["H"] or 0)
        ampm = (g["ap"] or g["ap2"] or "").lower().replace(".", "")
        if ampm in ("오후", "pm") and hour < 12:
            hour += 12
        elif ampm in ("오전", "am") and hour == 12:
            hour = 0
        tz: tzinfo | None = None
        raw_tz = g["tz"]
        if raw_tz in ("Z", "UTC", "GMT"):
            tz = UTC
        elif raw_tz == "KST":
            tz = KST
        elif raw_tz:
            sign = -1 if raw_tz[0] == "-" else 1
            digits = raw_tz[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))
        day = datetime(int(g["y"]), int(g["m"]), int(g["d"]), tzinfo=tz)
        return day.replace(hour=hour, minute=int(g["M"] or 0), second=int(g["S"] or 0))
    except (ValueError, OverflowError):
        return None


def byline_dates(
    text: str, default_tz: tzinfo, *, unlabelled: bool = False
) -> tuple[str | None, str | None]:
    """(published, modified) from byline text such as ``입력 2023.11.20 02:21 수정 ...``.

    With ``unlabelled=True`` a bare first date counts as the publication date.
    """
    published: str | None = None
    modified: str | None = None
    for match in _LABELLED.finditer(text):
        when = parse_date(text[match.start("date") : match.start("date") + 60], default_tz)
        if when is None:
            continue
        if _MODIFIED_RE.fullmatch(match.group("label")):
            modified = modified or when
        else:
            published = published or when
    if published is None and unlabelled:
        found = _DATE.search(text)
        if found:
            published = parse_date(found.group(0), default_tz)
    return published, modified


# --------------------------------------------------------------------------- people, titles


def clean_author(value: str | None) -> str | None:
    """Tidy an author string: drop e-mail addresses, URLs, 'By', a trailing '기자'."""
    text = collapse(value)
    if not text or text.startswith(("http://", "https://", "//")):
        return None
    text = _EMAIL.sub("", text)
    text = re.sub(r"^(?:by|글쓴이|글|작성자|기자)\s*[:：]?\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*(?:선임|수석|객원)?\s*기자$", "", text.strip(" /|·,"))
    text = collapse(text.strip(" /|·,()[]"))
    return text if 0 < len(text) <= 100 else None


def byline_author(text: str) -> str | None:
    """A reporter name from a Korean byline ('홍길동 기자'), or None."""
    for match in _REPORTER.finditer(text):
        name = match.group("name")
        if name not in _NOT_NAMES:
            return name
    return None


def strip_site_suffix(title: str, site_name: str | None, *, guess: bool = False) -> str:
    """Remove a trailing (or leading) site name: 'Title - 슬로우뉴스' becomes 'Title'.

    With ``guess=True`` and no known site name, a short last segment after a separator
    (' | ', ' - ', ...) is dropped too.
    """
    title = collapse(title)
    if site_name:
        site = collapse(site_name)
        for sep in _SITE_SEPARATORS:
            if title.endswith(sep + site) and len(title) > len(sep + site):
                return title[: -len(sep + site)].strip()
            if title.startswith(site + sep) and len(title) > len(site + sep):
                return title[len(site + sep) :].strip()
    if guess:
        for sep in _SITE_SEPARATORS[:5]:
            head, found, tail = title.rpartition(sep)
            if found and head.strip() and len(tail) <= 25 and len(head) >= len(tail):
                return head.strip()
    return title


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

_CHROME = re.compile(r"logo|brand|masthead|site-title|gnb|site-header", re.IGNORECASE)
_CHROME_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search")
_BYLINE = re.compile(
    r"byline|info|date|writer|reporter|author|journalist|posted|meta|article-head|view-head",
    re.IGNORECASE,
)
_NOT_BYLINE = re.compile(r"comment|related|popular|ranking", re.IGNORECASE)
_KR_HOST = re.compile(r"(^|\.)(kr|xn--3e0b707e)$")


@dataclass
class PageMeta:
    title: str | None = None
    author: str | None = None
    published_at: str | None = None
    modified_at: str | None = None
    site_name: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    korean: bool = False


@dataclass
class _Page:
    tree: LexborHTMLParser
    metas: dict[str, str]
    nodes: list[dict[str, Any]]
    article: dict[str, Any] | None
    bylines: list[str] = field(default_factory=list)


def page_metadata(
    tree: LexborHTMLParser, url: str, base: str, author_selectors: tuple[str, ...] = ()
) -> PageMeta:
    """Everything about the page except its main text. Call before removing boilerplate."""
    metas = _meta_map(tree)
    nodes = json_ld_nodes(s.text(deep=True) for s in tree.css('script[type="application/ld+json"]'))
    page = _Page(tree, metas, nodes, article_node(nodes))
    site_name = metas.get("og:site_name") or metas.get("application-name") or _site_name(nodes)
    root = tree.css_first("html")
    lang = (root.attributes.get("lang") if root else None) or metas.get("content-language")
    lang = collapse(lang or metas.get("og:locale")).replace("_", "-") or None
    title = _title(page, site_name)
    body_text = tree.body.text()[:3000] if tree.body else ""
    korean = (lang or "").lower().startswith("ko") or has_hangul(title) or has_hangul(body_text)
    korean = korean or bool(_KR_HOST.search(_host(url)))
    if tree.body is not None:
        page.bylines = _byline_texts(tree.body)
    published, modified = _dates(page, KST if korean else UTC)
    canonical = _canonical(tree) or metas.get("og:url")
    return PageMeta(
        title=title,
        author=_author(page, author_selectors),
        published_at=published,
        modified_at=modified,
        site_name=collapse(site_name) or None,
        language=lang,
        canonical_url=absolute_url(base, canonical),
        description=metas.get("description") or metas.get("og:description")
        or text_value(page.article, "description"),
        korean=korean,
    )  # fmt: skip


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _meta_map(tree: LexborHTMLParser) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
        key = (key or attrs.get("http-equiv") or "").lower()
        value = collapse(attrs.get("content"))
        if key and value and key not in found:
            found[key] = value
    return found


def _canonical(tree: LexborHTMLParser) -> str | None:
    for node in tree.css("link[rel][href]"):
        if "canonical" in (node.attributes.get("rel") or "").lower().split():
            return node.attributes.get("href")
    return None


def _inside(node: LexborNode, pattern: re.Pattern[str], tags: tuple[str, ...] = ()) -> bool:
    """Whether node or an ancestor has one of ``tags``, or a class/id/role matching."""
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        attrs = current.attributes
        label = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        if current.tag in tags or pattern.search(label):
            return True
        if tags and (attrs.get("role") or "").lower() in _CHROME_ROLES:
            return True
        current = current.parent
    return False


def _title(page: _Page, site_name: str | None) -> str | None:
    for candidate in (page.metas.get("og:title"), text_value(page.article, "headline")):
        if candidate:
            return strip_site_suffix(candidate, site_name) or None
    for h1 in page.tree.css("h1"):
        heading = collapse(h1.text(deep=True, separator=" "))
        if heading and not _inside(h1, _CHROME, ("nav", "footer", "aside")):
            return heading
    node = page.tree.css_first("title")
    title = collapse(node.text(deep=True)) if node else ""
    return strip_site_suffix(title, site_name, guess=True) or None


def _byline_texts(body: LexborNode) -> list[str]:
    texts: list[str] = []
    for node in body.css("[class], [id]"):
        label = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
        if _BYLINE.search(label) and not _NOT_BYLINE.search(label):
            text = collapse(node.text(deep=True, separator=" "))
            if text and len(text) <= 300:
                texts.append(text)
    return texts


def _author(page: _Page, selectors: tuple[str, ...]) -> str | None:
    names = json_ld_authors(page.article, page.nodes) if page.article else []
    if names:
        return ", ".join(names)
    for key in ("author", "dable:author", "article:author", "byl", "dc.creator"):
        name = clean_author(page.metas.get(key))
        if name:
            return name
    for selector in (*selectors, "a[rel=author]", "[itemprop=author] [itemprop=name]"):
        for node in page.tree.css(selector):
            text = collapse(node.text(deep=True, separator=" "))
            name = byline_author(text)
            if name is None and not re.search(r"\d", text):
                name = clean_author(text)
            if name and len(name) <= 40:
                return name
    return next(filter(None, map(byline_author, page.bylines)), None)


def _dates(page: _Page, tz: tzinfo) -> tuple[str | None, str | None]:
    metas, tree = page.metas, page.tree

    def first(*values: str | None) -> str | None:
        return next(filter(None, (parse_date(v, tz) for v in values)), None)

    def attr(selector: str) -> str | None:
        node = tree.css_first(selector)
        return (node.attributes.get("datetime") or node.attributes.get("content")) if node else None

    published = first(
        text_value(page.article, "datePublished"), metas.get("article:published_time"),
        metas.get("og:article:published_time"), metas.get("datepublished"),
        metas.get("pubdate"), metas.get("date"), metas.get("dc.date"),
        attr("time.published[datetime]"), attr("[itemprop=datePublished]"),
    )  # fmt: skip
    modified = first(
        text_value(page.article, "dateModified"), metas.get("article:modified_time"),
        metas.get("og:updated_time"), metas.get("datemodified"),
        attr("time.updated[datetime]"), attr("[itemprop=dateModified]"),
    )  # fmt: skip
    for text in page.bylines:
        found_published, found_modified = byline_dates(text, tz)
        published, modified = published or found_published, modified or found_modified
    if published is None:
        times = (t for t in tree.css("time[datetime]") if not _inside(t, _NOT_BYLINE))
        published = first(*(t.attributes.get("datetime") for t in times))
    for text in page.bylines:
        published = published or byline_dates(text, tz, unlabelled=True)[0]
    return published, modified
