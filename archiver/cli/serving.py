"""`archiver serve`: the archive in a browser (see archiver.web); `archiver replay`: pywb."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .app import DEFAULT_CONFIG, Context, handle_errors, main, pass_context


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0: any free."
)
@click.option("--json", "as_json", is_flag=True, help="Print the address as JSON when ready.")
@pass_context
@handle_errors()
def serve(ctx: Context, host: str, port: int, as_json: bool) -> None:
    """Browse the archive: stories, search, pages, diffs, runs, snapshots (read-only).

    Listens on 127.0.0.1 unless --host says otherwise; Ctrl-C stops it.
    """
    configured = ctx.config_path or not ctx.store_path or Path(DEFAULT_CONFIG).is_file()
    ignore = ctx.config().ignore if configured else ()
    store = ctx.store()

    def ready(url: str) -> None:
        if as_json:
            click.echo(json.dumps({"url": url, "store": str(store.root)}))
        else:
            click.echo(f"Serving {store.root} at {url} (Ctrl-C stops)")

    from archiver import web  # starlette and uvicorn load only for this command

    web.serve(
        store.root, catalog=store.catalog_dsn, host=host, port=port, ignore=ignore, ready=ready
    )


@main.command()
@click.option(
    "--port", default=8090, show_default=True, type=click.IntRange(1, 65535), help="Port to use."
)
@click.option("--json", "as_json", is_flag=True, help="Print the address as JSON first.")
@pass_context
@handle_errors()
def replay(ctx: Context, port: int, as_json: bool) -> None:
    """Replay the archived pages with pywb on 127.0.0.1, from the store's WARC files.

    Builds pywb's index in <store>/replay/ and runs pywb's server until Ctrl-C.
    """
    from archiver.crawler.replay import COLLECTION, build_replay, run_wayback, wayback_program

    wayback_program()  # say it is missing before indexing anything
    with ctx.store() as store:
        folder, records = build_replay(store)
        root = store.root
    url = f"http://127.0.0.1:{port}/{COLLECTION}/"
    if as_json:
        click.echo(json.dumps({"url": url, "store": str(root), "records": records}))
    else:
        click.echo(f"Replaying {records} records of {root} at {url} with pywb (Ctrl-C stops)")
    sys.stdout.flush()
    run_wayback(folder, port)
