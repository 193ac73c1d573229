"""What a run found that people may want to hear about, as typed events.

Built from the run's change report (archiver.changes.report) and the catalog's run
history, without sending anything: ``follow_up`` (a follow-up page archived for the first
time), ``changed`` (a page's text changed), ``claim`` (a seed sentence's status in a
source changed, such as present → contradicted; a source seen for the first time that
already contradicts the seed counts too) and ``error`` (a URL failing in several runs in
a row). :func:`select` applies one ``[[notify]]`` entry's events and filters.
"""

from __future__ import annotations

from dataclasses import dataclass

from archiver.changes.claims import Conflict
from archiver.changes.report import RunReport
from archiver.config import NotifyEntry
from archiver.storage.catalog import Catalog

FOLLOW_UP, CHANGED, CLAIM, ERROR = "follow_up", "changed", "claim", "error"
KINDS = (CLAIM, CHANGED, FOLLOW_UP, ERROR)  # the order messages list them in


@dataclass(frozen=True)
class ClaimShift:
    """A seed sentence whose support in the page changed."""

    sentence: str
    before: str  # its status before ("new": the page was not archived before)
    after: str
    match: str | None  # the page's sentence it is matched with now
    conflicts: tuple[Conflict, ...] = ()


@dataclass(frozen=True)
class Event:
    kind: str  # FOLLOW_UP, CHANGED, CLAIM or ERROR
    url: str
    title: str | None = None
    score: float | None = None  # relevance to the seed (follow-up pages only)
    versions: tuple[int, int] | None = None  # (from, to); (0, n) for a first version
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    claims: tuple[ClaimShift, ...] = ()
    via: str | None = None  # how a follow-up was found
    error: str | None = None
    failing_runs: int = 0  # ERROR: the runs in a row this URL failed in, this one included


def run_events(catalog: Catalog, report: RunReport) -> list[Event]:
    """Every event of the run ``report`` describes, in KINDS order, pages in report order."""
    events: list[Event] = []
    scores = {t.url: t.score for t in catalog.targets()}
    for change in report.changed:
        shifts = []
        if change.seed is not None:
            for moved in change.seed.changes:
                old, new = moved.before, moved.after
                if old.status != new.status or moved.change == "contradicted":
                    shifts.append(
                        ClaimShift(moved.text, old.status, new.status, new.match, new.conflicts)
                    )
        versions = (change.old.version, change.new.version)
        if shifts:
            events.append(
                Event(
                    CLAIM,
                    change.url,
                    change.new.title,
                    scores.get(change.url),
                    versions,
                    claims=tuple(shifts),
                )
            )
    for page in report.new:
        if page.seed is None:
            continue
        contradicted = [s for s in page.seed.alignment.sentences if s.status == "contradicted"]
        if contradicted:
            events.append(
                Event(
                    CLAIM,
                    page.url,
                    page.title,
                    page.score,
                    (0, page.version),
                    claims=tuple(
                        ClaimShift(s.text, "new", s.status, s.match, s.conflicts)
                        for s in contradicted
                    ),
                )
            )
    for change in report.changed:
        if change.diff.changed:
            events.append(
                Event(
                    CHANGED,
                    change.url,
                    change.new.title,
                    scores.get(change.url),
                    (change.old.version, change.new.version),
                    added=tuple(change.added),
                    removed=tuple(change.removed),
                )
            )
    for page in report.new:
        if page.depth > 0:
            events.append(
                Event(
                    FOLLOW_UP,
                    page.url,
                    page.title,
                    page.score,
                    (0, page.version),
                    via=page.via,
                )
            )
    streaks = failing_streaks(catalog, report.run.id)
    for failed in report.errors:
        events.append(
            Event(ERROR, failed.url, error=failed.error, failing_runs=streaks.get(failed.url, 1))
        )
    return events


def failing_streaks(catalog: Catalog, run_id: int) -> dict[str, int]:
    """URL → how many runs in a row, ending with ``run_id``, it failed in."""
    runs = [r for r in catalog.runs() if r.id <= run_id]
    streaks: dict[str, int] = {}
    open_urls: set[str] | None = None  # URLs whose streak is still running backwards
    for run in reversed(runs):
        failed = {e["url"] for e in run.errors}
        if open_urls is None:
            open_urls = failed
        else:
            open_urls &= failed
        if not open_urls:
            break
        for url in open_urls:
            streaks[url] = streaks.get(url, 0) + 1
    return streaks


def select(entry: NotifyEntry, events: list[Event]) -> list[Event]:
    """The events ``entry`` asked for, through its filters. An error is announced once,
    in the run its streak reaches ``error_runs`` (a recovery starts a new streak)."""
    chosen = []
    for event in events:
        if event.kind not in entry.on:
            continue
        if entry.url_prefix is not None and not event.url.startswith(entry.url_prefix):
            continue
        if (
            entry.min_relevance is not None
            and event.score is not None
            and event.score < entry.min_relevance
        ):
            continue  # pages without a score (seed references, targets) always pass
        if event.kind == ERROR and event.failing_runs != entry.error_runs:
            continue
        chosen.append(event)
    return chosen
