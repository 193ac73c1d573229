"""After a run is recorded: queue its message to each ``[[notify]]`` entry, then send
every message still waiting (this run's, and those earlier runs could not send).

Invariants: a message is written to the catalog before the first attempt to send it, so
none is lost however the process ends; it is marked ``sending`` before each attempt and
``sent`` after, and one a killed process left ``sending`` is never sent again (it may
have arrived: nothing is sent twice). Messages go out in parallel threads (the network
only: the catalog is written from the calling thread), so the whole stage takes at most
one message's worst case: ``attempts`` × ``timeout`` plus the backoff. Nothing here
raises into the run: a failure is recorded on the message and shown by ``runs``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from archiver.changes.report import RunReport
from archiver.config import Config, NotifyEntry
from archiver.storage.rows import NotificationRow
from archiver.storage.store import Store

from .events import run_events, select
from .message import compose
from .send import Delivery, deliver, label_of

log = logging.getLogger(__name__)


def report_path(store: Store, run_id: int) -> Path:
    """Where the run's HTML report is (archiver.changes.report writes it)."""
    return store.reports_dir / f"run-{run_id:06d}.html"


def queue_run(store: Store, config: Config, report: RunReport) -> int:
    """Write the run's message to each entry that has something to say; how many."""
    events = run_events(store.catalog, report)
    run_id = report.run.id
    html = report_path(store, run_id)
    queued = 0
    for entry in config.notify:
        message = compose(
            run_id,
            select(entry, events),
            report=html if html.is_file() else None,
            serve_url=config.serve_url,
        )
        if message is None:
            continue
        store.catalog.add_notification(
            run_id,
            entry.key,
            label=label_of(entry),
            events=list(message.kinds),
            title=message.title,
            body=message.body,
        )
        queued += 1
    return queued


def flush(store: Store, config: Config) -> list[NotificationRow]:
    """Send every pending message whose entry is still configured; the rows as they end.
    Call it holding the store lock (the crawl does)."""
    catalog = store.catalog
    for stale in catalog.settle_interrupted_notifications():
        log.warning("notification %d: its sending was interrupted; not sent again", stale)
    entries = {entry.key: entry for entry in config.notify}
    work: list[tuple[NotificationRow, NotifyEntry]] = []
    for row in catalog.notifications(state="pending"):
        entry = entries.get(row.entry)
        if entry is None:
            catalog.set_notification(
                row.id, state="dropped", error="its [[notify]] entry is no longer configured"
            )
            continue
        catalog.set_notification(row.id, state="sending")
        work.append((row, entry))
    if not work:
        return []
    for entry in {id(e): e for _, e in work}.values():
        label_of(entry)  # loads Apprise's plugins here, not in several threads at once
    with ThreadPoolExecutor(max_workers=min(8, len(work))) as pool:
        futures = [(row, pool.submit(deliver, entry, row.title, row.body)) for row, entry in work]
        for row, future in futures:
            result: Delivery = future.result()  # deliver never raises
            attempts = row.attempts + result.attempts
            if result.ok:
                catalog.set_notification(row.id, state="sent", attempts=attempts, sent=True)
            else:
                catalog.set_notification(
                    row.id, state="pending", attempts=attempts, error=result.error
                )
                log.warning(
                    "run %d: notification to %s not sent (%s); it is retried at the next run",
                    row.run_id,
                    row.label,
                    result.error,
                )
    ids = {row.id for row, _ in work}
    return [n for n in catalog.notifications() if n.id in ids]


def notify_run(
    store: Store, config: Config, report: RunReport | None, *, send: bool = True
) -> None:
    """Queue the run's messages and send what waits; logs, never raises (a message must
    not fail the run it reports). ``send`` False only queues (a stopping process)."""
    try:
        if report is not None:
            queue_run(store, config, report)
        if send:
            flush(store, config)
    except Exception as exc:  # noqa: BLE001 - recorded runs stay recorded
        log.error("notifications: %s", exc)
        log.debug("notification failure", exc_info=True)
