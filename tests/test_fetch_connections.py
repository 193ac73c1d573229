"""Keep-alive connections of the fetcher: reused while the server keeps them open, and a
connection the server closed while it sat idle is never used for the next request."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from archiver.config import CrawlConfig
from archiver.net.fetch import Fetcher

BODY = b"<html><body><p>kept alive</p></body></html>"


class KeepAliveServer:
    """An HTTP/1.1 server on loopback that answers every request with keep-alive and
    counts connections. With ``close_when_idle`` it closes each connection after its
    response, as a server whose idle timeout ran out does, without saying so."""

    def __init__(self, *, close_when_idle: bool) -> None:
        self.close_when_idle = close_when_idle
        self.connections = 0
        self.requests = 0
        self.closed = threading.Event()  # set each time the server closed an idle connection
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            buffered = b""
            while True:
                while b"\r\n\r\n" not in buffered:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffered += data
                _, buffered = buffered.split(b"\r\n\r\n", 1)
                self.requests += 1
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
                )
                if self.close_when_idle:
                    conn.close()
                    self.closed.set()
                    return

    def stop(self) -> None:
        self._listener.close()


@pytest.fixture
def closing_server() -> Iterator[KeepAliveServer]:
    server = KeepAliveServer(close_when_idle=True)
    yield server
    server.stop()


@pytest.fixture
def keeping_server() -> Iterator[KeepAliveServer]:
    server = KeepAliveServer(close_when_idle=False)
    yield server
    server.stop()


def _config() -> CrawlConfig:
    return CrawlConfig(allow_private_networks=True, per_host_delay=0, retries=1, timeout=5)


def test_a_kept_connection_serves_the_next_requests(keeping_server: KeepAliveServer) -> None:
    async def main() -> list[tuple[int | None, str | None, int]]:
        fetcher = Fetcher(_config())
        try:
            out = []
            for n in range(3):
                result = await fetcher.fetch(keeping_server.url(f"/page/{n}"))
                status = result.response.status if result.response else None
                out.append((status, result.error, result.tries))
            return out
        finally:
            await fetcher.aclose()

    assert asyncio.run(main()) == [(200, None, 1)] * 3
    assert keeping_server.requests == 3 and keeping_server.connections == 1


def test_a_connection_the_server_closed_while_idle_is_not_reused(
    closing_server: KeepAliveServer,
) -> None:
    """Each fetch succeeds at its first try, on a new connection: the pool saw that the
    server had closed the idle one. (Sent on the dead connection, the request would fail
    with "server closed the connection without a response" and need a second try.)"""

    async def main() -> list[tuple[int | None, str | None, int]]:
        fetcher = Fetcher(_config())
        try:
            out = []
            for n in range(3):
                closing_server.closed.clear()
                result = await fetcher.fetch(closing_server.url(f"/page/{n}"))
                status = result.response.status if result.response else None
                out.append((status, result.error, result.tries))
                # The server has closed the connection, and its FIN has reached us.
                await asyncio.to_thread(closing_server.closed.wait, 5)
                await asyncio.sleep(0.05)
            return out
        finally:
            await fetcher.aclose()

    assert asyncio.run(main()) == [(200, None, 1)] * 3
    assert closing_server.requests == 3 and closing_server.connections == 3
