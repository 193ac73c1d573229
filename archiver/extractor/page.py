"""Main-text and metadata extraction from one HTML page.

``extract(html, url)`` returns a :class:`Document`: title, authors, times, site, section,
tags, the article's paragraphs (headings and list items are paragraphs of their own) and
the outlinks inside them. The page is parsed once (selectolax/lexbor) and walked once
(:mod:`archiver.extractor.walk`). A site rule (:mod:`archiver.extractor.rules`:
WordPress/Kadence as used by Slownews, the Korean news CMS behind
``#article-view-content-div``, schema.org ``articleBody``) names the container when it
matches; otherwise the element with the most sentence-like text net of link lists and
boilerplate wins. Boilerplate inside it
(share bars, subscribe and promo boxes, ads, captions, related and most-read lists,
comments, bylines) is dropped either way. Title, authors, times and the rest come from
:mod:`archiver.extractor.meta`.

``extract`` never raises: broken, truncated, empty or binary input gives a Document with
whatever could be found. Its work is bounded whatever the markup (see "work bounds"
below): hostile pages (200,000 nested elements, 100,000 attributes on one element,
formatting elements that the parser would copy into every paragraph, a million tags)
are defused before the parser sees them or read as plain text, with a warning naming
the page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from archiver.net.urls import canonicalize
from archiver.text.charset import decode_html, looks_binary
from archiver.text.dates import parse_date

from . import meta
from .bounds import MAX_DEPTH, MAX_LINKS, MAX_NODES, MAX_TAGS, bounded_markup, plain_text
from .edges import trim_edges
from .payload import payload_article
from .rules import RULES, SiteRule, matches
from .walk import Block, OverBudget, Walk, main_blocks, walk

__all__ = ["MAX_DEPTH", "MAX_TAGS", "RULES", "Document", "Link", "SiteRule", "extract"]

log = logging.getLogger(__name__)

_HEAD_TAGS = frozenset(("meta", "link", "script", "base", "title", "time", "h1"))
_MAX_CANDIDATES = 32  # rule containers looked at
_SCRIPT_ARTICLE = 500  # characters of main text below which script payloads are read


@dataclass(frozen=True)
class Link:
    url: str  # absolute and canonical (archiver.frontier.canonicalize): no fragment
    text: str  # anchor text, whitespace collapsed


@dataclass
class Document:
    title: str | None
    author: str | None  # several authors joined with ", "
    published_at: str | None  # ISO 8601 with offset, e.g. 2023-11-18T09:12:00+09:00
    modified_at: str | None
    paragraphs: list[str]  # one entry per paragraph / heading / list item / table row
    links: list[Link]  # outlinks found in the main content (deduplicated, in order)
    site_name: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    charset: str | None = None  # set when extract() decoded bytes
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def extract(html: str | bytes, url: str, *, content_type: str | None = None) -> Document:
    """Extract a Document from an HTML page (str, or bytes decoded by ``decode_html``).

    Never raises: malformed, truncated, empty or binary input gives a Document with
    what could be found (possibly no paragraphs).
    """
    charset: str | None = None
    try:
        if isinstance(html, bytes | bytearray):
            if looks_binary(bytes(html), content_type):
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


def _plain_text(text: str, charset: str | None) -> Document:
    paragraphs = [meta.collapse(p) for p in re.split(r"\n\s*\n", text)]
    return Document(None, None, None, None, [p for p in paragraphs if p], [], charset=charset)


# --------------------------------------------------------------------------- the document


def _extract_document(
    text: str, url: str, charset: str | None, rules: tuple[SiteRule, ...]
) -> Document:
    markup = bounded_markup(text, url)
    if markup is None:
        return _plain_markup(text, charset)
    try:
        return _parsed_document(markup, url, charset, rules)
    except OverBudget as exc:  # (a tree inflated by the parser, say)
        log.warning("%s: %s; extracted as plain text", url, exc)
        return _plain_markup(markup, charset)


def _parsed_document(
    text: str, url: str, charset: str | None, rules: tuple[SiteRule, ...]
) -> Document:
    tree = LexborHTMLParser(text.replace("\x00", ""))
    body = tree.body
    root = body or tree.root  # a frameset page has no <body>
    if root is None:
        return _empty(charset)
    # One selector pass over the tree finds the metadata tags and any rule's container.
    rule_selectors = [selector for rule in rules for selector in rule.content]
    scanned = tree.css(", ".join([meta.SCAN, *rule_selectors]))
    rule, content = _match_rule(scanned, rules) if rule_selectors else (None, None)

    marked = frozenset((content.mem_id,)) if content is not None else frozenset()
    walked, blocks = _main_text(root, marked, content, thorough=False)
    found = sum(len(block.text) for block in blocks)
    if found < 200:  # little or nothing: look closer, keep whichever finds more
        closer, more = _main_text(root, marked, content, thorough=True)
        if sum(len(block.text) for block in more) > found:
            walked, blocks = closer, more
            found = sum(len(block.text) for block in blocks)
    short = [block.text for block in walked.blocks if len(block.text) <= 120]
    info = meta.page_metadata(
        tree, url, rule.author if rule else (), walked.bylines(), short, scanned
    )
    blocks = _after_headline(blocks, info.title)
    paragraphs = [block.text for block in blocks]
    kept = {id(block) for block in blocks}
    published = info.published_at
    after = ""  # what followed a payload's article: often its byline
    if found < _SCRIPT_ARTICLE:  # the DOM holds no article: is it in a script payload?
        scripts = (node.text(deep=True) for node in tree.css("script"))
        payload = payload_article(scripts, info.title, info.description)
        if payload is not None and sum(map(len, payload.paragraphs)) > 2 * found:
            log.debug("%s: article read from a script payload (%s)", url, payload.source)
            paragraphs, kept, after = payload.paragraphs, set(), payload.after
            published = published or parse_date(payload.published_at, meta.page_tz(info))
    trimmed = trim_edges(paragraphs, info.title)
    paragraphs = trimmed.paragraphs
    if trimmed.removed and kept:  # links of the paragraphs cut at the edges go too
        left = set(paragraphs)
        kept = {id(block) for block in blocks if block.text in left}
    authors = info.authors
    if not authors:  # "홍길동 기자 hong@example.com" closing the story
        bylines = (" ".join([*trimmed.removed, after]), " ".join(paragraphs[-3:])[-300:])
        for text in bylines:
            names = meta.reporter_names(text)
            authors = [n for n in names if not meta.publication_like(n, info.publications)]
            if authors:
                break
    return Document(
        title=info.title,
        author=", ".join(authors) or None,
        published_at=published,
        modified_at=info.modified_at,
        paragraphs=paragraphs,
        links=_links(walked, kept, info.base)
        if body is not None
        else _frame_links(tree, info.base),
        site_name=info.site_name,
        language=info.language,
        canonical_url=canonicalize(info.canonical_url) if info.canonical_url else None,
        description=info.description,
        charset=charset,
        authors=authors,
        section=info.section,
        tags=info.tags,
    )


def _main_text(
    root: LexborNode, marked: frozenset[int], content: LexborNode | None, *, thorough: bool
) -> tuple[Walk, list[Block]]:
    walked = walk(root, marked, thorough=thorough, budget=MAX_NODES)
    container = walked.marks.get(content.mem_id) if content is not None else None
    blocks = main_blocks(walked, container)
    if container is not None and not blocks:  # the rule's node held nothing we keep
        blocks = main_blocks(walked)
    return walked, blocks


def _after_headline(blocks: list[Block], title: str | None) -> list[Block]:
    """Drop the headline when the container repeats it, and the kicker or section above it."""
    if not title:
        return blocks
    for index, block in enumerate(blocks[:6]):
        if block.text == title and (block.heading or index == 0):
            return blocks[index + 1 :]
    return blocks


def _match_rule(
    scanned: list[LexborNode], rules: tuple[SiteRule, ...]
) -> tuple[SiteRule | None, LexborNode | None]:
    """The first rule (in order) with a non-empty content node among ``scanned``."""
    candidates = [n for n in scanned if n.tag not in _HEAD_TAGS and n.child is not None]
    del candidates[_MAX_CANDIDATES:]  # each may look at its ancestors: a page has one or two
    for rule in rules if candidates else ():
        for selector in rule.content:  # in the rule's order of preference
            for node in candidates:
                if matches(node, selector):
                    return rule, node
    return None, None


def _frame_links(tree: LexborHTMLParser, base: str) -> list[Link]:
    """A frameset page's content is its frames: their sources are its outlinks."""
    links: dict[str, Link] = {}
    for frame in tree.css("frameset frame[src]")[:MAX_LINKS]:
        url = meta.absolute_url(base, frame.attributes.get("src"))
        if url:
            url = canonicalize(url)
            links.setdefault(url, Link(url, meta.collapse(frame.attributes.get("name"))))
    return list(links.values())


def _links(walked: Walk, kept: set[int], base: str) -> list[Link]:
    """Links inside the kept blocks: absolute, canonical, first anchor text per URL
    (the first MAX_LINKS of them: resolving a URL costs microseconds)."""
    seen: dict[str, Link] = {}
    hrefs: set[str | None] = set()
    blocks = walked.blocks
    for index, anchor in walked.anchors:
        if not (0 <= index < len(blocks)) or id(blocks[index]) not in kept:
            continue
        href = anchor.attributes.get("href")
        if href in hrefs:
            continue
        hrefs.add(href)
        url = meta.absolute_url(base, href)
        if url:
            url = canonicalize(url)
            if url not in seen:
                seen[url] = Link(url, meta.collapse(anchor.text(deep=True, separator=" ")))
                if len(seen) >= MAX_LINKS:
                    break
    return list(seen.values())


def _plain_markup(markup: str, charset: str | None) -> Document:
    title, paragraphs = plain_text(markup)
    return Document(title or None, None, None, None, paragraphs, [], charset=charset)
