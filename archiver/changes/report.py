"""Change reports: what one crawl run found (new pages, changed pages with their diff
and seed coverage, unchanged and not-modified pages, errors), as markdown, HTML or JSON.

Every crawl run writes its report into ``<store>/reports/run-NNNNNN.{md,html,json}``
(named from the run id, never from a URL); ``archiver report`` renders any run again.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.errors import NotFoundError, UsageError
from archiver.storage.catalog import RunRow, TargetRow, VersionRow
from archiver.storage.store import Store
from archiver.text.ignore import IgnoreRule

from .compare import SeedChange, VersionChange, compare, seed_body, seed_for, version_ref
from .render import Links, markdown, md, template

if TYPE_CHECKING:
    from archiver.config import Config, RemoteWarc

log = logging.getLogger(__name__)

# Unchanged, not-modified and archived pages listed one by one in markdown and HTML;
# beyond this a count (the JSON report lists all), so a big quiet re-crawl stays small.
LISTED = 10

FORMATS = ("markdown", "html", "json")
_EXTENSIONS = {"markdown": "md", "html": "html", "json": "json"}


@dataclass(frozen=True)
class PageEntry:
    """A page the run looked at without finding a new version (or failing)."""

    url: str
    version: int | None = None
    title: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"url": self.url, "version": self.version, "title": self.title}
        if self.error is not None:
            data["error"] = self.error
        return data


@dataclass(frozen=True)
class NewPage:
    """A page archived for the first time, with how much of the seed it covers."""

    url: str
    version: int
    title: str | None
    fetched_at: str
    seed: SeedChange | None
    # How the crawl found the page: via (seed:N, target, feed, or the linking page),
    # link depth, and relevance to the seed (follow-ups).
    via: str = ""
    depth: int = 0
    score: float | None = None

    @property
    def found(self) -> str:
        """Provenance in words, for markdown and HTML."""
        relevance = f", relevance {self.score:.2f}" if self.score is not None else ""
        return f"via {self.via}, depth {self.depth}{relevance}"

    def as_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "version": self.version,
            "title": self.title,
            "fetched_at": self.fetched_at,
            "seed": self.seed.seed if self.seed else None,
            "coverage": self.seed.alignment.coverage if self.seed else None,
            "provenance": {"via": self.via, "depth": self.depth, "score": self.score},
        }


@dataclass(frozen=True)
class SeedEvent:
    """What a run found on a seed post's own page: its first version (``new``), an edit
    (``changed``, with the diff and the references it added and removed), ``unchanged``,
    ``deleted`` (``since`` says when that was first seen; ``first_seen``: by this run),
    ``restored`` (back after a deletion) or an ``error``."""

    seed: str
    url: str
    title: str
    event: str
    version: int | None = None
    change: VersionChange | None = None
    added_references: list[str] = field(default_factory=list)
    removed_references: list[str] = field(default_factory=list)
    since: str | None = None
    first_seen: bool = False
    error: str | None = None

    @property
    def summary(self) -> str:
        """The event in words, for markdown and HTML."""
        if self.event == "deleted":
            when = "deleted since" if not self.first_seen else "deleted: first seen"
            return f"{when} {self.since}; its {self.version or 0} archived version(s) are kept"
        if self.event == "changed":
            old = self.change.old.version if self.change else "?"
            parts = [f"the post was edited: v{old} → v{self.version}"]
            if self.added_references:
                parts.append("references added: " + ", ".join(self.added_references))
            if self.removed_references:
                parts.append("references removed: " + ", ".join(self.removed_references))
            return "; ".join(parts)
        if self.event == "new":
            return f"first archived (v{self.version})"
        if self.event == "error":
            return f"could not be checked: {self.error}"
        if self.event == "restored":
            return f"the post is back after its deletion (v{self.version})"
        return f"unchanged (v{self.version})" if self.version else "unchanged"

    def as_json(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "url": self.url,
            "title": self.title,
            "event": self.event,
            "version": self.version,
            "since": self.since,
            "added_references": self.added_references,
            "removed_references": self.removed_references,
            "diff": self.change.as_json() if self.change else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class RunReport:
    run: RunRow
    new: list[NewPage] = field(default_factory=list)
    changed: list[VersionChange] = field(default_factory=list)
    unchanged: list[PageEntry] = field(default_factory=list)
    not_modified: list[PageEntry] = field(default_factory=list)
    archived: list[PageEntry] = field(default_factory=list)
    errors: list[PageEntry] = field(default_factory=list)
    seeds: list[SeedEvent] = field(default_factory=list)  # seed posts by URL

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "changed": len(self.changed),
            "unchanged": len(self.unchanged),
            "not_modified": len(self.not_modified),
            "archived": len(self.archived),
            "errors": len(self.errors),
        }

    def as_json(self) -> dict[str, object]:
        r = self.run
        return {
            "run_id": r.id,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "trigger": r.trigger,
            "outcome": r.outcome,
            "counts": self.counts(),
            "new": [p.as_json() for p in self.new],
            "changed": [c.as_json() for c in self.changed],
            "unchanged": [p.as_json() for p in self.unchanged],
            "not_modified": [p.as_json() for p in self.not_modified],
            "archived": [p.as_json() for p in self.archived],
            "errors": [{"url": p.url, "error": p.error} for p in self.errors],
            "seeds": [e.as_json() for e in self.seeds],
        }


def build_run_report(store: Store, run: RunRow, ignore: Sequence[IgnoreRule] = ()) -> RunReport:
    """Classify every page the run touched, from the catalog alone."""
    catalog = store.catalog
    report = RunReport(run)
    failed = {e["url"]: e.get("error", "error") for e in run.errors}
    by_target: dict[int, list[int]] = {}
    statuses: dict[int, int | None] = {}
    for capture in catalog.captures():
        if capture.run_id == run.id:
            by_target.setdefault(capture.target_id, []).append(capture.id)
            statuses[capture.target_id] = capture.status  # the last hop's status
    pages = {s.page_url for s in catalog.seeds() if s.page_url}
    for target_id, capture_ids in by_target.items():
        target = catalog.target(target_id)
        if target.url in pages:  # a seed post's own page: see _seed_events
            continue
        if target.url in failed:
            report.errors.append(PageEntry(target.url, error=failed.pop(target.url)))
            continue
        versions = catalog.versions(target_id)
        made = [v for v in versions if v.capture_id in capture_ids]
        if made:
            _new_or_changed(store, report, target, versions, made[-1].version, ignore)
        elif statuses[target_id] == 304:
            latest = versions[-1] if versions else None
            report.not_modified.append(
                PageEntry(
                    target.url, latest.version if latest else None, latest.title if latest else None
                )
            )
        elif versions:
            report.unchanged.append(PageEntry(target.url, versions[-1].version, versions[-1].title))
        else:
            report.archived.append(PageEntry(target.url))
    report.errors.extend(PageEntry(url, error=error) for url, error in failed.items())
    report.seeds.extend(_seed_events(store, run, set(by_target), ignore))
    return report


def _seed_events(
    store: Store, run: RunRow, touched: set[int], ignore: Sequence[IgnoreRule]
) -> list[SeedEvent]:
    """What the run found on each seed post's own page it fetched."""
    from .compare import diff_seed_versions

    catalog = store.catalog
    failed = {e["url"]: e.get("error", "error") for e in run.errors}
    events = []
    for seed in catalog.seeds():
        if not seed.page_url:
            continue
        target = catalog.target_by_url(seed.page_url)
        if target is None or target.id not in touched:
            continue
        versions = catalog.seed_versions(seed.id)
        made = [v for v in versions if v.run_id == run.id]
        kept = (seed.url, seed.page_url, seed.title)
        if made and made[-1].version > 1:
            new = made[-1]
            old = next(v for v in reversed(versions) if v.version < new.version)
            before = [r["url"] for r in old.data["references"]]
            after = [r["url"] for r in new.data["references"]]
            change = diff_seed_versions(store, seed, old.version, new.version, ignore=ignore)
            added = [url for url in after if url not in before]
            removed = [url for url in before if url not in after]
            events.append(SeedEvent(*kept, "changed", new.version, change, added, removed))
        elif made:
            events.append(SeedEvent(*kept, "new", made[-1].version))
        elif seed.state == "deleted":
            first = seed.state_run == run.id
            events.append(
                SeedEvent(*kept, "deleted", len(versions), since=seed.state_since, first_seen=first)
            )
        elif seed.page_url in failed:
            events.append(SeedEvent(*kept, "error", error=failed[seed.page_url]))
        elif seed.state_run == run.id:  # live again: it had been deleted
            events.append(SeedEvent(*kept, "restored", versions[-1].version if versions else None))
        else:
            events.append(SeedEvent(*kept, "unchanged", versions[-1].version if versions else None))
    return events


def _new_or_changed(
    store: Store,
    report: RunReport,
    target: TargetRow,
    versions: list[VersionRow],
    number: int,
    ignore: Sequence[IgnoreRule],
) -> None:
    # By number, not position: `archiver gc` may leave gaps in the numbering.
    index = next(i for i, v in enumerate(versions) if v.version == number)
    new = versions[index]
    if index == 0:
        seed = seed_for(store, target)
        alignment = None
        if seed is not None:
            from .align import align_seed

            rules = [r for r in ignore if r.applies_to(target.url)]
            alignment = SeedChange(
                target.url,
                seed.url,
                seed.title,
                version_ref(store, new),
                align_seed(seed_body(seed), new.text, rules),
            )
        report.new.append(
            NewPage(
                target.url,
                1,
                new.title,
                new.fetched_at,
                alignment,
                target.via,
                target.depth,
                target.score,
            )
        )
        return
    report.changed.append(compare(store, target, versions[index - 1], new, ignore=ignore))


def _parse_since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--since: not an ISO date or time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_reports(
    store: Store,
    *,
    run_id: int | None = None,
    since: str | None = None,
    ignore: Sequence[IgnoreRule] = (),
) -> list[RunReport]:
    """Reports of one run (default the last), or of every run started since ``since``."""
    if run_id is not None and since is not None:
        raise UsageError("give --run or --since, not both")
    if not store.exists():
        raise NotFoundError(f"no archive at {store.root}; run `archiver crawl` first")
    if run_id is not None:
        runs = [store.catalog.run(run_id)]
    elif since is not None:
        moment = _parse_since(since)
        runs = [r for r in store.catalog.runs() if datetime.fromisoformat(r.started_at) >= moment]
    else:
        every = store.catalog.runs()
        if not every:
            raise NotFoundError("no crawl run yet; run `archiver crawl` first")
        runs = every[-1:]
    return [build_run_report(store, run, ignore) for run in runs]


def render_reports(
    reports: list[RunReport],
    fmt: str,
    *,
    link_base: Path,
    warc_dir: Path | None = None,
    remote: RemoteWarc | None = None,
) -> str:
    if fmt == "json":
        return json.dumps({"runs": [r.as_json() for r in reports]}, ensure_ascii=False, indent=2)
    if fmt == "html":
        return template("report.html.j2").render(
            reports=reports, links=Links(link_base, warc_dir, remote), listed=LISTED
        )
    if fmt != "markdown":
        raise UsageError(f"report format must be one of {', '.join(FORMATS)}")
    return (
        "\n\n".join(_markdown(r) for r in reports)
        if reports
        else "# archiver change report\n\nNo crawl run in that period."
    )


def _markdown(report: RunReport) -> str:
    run, counts = report.run, report.counts()
    lines = [
        f"# Crawl run {run.id}: {run.started_at} ({run.trigger}, {run.outcome or 'running'})",
        "",
        "| " + " | ".join(k.replace("_", " ") for k in counts) + " |",
        "|" + "---|" * len(counts),
        "| " + " | ".join(str(v) for v in counts.values()) + " |",
    ]
    if report.new:
        lines += ["", "## New pages", ""]
        for p in report.new:
            coverage = f"; seed coverage {p.seed.alignment.coverage:.0%}" if p.seed else ""
            lines.append(
                f"- {md(p.title) or '(untitled)'}: {md(p.url)} v{p.version}{coverage}"
                f" ({md(p.found)})"
            )
    if report.changed:
        lines += ["", "## Changed pages"]
        for change in report.changed:
            lines += ["", markdown(change, level=3)]
    for title, entries in (
        ("Unchanged", report.unchanged),
        ("Not modified (HTTP 304)", report.not_modified),
        ("Archived without text", report.archived),
    ):
        if entries:
            lines += ["", f"## {title} ({len(entries)})", ""]
            lines += [
                f"- {md(p.url)}" + (f" v{p.version}" if p.version else "") for p in entries[:LISTED]
            ]
            if len(entries) > LISTED:
                lines.append(f"- … and {len(entries) - LISTED} more (the JSON report lists all)")
    if report.seeds:
        lines += ["", "## Seed posts", ""]
        for event in report.seeds:
            lines.append(
                f"- {md(event.seed)} {md(event.title)} ({md(event.url)}): {md(event.summary)}"
            )
        for event in report.seeds:
            if event.change is not None:
                lines += ["", markdown(event.change, level=3)]
    if report.errors:
        lines += ["", "## Errors", ""]
        lines += [f"- {md(p.url)}: {md(p.error)}" for p in report.errors]
    return "\n".join(lines)


def save_run_report(
    store: Store, run_id: int, config: Config | None = None, report: RunReport | None = None
) -> list[Path]:
    """Write a run's report (``report`` when already built) into the store's reports/
    folder; never raises (a report must not fail the crawl that produced it), logs
    instead."""
    try:
        reports = [
            report
            or build_run_report(store, store.catalog.run(run_id), config.ignore if config else ())
        ]
        folder = store.reports_dir
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for fmt, ext in _EXTENSIONS.items():
            path = folder / f"run-{run_id:06d}.{ext}"
            tmp = path.with_suffix(f".{ext}.tmp")
            tmp.write_text(
                render_reports(
                    reports, fmt, link_base=folder, warc_dir=store.warc_dir, remote=store.remote
                )
                + "\n",
                encoding="utf-8",
            )
            os.replace(tmp, path)
            written.append(path)
        log.info("run %d: report written to %s", run_id, written[0].with_suffix(".*"))
        return written
    except Exception as exc:  # noqa: BLE001 - any failure here is logged, never raised
        log.error("run %d: cannot write the change report: %s", run_id, exc)
        log.debug("report failure", exc_info=True)
        return []
