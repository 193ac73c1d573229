"""Import WARC files made by other tools (wget, Browsertrix, pywb …) into the store.

The file is copied into ``<store>/warc/`` unchanged (named by its SHA-256, so a second
import of the same file is recognised and skipped), and each HTTP response record
becomes a capture pointing into that copy — the original bytes stay the evidence.
Responses then go through the crawl's own ingest step: extraction, a version when the
text is new, the index.

Nothing in the file is trusted (:class:`~archiver.storage.warc.ForeignWarc` reads it):

- a body is kept up to ``crawl.max_bytes`` and decoded within that bound (the crawl's
  decompression-bomb guard); a larger one is flagged as a crawl's is (state *error*,
  not extracted), while the record itself stays whole in the copied file;
- a response or revisit record that cannot be a capture (no ``WARC-Target-URI``, no
  usable http(s) URL, no HTTP head, a payload that fails its digest) is skipped with a
  warning and listed under ``skipped_records``; it stays in the file, which ``gc``
  therefore keeps;
- where reading has to stop (the file is cut short, a record is misframed, bytes that
  are no record) a warning names the file and the byte offset; the records before it
  are imported and the import exits 1 (:attr:`ImportSummary.complete`);
- each capture is recorded in one catalog transaction with its version and state.

An imported capture takes its place in the page's history by its ``WARC-Date``: a
capture older than the page's latest version is inserted before the first version
captured after it and never becomes the latest (see ``Catalog.add_version``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from archiver.config import CrawlConfig
from archiver.errors import FetchError, StoreError, UsageError
from archiver.net.encoding import decode_content
from archiver.net.exchange import Exchange
from archiver.net.urls import canonicalize
from archiver.storage import spool
from archiver.storage.rows import TargetRow
from archiver.storage.store import Store
from archiver.storage.warc import CAPTURE_TYPES, ForeignRecord, ForeignWarc, dechunk, warc_records
from archiver.text.dates import now_iso

from .outcome import ERROR, UNCHANGED, CrawlSummary, ProgressFn, TargetOutcome
from .recorder import CrawlRun, finish_run

log = logging.getLogger(__name__)

_DECODABLE = ("gzip", "x-gzip", "deflate")


@dataclass
class ImportSummary:
    """What one `archiver import` did, file by file."""

    run_id: int
    files: list[dict[str, object]] = field(default_factory=list)
    crawl: CrawlSummary | None = None

    @property
    def complete(self) -> bool:
        """False when a file could not be read to its end (`archiver import` exits 1)."""
        return not any("stopped_at" in entry for entry in self.files)

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "run_id": self.run_id,
            "files": self.files,
            "complete": self.complete,
        }
        if self.crawl is not None:
            summary = self.crawl.as_json()
            for key in (
                "fetched",
                "new_versions",
                "unchanged",
                "not_modified",
                "errors",
                "targets",
            ):
                data[key] = summary[key]
        return data


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _iso(warc_date: str) -> str:
    try:
        parsed = datetime.fromisoformat(warc_date.replace("Z", "+00:00"))
    except ValueError:
        return now_iso()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.replace(microsecond=0).isoformat()


def _check_readable(path: Path) -> None:
    """Fail early, before anything is copied, on a file that is not a WARC."""
    try:
        with open(path, "rb") as fh:
            first = next(iter(warc_records(fh)), None)
            if first is None or first.format != "warc":
                raise UsageError(f"{path}: not a WARC file")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{path}: is a directory") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - warcio's errors on bytes that are no WARC
        message = " ".join(str(exc).split())[:200]
        raise UsageError(f"{path}: not a readable WARC file ({message})") from exc


def _copy_into_store(path: Path, store: Store) -> tuple[str, bool]:
    """Copy the file into warc/ under a hash-derived name; return (name, already there)."""
    sha = _sha256(path)
    suffix = ".warc.gz" if path.name.endswith(".gz") else ".warc"
    name = f"import-{sha[:32]}{suffix}"
    dest = store.warc_dir / name
    if dest.exists() or (store.remote is not None and store.catalog.warc_file(name)):
        return name, True
    tmp = dest.with_name(name + ".part")
    try:
        store.warc_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)  # atomic: the catalog never sees a half-copied file
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot copy {path} into {store.warc_dir}: {exc}") from exc
    return name, False


def _page_url(uri: str) -> str | None:
    """The canonical http(s) URL a record is for, or None when it names no usable one."""
    url = canonicalize(uri)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def _unusable(record: ForeignRecord) -> str | None:
    """Why a response or revisit record for an http(s) URI cannot be a capture."""
    if record.problem:
        return record.problem
    if _page_url(record.uri) is None:
        return f"WARC-Target-URI {record.uri[:100]!r} is not a usable http(s) URL"
    if record.http is None:
        return "no HTTP response head"
    if record.digest_ok is False:
        return "its payload does not match its WARC-Payload-Digest (a damaged record)"
    return None


def _ingest_file(
    run: CrawlRun, source: Path, name: str, summary: CrawlSummary
) -> dict[str, object]:
    """Turn every usable HTTP response record of warc/<name> into a capture."""
    reader = ForeignWarc(run.store.warc_dir / name, body_limit=run.crawl_config.max_bytes)
    count = 0
    skipped: list[dict[str, object]] = []
    for record in reader:
        if record.record_type not in CAPTURE_TYPES:
            continue  # request, warcinfo, resource, metadata …: kept in the file only
        if record.uri and not record.uri.lower().startswith(("http:", "https:")):
            continue  # dns:, urn: … responses are no web pages
        reason = _unusable(record) if record.uri else "no WARC-Target-URI"
        if reason is not None:
            reason = " ".join(reason.split())
            skipped.append({"offset": record.offset, "type": record.record_type, "reason": reason})
            log.warning(
                "%s: %s record at offset %d skipped: %s",
                source,
                record.record_type,
                record.offset,
                reason,
            )
            continue
        summary.outcomes.append(_ingest_record(run, record, name))
        count += 1
    entry: dict[str, object] = {
        "file": str(source),
        "stored_as": name,
        "records": count,
        "skipped_records": skipped,
    }
    if reader.stopped_at is not None:
        entry["stopped_at"] = reader.stopped_at
        entry["error"] = (
            f"reading stopped at byte {reader.stopped_at} of {reader.size}"
            f" ({reader.stop_reason}); the records from there on were not imported"
        )
        log.warning("%s: %s", source, entry["error"])
    return entry


def _exchange(record: ForeignRecord, url: str, fetched_at: str, limit: int) -> Exchange:
    """The record's response as the fetcher would have produced it, within ``limit``.

    Raises FetchError for a body in an encoding archiver cannot undo."""
    http = record.http
    assert http is not None
    raw = record.payload  # at most `limit` bytes, still encoded
    if http.chunked:
        raw = dechunk(raw) or raw
    encoding = (http.header("content-encoding") or "identity").strip().lower()
    try:
        body, over = decode_content(raw, encoding, limit)
    except FetchError:
        if encoding not in _DECODABLE:
            raise
        # Stored already decoded with the header left in, as some tools do (warcio's
        # reader falls back the same way).
        body, over = raw[:limit], len(raw) > limit
    return Exchange(
        url=url,
        method="GET",
        request_headers=[],
        http_version="1.1",
        status=http.status,
        reason=http.reason,
        response_headers=list(http.headers),
        raw_body=b"",
        body=body,
        fetched_at=fetched_at,
        truncated=record.truncated or over,
    )


def _ingest_record(run: CrawlRun, record: ForeignRecord, name: str) -> TargetOutcome:
    """Record one capture with its version and target state in one transaction."""
    http = record.http
    assert http is not None
    url = _page_url(record.uri)
    assert url is not None
    fetched_at = _iso(record.date)
    catalog = run.catalog
    try:
        with catalog.transaction():
            target = catalog.upsert_target(url, via="import")
            capture_id = catalog.add_capture(
                target_id=target.id,
                run_id=run.run_id,
                url=url,
                fetched_at=fetched_at,
                status=http.status,
                content_type=http.header("content-type"),
                payload_digest=record.payload_digest,
                record_type=record.record_type,
                warc_file=name,
                warc_offset=record.offset,
                warc_length=record.length,
                etag=http.header("etag"),
                last_modified=http.header("last-modified"),
            )
            if record.record_type == "revisit":
                outcome = TargetOutcome(url, UNCHANGED)
            else:
                outcome = _ingest(run, target, record, url, fetched_at, capture_id)
            catalog.set_target_state(target.id, outcome.state, error=outcome.error)
    except BaseException:
        run.index_feed.discard()  # the capture's version was rolled back with it
        raise
    run.index_feed.flush()
    level = logging.WARNING if outcome.state == ERROR else logging.INFO
    log.log(level, "%s %s%s", outcome.state, url, f": {outcome.error}" if outcome.error else "")
    if run.progress:
        run.progress(outcome)
    return outcome


def _ingest(
    run: CrawlRun,
    target: TargetRow,
    record: ForeignRecord,
    url: str,
    fetched_at: str,
    capture_id: int,
) -> TargetOutcome:
    try:
        exchange = _exchange(record, url, fetched_at, run.crawl_config.max_bytes)
    except FetchError as exc:
        return TargetOutcome(url, ERROR, error=f"cannot decode the body: {exc}")
    try:
        with run.catalog.transaction():
            return run.ingest(target, url, exchange, capture_id)
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - one odd record must not stop an import
        run.index_feed.discard()
        return TargetOutcome(url, ERROR, error=f"cannot ingest: {exc}")


def import_warcs(
    store: Store,
    paths: Iterable[Path],
    *,
    crawl_config: CrawlConfig | None = None,
    progress: ProgressFn | None = None,
) -> ImportSummary:
    """Import WARC files as one run (trigger "import"); raise UsageError on a bad file.

    A file that could not be read to its end is reported in its ``files`` entry
    (``stopped_at``, ``error``), in the run's errors, and by ``complete`` being False.
    """
    paths = list(paths)
    for path in paths:
        _check_readable(path)
    store.lock()
    try:
        spool.start_run(store)  # a store on S3: check it; upload what earlier runs left
        run_id = store.catalog.start_run("import")
        summary = ImportSummary(run_id=run_id)
        crawl = CrawlSummary(run_id=run_id)
        run = CrawlRun(crawl_config or CrawlConfig(), store, run_id, progress)
        run.by_capture_time = True  # an imported capture takes its place in time
        try:
            for path in paths:
                name, seen = _copy_into_store(path, store)
                if seen:
                    summary.files.append(
                        {
                            "file": str(path),
                            "stored_as": name,
                            "records": 0,
                            "skipped": "already imported",
                        }
                    )
                    continue
                summary.files.append(_ingest_file(run, path, name, crawl))
        finally:
            finish_run(run, crawl)
        if not summary.complete:  # the run is partial: say which file stopped where
            stopped = [
                {"url": str(entry["file"]), "error": str(entry["error"])}
                for entry in summary.files
                if "stopped_at" in entry
            ]
            store.catalog.finish_run(
                run_id,
                outcome="partial",
                fetched=crawl.fetched,
                new_versions=crawl.count("new", "changed"),
                unchanged=crawl.count(UNCHANGED),
                not_modified=crawl.count("not modified"),
                errors=crawl.errors + stopped,
            )
        summary.crawl = crawl
        return summary
    finally:
        store.unlock()
