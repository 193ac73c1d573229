"""The frontier: which URLs one crawl run fetches, in order, each once.

URLs are canonicalised before they are compared, so that tracking parameters, default
ports, fragments and case differences in the host never make one page two targets.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_",)
_TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ref_src",
    "_ga",
    "yclid",
    "spm",
}


def canonicalize(url: str) -> str:
    """A canonical form of an http(s) URL; other strings are returned stripped."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port and not (scheme == "http" and port == 80 or scheme == "https" and port == 443):
        host = f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_PARAMS
        ]
    )
    # Percent-encode what a URL may not contain raw (spaces, non-ASCII), keeping escapes.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    return urlunsplit((scheme, host, path, query, ""))


def host_of(url: str) -> str:
    """The host name of a URL (no port), lower-cased; '' when there is none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


@dataclass(frozen=True)
class FrontierItem:
    """A URL to fetch and how it was found (its provenance)."""

    url: str
    via: str  # "seed:<id>", "target", "feed", or the URL of the page that linked here
    depth: int = 0
    seed_id: int | None = None
    score: float | None = None
    kind: str = "page"  # "page" is extracted and versioned; "feed" is archived only


class Frontier:
    """A first-in, first-out queue of URLs that admits each canonical URL once."""

    def __init__(self) -> None:
        self._queue: deque[FrontierItem] = deque()
        self._seen: set[str] = set()

    def add(self, item: FrontierItem) -> bool:
        url = canonicalize(item.url)
        if url in self._seen:
            return False
        self._seen.add(url)
        self._queue.append(
            FrontierItem(url, item.via, item.depth, item.seed_id, item.score, item.kind)
        )
        return True

    @property
    def seen(self) -> set[str]:
        """Every canonical URL ever queued in this run."""
        return self._seen

    def pop(self) -> FrontierItem | None:
        return self._queue.popleft() if self._queue else None

    def __len__(self) -> int:
        return len(self._queue)
