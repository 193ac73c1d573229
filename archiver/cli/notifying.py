"""`archiver notify test`: a test message to every [[notify]] entry (see archiver.notify)."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from archiver.errors import UsageError

from .app import Context, _json, handle_errors, main, out, pass_context


@main.group()
def notify() -> None:
    """Notifications to [[notify]] entries (mail, webhooks, chat)."""


@notify.command("test")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@handle_errors()
def notify_test(ctx: Context, as_json: bool) -> None:
    """Send a test message to every [[notify]] entry and report each result.

    Exits 1 when an entry could not be reached.
    """
    from archiver.notify import deliver, label_of
    from archiver.notify.message import trial_message

    config = ctx.config(sending=True)
    if not config.notify:
        raise UsageError("no [[notify]] entry in the config")
    results = []
    for entry in config.notify:
        label = label_of(entry)
        message = trial_message(label)
        delivery = deliver(entry, message.title, message.body)
        results.append(
            {
                "to": label,
                "ok": delivery.ok,
                "attempts": delivery.attempts,
                "error": delivery.error,
            }
        )
    if as_json:
        _json({"entries": results})
    else:
        table = Table("to", "result", "attempts")
        for r in results:
            table.add_row(
                str(r["to"]), "sent" if r["ok"] else f"failed: {r['error']}", str(r["attempts"])
            )
        out.print(table)
    if not all(r["ok"] for r in results):
        sys.exit(1)
