"""The frontier: which URLs one crawl run fetches, in order, each once.

URLs are canonicalised before they are compared, so that tracking parameters, default
ports, fragments and case differences in the host never make one page two targets.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from archiver.net.urls import canonicalize


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
