"""Commands that read the archive: search, history, show, diff, report, runs, verify."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from archiver import api

from .app import (
    DEFAULT_CONFIG,
    Context,
    _fail,
    _json,
    clean,
    clean_spans,
    err,
    handle_errors,
    json_text,
    main,
    out,
    pass_context,
    scrub,
)


@main.command()
@click.argument("query")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--site", help="Only pages of this host (and its sub-domains).")
@click.option("--since", help="Published on or after (ISO date or time).")
@click.option("--until", help="Published on or before (ISO date or time).")
@click.option(
    "--all-versions",
    is_flag=True,
    help="Every version that matches, grouped by page, oldest first.",
)
@click.option(
    "--any",
    "any_words",
    is_flag=True,
    help="Rank pages holding any of the words (default: all of them).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def search(
    ctx: Context,
    query: str,
    limit: int,
    site: str | None,
    since: str | None,
    until: str | None,
    all_versions: bool,
    any_words: bool,
    as_json: bool,
) -> None:
    """Full-text search of the archive (Korean-aware).

    QUERY: words (all must match; 올트먼 finds 올트먼이), "exact phrases", OR, NOT or
    -word, ( ), and the prefixes title:, author:, site:. site:HOST alone lists that
    site's pages, newest first (by publication date, else fetch time). At most 100 words
    and operators, nested at most 20 deep.
    """
    with ctx.store() as store:
        hits = api.search(
            store,
            query,
            limit=limit,
            site=site,
            since=since,
            until=until,
            all_versions=all_versions,
            any_words=any_words,
        )
    if as_json:
        _json([h.as_json() for h in hits])
        return
    if not hits:
        err.print("no matches")
        return
    previous_url = None
    n = 0
    for hit in hits:
        dates = f"published {hit.published_at or '?'} · fetched {hit.fetched_at or '?'}"
        if all_versions and hit.url == previous_url:
            out.print(f"   v{hit.version}  {dates}", style="dim")  # same page, next version
        else:
            n += 1
            title = clean(hit.title) or "(untitled)"  # cleaned before Rich makes a Text of it
            out.print(Text.assemble((f"{n}. ", "bold"), (title, "bold")))
            out.print(f"   {hit.url}  v{hit.version}  {dates}", style="dim")
        previous_url = hit.url
        text, highlights = clean_spans(hit.snippet, hit.highlights)
        snippet = Text("   " + text)
        for start, end in highlights:
            snippet.stylize("bold yellow", start + 3, end + 3)
        out.print(snippet)


@main.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def history(ctx: Context, url: str, as_json: bool) -> None:
    """The versions of one page, or of a seed post (seed:N)."""
    with ctx.store() as store:
        found = api.history(store, url)
    if as_json:
        _json(found.as_json())
        return
    if isinstance(found, api.SeedHistory):
        seed = found.seed
        since = f" since {seed.state_since}" if seed.state == "deleted" else ""
        err.print(f"{seed.url} ({seed.page_url or seed.path}): {seed.state}{since}")
        table = Table("version", "fetched", "references", "content hash", "title")
        for s in found.versions:
            table.add_row(
                str(s.version),
                s.fetched_at,
                str(len(s.data["references"])),
                s.content_hash[:12],
                s.title,
            )
        out.print(table)
        return
    target, versions = found.target, found.versions
    err.print(
        f"{target.url}: {target.state}"
        + (f" ({target.last_error}, {target.tries} tries)" if target.last_error else "")
    )
    table = Table("version", "fetched", "status", "content hash", "title")
    for v in versions:
        table.add_row(
            str(v.version), v.fetched_at, str(v.status or ""), v.content_hash[:12], v.title or ""
        )
    out.print(table)


@main.command()
@click.argument("url")
@click.option("--version", "number", type=int, help="Version number (default: latest).")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def show(ctx: Context, url: str, number: int | None, as_json: bool) -> None:
    """One version's extracted text and metadata."""
    with ctx.store() as store:
        view = api.show(store, url, number)
    if as_json:
        _json(view.as_json())
        return
    for key in ("title", "url", "version", "author", "published_at", "modified_at"):
        value = getattr(view, key)
        if value is not None:
            out.print(f"{key}: {value}", style="bold" if key == "title" else None)
    via = view.provenance
    score = f", relevance {via.score}" if via.score is not None else ""
    out.print(f"via: {via.via} (depth {via.depth}{score})", style="dim")
    out.print()
    out.print(view.text)


def _ignore_rules(ctx: Context) -> tuple[Any, ...]:
    """The config's [[ignore]] rules, or none when only --store was given."""
    if ctx.store_path and not ctx.config_path and not Path(DEFAULT_CONFIG).is_file():
        return ()
    return ctx.config().ignore


def _write_output(rendered: str, output: str | None, fmt: str) -> None:
    """To FILE as rendered; to stdout without terminal control (JSON: escaped, the same data)."""
    if output:
        try:
            Path(output).write_text(rendered + "\n", encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror}", 2)
    else:
        click.echo(json_text(rendered) if fmt == "json" else clean(rendered))


@main.command()
@click.argument("url")
@click.option("--from", "from_version", type=int, help="Old version (default: previous).")
@click.option("--to", "to_version", type=int, help="New version (default: latest).")
@click.option("--against-seed", is_flag=True, help="Compare with the seed post instead.")
@click.option("--seed", "seed_id", type=int, help="Seed id for --against-seed.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["terminal", "text", "markdown", "json", "html"]),
    help="Default: coloured on a terminal, else text (a unified diff).",
)
@click.option(
    "--granularity",
    type=click.Choice(["paragraph", "sentence", "word"]),
    default="sentence",
    show_default=True,
    help="Unit of the added/removed lists and of the text diff.",
)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@pass_context
@handle_errors(trouble_code=2)
def diff(
    ctx: Context,
    url: str,
    from_version: int | None,
    to_version: int | None,
    against_seed: bool,
    seed_id: int | None,
    fmt: str | None,
    granularity: str,
    output: str | None,
) -> None:
    """Differences between two versions, or against the seed post (exit 0 same, 1 different)."""
    rules = _ignore_rules(ctx)
    with ctx.store() as store:
        if against_seed:
            change: Any = api.diff_against_seed(store, url, to_version, seed_id, ignore=rules)
        else:
            change = api.diff(
                store, url, from_version, to_version, ignore=rules, granularity=granularity
            )
        fmt = fmt or ("terminal" if out.is_terminal and not output else "text")
        if fmt == "terminal" and not output:
            from archiver.changes.render import terminal

            # The renderer makes Texts of archived strings: cleaned first, as Rich drops the
            # BEL that ends an escape sequence when it makes a Text.
            out.print(terminal(scrub(change), out.width, color=out.color_system is not None))
        else:
            base = Path(output).resolve().parent if output else Path.cwd()
            _write_output(
                api.render_diff(
                    change, "text" if fmt == "terminal" else fmt, link_base=base, store=store
                ),
                output,
                fmt,
            )
    sys.exit(1 if change.changed else 0)


@main.command()
@click.option("--run", "run_id", type=int, help="Crawl run id (default: the last run).")
@click.option("--since", help="Every run started on or after this ISO date or time.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "html", "json"]),
    default="markdown",
    show_default=True,
)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@pass_context
@handle_errors()
def report(
    ctx: Context, run_id: int | None, since: str | None, fmt: str, output: str | None, as_json: bool
) -> None:
    """Change report of crawl runs: new, changed, unchanged pages and errors."""
    from archiver.changes.report import render_reports

    rules = _ignore_rules(ctx)
    with ctx.store() as store:
        built = api.report(store, run_id=run_id, since=since, ignore=rules)
        base = Path(output).resolve().parent if output else Path.cwd()
        fmt = "json" if as_json else fmt
        rendered = render_reports(
            built, fmt, link_base=base, warc_dir=store.warc_dir, remote=store.remote
        )
    _write_output(rendered, output, fmt)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def runs(ctx: Context, as_json: bool) -> None:
    """Crawl-run history, with the notifications each run sent."""
    with ctx.store() as store:
        rows = api.runs(store)
        sent = api.notifications(store)
    if as_json:
        _json(
            [
                {**r.as_json(), "notifications": [n.as_json() for n in sent.get(r.id, [])]}
                for r in rows
            ]
        )
        return
    table = Table(
        "run", "started", "finished", "trigger", "outcome", "fetched", "new", "errors", "notify"
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.started_at,
            r.finished_at or "",
            r.trigger,
            (r.outcome or "") + (f" ({r.reason})" if r.reason else ""),
            str(r.fetched),
            str(r.new_versions),
            str(len(r.errors)),
            _notify_cell(sent.get(r.id, [])),
        )
    out.print(table)
    for r in rows:
        for n in sent.get(r.id, []):
            if n.state != "sent" or n.attempts > 1:
                out.print(f"run {r.id}: notification to {n.label}: {_notify_line(n)}")


_NOTIFY_STATES = {
    "sent": "sent",
    "pending": "not sent",
    "sending": "sending",
    "unknown": "unknown",
    "dropped": "dropped",
}


def _notify_cell(rows: list[Any]) -> str:
    counts: dict[str, int] = {}
    for n in rows:
        state = _NOTIFY_STATES.get(n.state, n.state)
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{count} {state}" for state, count in counts.items())


def _notify_line(n: Any) -> str:
    tries = f"{n.attempts} attempt{'s' if n.attempts != 1 else ''}"
    if n.state == "sent":
        return f"sent at {n.sent_at} after {tries} (earlier: {n.error})"
    if n.state == "pending":
        return f"not sent after {tries} ({n.error}); retried at the next run"
    return f"{n.state} ({n.error})"


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def verify(ctx: Context, as_json: bool) -> None:
    """Re-read every WARC record the catalog references and check its digest."""
    with ctx.store() as store:
        report = api.verify(store)
    if as_json:
        _json(report.as_json())
    else:
        out.print(f"checked {report.checked} records, {len(report.problems)} problems")
        for problem in report.problems:
            out.print(f"  {problem}")
        for tail in report.torn_tails:
            out.print(
                f"  note: {tail.file} ends in a torn record ({tail.torn_bytes} bytes"
                " after the last complete one; nothing refers to it)"
            )
        for name in report.waiting or []:
            out.print(f"  waiting: {name} is in the spool, not yet on S3 (`archiver upload`)")
        for name in report.lone_originals:
            out.print(f"  note: {name} has no recompressed copy in warc/ (nothing refers to it)")
    if report.problems:
        sys.exit(1)
