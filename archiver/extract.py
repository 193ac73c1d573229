"""Main-text and metadata extraction from one HTML page.

``extract(html, url)`` returns a :class:`Document`: title, author, times, the article's
paragraphs and the links inside them. Site rules come first (WordPress/Kadence as used
by Slownews, the Korean news CMS behind ``#article-view-content-div``); a page no rule
recognises goes through a generic scorer that picks the container with the most
paragraph text and the lowest link density. Boilerplate (share bars, subscribe boxes,
captions, related lists, comments, ...) is removed inside whichever container wins.
Title, author, times and the rest come from :mod:`archiver.meta`.

``extract`` never raises: broken, truncated, empty or binary input gives a Document with
whatever could be found.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from archiver import meta
from archiver.charset import decode_html

__all__ = ["RULES", "Document", "Link", "SiteRule", "extract"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Link:
    url: str  # absolute, fragment removed
    text: str  # anchor text, whitespace collapsed


@dataclass
class Document:
    title: str | None
    author: str | None  # several authors joined with ", "
    published_at: str | None  # ISO 8601 with offset, e.g. 2023-11-18T09:12:00+09:00
    modified_at: str | None
    paragraphs: list[str]  # one entry per paragraph / heading / list item
    links: list[Link]  # outlinks found in the main content (deduplicated, in order)
    site_name: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    charset: str | None = None  # set when extract() decoded bytes

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class SiteRule:
    """Where one family of sites keeps its article body and byline (CSS selectors)."""

    name: str
    content: tuple[str, ...]
    author: tuple[str, ...] = ()


RULES: tuple[SiteRule, ...] = (
    SiteRule(
        "wordpress-kadence",
        content=(
            "article.single-entry #pavo_contents",
            "#pavo_contents",
            "article.single-entry .entry-content",
            "article .single-content",
        ),
        author=(".entry-meta a[rel=author]", ".entry-meta .author a", ".entry-meta .author"),
    ),
    SiteRule(
        "korean-news-cms",
        content=("#article-view-content-div", "#articleBody", "#article_body", "#newsct_article"),
        author=(".article-view-header .infomation", ".byline", ".journalist"),
    ),
)

_DROP_TAGS = (
    "script, style, noscript, iframe, form, button, input, select, textarea, svg, canvas, "
    "template, object, embed, figcaption, nav, aside, dialog, frameset, frame, map"
)
_DROP_PAGE_TAGS = "header, footer"  # only outside a site rule's content node
_DROP_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search", "dialog")
_NOISE = re.compile(
    r"share|sharing|social|\bsns|subscri|newsletter|related|relation|comment|banner|cookie|"
    r"popular|most-?read|mostread|ranking|breadcrumb|copyright|sponsor|promo|advert|adsense|"
    r"^ads?(?:$|[-_])|[-_]ads?$|[-_]ad[-_]|taboola|outbrain|recommend|signup|login|popup|"
    r"modal|toolbar|screen-reader|sr-only|skip-link|post-navigation|pagination|tags-links|"
    r"author-box|print-only|byline",
    re.IGNORECASE,
)
_MAX_CANDIDATES = 40
_KEEP_PREFIXES = ("category-", "tag-", "postid-", "format-", "type-", "status-", "has-")
# fmt: off
_BLOCKS = frozenset((
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul",
    "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "thead", "tbody", "tfoot", "tr", "td",
    "th", "caption", "figure", "header", "footer", "address", "details", "summary", "hr",
    "center", "fieldset", "body",
))
_PARA = frozenset((
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre", "td", "th",
    "caption", "address",
))
# fmt: on


def extract(html: str | bytes, url: str, *, content_type: str | None = None) -> Document:
    """Extract a Document from an HTML page (str, or bytes decoded by ``decode_html``).

    Never raises: malformed, truncated, empty or binary input gives a Document with
    what could be found (possibly no paragraphs).
    """
    charset: str | None = None
    try:
        if isinstance(html, bytes | bytearray):
            if _looks_binary(bytes(html), content_type):
                return _empty(None)
            text, charset = decode_html(bytes(html), content_type)
        else:
            text = html
        if content_type and content_type.split(";")[0].strip().lower() == "text/plain":
            return _plain_text(text, charset)
        return _extract_document(text, url, charset, RULES)
    except Exception:  # the contract is "never raises"; log the bug, keep the crawl going
        log.warning("extraction failed for %s", url, exc_info=True)
        return _empty(charset)


def _empty(charset: str | None) -> Document:
    return Document(None, None, None, None, [], [], charset=charset)


def _looks_binary(body: bytes, content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind.startswith(("image/", "audio/", "video/", "font/")) or kind in (
        "application/pdf",
        "application/zip",
        "application/octet-stream",
    ):
        return True
    head = body[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a BOM is text
        return False
    return head.startswith(b"%PDF-") or head.count(0) > len(head) // 10


def _plain_text(text: str, charset: str | None) -> Document:
    paragraphs = [meta.collapse(p) for p in re.split(r"\n\s*\n", text)]
    return Document(None, None, None, None, [p for p in paragraphs if p], [], charset=charset)


# --------------------------------------------------------------------------- the document


def _extract_document(
    text: str, url: str, charset: str | None, rules: tuple[SiteRule, ...]
) -> Document:
    tree = LexborHTMLParser(text.replace("\x00", ""))
    body = tree.body
    if body is None:
        return _empty(charset)
    base_node = tree.css_first("base[href]")
    base = meta.absolute_url(url, base_node.attributes.get("href")) if base_node else None
    base = base or url
    rule, content = _match_rule(tree, rules)
    info = meta.page_metadata(tree, url, base, rule.author if rule else ())

    paragraphs: list[str] = []
    if content is not None:
        _remove_noise(content, page=False)
        paragraphs = [p for p, _ in _paragraphs(content)]
    if content is None or not paragraphs:
        _remove_noise(body, page=True)
        content = _best_container(body)
        paragraphs = [p for p, density in _paragraphs(content) if density <= 0.5]
    author = info.author
    if author is None and paragraphs:  # "홍길동 기자 hong@example.com" closing the story
        author = meta.byline_author(" ".join(paragraphs[-3:])[-300:])
    return Document(
        title=info.title,
        author=author,
        published_at=info.published_at,
        modified_at=info.modified_at,
        paragraphs=paragraphs,
        links=_links(content, base),
        site_name=info.site_name,
        language=info.language,
        canonical_url=info.canonical_url,
        description=info.description,
        charset=charset,
    )


def _match_rule(
    tree: LexborHTMLParser, rules: tuple[SiteRule, ...]
) -> tuple[SiteRule | None, LexborNode | None]:
    for rule in rules:
        for selector in rule.content:
            node = tree.css_first(selector)
            if node is not None and meta.collapse(node.text(deep=True)):
                return rule, node
    return None, None


# --------------------------------------------------------------------------- main text


def _noise_label(node: LexborNode) -> bool:
    attrs = node.attributes
    tokens = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".split()
    return any(_NOISE.search(t) for t in tokens if not t.lower().startswith(_KEEP_PREFIXES))


def _remove_noise(root: LexborNode, *, page: bool) -> None:
    """Delete boilerplate below root (and the page chrome too when ``page``)."""
    selector = f"{_DROP_TAGS}, {_DROP_PAGE_TAGS}" if page else _DROP_TAGS
    for node in root.css(selector):
        node.decompose()
    for node in root.css("[role], [hidden], [style], [class], [id]"):
        if node.tag in ("html", "body", "main", "article"):
            continue
        attrs = node.attributes
        style = (attrs.get("style") or "").replace(" ", "").lower()
        if (
            (attrs.get("role") or "").lower() in _DROP_ROLES
            or "hidden" in attrs
            or "display:none" in style
            or (_noise_label(node) and not (page and node.css_first("article, main")))
        ):
            node.decompose()


def _paragraphs(root: LexborNode) -> list[tuple[str, float]]:
    """(text, link density) for each paragraph-like block below root, in order."""
    out: list[tuple[str, float]] = []
    buf: list[str] = []
    link_chars = 0

    def flush() -> None:
        nonlocal link_chars
        text = meta.collapse("".join(buf))
        if text:
            out.append((text, min(1.0, link_chars / len(text))))
        buf.clear()
        link_chars = 0

    # An explicit stack instead of recursion: hostile pages nest thousands of levels.
    stack: list[tuple[LexborNode | None, bool, bool]] = [(root, False, False)]
    while stack:
        node, in_para, in_link = stack.pop()
        if node is None:
            flush()
            continue
        tag = node.tag
        if tag == "-text":
            piece = node.text(deep=False) or ""
            buf.append(piece)
            if in_link:
                link_chars += len(meta.collapse(piece))
            continue
        if tag == "br":
            if in_para:
                buf.append(" ")
            else:
                flush()
            continue
        if tag is None or tag.startswith("-"):
            continue
        block = tag in _BLOCKS
        if block:
            flush()
            stack.append((None, False, False))
            in_para = in_para or tag in _PARA
        children = list(node.iter(include_text=True))
        for child in reversed(children):
            stack.append((child, in_para, in_link or tag == "a"))
    flush()
    return out


def _best_container(body: LexborNode) -> LexborNode:
    """The element holding the most paragraph text, penalised by its link density."""
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}

    def credit(node: LexborNode | None, amount: float) -> None:
        if node is None or node.tag in ("html", None):
            return
        scores[node.mem_id] = scores.get(node.mem_id, 0.0) + amount
        nodes[node.mem_id] = node

    for para in body.css("p, pre, blockquote, td"):
        length = len(meta.collapse(para.text(deep=True)))
        if length >= 20:
            parent = para.parent
            credit(parent, length)
            credit(parent.parent if parent else None, length / 2)
    for div in body.css("div, section, article"):
        own = sum(
            len(meta.collapse(c.text(deep=False)))
            for c in div.iter(include_text=True)
            if c.tag == "-text"
        )
        if own >= 50:
            credit(div, own)
            credit(div.parent, own / 2)
    best, best_score = body, 0.0
    # Link density only lowers a score, so the top raw scores hold the winner; measuring
    # every candidate would be quadratic on deeply nested pages.
    for key, score in sorted(scores.items(), key=lambda item: -item[1])[:_MAX_CANDIDATES]:
        node = nodes[key]
        total = len(meta.collapse(node.text(deep=True)))
        linked = sum(len(meta.collapse(a.text(deep=True))) for a in node.css("a"))
        final = score * (1.0 - min(1.0, linked / total if total else 1.0))
        if final > best_score:
            best, best_score = node, final
    return best


def _links(root: LexborNode, base: str) -> list[Link]:
    seen: dict[str, Link] = {}
    for anchor in root.css("a[href]"):
        url = meta.absolute_url(base, anchor.attributes.get("href"))
        if url and url not in seen:
            seen[url] = Link(url, meta.collapse(anchor.text(deep=True, separator=" ")))
    return list(seen.values())
