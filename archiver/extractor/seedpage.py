"""Seed posts read from their own web page (a seed by URL): the same :class:`SeedPost`
as a seed file, from HTML.

A Careerly post page (``careerly.co.kr/comments/N``; recognised by its host or its
``og:site_name``) gets a site rule: the author block, the title, the post body and its
links, the link-preview card (its outlet is the source label), the post time, the login
box (chrome, dropped) and the author's other posts (teasers, kept apart). Any other page
is read by the page extractor (:func:`archiver.extractor.page.extract`): its main text,
``og:``/JSON-LD metadata and the links inside the main text, not the navigation; a post
that is only in a script payload comes from there too.

A page that says the post was deleted gives :data:`DELETED` rather than a post.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from archiver.errors import SeedError
from archiver.text.charset import decode_html, looks_binary
from archiver.text.dates import KST, parse_date

from . import meta
from .page import extract
from .seed import Reference, SeedPost, assemble_post, block_lines

__all__ = ["DELETED", "Deleted", "read_seed_page"]


class Deleted:
    """The page says the post is gone (a platform's "deleted post" page)."""

    def __repr__(self) -> str:
        return "DELETED"


DELETED = Deleted()

# What platforms put on the page of a deleted or hidden post (Careerly, blogs, forums).
_DELETED = re.compile(
    r"삭제된\s*(?:게시물|게시글|글|포스트|댓글)|존재하지\s*않는\s*(?:게시물|게시글|글|포스트|페이지)"
    r"|(?:게시물|게시글|글)(?:이|을)\s*(?:찾을\s*수\s*없|삭제되었)|작성자에\s*의해\s*삭제"
    r"|(?i:this post (?:has been|was) (?:deleted|removed)|post not found|no longer available)"
)
_DELETED_TEXT = 300  # a "deleted post" page says little else: longer text is a post about one

_CAREERLY_HOSTS = ("careerly.co.kr",)
_CAREERLY_NAMES = ("커리어리", "careerly")
_SITE_SUFFIX = re.compile(r"\s*[|\-–—]\s*(?:커리어리|careerly)\s*$", re.I)
_KO_TIME = re.compile(r"\d{4}\s*년\s*\d{1,2}\s*월\s*\d{1,2}\s*일[^\n]{0,20}?\d{1,2}\s*:\s*\d{2}")

# The Careerly rule's selectors, first match wins.
_POST = (".post-detail", "[data-testid=post-detail]", "article")
_TITLE = (".post-title", "h1")
_AUTHOR = (".author-name", "a[href*='/profiles/']")
_BODY = (".post-body", "[data-testid=post-body]")
_PREVIEW = (".link-preview", "a[data-testid=link-preview]")
_PREVIEW_SITE = (".link-preview-site",)
_TEASER = (".more-posts .post-card", "section.more-posts a[href*='/comments/']")
_CHROME = ".login-box, .post-actions, header, nav, footer, button, form, script, style"


def read_seed_page(
    body: bytes | str, url: str, *, content_type: str | None = None
) -> SeedPost | Deleted:
    """The post on a page, or :data:`DELETED`; SeedError (one line) when the page holds no
    post (binary content, no text)."""
    if isinstance(body, bytes):
        if looks_binary(body, content_type):
            raise SeedError(f"{url}: not a post page (binary content, {content_type or 'untyped'})")
        text, _ = decode_html(body, content_type)
    else:
        text = body
    tree = LexborHTMLParser(text.replace("\x00", ""))
    if _says_deleted(tree):
        return DELETED
    post = _careerly(tree, url) if _is_careerly(tree, url) else None
    if post is None:
        post = _generic(text, url, content_type)
    if post is None:
        raise SeedError(f"{url}: not a post page (no post text found)")
    return post


def _first(node: LexborNode | LexborHTMLParser, selectors: tuple[str, ...]) -> LexborNode | None:
    for selector in selectors:
        found = node.css_first(selector)
        if found is not None:
            return found
    return None


def _meta(tree: LexborHTMLParser, name: str) -> str | None:
    node = tree.css_first(f'meta[property="{name}"], meta[name="{name}"]')
    value = node.attributes.get("content") if node is not None else None
    return meta.collapse(value) or None


def _says_deleted(tree: LexborHTMLParser) -> bool:
    root = tree.body
    if root is None:
        return False
    for node in root.css("script, style, noscript, template"):
        node.decompose()
    text = meta.collapse(root.text(separator=" "))
    title_node = tree.css_first("title")
    title = meta.collapse(title_node.text()) if title_node is not None else ""
    return bool(_DELETED.search(title) or _DELETED.search(text)) and len(text) < _DELETED_TEXT


def _is_careerly(tree: LexborHTMLParser, url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    site = (_meta(tree, "og:site_name") or "").lower()
    return host.endswith(_CAREERLY_HOSTS) or site in _CAREERLY_NAMES


def _name(url: str) -> str:
    """A seed's name from its address: the last path segment, else the host."""
    parts = urlsplit(url)
    segment = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return f"{parts.hostname or 'post'}-{segment}" if segment else (parts.hostname or "post")


def _careerly(tree: LexborHTMLParser, url: str) -> SeedPost | None:
    """The Careerly rule; None when the page lacks the post's body (a rendered-only page:
    the generic reader then tries the script payload)."""
    post = _first(tree, _POST)
    body = _first(post, _BODY) if post is not None else None
    if post is None or body is None:
        return None
    teasers = []
    cards = next((matched for sel in _TEASER if (matched := tree.css(sel))), [])
    for card in cards:
        lines = [line for line in card.text(separator="\n").splitlines() if line.strip()]
        kept = [meta.collapse(line) for line in lines]
        text = "\n".join(line for line in kept if line and not re.fullmatch(r"조회\s*[\d,]+", line))
        if text:
            teasers.append(text.removesuffix("더 보기").rstrip(" .…"))
    title_node = _first(post, _TITLE)
    title = meta.collapse(title_node.text()) if title_node is not None else None
    title = title or _SITE_SUFFIX.sub("", _meta(tree, "og:title") or "") or None
    author_node = _first(post, _AUTHOR)
    author = meta.collapse(author_node.text()) if author_node is not None else None
    time_node = post.css_first("time")
    posted = None
    if time_node is not None:
        posted = parse_date(time_node.attributes.get("datetime"), KST)
        if posted is None and (when := _KO_TIME.search(time_node.text())):
            posted = parse_date(when.group(), KST)
    posted = posted or parse_date(_meta(tree, "article:published_time"), KST)
    links: list[Reference] = []
    source = None
    for node in body.css(_CHROME):
        node.decompose()
    for anchor in body.css("a[href]"):
        if ref := _reference(url, anchor):
            links.append(ref)
    preview = _first(post, _PREVIEW)
    if preview is not None:
        site = _first(preview, _PREVIEW_SITE)
        source = meta.collapse(site.text()) if site is not None else None
        if (ref := _reference(url, preview)) is not None:
            heading = _first(preview, (".link-preview-title",))
            words = meta.collapse(heading.text()) if heading is not None else ""
            label = " - ".join(part for part in (source, words) if part)
            links.append(Reference(ref.url, label or None))
    for node in body.css("br"):
        node.replace_with("\n")
    lines = [line for line in block_lines(body) if line]
    found = assemble_post(
        title=title,
        source_label=source,
        lines=lines,
        posted_at=posted,
        links=links,
        teasers=teasers,
        fmt="careerly-page",
        name=_name(url),
    )
    if found is not None:
        found.author = author
    return found


def _reference(base: str, anchor: LexborNode) -> Reference | None:
    href = meta.absolute_url(base, anchor.attributes.get("href"))
    if href is None or not href.startswith(("http://", "https://")):
        return None
    label = meta.collapse(anchor.text(separator=" "))
    return Reference(href, label if label and label != href else None)


def _generic(text: str, url: str, content_type: str | None) -> SeedPost | None:
    """Any other page: the page extractor's main text, metadata and main-text links."""
    doc = extract(text, url, content_type=content_type)
    if not doc.paragraphs:
        return None
    own = url.split("#", 1)[0]
    links = [Reference(link.url, link.text or None) for link in doc.links if link.url != own]
    post = assemble_post(
        title=doc.title,
        source_label=doc.site_name,
        lines=doc.paragraphs,
        posted_at=doc.published_at,
        links=links,
        teasers=[],
        fmt="page",
        name=_name(url),
    )
    if post is not None:
        post.author = doc.author
    return post
