"""Follow-up discovery: candidate pages from outlinks, feeds and sitemaps, ranked by
relevance to the seed post.

Candidates are gathered while a run records pages and released in *waves*: when the
frontier runs dry, the candidates of the next depth whose context (anchor text, feed
title and summary) shares at least one key term with the seed are queued, best first,
up to the run's ``crawl.follow_budget``. Once fetched, a page becomes an article only
if its own title and text score at least ``crawl.follow_threshold`` (the pipeline's
relevance gate). Home, category, tag and author pages, feeds and sitemaps are used to
discover candidates but are never archived as articles (no version, no index entry).
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from archiver.config import CrawlConfig
from archiver.net.encoding import gunzip_if_gzipped
from archiver.net.urls import canonicalize, host_of

from .frontier import FrontierItem
from .relevance import SeedTerms

log = logging.getLogger(__name__)

# URL shapes of single articles (Slownews's /99663, Korean news CMSes, dated permalinks).
_ARTICLE = re.compile(
    r"^/\d{3,}/?$|articleView\.html|/news/articleView|/\d{4}/\d{1,2}/\d{1,2}/[^/]+"
    r"|/(?:article|articles|news|story|stories|post|posts|index)/[^/]+[-\d][^/]*/?$"
    r"|/[a-z0-9]+(?:-[a-z0-9]+){2,}/?$"
)
# Pages that list other pages: fetched to discover, never archived as articles.
_LISTING = re.compile(
    r"^/?$|^/(?:category|tag|tags|author|topics?|section|page|search|archives?)(?:/|$)"
    r"|[?&](?:page|paged|cat|tag|s)=|/page/\d+/?$"
)
_FEED = re.compile(r"/feed/?$|/rss|\.xml(?:\.gz)?$|/atom/?$", re.I)
_SKIP_EXT = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|pdf|zip|mp[34]|mov|avi)$", re.I)


def classify(url: str) -> str:
    """ "article", "listing", "feed" or "other" by the URL's shape."""
    parts = urlsplit(url)
    path_query = parts.path + (f"?{parts.query}" if parts.query else "")
    if _FEED.search(parts.path):
        return "feed"
    if _LISTING.search(path_query):
        return "listing"
    if _ARTICLE.search(parts.path) or "idxno=" in parts.query:
        return "article"
    return "other"


@dataclass(frozen=True)
class Candidate:
    url: str
    context: str  # anchor text, or feed/sitemap title and summary
    via: str
    depth: int
    seed_id: int | None = None


def links_of_listing(body: bytes, base_url: str) -> list[tuple[str, str]]:
    """Every (absolute URL, anchor text) of a listing page (home, category, tag)."""
    tree = LexborHTMLParser(body.decode("utf-8", errors="replace"))
    found: list[tuple[str, str]] = []
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if href and not href.startswith(("#", "javascript:", "mailto:")):
            found.append((urljoin(base_url, href), " ".join(node.text().split())))
    return found


def parse_feed(body: bytes, base_url: str, limit: int) -> tuple[list[tuple[str, str]], list[str]]:
    """Entries of an RSS/Atom feed or sitemap: ([(url, title and summary)], [child sitemaps])."""
    body = gunzip_if_gzipped(body, limit)
    head = body[:2048].lower()
    if b"<urlset" in head or b"<sitemapindex" in head:
        return _parse_sitemap(body, base_url)
    import feedparser  # only feeds need it

    parsed = feedparser.parse(body)
    entries: list[tuple[str, str]] = []
    for entry in parsed.entries:
        link = entry.get("link")
        if link:
            text = f"{entry.get('title', '')} {entry.get('summary', '')}"
            entries.append((urljoin(base_url, link), _strip_tags(text)))
    return entries, []


def _strip_tags(text: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def _parse_sitemap(body: bytes, base_url: str) -> tuple[list[tuple[str, str]], list[str]]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        log.warning("%s: unreadable sitemap: %s", base_url, exc)
        return [], []
    entries: list[tuple[str, str]] = []
    children: list[str] = []
    for element in root:
        tag = element.tag.rsplit("}", 1)[-1]
        loc = next((c.text or "" for c in element if c.tag.endswith("loc")), "").strip()
        if not loc:
            continue
        if tag == "sitemap":
            children.append(urljoin(base_url, loc))
        elif tag == "url":
            # Google News sitemaps carry the title; otherwise the URL slug is the context.
            title = " ".join(t.text or "" for t in element.iter() if t.tag.endswith("title"))
            entries.append((urljoin(base_url, loc), title or urlsplit(loc).path))
    return entries, children


class Discovery:
    """Collects candidates during a run and releases them wave by wave."""

    def __init__(self, config: CrawlConfig, terms: SeedTerms | None) -> None:
        self.config = config
        self.terms = terms
        self.scope = {h.lower() for h in config.follow_hosts}
        self._pool: dict[str, Candidate] = {}
        self._scores: dict[str, float] = {}
        self._released: set[str] = set()
        self.budget = config.follow_budget

    @property
    def enabled(self) -> bool:
        return bool(self.scope) and self.config.follow_depth > 0 and self.terms is not None

    def in_scope(self, url: str) -> bool:
        return host_of(url) in self.scope

    def context_score(self, candidate: Candidate) -> float:
        assert self.terms is not None
        return self.terms.score(candidate.context)

    def add(self, candidate: Candidate, known: set[str]) -> None:
        url = canonicalize(candidate.url)
        if (
            not url.startswith(("http://", "https://"))
            or url in known
            or url in self._released
            or _SKIP_EXT.search(urlsplit(url).path)
            or candidate.depth > self.config.follow_depth
            or not self.in_scope(url)
        ):
            return
        kind = classify(url)
        if kind == "other":
            return
        score = self.context_score(candidate) if kind == "article" else 0.0
        old = self._pool.get(url)
        if old is None or score > self._scores[url] or candidate.depth < old.depth:
            merged = Candidate(
                url, candidate.context, candidate.via, candidate.depth, candidate.seed_id
            )
            self._pool[url] = merged
            self._scores[url] = max(score, self._scores.get(url, 0.0))

    def observe(
        self,
        item: FrontierItem,
        *,
        body: bytes | None,
        links: list[dict[str, str]],
        known: set[str],
    ) -> list[FrontierItem]:
        """Take candidates from a recorded page, feed or listing; return sitemaps to fetch
        now (a sitemap index's children are part of the feed, not a deeper level)."""
        depth = item.depth + 1
        if not self.enabled:
            return []
        if item.kind == "feed" and body is not None:
            entries, children = parse_feed(body, item.url, self.config.max_bytes)
            for url, context in entries:
                self.add(Candidate(url, context, item.url, depth, item.seed_id), known)
            return [
                FrontierItem(canonicalize(u), item.url, item.depth, item.seed_id, None, "feed")
                for u in children
                if canonicalize(u) not in known
            ]
        pairs = (
            links_of_listing(body, item.url)
            if item.kind == "listing" and body
            else [(link["url"], link.get("text", "")) for link in links]
        )
        if depth <= self.config.follow_depth:
            for url, text in pairs:
                self.add(Candidate(url, text, item.url, depth, item.seed_id), known)
        return []

    def next_wave(self) -> list[FrontierItem]:
        """The next candidates to fetch: the shallowest depth first, best scores first."""
        if not self._pool:
            return []
        depth = min(c.depth for c in self._pool.values())
        wave = [c for c in self._pool.values() if c.depth == depth]
        for c in wave:
            del self._pool[c.url]
        items: list[FrontierItem] = []
        listings = [c for c in wave if classify(c.url) in ("listing", "feed")]
        for c in listings:  # discovery pages: only worth it when their links can be followed
            if c.depth < self.config.follow_depth:
                kind = "feed" if classify(c.url) == "feed" else "listing"
                items.append(FrontierItem(c.url, c.via, c.depth, c.seed_id, None, kind))
        articles = sorted(
            (c for c in wave if classify(c.url) == "article"), key=lambda c: -self._scores[c.url]
        )
        for c in articles:
            score = self._scores[c.url]
            if score <= 0:  # not one key term in its title, summary or anchor text
                log.info("not following %s: nothing in its context matches the seed", c.url)
                continue
            if self.budget <= 0:
                log.info("follow-up budget spent; not following %s", c.url)
                continue
            self.budget -= 1
            items.append(FrontierItem(c.url, c.via, c.depth, c.seed_id, score, "page"))
        self._released.update(i.url for i in items)
        return items
