"""Running the UI: a uvicorn server on a socket bound before it starts (so port 0 works
and the caller learns the real address before the first request)."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

import uvicorn

from archiver.errors import NotFoundError, UsageError
from archiver.storage.store import Store
from archiver.text.ignore import IgnoreRule

from .app import create_app

log = logging.getLogger(__name__)
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``; UsageError when it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host!r}: {exc.strerror}") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def serve(
    root: Path,
    *,
    catalog: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    ignore: Sequence[IgnoreRule] = (),
    ready: Callable[[str], None] | None = None,
    access_log: bool = False,
) -> None:
    """Serve the store at ``root`` until interrupted; ``ready`` gets the base URL once the
    socket listens. A store that does not exist is refused before anything listens.
    ``catalog``: a PostgreSQL catalog's DSN (None: the store's own catalog.sqlite3)."""
    probe = Store(root, catalog)
    try:
        exists = probe.exists()  # a cluster catalog that cannot be opened says why here
    finally:
        probe.close()
    if not exists:
        raise NotFoundError(f"no archive at {root}; run `archiver crawl` first")
    sock = bind(host, port)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    # Starlette compares the Host header up to its first ":", so an IPv6 address is not
    # told apart: only an IPv4 loopback or "localhost" server limits its Host names.
    hosts = list(LOOPBACK_NAMES) if _is_loopback(host) and ":" not in host else ["*"]
    app = create_app(root, catalog=catalog, ignore=ignore, allowed_hosts=hosts)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=access_log,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    if ready is not None:
        ready(f"http://{shown}:{bound[1]}/")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
