"""Serving archived HTML: as captured, but unable to run script or reach the live web.

Three fences, each enough on its own for scripts: the page that shows a snapshot frames it
in an ``<iframe sandbox>`` without ``allow-scripts``; the archived response itself carries
a Content-Security-Policy with ``sandbox`` and ``default-src 'none'`` (so opened on its own,
outside the frame, it still runs nothing and loads nothing but inline styles and ``data:``
images); and a ``<meta http-equiv=refresh>``, which no policy stops, is disabled in the
served bytes. Missing images and style sheets show as missing: nothing is fetched live.
Anything but HTML is offered as a download, never rendered.
"""

from __future__ import annotations

import re

from starlette.responses import Response

from archiver.views import Snapshot

SNAPSHOT_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:;"
    " form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)
# http-equiv="refresh" (any quoting and case) becomes an attribute no browser acts on.
_REFRESH = re.compile(rb"http-equiv\s*=\s*([\"']?)\s*refresh", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)


def is_html(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind in ("text/html", "application/xhtml+xml", "")


def response(found: Snapshot) -> Response:
    headers = {"content-security-policy": SNAPSHOT_POLICY}
    if not is_html(found.content_type):
        headers["content-disposition"] = "attachment"
        return Response(found.body, media_type="application/octet-stream", headers=headers)
    body = _REFRESH.sub(rb"data-archiver-disabled=\1refresh", found.body)
    charset = _CHARSET.search(found.content_type)
    media = "text/html" + (f"; charset={charset.group(1)}" if charset else "")
    return Response(body, headers={**headers, "content-type": media})
