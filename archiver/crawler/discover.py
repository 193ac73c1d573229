"""Follow-up discovery: candidate pages from outlinks, feeds and sitemaps, ranked by
relevance to the seed post.

Candidates are gathered while a run records pages and released in *waves*: when the
frontier runs dry, the candidates of the next depth whose context (anchor text, feed
title and summary) shares at least one key term with the seed are queued, best first,
up to the run's ``crawl.follow_budget``. Once fetched, a page becomes an article only
if its own title and text score at least ``crawl.follow_threshold`` (the pipeline's
relevance gate). Home, category, tag and author pages, feeds and sitemaps are used to
discover candidates but are never archived as articles (no version, no index entry).

The scope rules hold for discovery pages too. A sitemap index's child sitemaps are
fetched only on the index's own host or a ``crawl.follow_hosts`` host; the first level
of children is part of the feed (same depth), but an index listed by an index (which
sitemaps.org does not allow) is one level deeper, so a chain of indexes ends at
``crawl.follow_depth``; and at most ``crawl.follow_budget`` discovery pages (child
sitemaps, listing pages, feeds) are fetched per run, counted apart from the articles'
budget, child sitemaps newest first by ``<lastmod>``. Each cut is one warning naming the
feed and what was left out.
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
    try:
        parts = urlsplit(url)
    except ValueError:  # "Invalid IPv6 URL": no shape at all
        return "other"
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


def _join(base_url: str, href: str) -> str:
    """``href`` resolved against ``base_url``; as given when it cannot be parsed (the
    frontier and the fetch then say what is wrong with it)."""
    href = href.strip()
    try:
        return urljoin(base_url, href)
    except ValueError:  # "Invalid IPv6 URL"
        return href


def links_of_listing(body: bytes, base_url: str) -> list[tuple[str, str]]:
    """Every (absolute URL, anchor text) of a listing page (home, category, tag)."""
    tree = LexborHTMLParser(body.decode("utf-8", errors="replace"))
    found: list[tuple[str, str]] = []
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if href and not href.startswith(("#", "javascript:", "mailto:")):
            found.append((_join(base_url, href), " ".join(node.text().split())))
    return found


Entries = list[tuple[str, str]]  # (URL, context: title and summary, or the URL's path)
Children = list[tuple[str, str]]  # (child sitemap URL, its <lastmod> or "")


def parse_feed(body: bytes, base_url: str, limit: int) -> tuple[Entries, Children]:
    """Entries of an RSS/Atom feed or sitemap, and a sitemap index's child sitemaps."""
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
            entries.append((_join(base_url, str(link)), _strip_tags(text)))
    return entries, []


def _strip_tags(text: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def _parse_sitemap(body: bytes, base_url: str) -> tuple[Entries, Children]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        log.warning("%s: unreadable sitemap: %s", base_url, exc)
        return [], []
    entries: Entries = []
    children: Children = []
    for element in root:
        tag = element.tag.rsplit("}", 1)[-1]
        loc = next((c.text or "" for c in element if c.tag.endswith("loc")), "").strip()
        if not loc:
            continue
        if tag == "sitemap":
            lastmod = next((c.text or "" for c in element if c.tag.endswith("lastmod")), "")
            children.append((_join(base_url, loc), lastmod.strip()))
        elif tag == "url":
            # Google News sitemaps carry the title; otherwise the URL slug is the context.
            title = " ".join(t.text or "" for t in element.iter() if t.tag.endswith("title"))
            entries.append((_join(base_url, loc), title or _path_of(loc)))
    return entries, children


def _path_of(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def _newest_first(children: Children) -> Children:
    """Children with a <lastmod> (W3C datetime, compared as text) newest first, then the
    others in document order."""
    dated = [c for c in children if c[1][:4].isdigit()]
    undated = [c for c in children if not c[1][:4].isdigit()]
    return sorted(dated, key=lambda c: c[1], reverse=True) + undated


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
        # Discovery pages (child sitemaps, listings, feeds) have a budget of their own.
        self.discovery_budget = config.follow_budget
        self._children: set[str] = set()  # child sitemaps released: an index among them nests

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
            or not self.in_scope(url)  # first: a URL no host can be read from is off-scope
            or _SKIP_EXT.search(_path_of(url))
            or candidate.depth > self.config.follow_depth
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
        """Take candidates from a recorded page, feed or listing; return the child sitemaps
        to fetch now (see :meth:`_child_sitemaps` for their scope, depth and budget)."""
        depth = item.depth + 1
        if not self.enabled:
            return []
        if item.kind == "feed" and body is not None:
            entries, children = parse_feed(body, item.url, self.config.max_bytes)
            for url, context in entries:
                self.add(Candidate(url, context, item.url, depth, item.seed_id), known)
            return self._child_sitemaps(item, children, known)
        pairs = (
            links_of_listing(body, item.url)
            if item.kind == "listing" and body
            else [(link["url"], link.get("text", "")) for link in links]
        )
        if depth <= self.config.follow_depth:
            for url, text in pairs:
                self.add(Candidate(url, text, item.url, depth, item.seed_id), known)
        return []

    def _child_sitemaps(
        self, item: FrontierItem, children: Children, known: set[str]
    ) -> list[FrontierItem]:
        """The child sitemaps of an index to fetch now, within scope, depth and budget."""
        if not children:
            return []
        own_host = host_of(item.url)
        fresh: dict[str, str] = {}
        off_scope: list[str] = []
        for url, lastmod in children:
            url = canonicalize(url)
            if url in known or url in fresh:
                continue
            if host_of(url) != own_host and not self.in_scope(url):
                off_scope.append(url)
                continue
            fresh[url] = lastmod
        if off_scope:
            log.warning(
                "%s: %d child sitemap(s) on other hosts not fetched (off-scope: %s%s;"
                " add the host to crawl.follow_hosts to follow them)",
                item.url,
                len(off_scope),
                _short(off_scope[0]),
                ", …" if len(off_scope) > 1 else "",
            )
        if not fresh:
            return []
        # The index's own children are part of the feed; an index among them nests.
        depth = item.depth + 1 if item.url in self._children else item.depth
        if depth > self.config.follow_depth:
            log.warning(
                "%s: a sitemap index nested in a sitemap index beyond crawl.follow_depth = %d;"
                " its %d child sitemap(s) not fetched",
                item.url,
                self.config.follow_depth,
                len(fresh),
            )
            return []
        ordered = [url for url, _ in _newest_first(list(fresh.items()))]
        kept = ordered[: max(0, self.discovery_budget)]
        if len(kept) < len(ordered):
            log.warning(
                "%s: %s of %s child sitemaps not fetched (crawl.follow_budget = %d; newest"
                " first by lastmod)",
                item.url,
                f"{len(ordered) - len(kept):,}",
                f"{len(ordered):,}",
                self.config.follow_budget,
            )
        self.discovery_budget -= len(kept)
        self._children.update(kept)
        return [FrontierItem(url, item.url, depth, item.seed_id, None, "feed") for url in kept]

    def next_wave(self) -> list[FrontierItem]:
        """The next candidates to fetch: the shallowest depth first, best scores first."""
        if not self._pool:
            return []
        depth = min(c.depth for c in self._pool.values())
        wave = [c for c in self._pool.values() if c.depth == depth]
        for c in wave:
            del self._pool[c.url]
        items: list[FrontierItem] = []
        listings = [
            c
            for c in wave  # discovery pages: only worth it when their links can be followed
            if classify(c.url) in ("listing", "feed") and c.depth < self.config.follow_depth
        ]
        if len(listings) > self.discovery_budget:
            cut = listings[max(0, self.discovery_budget) :]
            log.warning(
                "%d listing or feed page(s) not fetched, such as %s (crawl.follow_budget = %d)",
                len(cut),
                _short(cut[0].url),
                self.config.follow_budget,
            )
            listings = listings[: max(0, self.discovery_budget)]
        self.discovery_budget -= len(listings)
        for c in listings:
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


def _short(url: str, limit: int = 120) -> str:
    """A URL for a log line: cut short."""
    return url if len(url) <= limit else url[: limit - 1] + "…"
