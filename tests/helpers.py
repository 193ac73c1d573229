"""Helpers the test modules import: the offline fixture site, configs pointing at it, the
CLI run in-process, and a check that the extractor's safety net never fired.

Fixtures live in conftest.py (which imports from here); test modules import from here,
never from conftest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from click.testing import CliRunner, Result

from archiver.cli import main
from archiver.config import load_config
from archiver.crawler.schedule import JOB_ID, STATE_FILE, ScheduleState, describe
from archiver.net.render import CHROMIUM_FLAGS

SITE = Path(__file__).parent / "fixtures" / "site"
DEFAULT_SEED = Path(__file__).parents[1] / "config" / "seeds" / "careerly-altman-tigris.txt"
# The installed console script, for tests that need a real process (signals, kills).
ARCHIVER = str(Path(sys.executable).with_name("archiver"))
# Headless Chromium for the browser tests, started as the renderer starts it: no sandbox
# (tests run as root), and no traffic of its own (updates, sync, QUIC probes) so that its
# network log holds only the page's.
CHROMIUM_ARGS = list(CHROMIUM_FLAGS)


# --------------------------------------------------------------------------- the CLI


def cli(config: Path, *args: str) -> Result:
    """`archiver --config CONFIG ARGS...`, in-process."""
    return CliRunner().invoke(main, ["--config", str(config), *args])


def cli_store(store: Path, *args: str) -> Result:
    """`archiver --store STORE ARGS...`, in-process (no config file)."""
    return CliRunner().invoke(main, ["--store", str(store), *args])


def cli_json(config: Path, *args: str) -> Any:
    """`archiver --config CONFIG ARGS... --json`: must exit 0; its parsed output."""
    result = cli(config, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def due_now(config: Path) -> datetime:
    """Persist the schedule's next due time as now, as a scheduler that waited out an
    interval (or was down) leaves it: the next `archiver schedule` runs that slot at
    once, where a fresh start would first wait a whole interval."""
    loaded = load_config(config)
    due = datetime.now(UTC)
    state = ScheduleState(loaded.store / STATE_FILE)
    state.set_due(JOB_ID, describe(loaded.schedule), due)
    return due


# --------------------------------------------------------------------------- the extractor

EXTRACTOR_LOGGER = "archiver.extractor"


def extraction_failures(records: Iterable[logging.LogRecord]) -> list[str]:
    """Warnings from the extractor, such as the "extraction failed for URL" that
    ``extract()`` logs when its last-resort guard swallowed an exception."""
    return [
        record.getMessage()
        for record in records
        if (record.name == EXTRACTOR_LOGGER or record.name.startswith(EXTRACTOR_LOGGER + "."))
        and record.levelno >= logging.WARNING
    ]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def no_extraction_failure() -> Iterator[None]:
    """Fail if ``extract()`` logged a failure inside the block.

    ``extract()`` never raises: it logs "extraction failed" and returns an empty Document,
    so a test that only looks at the Document passes whatever the bug. For hypothesis
    tests, where pytest's function-scoped ``caplog`` cannot be used per example.
    """
    logger = logging.getLogger(EXTRACTOR_LOGGER)
    handler = _Records()
    level = logger.level
    logger.setLevel(logging.WARNING)  # whatever an earlier test's logging setup left
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    failures = extraction_failures(handler.records)
    assert not failures, failures


# --------------------------------------------------------------------------- the fixture site


@dataclass
class Route:
    file: str | None = None  # relative to SITE
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0
    etag: bool = True
    statuses: list[int] = field(default_factory=list)  # answered first, one per request
    reset_after: int | None = None  # send this many body bytes, then reset the connection
    before: Callable[[], None] | None = None  # run while the request waits (an outage)

    def content(self) -> bytes:
        if self.body is not None:
            return self.body
        assert self.file is not None, "a Route serves a file or a body"
        return (SITE / self.file).read_bytes()


DEFAULT_ROUTES: dict[str, Route] = {
    "/99663": Route("slownews/99663.html"),
    "/99700": Route("slownews/99700.html"),
    "/99710": Route("slownews/99710.html"),
    "/99720": Route("slownews/99720.html"),
    "/tag/openai": Route("slownews/tag-openai.html"),
    "/euckr": Route("euckr/article.html", content_type="text/html"),
    "/plain": Route("plain/article.html"),
    "/feed": Route("feed.xml", content_type="application/rss+xml; charset=utf-8"),
    "/robots.txt": Route("robots.txt", content_type="text/plain"),
    "/files/report.pdf": Route("files/report.pdf", content_type="application/pdf"),
    "/status/404": Route(status=404, body=b"<h1>not found</h1>"),
    "/status/500": Route(status=500, body=b"<h1>server error</h1>"),
    "/loop/a": Route(status=302, headers={"Location": "/loop/b"}, body=b""),
    "/loop/b": Route(status=302, headers={"Location": "/loop/a"}, body=b""),
    "/moved": Route(status=301, headers={"Location": "/99700"}, body=b""),
}


class FixtureSite:
    """The fixture site served over real HTTP; tests switch routes between crawls."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        # Copies: a test that changes a route must not change it for the next test.
        self.routes: dict[str, Route] = {
            path: replace(route, headers=dict(route.headers), statuses=list(route.statuses))
            for path, route in DEFAULT_ROUTES.items()
        }
        self.requests: list[tuple[str, dict[str, str], float]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site.requests.append((self.path, dict(self.headers.items()), time.monotonic()))
                route = site.routes.get(unquote(self.path.split("?")[0]))
                if route is None:
                    self._send(404, "text/html", b"<h1>no such fixture</h1>", {})
                    return
                if route.before is not None:
                    route.before()
                if route.delay:
                    time.sleep(route.delay)
                body = route.content()
                headers = dict(route.headers)
                if route.statuses:
                    self._send(route.statuses.pop(0), "text/html", b"<p>try later</p>", headers)
                    return
                if route.reset_after is not None:
                    self._reset(route, body)
                    return
                if route.etag and route.status == 200:
                    tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                    headers["ETag"] = tag
                    if self.headers.get("If-None-Match") == tag:
                        self._send(304, None, b"", headers)
                        return
                self._send(route.status, route.content_type, body, headers)

            def _reset(self, route: Route, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: route.reset_after])
                self.wfile.flush()
                # SO_LINGER 0 makes close() send a TCP reset, as a crashed server would.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True

            def _send(
                self, status: int, ctype: str | None, body: bytes, headers: dict[str, str]
            ) -> None:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and status != 304:
                    self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that hangs up mid-response (a fault test) is expected

        # Another loopback address (127.0.0.2, …) is another host to a crawler's politeness.
        self.server = Server((address, 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://{address}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, file: str) -> None:
        """Serve another fixture file at ``path`` (e.g. version 2 of an article)."""
        old = self.routes.get(path, Route())
        self.routes[path] = Route(file, content_type=old.content_type, etag=old.etag)

    def hits(self, path: str) -> int:
        return sum(1 for p, _, _ in self.requests if p == path)

    def times(self, path: str) -> list[float]:
        return [t for p, _, t in self.requests if p == path]


def write_seed(directory: Path, site: FixtureSite) -> Path:
    """The default Careerly seed, its Slownews reference pointed at the fixture site."""
    text = DEFAULT_SEED.read_text(encoding="utf-8").replace(
        "https://slownews.kr/99663", site.url("/99663")
    )
    path = directory / "seeds" / "careerly-altman-tigris.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_config(
    directory: Path,
    site: FixtureSite,
    *,
    targets: Sequence[str] = (),
    feeds: Sequence[str] = (),
    extra: str = "",
    seed: bool = True,
) -> Path:
    """A config for the fixture site: loopback allowed, no politeness delay, one try."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["[store]", 'path = "store"', ""]
    if seed:
        write_seed(directory, site)
        lines += ["[[seeds]]", 'path = "seeds/careerly-altman-tigris.txt"', ""]
    for url in targets:
        lines += ["[[targets]]", f'url = "{site.url(url) if url.startswith("/") else url}"', ""]
    for url in feeds:
        lines += ["[[feeds]]", f'url = "{site.url(url) if url.startswith("/") else url}"', ""]
    crawl = {
        "allow_private_networks": "true",
        "per_host_delay": "0",
        "retries": "1",
        "timeout": "5",
        "respect_robots": "false",
    }
    for line in extra.splitlines():  # "key = value" lines override the test defaults
        if "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            crawl[key] = value
    lines += ["[crawl]"] + [f"{key} = {value}" for key, value in crawl.items()]
    path = directory / "archiver.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
