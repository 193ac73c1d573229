"""robots.txt: fetched once per host and run, parsed with protego (RFC 9309 rules).

A 4xx robots.txt allows everything; a 5xx one disallows everything for the run, as
RFC 9309 asks; a host that cannot be reached at all is left to the page fetch, whose
own error is then recorded. ``Crawl-delay`` raises the host's politeness delay, up to
:data:`CRAWL_DELAY_CAP` (a larger one is capped, with one warning naming the host: a
site asking for a day between requests would otherwise stall every URL of it). A URL
that cannot be requested at all is left to the fetch, which records why.
"""

from __future__ import annotations

import asyncio
import logging
import math
from urllib.parse import urlsplit

from protego import Protego

from .fetch import Fetcher
from .urls import url_problem

log = logging.getLogger(__name__)

CRAWL_DELAY_CAP = 30.0  # seconds: the longest Crawl-delay obeyed


class RobotsPolicy:
    """Answers "may we fetch this URL?" for one crawl run."""

    def __init__(self, fetcher: Fetcher, user_agent: str, *, respect: bool = True) -> None:
        self.fetcher = fetcher
        self.user_agent = user_agent
        self.respect = respect
        self._rules: dict[str, Protego | bool | None] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # origin -> the robots.txt body loaded ("" for none, a 4xx); what a cluster
        # worker keeps in the catalog's hosts table for the next job (see preload).
        self.bodies: dict[str, str] = {}
        if not respect:
            log.warning("robots.txt is ignored (crawl.respect_robots = false)")

    @staticmethod
    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def needs_fetch(self, url: str) -> bool:
        """Whether :meth:`disallowed` would request robots.txt first (a request to the host)."""
        return self.respect and url_problem(url) is None and self.origin(url) not in self._rules

    def preload(self, url: str, body: str) -> None:
        """Use ``body`` (kept from an earlier load, see :attr:`bodies`) as the robots.txt
        of ``url``'s origin instead of fetching it."""
        self._rules[self.origin(url)] = self._parse(body, urlsplit(url).hostname or "")

    async def disallowed(self, url: str) -> str | None:
        """A reason when robots.txt forbids ``url``; None when it may be fetched."""
        if not self.respect or url_problem(url) is not None:
            return None
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._rules:
                self._rules[origin] = await self._load(origin, parts.hostname or "")
        rules = self._rules[origin]
        if rules is False:
            return "robots.txt unavailable (server error): host disallowed for this run"
        if isinstance(rules, Protego) and not rules.can_fetch(url, self.user_agent):
            return "disallowed by robots.txt"
        return None

    async def _load(self, origin: str, host: str) -> Protego | bool | None:
        result = await self.fetcher.fetch(origin + "/robots.txt", polite=False)
        response = result.response
        if response is None:
            return None
        if response.status >= 500:
            return False
        if response.status != 200:
            self.bodies[origin] = ""
            return None
        body = response.body.decode("utf-8-sig", errors="replace")
        self.bodies[origin] = body
        return self._parse(body, host)

    def _parse(self, body: str, host: str) -> Protego | None:
        if not body:
            return None
        rules = Protego.parse(body)
        delay = rules.crawl_delay(self.user_agent)
        if delay and float(delay) > 0:
            seconds = float(delay)
            if not math.isfinite(seconds) or seconds > CRAWL_DELAY_CAP:
                log.warning(
                    "%s: robots.txt Crawl-delay %g s capped at %g s",
                    host,
                    seconds,
                    CRAWL_DELAY_CAP,
                )
                seconds = CRAWL_DELAY_CAP
            self.fetcher.set_host_delay(host, seconds)
            log.info("%s: Crawl-delay %g s", host, seconds)
        return rules
