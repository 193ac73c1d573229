"""Commands that write the archive: crawl, seeds, reindex, schedule, gc, import, migrate."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from archiver import api
from archiver.config import Config, catalog_setting
from archiver.errors import ConfigError, UsageError
from archiver.storage.store import Store

if TYPE_CHECKING:
    from archiver.crawler.importer import ImportSummary

from .app import Context, _json, clean, err, handle_errors, main, out, pass_context


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
@handle_errors()
def crawl(ctx: Context, as_json: bool) -> None:
    """Run one crawl: seeds, their references, targets and feeds."""
    from archiver.crawler import (
        pipeline,  # httpx and the extractor load only for commands that fetch
    )

    config = ctx.config(sending=True)
    with Store.from_config(config) as store:
        if err.is_terminal and not as_json:
            with Progress(
                TextColumn("crawling"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}", markup=False),  # "new URL": a URL is not markup
                console=err,
                transient=True,
            ) as bar:
                task = bar.add_task("", total=None)
                summary = pipeline.crawl(
                    config,
                    store,
                    progress=lambda o: bar.update(
                        task, advance=1, description=clean(f"{o.state} {o.url}")
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
        for n in summary.notifications:
            state = "sent" if n["state"] == "sent" else f"not sent ({n['error']}); see `runs`"
            out.print(f"notification to {n['to']}: {state}")
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


@main.group()
def seeds() -> None:
    """Register and list seed posts."""


@seeds.command("add")
@click.argument("file", metavar="FILE|URL")
@pass_context
@handle_errors()
def seeds_add(ctx: Context, file: str) -> None:
    """Register a seed post (a text, Markdown or HTML file, or the post's URL) and index it."""
    from archiver.crawler import pipeline, seedpages

    if seedpages.looks_like_url(file):
        # The post's page is fetched with the config's [crawl] settings (defaults with
        # --store alone), archived, and registered only if it holds a post.
        config = ctx.config() if ctx.config_path or not ctx.store_path else None
        with ctx.store() as store:
            row, created = seedpages.add_seed_url(
                config or Config(path=None, store=store.root), store, file
            )
    else:
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
        rows = api.seeds(store)
    if as_json:
        _json([r.as_json() for r in rows])
        return
    table = Table("id", "posted", "title", "references", "versions", "state")
    for r in rows:
        removed = [f"{ref['url']} (removed)" for ref in r.data.get("removed_references", [])]
        table.add_row(
            str(r.id),
            r.posted_at or "",
            r.title + (f"\n{r.page_url}" if r.page_url else ""),
            "\n".join([*(ref["url"] for ref in r.data["references"]), *removed]),
            str(r.versions),
            r.state + (f" since {r.state_since}" if r.state == "deleted" else ""),
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
            count = api.reindex(
                store, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
    out.print(f"indexed {count} documents")


@main.command()
@click.option("--list", "list_jobs", is_flag=True, help="Show jobs, triggers, next run times.")
@click.option("--json", "as_json", is_flag=True, help="With --list: print JSON.")
@pass_context
@handle_errors()
def schedule(ctx: Context, list_jobs: bool, as_json: bool) -> None:
    """Crawl on the [schedule] in the foreground until SIGINT/SIGTERM."""
    from archiver.crawler import schedule as scheduling  # APScheduler only for this command

    config = ctx.config()
    if config.catalog is not None:  # cluster mode: Procrastinate's periodic tick
        _cluster_schedule(ctx, list_jobs, as_json)
        return
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
                if last
                else "",
                f"running, pid {job['scheduler_pid']}" if job["scheduler_pid"] else "stopped",
            )
        out.print(table)
        return
    if as_json:
        raise UsageError("--json goes with --list")
    ctx.config(sending=True)  # a bad [[notify]] URL stops the scheduler before it starts
    if logging.getLogger().getEffectiveLevel() <= logging.WARNING:  # not --quiet
        logging.getLogger(scheduling.__name__).setLevel(logging.INFO)
    scheduling.run_scheduler(
        config,
        started=lambda due: err.print(
            f"scheduler started ({scheduling.describe(config.schedule)}); next run at"
            f" {due.isoformat(timespec='seconds')}; stop with Ctrl-C or SIGTERM"
        ),
    )


@main.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def gc(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Delete versions outside [retention], their captures and unreferenced WARC files."""
    from archiver.crawler.retention import collect

    config = ctx.config()
    with Store.from_config(config) as store:
        result = collect(store, config, dry_run=dry_run)
    if as_json:
        _json(result.as_json(dry_run))
        return
    if not result.enabled:
        err.print("retention is off: set keep_last and/or keep_days in [retention]")
        return
    table = Table(
        "url", "version", "fetched", title="versions to delete" if dry_run else "deleted versions"
    )
    for v in result.versions:
        table.add_row(v.url, str(v.version), v.fetched_at)
    if result.versions:
        out.print(table)
    for (url, number), names in sorted(result.pinned.items()):
        out.print(f"kept {url} v{number}: referred to by {', '.join(names)}")
    for name, _size, reason in result.kept_files:  # records archiver did not ingest
        out.print(f"kept {name}: {reason}")
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
    """Ingest WARC, ARC and WACZ files made by other tools (wget, Browsertrix, Heritrix)
    or by `archiver export --wacz`."""
    from archiver.crawler.importer import (
        import_warcs,  # keeps warcio's reader off other commands' start-up
    )

    if any(f.lower().endswith(".wacz") for f in files):
        if len(files) > 1:
            raise UsageError("import one WACZ file at a time (and no WARC files with it)")
        _import_wacz(ctx, Path(files[0]), as_json)
        return
    with ctx.store() as store:
        # crawl.max_bytes and the bomb guard bound imported bodies (--store alone: defaults)
        crawl_config = ctx.config().crawl if ctx.config_path or not ctx.store_path else None
        summary = import_warcs(store, [Path(f) for f in files], crawl_config=crawl_config)
    _print_import(summary, as_json)


def _import_wacz(ctx: Context, path: Path, as_json: bool) -> None:
    from archiver.crawler.wacz_import import import_wacz

    with ctx.store() as store:
        crawl_config = ctx.config().crawl if ctx.config_path or not ctx.store_path else None
        result = import_wacz(store, path, crawl_config=crawl_config)
    if as_json:
        _json(result.as_json())
        if not result.ok:
            sys.exit(1)
        return
    if result.summary is None and not result.seeds:
        out.print(f"{path}: no WARC record and no seed post to import")
    for seed in result.seeds:
        state = "registered" if seed["created"] else "already registered"
        out.print(f"{path}: seed post {seed['seed']} {state}: {seed['title']}")
    if result.summary is not None:
        _print_import(result.summary, False)


def _print_import(summary: ImportSummary, as_json: bool) -> None:
    data = summary.as_json()
    if as_json:
        _json(data)
        if not summary.ok:  # cut short (its warning names the byte offset), or no capture
            sys.exit(1)
        return
    for entry in summary.files:
        if entry.get("skipped"):
            out.print(f"{entry['file']}: 0 captures ({entry['skipped']})")
            continue
        kept = cast(dict[str, int], entry.get("kept") or {})
        parts = [f"{entry['records_read']} records read", f"{entry['captures']} captures"]
        if kept:
            parts.append("kept " + ", ".join(f"{n} {kind}" for kind, n in kept.items()))
        if entry.get("skipped_records"):
            parts.append(f"{len(cast(list[object], entry['skipped_records']))} skipped")
        if entry.get("original"):
            parts.append(f"recompressed; original kept as {entry['original']}")
        out.print(f"{entry['file']} ({entry['format']}): {'; '.join(parts)}")
        if entry.get("error"):
            out.print(f"{entry['file']}: {entry['error']}")
    crawl = summary.crawl
    new = crawl.count("new", "changed") if crawl else 0
    errors = len(crawl.errors) if crawl else 0
    out.print(f"run {summary.run_id}: new versions {new}, errors {errors}")
    if not summary.ok:
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def upload(ctx: Context, as_json: bool) -> None:
    """Upload the WARC files waiting in the spool to S3 ([store] warc = "s3://…")."""
    from archiver.storage.spool import upload_spool  # boto3 only for stores on S3

    with ctx.store() as store:
        if store.remote is None:
            raise ConfigError(
                f"the WARC files of {store.root} are local: nothing to upload (set"
                ' [store] warc = "s3://bucket/prefix" in the config to keep them on S3)'
            )
        store.lock()
        report = upload_spool(store, strict=True)
    if as_json:
        _json(report.as_json())
        return
    out.print(f"uploaded {len(report.uploaded)} WARC files to {store.remote.uri}")


@main.command()
@click.option(
    "--to",
    "dsn",
    metavar="POSTGRESQL_URL",
    help="The cluster catalog to fill (default: $ARCHIVER_CATALOG, then [store] catalog).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def migrate(ctx: Context, dsn: str | None, as_json: bool) -> None:
    """Copy the embedded catalog into an empty PostgreSQL catalog, ids and all."""
    from archiver.storage.transfer import copy_catalog  # psycopg loads for this command only

    with ctx.store() as store:
        target = catalog_setting("--to", dsn, env=False) if dsn else store.catalog_dsn
        if target is None:
            raise ConfigError(
                "migrate needs a cluster catalog: --to postgresql://…, $ARCHIVER_CATALOG"
                " or [store] catalog"
            )
        store.lock()  # no crawl writes the embedded catalog while it is copied
        report = copy_catalog(store.catalog_path, store.root, target)
    if as_json:
        _json(report.as_json())
        return
    rows = ", ".join(f"{n} {table}" for table, n in report.rows.items())
    if report.already:
        out.print(f"{report.target} already holds this store's catalog ({rows}); nothing copied")
    else:
        out.print(f"copied {rows} into {report.target}")


def _cluster_queue() -> Any:
    try:
        from archiver.crawler import cluster  # procrastinate and psycopg: cluster mode only
    except ImportError as exc:
        raise ConfigError(
            f"cluster mode needs {exc.name} (not installed): pip install 'archiver[cluster]'"
        ) from None
    return cluster


def _cluster_schedule(ctx: Context, list_jobs: bool, as_json: bool) -> None:
    """`schedule` on a cluster catalog: the workers schedule; --list shows the tick."""
    from datetime import UTC, datetime

    if not list_jobs:
        raise ConfigError(
            "with a PostgreSQL catalog every `archiver worker` runs the schedule (one run"
            " per tick, however many workers): start workers instead of `archiver schedule`"
        )
    cluster = _cluster_queue()
    config = ctx.config()
    cron, following = cluster.next_tick(config, datetime.now(UTC))
    with ctx.store() as store:
        scheduled = [r for r in store.catalog.runs() if r.trigger == "scheduled"]
    last = scheduled[-1] if scheduled else None
    job = {
        "id": "tick",
        "trigger": f"cron {cron}",
        "next_run_time": following.isoformat(timespec="seconds"),
        "last_run": {"run_id": last.id, "outcome": last.outcome, "finished_at": last.finished_at}
        if last
        else None,
        "scheduler": "archiver worker (Procrastinate periodic task)",
    }
    if as_json:
        _json([job])
        return
    table = Table("job", "trigger", "next run", "last run", "scheduler")
    table.add_row(
        job["id"],
        job["trigger"],
        job["next_run_time"],
        f"{last.outcome or 'running'} (run {last.id}, {last.finished_at or '-'})" if last else "",
        job["scheduler"],
    )
    out.print(table)


@main.command()
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Hosts this worker crawls at once.",
)
@click.option("--index", is_flag=True, help="Also run the indexer job (on the search host).")
@click.option(
    "--stalled-after",
    default="10s",
    show_default=True,
    help="Silence after which another worker's jobs are taken over.",
)
@click.option(
    "--pages-per-job",
    type=click.IntRange(1, 100000),
    default=50,
    show_default=True,
    help="Pages of one host a job records before it queues the host again.",
)
@pass_context
@handle_errors()
def worker(
    ctx: Context, concurrency: int, index: bool, stalled_after: str, pages_per_job: int
) -> None:
    """Run cluster jobs (crawl, plan each [schedule] tick, index) until SIGTERM."""
    import signal

    from archiver.config import parse_duration

    # A stop while the worker starts (imports, connecting) ends it cleanly too.
    early: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: early.append(signum))

    seconds = parse_duration(stalled_after, key="--stalled-after")
    if seconds < 1:
        raise ConfigError("--stalled-after must be at least 1s")
    config = ctx.config()
    store = ctx.store()
    if store.catalog_dsn is None:
        raise ConfigError(
            'archiver worker needs a PostgreSQL catalog: [store] catalog = "postgresql://…"'
            " or ARCHIVER_CATALOG"
        )
    cluster = _cluster_queue()
    cluster.tick_cron(config)  # a [schedule] no cron line can say: refused before starting
    if logging.getLogger().getEffectiveLevel() <= logging.WARNING:  # not --quiet
        logging.getLogger("archiver.crawler").setLevel(logging.INFO)
    with store:
        store.catalog  # noqa: B018 - open it now: a wrong URL or password fails here
        err.print(
            f"worker on {store.catalog.label}: {concurrency} hosts at once"
            f"{', indexing' if index else ''}; stop with SIGTERM"
        )
        cluster.run_worker(
            config,
            store,
            concurrency=concurrency,
            index=index,
            stalled_after=seconds,
            pages_per_job=pages_per_job,
            stopped=early,
        )
