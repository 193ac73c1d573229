"""Rendering a page in headless Chromium, for pages whose text exists only after JavaScript.

The page's own response is not fetched again: the browser is given the bytes the crawl
archived (a fulfilled route), so the DOM is built from the archived response. Every other
request the page makes (scripts, XHR, images) passes the same checks as the crawler's own
fetches before it may leave: an http(s) URL without problems, the SSRF guard
(:func:`archiver.net.fetch.check_address`) and robots.txt (the caller's ``allowed``).
Refused requests are aborted and listed. A page that does not settle (load, then no network
activity for half a second) within the timeout is a :class:`RenderError`.

Playwright drives Debian's Chromium (``/usr/bin/chromium``); it is imported only when a
page is rendered, so crawls that never render need neither.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from archiver.errors import ArchiverError

from .exchange import Exchange
from .fetch import check_address
from .urls import url_problem

__all__ = ["CHROMIUM_FLAGS", "RenderError", "Rendered", "Renderer", "chromium_path"]

log = logging.getLogger(__name__)

# Flags for a browser that talks to nothing but the pages it is given: no background
# networking (a closed network refuses it, many connections at a time), no QUIC, no sync.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
_IDLE = 0.5  # seconds without a request in flight: the page has settled
_KEPT = ("content-type", "content-language")  # headers the browser is given

Allowed = Callable[[str], Awaitable[str | None]]  # a URL -> why it may not be fetched, or None


class RenderError(ArchiverError):
    """The page could not be rendered (no browser, a crash, or it never settled)."""


@dataclass
class Rendered:
    url: str
    html: str  # the DOM after scripts ran, serialised
    requests: list[str] = field(default_factory=list)  # what the page fetched, allowed
    refused: list[tuple[str, str]] = field(default_factory=list)  # (URL, why)


def chromium_path() -> str | None:
    return (
        os.environ.get("ARCHIVER_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


class Renderer:
    """One browser for a crawl run, started on first use; :meth:`aclose` stops it."""

    def __init__(
        self, *, user_agent: str, allow_private: bool, timeout: float, allowed: Allowed
    ) -> None:
        self.user_agent = user_agent
        self.allow_private = allow_private
        self.timeout = timeout
        self.allowed = allowed
        self._playwright: Any = None
        self._browser: Any = None
        self._lock = asyncio.Lock()

    async def _start(self) -> Any:
        async with self._lock:
            if self._browser is not None:
                return self._browser
            path = chromium_path()
            if path is None:
                raise RenderError("cannot render: Chromium is not installed (apt install chromium)")
            try:
                from playwright.async_api import async_playwright
            except ImportError as exc:
                raise RenderError(
                    "cannot render: Playwright is not installed (pip install 'archiver[render]')"
                ) from exc
            try:
                self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=path, args=list(CHROMIUM_FLAGS), headless=True
                )
            except Exception as exc:  # Playwright's errors are many; one line for all
                await self.aclose()
                raise RenderError(f"cannot start Chromium ({path}): {_first_line(exc)}") from exc
            return self._browser

    async def aclose(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        for closing in (browser, playwright):
            if closing is not None:
                try:
                    await (closing.close() if closing is browser else closing.stop())
                except Exception as exc:  # a browser that died already
                    log.debug("closing the browser: %s", exc)

    async def render(self, response: Exchange) -> Rendered:
        """The DOM of ``response`` (an archived HTML response) after its scripts ran."""
        browser = await self._start()
        result = Rendered(response.url, "")
        context = await browser.new_context(
            user_agent=self.user_agent, service_workers="block", accept_downloads=False
        )
        in_flight: set[Any] = set()
        last_activity = time.monotonic()

        def started(request: Any) -> None:
            nonlocal last_activity
            in_flight.add(request)
            last_activity = time.monotonic()

        def ended(request: Any) -> None:
            nonlocal last_activity
            in_flight.discard(request)
            last_activity = time.monotonic()

        async def route(route: Any) -> None:
            request = route.request
            url = request.url
            if url.split("#")[0] == response.url.split("#")[0] and request.is_navigation_request():
                headers = {k: v for k, v in response.response_headers if k.lower() in _KEPT}
                await route.fulfill(status=response.status, headers=headers, body=response.body)
                return
            if url.startswith(("data:", "blob:")):
                await route.continue_()
                return
            why = await self._refusal(url)
            if why is not None:
                result.refused.append((url, why))
                log.info("render %s: refused %s (%s)", response.url, url, why)
                await route.abort("blockedbyclient")
                return
            result.requests.append(url)
            await route.continue_()

        try:
            await context.route("**/*", route)
            page = await context.new_page()
            page.on("request", started)
            page.on("requestfinished", ended)
            page.on("requestfailed", ended)
            begun = time.monotonic()
            try:
                await page.goto(response.url, wait_until="load", timeout=self.timeout * 1000)
                # Settled: nothing in flight, and nothing started for _IDLE seconds.
                while in_flight or time.monotonic() - last_activity < _IDLE:
                    if time.monotonic() - begun > self.timeout:
                        raise RenderError(
                            f"render timed out after {self.timeout:g} s: the page never settled"
                        )
                    await asyncio.sleep(0.05)
                result.html = await page.content()
            except RenderError:
                raise
            except Exception as exc:
                if "Timeout" in type(exc).__name__:
                    raise RenderError(
                        f"render timed out after {self.timeout:g} s: the page never loaded"
                    ) from exc
                raise RenderError(f"render failed: {_first_line(exc)}") from exc
        finally:
            try:
                await context.close()
            except Exception as exc:
                log.debug("closing a browser context: %s", exc)
        return result

    async def _refusal(self, url: str) -> str | None:
        problem = url_problem(url)
        if problem is not None:
            return problem
        if urlsplit(url).scheme not in ("http", "https"):
            return "not an http(s) URL"
        try:
            await asyncio.to_thread(check_address, urlsplit(url).hostname or "", self.allow_private)
        except ArchiverError as exc:
            return str(exc)
        return await self.allowed(url)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
