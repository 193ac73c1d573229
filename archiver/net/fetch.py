"""Fetch URLs over HTTP with httpx: the only module that imports httpx.

Every fetch ends in a :class:`FetchResult` — a list of exchanges (each redirect hop
and the final response, with the raw bytes as they came off the wire) or an error
string with the number of tries — so one bad URL never stops a crawl. Redirects are
followed by hand so that every hop is archived and checked by the SSRF guard.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from archiver.config import CrawlConfig
from archiver.errors import BlockedError, FetchError
from archiver.text.dates import now_iso

from .encoding import decode_content
from .exchange import Conditional, Exchange, FetchResult

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_CAP = 60.0


def check_address(host: str, allow_private: bool) -> None:
    """Refuse hosts that resolve to non-public addresses unless allowed (SSRF guard)."""
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        # Only a temporary resolver failure is worth another try.
        raise FetchError(
            f"cannot resolve host {host!r}: {exc.strerror}", retryable=exc.errno == socket.EAI_AGAIN
        ) from exc
    except UnicodeError as exc:
        raise FetchError(f"invalid host name {host!r}", retryable=False) from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise BlockedError(
                f"refused: {host} resolves to non-public address {address}"
                " (set crawl.allow_private_networks = true to allow)"
            )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), RETRY_AFTER_CAP))


class Fetcher:
    """An httpx.AsyncClient with per-host politeness, retries and size limits."""

    def __init__(self, config: CrawlConfig, *, backoff_base: float = 0.5) -> None:
        self.config = config
        self.backoff_base = backoff_base
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(config.timeout),
            headers={
                "User-Agent": config.user_agent,
                "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                "Accept-Encoding": "gzip, deflate",
                "Accept-Language": "ko,en;q=0.8",
            },
            limits=httpx.Limits(max_connections=max(1, config.concurrency)),
        )
        self._overall = asyncio.Semaphore(max(1, config.concurrency))
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._last_request: dict[str, float] = {}
        self._host_delay: dict[str, float] = {}
        self._checked: set[str] = set()  # hosts the SSRF guard let through

    def set_host_delay(self, host: str, seconds: float) -> None:
        """Raise one host's delay between requests (robots.txt Crawl-delay)."""
        self._host_delay[host] = seconds

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, conditional: Conditional | None = None, *, polite: bool = True
    ) -> FetchResult:
        """Fetch one URL, following redirects; never raises for network or HTTP trouble."""
        result = FetchResult(url=url)
        try:
            await asyncio.wait_for(
                self._fetch_chain(url, conditional, result, polite),
                # a whole fetch (all hops and retries) gets a bounded time
                timeout=self.config.timeout * (self.config.retries + 1) * 2,
            )
        except FetchError as exc:
            result.error = str(exc)
        except TimeoutError:
            result.error = "timed out"
        return result

    async def _fetch_chain(
        self, url: str, conditional: Conditional | None, result: FetchResult, polite: bool
    ) -> None:
        seen: set[str] = set()
        current = url
        while True:
            if current in seen:
                raise FetchError(f"redirect loop at {current}")
            seen.add(current)
            if len(seen) > self.config.max_redirects + 1:
                raise FetchError(f"too many redirects (more than {self.config.max_redirects})")
            exchange = await self._fetch_with_retries(
                current, conditional if current == url else None, result, polite
            )
            result.exchanges.append(exchange)
            location = exchange.header("location")
            if exchange.status in (301, 302, 303, 307, 308) and location:
                current = urljoin(current, location.strip())
                continue
            return

    async def _fetch_with_retries(
        self, url: str, conditional: Conditional | None, result: FetchResult, polite: bool
    ) -> Exchange:
        attempts = max(1, self.config.retries)
        last_error = "no attempt"
        for attempt in range(1, attempts + 1):
            result.tries += 1
            delay: float | None = None
            try:
                exchange = await self._fetch_once(url, conditional, polite)
            except BlockedError:
                raise
            except FetchError as exc:
                last_error = str(exc)
                if not exc.retryable:
                    raise
            else:
                if exchange.status not in RETRY_STATUSES or attempt == attempts:
                    return exchange
                last_error = f"HTTP {exchange.status}"
                delay = _retry_after(exchange.header("retry-after"))
            if attempt == attempts:
                break
            if delay is None:
                delay = self.backoff_base * (2 ** (attempt - 1)) * (0.5 + random.random())
            log.info("retry %s in %.1fs after %s", url, delay, last_error)
            await asyncio.sleep(delay)
        raise FetchError(f"{last_error} (after {result.tries} tries)")

    async def _fetch_once(
        self, url: str, conditional: Conditional | None, polite: bool
    ) -> Exchange:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BlockedError(f"unsupported URL {url!r}")
        host = parts.hostname
        if not self.config.allow_private_networks and host not in self._checked:
            # Resolve once per host and run, off the event loop.
            await asyncio.to_thread(check_address, host, False)
            self._checked.add(host)
        headers: dict[str, str] = {}
        if conditional and conditional.etag:
            headers["If-None-Match"] = conditional.etag
        if conditional and conditional.last_modified:
            headers["If-Modified-Since"] = conditional.last_modified
        host_sem = self._hosts.setdefault(
            host, asyncio.Semaphore(max(1, self.config.per_host_concurrency))
        )
        async with self._overall, host_sem:
            if polite:
                await self._polite_wait(host)
            return await self._request(url, headers)

    async def _polite_wait(self, host: str) -> None:
        delay = max(self.config.per_host_delay, self._host_delay.get(host, 0.0))
        if delay > 0:
            last = self._last_request.get(host)
            if last is not None:
                wait = last + delay - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
        self._last_request[host] = time.monotonic()

    async def _request(self, url: str, headers: dict[str, str]) -> Exchange:
        fetched_at = now_iso()
        limit = self.config.max_bytes
        try:
            request = self._client.build_request("GET", url, headers=headers)
            response = await self._client.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                truncated = False
                async for chunk in response.aiter_raw():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limit:
                        truncated = True
                        break
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise FetchError(_describe(exc)) from exc
        raw = b"".join(chunks)
        body, over = decode_content(raw, response.headers.get("content-encoding"), limit)
        return Exchange(
            url=url,
            method="GET",
            request_headers=_header_list(request.headers.multi_items()),
            http_version=response.http_version,
            status=response.status_code,
            reason=response.reason_phrase,
            response_headers=_header_list(response.headers.multi_items()),
            raw_body=raw[:limit],
            body=body,
            fetched_at=fetched_at,
            truncated=truncated or over,
        )


_DESCRIPTIONS: list[tuple[type[httpx.HTTPError], str]] = [
    (httpx.ConnectError, "connection failed"),
    (httpx.RemoteProtocolError, "connection closed mid-response"),
    (httpx.ReadError, "connection broken while reading"),
    (httpx.WriteError, "connection broken while sending"),
    (httpx.ProxyError, "proxy error"),
    (httpx.UnsupportedProtocol, "unsupported protocol"),
    (httpx.DecodingError, "undecodable response"),
    (httpx.TooManyRedirects, "too many redirects"),
]


def _describe(exc: httpx.HTTPError) -> str:
    """A short human reason for an httpx error, with its class for the curious."""
    label = next((text for cls, text in _DESCRIPTIONS if isinstance(exc, cls)), "HTTP error")
    detail = str(exc).strip()
    return f"{label} ({type(exc).__name__}{': ' + detail if detail else ''})"


def _header_list(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in items]
