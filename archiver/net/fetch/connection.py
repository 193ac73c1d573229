"""The connections under httpx's pool: a network backend for httpcore that answers the
pool's questions cheaply and checks each connection's peer address (the SSRF guard at
connect time). Part of :mod:`archiver.net.fetch`, the one package that imports httpx.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import ssl
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import httpcore
import httpx

from archiver.errors import BlockedError

log = logging.getLogger(__name__)


def non_public(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address itself when the SSRF guard refuses it (not global, or multicast)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    return ip if not ip.is_global or ip.is_multicast else None


@runtime_checkable
class _Socket(Protocol):
    def fileno(self) -> int: ...
    def getpeername(self) -> Any: ...


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's stream, with the two answers its pool asks for cheaply.

    httpcore's pool asks every idle connection, before each request it places, whether
    its socket is readable (an idle HTTP/1.1 connection that is readable is one the
    server closed). The stock anyio stream answers through anyio's typed attributes,
    which rebuild a mapping and call getpeername() on each question, a large share of
    the fetch loop's time on a fast site (benchmarks/crawl.py). Here the socket is kept
    and polled directly, with the same answer: readable (data, end of stream, error),
    or gone (then it counts as readable, as in httpcore).
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream, sock: _Socket) -> None:
        self._inner = inner
        self._sock = sock
        # Registered once: the socket keeps its descriptor until it is closed, and a
        # closed one is caught by fileno() below.
        self._poller = select.poll()
        self._poller.register(sock.fileno(), select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # TLS runs over the same socket: its readability still tells a closed peer.
        tls = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _Stream(tls, self._sock)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            fd = self._sock.fileno()
            return fd < 0 or bool(self._poller.poll(0))
        if info == "socket":
            return self._sock
        return self._inner.get_extra_info(info)


class Backend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend with :class:`_Stream`, and the SSRF guard at connect
    time: unless private networks are allowed, a connection whose peer is not a public
    address is closed before any request is sent on it (a name that resolved to a
    public address for :func:`check_address` and to a private one here: DNS rebinding).
    Used for direct connections only; a proxy's address is the user's choice."""

    def __init__(self, allow_private: bool) -> None:
        self._anyio = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._anyio.connect_tcp(host, port, timeout, local_address, socket_options)
        # A socket.socket, or asyncio's TransportSocket around one.
        sock = stream.get_extra_info("socket")
        if not isinstance(sock, _Socket):  # not anyio's stream: nothing to speed up
            return stream
        if not self._allow_private:
            try:
                address = non_public(str(sock.getpeername()[0]))
            except OSError:  # reset already: the request will fail on its own
                address = None
            if address is not None:
                await stream.aclose()
                raise BlockedError(
                    f"refused: {host} connected to non-public address {address}"
                    " (set crawl.allow_private_networks = true to allow)"
                )
        return _Stream(stream, sock)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._anyio.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._anyio.sleep(seconds)


def use_backend(client: httpx.AsyncClient, backend: Backend) -> None:
    """Give the client's direct connections ``backend``; if this httpx or httpcore keeps
    its pool elsewhere, the stock backend stays (slower, and the SSRF guard then only
    checks names when they are resolved; tests/test_archive.py would notice).

    httpx takes a network backend only inside a whole transport of one's own, and a
    client given one stops honouring the proxies set in the environment; so the backend
    of the default transport's pool is replaced, before any connection exists.
    Proxied connections keep theirs."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if type(pool) is not httpcore.AsyncConnectionPool or not hasattr(pool, "_network_backend"):
        log.debug("httpcore's pool has moved: keeping its stock network backend")
        return
    pool._network_backend = backend
