"""Fetch URLs over HTTP with httpx: this package is the only one that imports httpx (and
its httpcore; :mod:`.connection` holds the connections under httpx's pool).

Every fetch ends in a :class:`FetchResult` — a list of exchanges (each redirect hop
and the final response, with the raw bytes as they came off the wire) or an error
string with the number of tries — so one bad URL never stops a crawl. Redirects are
followed by hand so that every hop is archived and checked by the SSRF guard, and each
``Location`` is checked like any other URL (a bad one is the fetch's error, naming it).

httpx's own exceptions, and the ValueError, OverflowError or exception group a URL it
cannot request raises from below it, are translated here into :class:`FetchError` with
a short reason. A fetch has a time budget, ``timeout * (retries + 1) * 2`` seconds for
its requests, retries and redirects; the time it waits for its host's turn (politeness
delay, per-host and overall concurrency) does not count against it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from archiver.config import CrawlConfig
from archiver.errors import BlockedError, FetchError
from archiver.text.dates import now_iso

from ..encoding import decode_content
from ..exchange import Conditional, Exchange, FetchResult
from ..urls import percent_encoded, url_problem
from . import connection

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
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
    except (UnicodeError, ValueError) as exc:  # a label too long, a NUL
        raise FetchError(f"invalid host name {_shown(host)}", retryable=False) from exc
    for info in infos:
        if (address := connection.non_public(str(info[4][0]))) is not None:
            raise BlockedError(
                f"refused: {host} resolves to non-public address {address}"
                " (set crawl.allow_private_networks = true to allow)"
            )


def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (a number or an HTTP date), uncapped;
    None when there is none or it cannot be read."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _redirect_target(current: str, location: str) -> str:
    """The URL a ``Location`` header points to, or a FetchError naming the header."""
    try:
        target = urldefrag(urljoin(current, location.strip()))[0]
    except ValueError as exc:  # urljoin parses both: "Invalid IPv6 URL"
        problem: str | None = "invalid URL: " + (
            "invalid IPv6 address" if "IPv6" in str(exc) else str(exc)
        )
    else:
        problem = url_problem(target)
    if problem is not None:
        raise FetchError(f"bad redirect Location {_shown(location)}: {problem}", retryable=False)
    return percent_encoded(target)


def _shown(text: str, limit: int = 80) -> str:
    """``text`` for a message: repr, cut short (an error stays one short line)."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 5] + "…" + shown[-4:]


class Fetcher:
    """An httpx.AsyncClient with per-host politeness, retries and size limits."""

    def __init__(self, config: CrawlConfig, *, backoff_base: float = 0.5) -> None:
        self.config = config
        self.backoff_base = backoff_base
        # Headers of responses whose Location was taken out of httpx's sight (below).
        self._raw_headers: weakref.WeakKeyDictionary[httpx.Response, list[tuple[str, str]]]
        self._raw_headers = weakref.WeakKeyDictionary()
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            event_hooks={"response": [self._hide_location]},
            timeout=httpx.Timeout(config.timeout),
            headers={
                "User-Agent": config.user_agent,
                "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                "Accept-Encoding": "gzip, deflate",
                "Accept-Language": "ko,en;q=0.8",
            },
            limits=httpx.Limits(max_connections=max(1, config.concurrency)),
        )
        connection.use_backend(
            self._client, connection.Backend(allow_private=config.allow_private_networks)
        )
        self._overall = asyncio.Semaphore(max(1, config.concurrency))
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._last_request: dict[str, float] = {}
        self._host_delay: dict[str, float] = {}
        self._checked: set[str] = set()  # hosts the SSRF guard let through

    def set_host_delay(self, host: str, seconds: float) -> None:
        """Raise one host's delay between requests (robots.txt Crawl-delay)."""
        self._host_delay[host] = seconds

    def host_delay(self, host: str) -> float:
        """The seconds this fetcher keeps between two requests to ``host``."""
        return max(self.config.per_host_delay, self._host_delay.get(host, 0.0))

    @property
    def budget(self) -> float:
        """Seconds one fetch (all hops and retries) may take, waiting for its turn aside."""
        return self.config.timeout * (self.config.retries + 1) * 2

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _hide_location(self, response: httpx.Response) -> None:
        """httpx parses a redirect's Location itself, even when it does not follow it,
        and raises on one it cannot parse before the response can be read. Redirects are
        followed (and each Location checked) by hand, so the header is taken out of its
        sight here; the archived response keeps it (``_raw_headers``)."""
        if "location" in response.headers:
            self._raw_headers[response] = response.headers.multi_items()
            del response.headers["location"]

    async def fetch(
        self, url: str, conditional: Conditional | None = None, *, polite: bool = True
    ) -> FetchResult:
        """Fetch one URL, following redirects; never raises for network, HTTP or URL
        trouble: the result carries the error."""
        result = FetchResult(url=url)
        try:
            async with asyncio.timeout(self.budget) as scope:
                await self._fetch_chain(url, conditional, result, polite, scope)
        except FetchError as exc:
            result.error = str(exc)
        except TimeoutError:
            result.error = "timed out"
        except Exception as exc:  # the per-URL safety net: one bad URL never stops a crawl
            log.debug("fetching %s failed", url, exc_info=True)
            result.error = f"fetch failed ({_leaf_description(exc)})"
        return result

    async def _fetch_chain(
        self,
        url: str,
        conditional: Conditional | None,
        result: FetchResult,
        polite: bool,
        scope: asyncio.Timeout,
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
                current, conditional if current == url else None, result, polite, scope
            )
            result.exchanges.append(exchange)
            location = exchange.header("location")
            if exchange.status in REDIRECT_STATUSES and location:
                current = _redirect_target(current, location)
                continue
            return

    async def _fetch_with_retries(
        self,
        url: str,
        conditional: Conditional | None,
        result: FetchResult,
        polite: bool,
        scope: asyncio.Timeout,
    ) -> Exchange:
        attempts = max(1, self.config.retries)
        last_error = "no attempt"
        for attempt in range(1, attempts + 1):
            result.tries += 1
            delay: float | None = None
            try:
                exchange = await self._fetch_once(url, conditional, polite, scope)
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
                told = _retry_after(exchange.header("retry-after"))
                if told is not None and told > _remaining(scope):
                    # Waiting as told would outlast the fetch: say so now, with the
                    # answer archived, instead of "timed out" later.
                    result.exchanges.append(exchange)
                    raise FetchError(
                        f"HTTP {exchange.status} (Retry-After {told:.0f} s exceeds the fetch"
                        " budget)",
                        retryable=False,
                    )
                delay = None if told is None else min(told, RETRY_AFTER_CAP)
            if attempt == attempts:
                break
            if delay is None:
                delay = self.backoff_base * (2 ** (attempt - 1)) * (0.5 + random.random())
            log.info("retry %s in %.1fs after %s", url, delay, last_error)
            await asyncio.sleep(delay)
        raise FetchError(f"{last_error} (after {result.tries} tries)")

    async def _fetch_once(
        self, url: str, conditional: Conditional | None, polite: bool, scope: asyncio.Timeout
    ) -> Exchange:
        problem = url_problem(url)
        if problem is not None:
            raise BlockedError(problem)
        host = urlsplit(url).hostname or ""
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
        # The budget's clock stops while the fetch waits for its turn: queueing behind
        # a host's Crawl-delay is politeness, not a slow server.
        remaining = _remaining(scope)
        scope.reschedule(None)
        async with host_sem:
            if polite:
                await self._polite_wait(host)
            async with self._overall:
                scope.reschedule(asyncio.get_running_loop().time() + remaining)
                return await self._request(url, headers)

    async def _polite_wait(self, host: str) -> None:
        """Wait for this host's next slot, reserving it first, so that two requests in
        flight to one host (per_host_concurrency) are still spaced by the delay."""
        delay = max(self.config.per_host_delay, self._host_delay.get(host, 0.0))
        now = time.monotonic()
        last = self._last_request.get(host)
        slot = now if last is None or delay <= 0 else max(now, last + delay)
        self._last_request[host] = slot
        if slot > now:
            await asyncio.sleep(slot - now)

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
            raise FetchError(_describe(exc), retryable=_retryable(exc)) from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {_cut(str(exc))}", retryable=False) from exc
        except (ValueError, OverflowError, UnicodeError, ExceptionGroup) as exc:
            # What the socket layer says of a URL httpx let through ("port must be
            # 0-65535"), sometimes inside an exception group from anyio.
            raise FetchError(
                f"cannot request this URL ({_leaf_description(exc)})", retryable=False
            ) from exc
        raw = b"".join(chunks)
        body, over = decode_content(raw, response.headers.get("content-encoding"), limit)
        response_headers = self._raw_headers.pop(response, None) or response.headers.multi_items()
        return Exchange(
            url=url,
            method="GET",
            request_headers=_header_list(request.headers.multi_items()),
            http_version=response.http_version,
            status=response.status_code,
            reason=response.reason_phrase,
            response_headers=_header_list(response_headers),
            raw_body=raw[:limit],
            body=body,
            fetched_at=fetched_at,
            truncated=truncated or over,
        )


def _remaining(scope: asyncio.Timeout) -> float:
    """Seconds left in a fetch's budget."""
    when = scope.when()
    return float("inf") if when is None else when - asyncio.get_running_loop().time()


_DESCRIPTIONS: list[tuple[type[httpx.HTTPError], str]] = [
    (httpx.ConnectError, "connection failed"),
    (httpx.ReadError, "connection broken while reading"),
    (httpx.WriteError, "connection broken while sending"),
    (httpx.ProxyError, "proxy error"),
    (httpx.UnsupportedProtocol, "unsupported scheme"),
    (httpx.LocalProtocolError, "invalid request"),
    (httpx.DecodingError, "undecodable response"),
    (httpx.TooManyRedirects, "too many redirects"),
]
_SHORT_BODY = re.compile(r"received (\d+) bytes, expected (\d+)")


def _describe(exc: httpx.HTTPError) -> str:
    """A short human reason for an httpx error, with its class for the curious."""
    detail = _cut(str(exc).strip())
    if isinstance(exc, httpx.RemoteProtocolError):
        # One class for everything the server did wrong: say which.
        if short := _SHORT_BODY.search(detail):
            return f"connection closed mid-response (received {short[1]} of {short[2]} bytes)"
        if "without sending a response" in detail:
            return "server closed the connection without a response"
        if "peer closed connection" in detail:
            return "connection closed mid-response"
        return f"invalid HTTP response ({detail})"
    label = next((text for cls, text in _DESCRIPTIONS if isinstance(exc, cls)), "HTTP error")
    return f"{label} ({type(exc).__name__}{': ' + detail if detail else ''})"


def _retryable(exc: httpx.HTTPError) -> bool:
    """Whether another try may go better: not for a request httpx cannot even make."""
    return not isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError)


def _leaf_description(exc: BaseException) -> str:
    """``Class: message`` of the first leaf of an exception (group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    detail = _cut(str(exc).strip())
    return f"{type(exc).__name__}{': ' + detail if detail else ''}"


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _header_list(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in items]
