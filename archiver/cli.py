"""The command line: thin click commands that parse, call one library function, print.

Domain errors (:class:`ArchiverError`) become a one-line message on stderr and the exit
status of their kind (2 for bad input, 1 otherwise; `diff` follows diff(1)). Only this
module imports click.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from . import __version__, pipeline, queries
from .config import Config, load_config
from .errors import ArchiverError, ConfigError

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_CONFIG = "config/archiver.toml"

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Context:
    def __init__(self, config_path: str | None, store_path: str | None) -> None:
        self.config_path = config_path
        self.store_path = store_path
        self._config: Config | None = None

    def config(self) -> Config:
        if self._config is None:
            path = self.config_path or DEFAULT_CONFIG
            self._config = load_config(path, store_override=self.store_path)
        return self._config

    def store(self) -> pipeline.Store:
        if self.store_path and not self.config_path and not Path(DEFAULT_CONFIG).is_file():
            return pipeline.Store(Path(self.store_path).resolve())
        return pipeline.Store(self.config().store)


def _fail(message: str, code: int) -> None:
    click.echo(f"archiver: error: {message}", err=True)
    sys.exit(code)


def handle_errors(trouble_code: int | None = None) -> Callable[[F], F]:
    """Map ArchiverError to a one-line message; ``trouble_code`` overrides every code."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except ArchiverError as exc:
                _fail(str(exc), trouble_code if trouble_code is not None else exc.exit_code)
            except KeyboardInterrupt:
                _fail("interrupted", 130)
            except OSError as exc:  # a full disk, a vanished file: still one line
                logging.getLogger("archiver").debug("system error", exc_info=True)
                _fail(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
                      trouble_code if trouble_code is not None else 1)
            except Exception as exc:  # a bug: one line, the traceback only with --verbose
                logging.getLogger("archiver").debug("internal error", exc_info=True)
                _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with --verbose"
                      " and report it", trouble_code if trouble_code is not None else 1)

        return wrapper  # type: ignore[return-value]

    return decorate


def _json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"Config file (default: {DEFAULT_CONFIG}).",
)
@click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False),
    help="Archive root (default: store.path from the config).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every event.")
@click.option("-q", "--quiet", is_flag=True, help="Log errors only.")
@click.version_option(__version__, prog_name="archiver")
@click.pass_context
def main(
    ctx: click.Context, config_path: str | None, store_path: str | None, verbose: bool, quiet: bool
) -> None:
    """Archive a news story and its sources from a seed post."""
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("httpx", "httpcore", "hpack", "charset_normalizer", "apscheduler.scheduler"):
        # their per-request lines repeat ours; keep their warnings only
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    ctx.obj = Context(config_path, store_path)


pass_context = click.make_pass_decorator(Context)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
@handle_errors()
def crawl(ctx: Context, as_json: bool) -> None:
    """Run one crawl: seeds, their references, targets and feeds."""
    config = ctx.config()
    with pipeline.Store(config.store) as store:
        if err.is_terminal and not as_json:
            with Progress(
                TextColumn("crawling"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=err,
                transient=True,
            ) as bar:
                task = bar.add_task("", total=None)
                summary = pipeline.crawl(
                    config,
                    store,
                    progress=lambda o: bar.update(
                        task, advance=1, description=f"{o.state} {o.url}"
                    ),
                )
        else:
            summary = pipeline.crawl(config, store)
    data = summary.as_json()
    if as_json:
        _json(data)
    else:
        table = Table("state", "version", "url", "error", title=f"crawl run {summary.run_id}")
        for o in summary.outcomes:
            table.add_row(o.state, str(o.version or ""), o.url, o.error or "")
        out.print(table)
        out.print(
            f"fetched {data['fetched']}, new versions {data['new_versions']}, "
            f"unchanged {data['unchanged']}, not modified {data['not_modified']}, "
            f"errors {len(summary.errors)}"
        )
        html = [r for r in summary.reports if r.endswith(".html")]
        if html:
            out.print(f"report: {html[0]}")
    if summary.errors:
        if summary.fetched == 0:
            refused = all("non-public address" in e["error"] for e in summary.errors)
            hint = (
                (
                    " (all refused by the SSRF guard; crawl.allow_private_networks = true"
                    " allows private hosts)"
                )
                if refused
                else ""
            )
            click.echo(
                f"archiver: error: none of the {len(summary.errors)} URLs could be fetched{hint}",
                err=True,
            )
        sys.exit(1)


@main.command()
@click.argument("query")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--site", help="Only pages of this host (and its sub-domains).")
@click.option("--since", help="Published on or after (ISO date or time).")
@click.option("--until", help="Published on or before (ISO date or time).")
@click.option("--all-versions", is_flag=True,
              help="Every version that matches, grouped by page, oldest first.")
@click.option("--any", "any_words", is_flag=True,
              help="Rank pages holding any of the words (default: all of them).")
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
    -word, ( ), and the prefixes title:, author:, site:.
    """
    with ctx.store() as store:
        hits = queries.search(
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
        _json([queries.hit_json(h) for h in hits])
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
            out.print(Text.assemble((f"{n}. ", "bold"), (hit.title or "(untitled)", "bold")))
            out.print(f"   {hit.url}  v{hit.version}  {dates}", style="dim")
        previous_url = hit.url
        snippet = Text("   " + hit.snippet)
        for start, end in hit.highlights:
            snippet.stylize("bold yellow", start + 3, end + 3)
        out.print(snippet)


@main.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def history(ctx: Context, url: str, as_json: bool) -> None:
    """The versions of one page."""
    with ctx.store() as store:
        target, versions = queries.history(store, url)
    if as_json:
        _json([queries.history_json(v) for v in versions])
        return
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
        data = queries.show(store, url, number)
    if as_json:
        _json(data)
        return
    for key in ("title", "url", "version", "author", "published_at", "modified_at"):
        if data.get(key) is not None:
            out.print(f"{key}: {data[key]}", style="bold" if key == "title" else None)
    via = data["provenance"]
    score = f", relevance {via['score']}" if via.get("score") is not None else ""
    out.print(f"via: {via['via']} (depth {via['depth']}{score})", style="dim")
    out.print()
    out.print(data["text"])


def _ignore_rules(ctx: Context) -> tuple[Any, ...]:
    """The config's [[ignore]] rules, or none when only --store was given."""
    if ctx.store_path and not ctx.config_path and not Path(DEFAULT_CONFIG).is_file():
        return ()
    return ctx.config().ignore


def _write_output(rendered: str, output: str | None) -> None:
    if output:
        try:
            Path(output).write_text(rendered + "\n", encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror}", 2)
    else:
        click.echo(rendered)


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
            change: Any = queries.diff_against_seed(store, url, to_version, seed_id, ignore=rules)
        else:
            change = queries.diff_versions(
                store, url, from_version, to_version, ignore=rules, granularity=granularity
            )
        fmt = fmt or ("terminal" if out.is_terminal and not output else "text")
        if fmt == "terminal" and not output:
            from .render import terminal

            out.print(terminal(change, out.width, color=out.color_system is not None))
        else:
            base = Path(output).resolve().parent if output else Path.cwd()
            _write_output(
                queries.render_diff(
                    change, "text" if fmt == "terminal" else fmt, link_base=base, store=store
                ),
                output,
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
    from . import report as reports

    rules = _ignore_rules(ctx)
    with ctx.store() as store:
        built = reports.build_reports(store, run_id=run_id, since=since, ignore=rules)
        base = Path(output).resolve().parent if output else Path.cwd()
        rendered = reports.render_reports(
            built, "json" if as_json else fmt, link_base=base, warc_dir=store.warc_dir
        )
    _write_output(rendered, output)


@main.group()
def seeds() -> None:
    """Register and list seed posts."""


@seeds.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_context
@handle_errors()
def seeds_add(ctx: Context, file: str) -> None:
    """Register a seed post (text, Markdown or HTML) and index it."""
    with ctx.store() as store:
        row, created = pipeline.register_seed(store, Path(file).resolve())
    state = "registered" if created else "already registered"
    out.print(f"seed {row.id} {state}: {row.title} ({len(row.data['references'])} references)")


@seeds.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def seeds_list(ctx: Context, as_json: bool) -> None:
    """List registered seed posts."""
    with ctx.store() as store:
        rows = store.catalog.seeds() if store.exists() else []
    if as_json:
        _json([queries.seed_json(r) for r in rows])
        return
    table = Table("id", "posted", "title", "references")
    for r in rows:
        table.add_row(
            str(r.id),
            r.posted_at or "",
            r.title,
            "\n".join(ref["url"] for ref in r.data["references"]),
        )
    out.print(table)


@main.command()
@pass_context
@handle_errors()
def reindex(ctx: Context) -> None:
    """Rebuild the search index from the catalog."""
    with ctx.store() as store:
        if not store.exists():
            raise ConfigError(f"no archive at {store.root}")
        with Progress(
            TextColumn("reindexing"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("", total=None)
            count = queries.reindex(
                store, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
    out.print(f"indexed {count} documents")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def runs(ctx: Context, as_json: bool) -> None:
    """Crawl-run history."""
    with ctx.store() as store:
        rows = store.catalog.runs() if store.exists() else []
    if as_json:
        _json([queries.run_json(r) for r in rows])
        return
    table = Table("run", "started", "finished", "trigger", "outcome", "fetched", "new", "errors")
    for r in rows:
        table.add_row(
            str(r.id),
            r.started_at,
            r.finished_at or "",
            r.trigger,
            r.outcome or "",
            str(r.fetched),
            str(r.new_versions),
            str(len(r.errors)),
        )
    out.print(table)


@main.command()
@click.option("--list", "list_jobs", is_flag=True, help="Show jobs, triggers, next run times.")
@click.option("--json", "as_json", is_flag=True, help="With --list: print JSON.")
@pass_context
@handle_errors()
def schedule(ctx: Context, list_jobs: bool, as_json: bool) -> None:
    """Crawl on the [schedule] in the foreground until SIGINT/SIGTERM."""
    from . import schedule as scheduling  # APScheduler only for this command

    config = ctx.config()
    if list_jobs:
        jobs = scheduling.list_jobs(config)
        if as_json:
            _json(jobs)
            return
        table = Table("job", "trigger", "next run", "last run", "scheduler")
        for job in jobs:
            last = job["last_run"]
            table.add_row(
                job["id"],
                job["trigger"] + (f" (jitter {job['jitter']})" if job["jitter"] != "0s" else ""),
                job["next_run_time"] + (" (overdue)" if job["overdue"] else ""),
                f"{last['outcome']} (run {last['run_id'] or '-'}, {last['finished_at']})"
                if last else "",
                f"running, pid {job['scheduler_pid']}" if job["scheduler_pid"] else "stopped",
            )
        out.print(table)
        return
    if as_json:
        from .errors import UsageError

        raise UsageError("--json goes with --list")
    if logging.getLogger().getEffectiveLevel() <= logging.WARNING:  # not --quiet
        logging.getLogger(scheduling.__name__).setLevel(logging.INFO)
    scheduling.run_scheduler(config, started=lambda due: err.print(
        f"scheduler started ({scheduling.describe(config.schedule)}); next run at"
        f" {due.isoformat(timespec='seconds')}; stop with Ctrl-C or SIGTERM"))


@main.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def gc(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Delete versions outside [retention], their captures and unreferenced WARC files."""
    from .retention import collect

    config = ctx.config()
    with pipeline.Store(config.store) as store:
        result = collect(store, config, dry_run=dry_run)
    if as_json:
        _json(result.as_json(dry_run))
        return
    if not result.enabled:
        err.print("retention is off: set keep_last and/or keep_days in [retention]")
        return
    table = Table("url", "version", "fetched", title="versions to delete" if dry_run else
                  "deleted versions")
    for v in result.versions:
        table.add_row(v.url, str(v.version), v.fetched_at)
    if result.versions:
        out.print(table)
    for (url, number), names in sorted(result.pinned.items()):
        out.print(f"kept {url} v{number}: referred to by {', '.join(names)}")
    out.print(
        f"{'would delete' if dry_run else 'deleted'} {len(result.versions)} versions,"
        f" {len(result.capture_ids)} captures, {len(result.warc_files)} WARC files"
        f" ({result.bytes_freed} bytes); kept {result.kept_versions} versions"
    )


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def import_(ctx: Context, files: tuple[str, ...], as_json: bool) -> None:
    """Ingest WARC files made by other tools (wget, Browsertrix) as a crawl would."""
    from .importer import import_warcs  # keeps warcio's reader off other commands' start-up

    with ctx.store() as store:
        summary = import_warcs(store, [Path(f) for f in files])
    data = summary.as_json()
    if as_json:
        _json(data)
        return
    for entry in summary.files:
        note = f" ({entry['skipped']})" if entry.get("skipped") else ""
        out.print(f"{entry['file']}: {entry['records']} records{note}")
    crawl = summary.crawl
    new = crawl.count("new", "changed") if crawl else 0
    errors = len(crawl.errors) if crawl else 0
    out.print(f"run {summary.run_id}: new versions {new}, errors {errors}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def verify(ctx: Context, as_json: bool) -> None:
    """Re-read every WARC record the catalog references and check its digest."""
    from .verify import verify_store

    with ctx.store() as store:
        report = verify_store(store)
    if as_json:
        _json(report)
    else:
        out.print(f"checked {report['checked']} records, {len(report['problems'])} problems")
        for problem in report["problems"]:
            out.print(f"  {problem}")
        for tail in report["torn_tails"]:
            out.print(f"  note: {tail['file']} ends in a torn record ({tail['torn_bytes']} bytes"
                      " after the last complete one; nothing refers to it)")
    if report["problems"]:
        sys.exit(1)
