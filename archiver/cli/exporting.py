"""`archiver export`: the archive, or part of it, as a WACZ file or as JSON Lines."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from archiver.errors import UsageError

from .app import Context, _json, handle_errors, main, out, pass_context


@main.command()
@click.option("--wacz", "wacz_file", type=click.Path(dir_okay=False), help="Write a WACZ file.")
@click.option("--jsonl", "jsonl_file", help="Write JSON Lines, one version a line (- : stdout).")
@click.option("--seed", "seed_id", type=click.IntRange(1), help="Only this seed post's story.")
@click.option("--url", "url_prefix", help="Only pages whose URL starts with this.")
@click.option("--since", help="Only captures fetched on or after (ISO date or time).")
@click.option("--until", help="Only captures fetched before the end of (ISO date or time).")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def export(
    ctx: Context,
    wacz_file: str | None,
    jsonl_file: str | None,
    seed_id: int | None,
    url_prefix: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """Export a story (--seed), pages (--url), a time window, or everything, as a WACZ
    file (replay in ReplayWeb.page or pywb) or as JSON Lines (pandas, DuckDB)."""
    from archiver.crawler.selection import Selection  # warcio and zipfile for this command only

    if (wacz_file is None) == (jsonl_file is None):
        raise UsageError("give one of --wacz FILE or --jsonl FILE")
    selection = Selection.of(seed_id=seed_id, url_prefix=url_prefix, since=since, until=until)
    with ctx.store() as store:
        if not store.exists():
            raise UsageError(f"no archive at {store.root}")
        if jsonl_file is not None:
            from archiver.crawler.jsonl_export import export_jsonl

            ignore = ctx.config().ignore if ctx.config_path or not ctx.store_path else ()
            if jsonl_file == "-":
                export_jsonl(store, selection, sys.stdout, ignore=ignore)
                return
            try:
                with open(jsonl_file, "w", encoding="utf-8") as fh:
                    count = export_jsonl(store, selection, fh, ignore=ignore)
            except OSError as exc:
                raise UsageError(f"cannot write {jsonl_file}: {exc.strerror or exc}") from exc
            if as_json:
                _json({"file": jsonl_file, "versions": count})
            else:
                out.print(f"{jsonl_file}: {count} versions")
            return
        from archiver.crawler.wacz_export import export_wacz

        assert wacz_file is not None
        result = export_wacz(store, selection, Path(wacz_file))
    if as_json:
        _json(result.as_json())
    else:
        out.print(
            f"{result.file}: {result.records} records ({result.warc_bytes} bytes of WARC),"
            f" {result.pages} pages, {result.seeds} seed posts; {result.bytes} bytes"
        )
        for skipped in result.skipped:
            out.print(f"not exported: {skipped['url']} ({skipped['error']})")
    if result.skipped:
        sys.exit(1)
