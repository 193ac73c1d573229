"""Real notification receivers the notification tests start on 127.0.0.1: an SMTP server
(aiosmtpd) and an HTTP server taking Apprise's ``json://`` webhooks. Never mocks: the
messages travel through Apprise, a socket and a real protocol, and are decoded as a mail
client or a webhook consumer would decode them.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Mail:
    subject: str
    text: str  # the body a mail client shows (plain, else HTML), decoded
    message: EmailMessage


class SmtpReceiver:
    """An SMTP server (aiosmtpd) keeping every message it accepts, MIME-decoded."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                parsed = message_from_bytes(envelope.content, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                body = parsed.get_body(preferencelist=("plain", "html"))
                assert body is not None
                text = body.get_content()
                receiver.mails.append(Mail(str(parsed["Subject"]), text, parsed))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return (
            f"mailto://archiver@example.org?smtp=127.0.0.1&port={self.port}&mode=insecure"
            "&to=desk@example.org&from=archiver@example.org"
        )


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    payload: dict[str, Any]


@dataclass
class WebhookReceiver:
    """An HTTP server taking JSON webhooks (Apprise's ``json://``), keeping each one.

    ``stall`` holds the next N requests without answering until ``release`` is set (or
    ``stall_limit`` passes); like a server whose framework cancels a request whose client
    hung up, it drops a held request as soon as its client is gone, noting after how many
    seconds in ``hung_up_after``. ``down()`` closes the port (connection refused); ``up()``
    opens it again.
    """

    port: int = field(default_factory=free_port)
    hooks: list[Hook] = field(default_factory=list)
    stall: int = 0
    stall_limit: float = 30.0
    release: threading.Event = field(default_factory=threading.Event)
    held: int = 0  # requests held so far
    hung_up_after: list[float] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.stall > 0:
                    receiver.stall -= 1
                    receiver.held += 1
                    held = time.monotonic()
                    deadline = held + receiver.stall_limit
                    gone = False
                    while not receiver.release.is_set() and time.monotonic() < deadline:
                        if receiver._client_gone(self.connection):
                            gone = True
                            break
                        time.sleep(0.02)
                    if gone:
                        receiver.hung_up_after.append(time.monotonic() - held)
                        self.close_connection = True
                        return
                receiver.hooks.append(Hook(self.path, dict(self.headers.items()), json.loads(raw)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @staticmethod
    def _client_gone(connection: socket.socket) -> bool:
        """Whether the client closed its end (the whole request was read before)."""
        readable, _, _ = select.select([connection], [], [], 0)
        if not readable:
            return False
        try:
            return connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Hook]:
        return [h for h in self.hooks if h.path == path]

    def hang_ups(self, timeout: float = 10.0) -> list[float]:
        """``hung_up_after`` once the receiver noticed a hang-up (it looks every 20 ms)."""
        deadline = time.monotonic() + timeout
        while not self.hung_up_after and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.hung_up_after
