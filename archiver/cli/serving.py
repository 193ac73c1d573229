"""`archiver serve`: the archive in a browser (see archiver.web)."""

from __future__ import annotations

import json
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
