"""The UI's routes: one handler per page, each calling the library API and a template.

Handlers are plain functions: Starlette runs them in its thread pool, and each thread
keeps its own :class:`Store` (a SQLite connection belongs to one thread). The catalog is
in WAL mode and every page a crawl records is one transaction, so a reader never waits
for a crawl and never sees half of a version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from archiver import api, views
from archiver.errors import (
    ArchiverError,
    NotFoundError,
    QueryError,
    SearchIndexError,
    UsageError,
)
from archiver.storage.store import Store
from archiver.text.ignore import IgnoreRule

from . import render, snapshot
from .render import PER_PAGE, page
from .security import SecurityHeaders

log = logging.getLogger(__name__)

MAX_SEARCH_PAGES = 50  # 1,000 hits: the most `archiver search --limit` gives
GRANULARITIES = ("sentence", "paragraph", "word")


class Archive:
    """The store the UI reads, one Store per thread, and the config's ignore rules.
    ``catalog``: a PostgreSQL catalog's DSN (each thread holds its own connection), None
    for the embedded ``catalog.sqlite3``."""

    def __init__(self, root: Path, catalog: str | None, ignore: Sequence[IgnoreRule]) -> None:
        self.root = root
        self.catalog = catalog
        self.ignore = tuple(ignore)
        self._local = threading.local()

    def store(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.root, self.catalog)
        return store

    def searcher(self) -> views.Searcher:
        searcher: views.Searcher | None = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._local.searcher = views.Searcher(self.store())
        return searcher


def _archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def _number(request: Request, name: str, *, low: int = 1) -> int | None:
    """An optional integer parameter; a 400 page for anything else."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or int(raw) < low:
        raise UsageError(f"{name} must be a whole number of at least {low}, not {raw!r}")
    return int(raw)


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    if not value:
        raise UsageError(f"the parameter {name!r} is missing")
    return value


# -- pages ------------------------------------------------------------------------------


def home(request: Request) -> Response:
    archive = _archive(request)
    return page(
        "home.html.j2",
        stories=views.stories(archive.store(), ignore=archive.ignore),
        index=archive.searcher().status(),
    )


def story(request: Request) -> Response:
    archive = _archive(request)
    number = request.path_params["number"]
    found = views.story(archive.store(), f"seed:{number}", ignore=archive.ignore)
    return page("story.html.j2", story=found)


def search(request: Request) -> Response:
    searcher = _archive(request).searcher()
    params = request.query_params
    query = params.get("q", "").strip()
    site, since, until = (params.get(k, "").strip() or None for k in ("site", "since", "until"))
    all_versions, any_words = params.get("all") == "1", params.get("any") == "1"
    form: dict[str, object] = {"q": query, "site": site, "since": since, "until": until}
    form.update({"all": all_versions, "any": any_words})
    number = _number(request, "p") or 1
    if number > MAX_SEARCH_PAGES:
        raise UsageError(f"results stop at page {MAX_SEARCH_PAGES}")
    index = searcher.status()
    hits: list[object] = []
    error = None
    more = False
    if query and index.problem is None:
        try:
            found = searcher.search(
                query,
                limit=number * PER_PAGE + 1,
                site=site,
                since=since,
                until=until,
                all_versions=all_versions,
                any_words=any_words,
            )
        except QueryError as exc:  # a mistyped query is said inline, on the same form
            error = str(exc)
        else:
            hits = list(found[(number - 1) * PER_PAGE : number * PER_PAGE])
            more = len(found) > number * PER_PAGE
    status = 503 if index.problem and query else 200
    return page(
        "search.html.j2",
        status,
        form=form,
        hits=hits,
        error=error,
        index=index,
        number=number,
        more=more,
        per_page=PER_PAGE,
    )


def page_view(request: Request) -> Response:
    archive = _archive(request)
    store = archive.store()
    url = _required(request, "url")
    found = views.page(store, url)
    shown = claims = None
    if found.versions:
        shown = api.show(store, found.target.url, _number(request, "v"))
        if found.target.seed_id is not None:  # a page of a story: the post's claims in it
            claims = api.diff_against_seed(
                store, found.target.url, shown.version, ignore=archive.ignore
            ).alignment
    rendered = {c.id for c in found.captures if c.record_type == "conversion"}
    return page("page.html.j2", view=found, shown=shown, claims=claims, rendered=rendered)


def diff(request: Request) -> Response:
    archive = _archive(request)
    store = archive.store()
    url = _required(request, "url")
    if request.query_params.get("seed") == "1":
        change: object = api.diff_against_seed(
            store, url, _number(request, "to"), ignore=archive.ignore
        )
        return page("diff.html.j2", change=change, is_seed=True)
    granularity = request.query_params.get("granularity", "sentence")
    if granularity not in GRANULARITIES:
        raise UsageError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    change = api.diff(
        store,
        url,
        _number(request, "from"),
        _number(request, "to"),
        ignore=archive.ignore,
        granularity=granularity,
    )
    return page("diff.html.j2", change=change, is_seed=False)


def runs(request: Request) -> Response:
    store = _archive(request).store()
    views.index_status(store)  # says "no archive" the same way as every other page
    return page("runs.html.j2", runs=list(reversed(api.runs(store))))


def run(request: Request) -> Response:
    archive = _archive(request)
    number = request.path_params["number"]
    reports = api.report(archive.store(), run_id=number, ignore=archive.ignore)
    errors = views.run_errors(archive.store(), number)
    notifications = api.notifications(archive.store()).get(number, [])
    return page(
        "run.html.j2", reports=reports, errors=errors, notifications=notifications, listed=100
    )


def snapshot_page(request: Request) -> Response:
    """The archived response in a sandboxed frame; ``dom=1``: the DOM a browser rendered
    from it (a ``conversion`` record), behind the same sandbox and policy."""
    store = _archive(request).store()
    url = _required(request, "url")
    number = _number(request, "v")
    view = api.show(store, url, number)
    rendering = views.rendering(store, url, number)
    dom = request.query_params.get("dom") == "1"
    if dom and rendering is None:
        raise NotFoundError(f"version {view.version} of {view.url} was not rendered")
    return page("snapshot.html.j2", view=view, dom=dom, rendered=rendering is not None)


def snapshot_raw(request: Request) -> Response:
    store = _archive(request).store()
    found = views.snapshot(
        store,
        _required(request, "url"),
        _number(request, "v"),
        rendered=request.query_params.get("dom") == "1",
    )
    return snapshot.response(found)


def style(request: Request) -> Response:
    own = resources.files(__package__).joinpath("static/web.css").read_text(encoding="utf-8")
    return Response(render.report_css() + "\n" + own, media_type="text/css")


# -- errors -----------------------------------------------------------------------------


def _problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        status, message = exc.status_code, str(exc.detail)
    elif isinstance(exc, SearchIndexError):
        status, message = 503, str(exc)
    elif isinstance(exc, NotFoundError):
        status, message = 404, str(exc)
    elif isinstance(exc, UsageError):
        status, message = 400, str(exc)
    elif isinstance(exc, ArchiverError):
        status, message = 500, str(exc)
    else:  # a bug: the message stays in the log, the page says only that it happened
        log.exception("internal error on %s", request.url.path)
        status, message = 500, "internal error; see the server's log"
    return page("message.html.j2", status, status=status, message=message)


def create_app(
    root: Path,
    *,
    catalog: str | None = None,
    ignore: Sequence[IgnoreRule] = (),
    allowed_hosts: Sequence[str] = ("*",),
) -> Starlette:
    """The UI over the store at ``root``. ``allowed_hosts``: the Host names answered (a
    server on loopback answers only loopback names, so that a web page cannot reach it
    through a DNS name rebound to 127.0.0.1). ``catalog``: a PostgreSQL catalog's DSN."""
    routes = [
        Route("/", home),
        Route("/story/{number:int}", story),
        Route("/search", search),
        Route("/page", page_view),
        Route("/diff", diff),
        Route("/runs", runs),
        Route("/runs/{number:int}", run),
        Route("/snapshot", snapshot_page),
        Route("/snapshot/raw", snapshot_raw),
        Route("/static/style.css", style),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
        ],
        exception_handlers={ArchiverError: _problem, HTTPException: _problem, Exception: _problem},
    )
    app.state.archive = Archive(root, catalog, ignore)
    return app
