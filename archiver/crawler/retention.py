"""Retention: which versions ``archiver gc`` deletes, and deleting them atomically.

Rules (``[retention]``; with neither key set nothing is ever deleted). A version is kept
when any of these holds:

- it is among its page's last ``keep_last`` versions, or younger than ``keep_days``;
- it is the page's first version (the first capture of the page) or its latest;
- a report in ``<store>/reports/`` refers to it (see :func:`report_refs`).

"First", "latest" and "last N" follow the page's history order (an imported older
capture takes its place in time; see ``Catalog.add_version``).

Deleting a version deletes the captures of its *era* with it: the captures of its page
from the fetch that produced it up to the fetch that produced the next version
(unchanged re-fetches, 304s, errors), except a response that a kept revisit record
points at. When the page's history is not in capture order (an older capture was
imported after later ones), eras cannot be told apart and a version takes only its own
capture with it. WARC files are never rewritten: a file is deleted when no capture
refers to it any longer, and only if every record in it is accounted for
(:func:`archiver.storage.foreign.unaccounted`; on S3 the object is read, and deleted, too): a
file holding records archiver did not
write or ingest (an imported file's resource, metadata or conversion records, records
the import skipped, bytes that are no readable record) is kept, and the plan says why.
The original of a recompressed import (``<store>/originals/``, same name) goes with its
copy, after it.
Catalog rows go in one transaction; then the freed WARC files are removed, the index is
rebuilt from the catalog and the run reports that mentioned a deleted version are
rendered again, so ``verify`` stays clean and no report in the store points at a
missing version.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from archiver.config import Config, RetentionConfig
from archiver.errors import StoreError
from archiver.fulltext.rebuild import reindex
from archiver.storage import spool
from archiver.storage.catalog import CaptureRow, VersionStub
from archiver.storage.foreign import unaccounted
from archiver.storage.spool import UPLOADED
from archiver.storage.store import Store

log = logging.getLogger(__name__)

Ref = tuple[str, int]  # (page URL, version number)

# Keys under which a report JSON names a version of the page in the nearest "url".
_VERSION_KEYS = ("version", "from", "to", "from_version", "to_version")
_URL_VERSION = re.compile(r"(https?://\S+)#v(\d+)")
_RUN_REPORT = re.compile(r"run-(\d+)\.json")
# The largest report gc reads; a larger one cannot be parsed (within bounds) and stops gc.
MAX_REPORT_BYTES = 64 << 20


@dataclass
class GcPlan:
    """What gc deletes (or would delete, with ``--dry-run``)."""

    enabled: bool
    versions: list[VersionStub] = field(default_factory=list)
    capture_ids: list[int] = field(default_factory=list)
    warc_files: list[tuple[str, int]] = field(default_factory=list)  # (name, bytes)
    # The originals (in originals/) of recompressed imports among warc_files: they go
    # with their copy.
    originals: list[tuple[str, int]] = field(default_factory=list)
    pinned: dict[Ref, list[str]] = field(default_factory=dict)  # spared by these reports
    reports: list[int] = field(default_factory=list)  # run reports to render again
    unreferenced: list[str] = field(default_factory=list)  # WARC files nothing refers to
    kept_versions: int = 0
    # Files no capture needs any more but that hold records archiver did not write or
    # ingest: (name, bytes, why), kept.
    kept_files: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(size for _, size in self.warc_files + self.originals)

    def as_json(self, dry_run: bool) -> dict[str, Any]:
        return {
            "dry_run": dry_run,
            "enabled": self.enabled,
            "versions": [
                {"url": v.url, "version": v.version, "fetched_at": v.fetched_at}
                for v in self.versions
            ],
            "kept_versions": self.kept_versions,
            "captures": len(self.capture_ids),
            "warc_files": [{"file": name, "bytes": size} for name, size in self.warc_files],
            "original_files": [
                {"file": f"originals/{name}", "bytes": size} for name, size in self.originals
            ],
            "bytes_freed": self.bytes_freed,
            "pinned_by_reports": [
                {"url": url, "version": number, "reports": names}
                for (url, number), names in sorted(self.pinned.items())
            ],
            "reports_rendered_again": self.reports,
            "unreferenced_warc_files": self.unreferenced,
            "kept_warc_files": [
                {"file": name, "bytes": size, "reason": reason}
                for name, size, reason in self.kept_files
            ],
        }


def _collect_refs(data: Any, out: set[Ref]) -> None:
    """Add the version references in a parsed report to ``out``: a walk with an explicit
    stack, so however deep the report nests, no recursion limit is ever reached."""
    stack: list[tuple[Any, str | None]] = [(data, None)]
    while stack:
        node, url = stack.pop()
        if isinstance(node, dict):
            here = node["url"] if isinstance(node.get("url"), str) else url
            if here:
                for key in _VERSION_KEYS:
                    value = node.get(key)
                    if isinstance(value, int) and not isinstance(value, bool):
                        out.add((here, value))
                numbers = node.get("versions")
                if isinstance(numbers, list):
                    out.update((here, n) for n in numbers if type(n) is int)
            stack.extend((value, here) for value in node.values())
        elif isinstance(node, list):
            stack.extend((item, url) for item in node)
        elif isinstance(node, str) and (match := _URL_VERSION.fullmatch(node)):
            out.add((match.group(1), int(match.group(2))))


def _read_report(path: Path) -> Any:
    """A report's JSON, parsed within bounds: ValueError when it cannot be."""
    size = path.stat().st_size
    if size > MAX_REPORT_BYTES:
        raise ValueError(f"{size} bytes, more than the {MAX_REPORT_BYTES} gc reads")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:  # json's parser nests one level per bracket
        raise ValueError("nested too deeply to parse") from None


def report_refs(reports_dir: Path) -> tuple[dict[Ref, list[str]], dict[int, set[Ref]]]:
    """Version references of the report JSON files: (pins, run report refs by run id).

    A reference is an integer under ``version``/``from``/``to``/``from_version``/
    ``to_version`` (or a list under ``versions``) in an object whose own or nearest
    enclosing ``url`` names the page, or a string ``<url>#v<N>``. Run reports
    (``run-<id>.json``, written by every crawl and rendered again from the catalog by
    ``archiver report``) do not pin: gc renders them again instead. Every other JSON
    file there pins the versions it names; one that cannot be parsed stops gc.
    """
    pins: dict[Ref, list[str]] = defaultdict(list)
    runs: dict[int, set[Ref]] = {}
    if not reports_dir.is_dir():
        return {}, {}
    for path in sorted(reports_dir.glob("*.json")):
        run = _RUN_REPORT.fullmatch(path.name)
        try:
            data = _read_report(path)
        except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            if run:
                log.warning("%s: unreadable run report (%s); it will be rendered again", path, exc)
                runs[int(run.group(1))] = set()
                continue
            raise StoreError(
                f"{path}: cannot read this report ({exc}); gc needs it to know"
                " which versions it must keep"
            ) from exc
        refs: set[Ref] = set()
        _collect_refs(data, refs)
        if run:
            runs[int(run.group(1))] = refs
        else:
            for ref in refs:
                pins[ref].append(path.name)
    return dict(pins), runs


def _young(stub: VersionStub, cutoff: datetime | None) -> bool:
    if cutoff is None:
        return False
    try:
        fetched = datetime.fromisoformat(stub.fetched_at)
    except ValueError:
        return True  # an unreadable time never makes a version deletable
    return (fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)) >= cutoff


def _era_starts(versions: list[VersionStub], captures: list[CaptureRow]) -> list[int] | None:
    """The first capture id of the fetch that produced each version (its redirects too);
    None when the history is not in capture order (an older capture imported later), so
    that eras cannot be told apart."""
    ids = [stub.capture_id for stub in versions]
    if any(a >= b for a, b in zip(ids, ids[1:], strict=False)):
        return None
    by_id = {c.id: c for c in captures}
    starts, previous = [], 0
    for stub in versions:
        run_id = by_id[stub.capture_id].run_id if stub.capture_id in by_id else None
        first = min(
            (
                c.id
                for c in captures
                if run_id is not None and c.run_id == run_id and c.id > previous
            ),
            default=stub.capture_id,
        )
        starts.append(min(first, stub.capture_id))
        previous = stub.capture_id
    return starts


def plan(store: Store, retention: RetentionConfig, *, now: datetime | None = None) -> GcPlan:
    """Decide what gc deletes; reads only."""
    enabled = bool(retention.keep_last or retention.keep_days)
    result = GcPlan(enabled=enabled)
    if not store.exists():
        return result
    catalog = store.catalog
    stubs = catalog.version_stubs()
    if not enabled:
        result.kept_versions = len(stubs)
        return result
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention.keep_days) if retention.keep_days else None
    pins, run_refs = report_refs(store.reports_dir)
    captures = catalog.captures()
    by_target: dict[int, list[CaptureRow]] = defaultdict(list)
    for capture in captures:
        by_target[capture.target_id].append(capture)
    pages: dict[int, list[VersionStub]] = defaultdict(list)
    for stub in stubs:
        pages[stub.target_id].append(stub)

    doomed_captures: set[int] = set()
    for target_id, versions in pages.items():
        keep_from = len(versions) - retention.keep_last if retention.keep_last else len(versions)
        starts = _era_starts(versions, by_target[target_id])
        for i, stub in enumerate(versions):
            ruled = i == 0 or i == len(versions) - 1 or i >= keep_from or _young(stub, cutoff)
            ref = (stub.url, stub.version)
            if not ruled and ref in pins:
                result.pinned[ref] = pins[ref]
            if ruled or ref in pins:
                result.kept_versions += 1
                continue
            result.versions.append(stub)
            if starts is None:  # out of capture order: only the version's own capture
                doomed_captures.add(stub.capture_id)
                continue
            end = starts[i + 1]  # the latest version is always kept, so i + 1 exists
            doomed_captures.update(c.id for c in by_target[target_id] if starts[i] <= c.id < end)

    # A kept revisit record needs the response it points at (the first with its payload).
    originals: dict[tuple[str, str | None], int] = {}
    for capture in captures:
        if capture.record_type == "response":
            originals.setdefault((capture.url, capture.payload_digest), capture.id)
    for capture in captures:
        if capture.record_type == "revisit" and capture.id not in doomed_captures:
            doomed_captures.discard(originals.get((capture.url, capture.payload_digest), -1))
    result.capture_ids = sorted(doomed_captures)

    referenced = {c.warc_file for c in captures if c.warc_file}
    still = {c.warc_file for c in captures if c.warc_file and c.id not in doomed_captures}
    uploaded = {r.name: r.size for r in store.catalog.warc_files() if r.state == UPLOADED}
    for name in sorted(referenced - still):
        offsets = {
            c.warc_offset for c in captures if c.warc_file == name and c.warc_offset is not None
        }
        if name in uploaded and spool.owned_by_archiver(store, name):
            result.warc_files.append((name, uploaded[name]))  # on S3: read its head only
            continue
        with spool.readable_copy(store, name) as found:  # on S3: downloaded aside
            if found is None:
                continue
            path, size = found
            why = unaccounted(path, offsets)
        if why is None:
            result.warc_files.append((name, size))
            original = store.originals_dir / name
            if original.is_file():
                result.originals.append((name, original.stat().st_size))
        else:
            result.kept_files.append((name, size, why))
    on_disk = {p.name for p in spool.spool_files(store)}
    result.unreferenced = sorted((on_disk | set(uploaded)) - referenced)

    gone = {(v.url, v.version) for v in result.versions}
    runs_touched = {c.run_id for c in captures if c.id in doomed_captures and c.run_id}
    result.reports = sorted(
        run for run, refs in run_refs.items() if refs & gone or (not refs and run in runs_touched)
    )
    return result


def collect(
    store: Store, config: Config, *, dry_run: bool = False, now: datetime | None = None
) -> GcPlan:
    """Apply ``[retention]``: delete what :func:`plan` lists (unless ``dry_run``).

    Holds the store lock throughout, so no crawl writes while files are deleted (a crawl
    or scheduled run that starts meanwhile waits or stops with a message).
    """
    if dry_run or not store.exists():
        return plan(store, config.retention, now=now)
    store.lock()
    try:
        result = plan(store, config.retention, now=now)
        if not result.capture_ids and not result.versions:
            return result
        store.catalog.delete_versions([v.id for v in result.versions], result.capture_ids)
        # A recompressed copy first (its object too, on S3), then its original: never a
        # copy without its original.
        for name, _ in result.warc_files:
            _unlink(store.warc_dir / name)
            spool.forget(store, name)  # on S3: its object and its row
        for name, _ in result.originals:
            _unlink(store.originals_dir / name)
        log.info(
            "gc: %d versions, %d captures, %d WARC files deleted",
            len(result.versions),
            len(result.capture_ids),
            len(result.warc_files),
        )
        reindex(store)
        if result.reports:
            from archiver.changes.report import (
                save_run_report,  # jinja2 only when a report is affected
            )

            for run_id in result.reports:
                save_run_report(store, run_id, config)
        return result
    finally:
        store.unlock()


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot delete {path}: {exc}") from exc
