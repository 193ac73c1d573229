"""Templates of the UI: its own pages, plus the change report's templates and macros
(:mod:`archiver.changes`), which render inside the UI's layout because the UI's
``base.html.j2`` is found first."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.responses import HTMLResponse

from archiver.changes.compare import VersionRef
from archiver.changes.render import rows

PER_PAGE = 20


def href(path: str, **params: object) -> str:
    """A link inside the UI; None and False parameters are left out."""
    kept = {k: v for k, v in params.items() if v is not None and v is not False and v != ""}
    return f"{path}?{urlencode(kept)}" if kept else path


class Links:
    """What the change templates link to, inside the UI: a page's URL opens its page
    view, a version's archived record opens its snapshot. Nothing links to the live web."""

    @staticmethod
    def archived(ref: VersionRef) -> str | None:
        return href("/snapshot", url=ref.url, v=ref.version) if ref.warc_file else None

    @staticmethod
    def live(url: str) -> str | None:
        return page_href(url)


def page_href(url: str) -> str:
    if url.startswith("seed:") and url[5:].isdigit():
        return f"/story/{url[5:]}"
    return href("/page", url=url)


def marked(snippet: str, spans: list[tuple[int, int]]) -> list[tuple[bool, str]]:
    """A snippet cut into (highlighted, text) pieces at the hit's match offsets."""
    pieces: list[tuple[bool, str]] = []
    at = 0
    for start, end in sorted(spans):
        start, end = max(start, at), min(end, len(snippet))
        if end <= start:
            continue
        if start > at:
            pieces.append((False, snippet[at:start]))
        pieces.append((True, snippet[start:end]))
        at = end
    if at < len(snippet):
        pieces.append((False, snippet[at:]))
    return pieces


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("archiver.web", "templates"),
                jinja2.PackageLoader("archiver.changes", "templates"),
            ]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        rows=rows,
        percent=lambda x: f"{x:.0%}",
        href=href,
        page_href=page_href,
        marked=marked,
        links=Links(),
    )
    return env


def page(name: str, code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=code)


@cache
def report_css() -> str:
    """The change report's style sheet, shared by the UI."""
    return environment().get_template("style.css.j2").render()
