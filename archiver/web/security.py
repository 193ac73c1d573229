"""Headers and limits every response of the UI gets, whatever page produced it.

The UI shows archived text written by strangers: the policy below lets no script run and
no request leave for another origin, even if an escaping bug let markup through. The
archived HTML itself is served only by the snapshot route, with its own stricter policy
(see :mod:`archiver.web.snapshot`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UI_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
MAX_QUERY_BYTES = 4096  # a URL, a search and its filters fit many times over
MAX_PATH_BYTES = 1024

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),  # the archive changes while a crawl runs
]


class SecurityHeaders:
    """Adds the security headers (a UI policy unless the route set its own) and refuses
    oversized request lines (414) and anything but GET and HEAD (405): the UI is read-only.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _refuse(send, 405, b"read-only: only GET and HEAD are served")
            return
        path = scope.get("raw_path") or scope["path"].encode()
        if len(scope["query_string"]) > MAX_QUERY_BYTES or len(path) > MAX_PATH_BYTES:
            await _refuse(send, 414, b"request too long")
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", UI_POLICY.encode()))
                headers += [(k, v) for k, v in _COMMON if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


async def _refuse(send: Send, status: int, text: bytes) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(text)).encode()),
        (b"content-security-policy", UI_POLICY.encode()),
        *_COMMON,
    ]
    if status == 405:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})
