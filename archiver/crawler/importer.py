"""Import WARC and ARC files made by other tools (wget, Browsertrix, Heritrix, pywb …).

The file is copied into ``<store>/warc/`` unchanged (named by its SHA-256, so a second
import of the same file is recognised and skipped), and each HTTP response record
becomes a capture pointing into that copy — the original bytes stay the evidence.
Responses then go through the crawl's own ingest step: extraction, a version when the
text is new, the index.

- An ARC file (the format before WARC) is kept as it is too: warcio reads its records
  as WARC ``response`` records, and their payload digests are computed (ARC has none)
  and kept in the catalog, so that ``verify`` can still tell a damaged record.
- A ``resource`` record whose content is HTML (a page some tools store without an HTTP
  head) is a capture like a response; other resource records are kept, not ingested.
- A file gzipped whole (one gzip member holding many records) cannot be read by
  offset: it is kept as it was in ``<store>/originals/`` and a copy recompressed one
  member per record (:mod:`archiver.storage.regzip`) takes its place in ``warc/``.
- A file that yields no capture is not kept (a later archiver may read more of it) and
  the import says so and exits 1.

Nothing in the file is trusted (:class:`~archiver.storage.foreign.ForeignWarc` reads it):

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

import logging
import os
import shutil
from collections import Counter
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
from archiver.storage.foreign import (
    READ_TYPES,
    ArchiveFormat,
    ForeignRecord,
    ForeignWarc,
    HttpHead,
    WholeGzipError,
    dechunk,
    sniff_format,
    warc_records,
)
from archiver.storage.regzip import recompress
from archiver.storage.rows import TargetRow
from archiver.storage.store import Store
from archiver.storage.warc import file_sha256
from archiver.text.dates import now_iso

from .outcome import ERROR, UNCHANGED, CrawlSummary, ProgressFn, TargetOutcome
from .recorder import HTML_TYPES, CrawlRun, finish_run

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

    @property
    def ok(self) -> bool:
        """False when a file was cut short or yielded no capture (`archiver import` exits 1)."""
        return not any("error" in entry for entry in self.files)

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "run_id": self.run_id,
            "files": self.files,
            "complete": self.complete,
            "ok": self.ok,
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


def _iso(warc_date: str) -> str:
    try:
        parsed = datetime.fromisoformat(warc_date.replace("Z", "+00:00"))
    except ValueError:
        return now_iso()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class _Source:
    """A file to import, as :func:`_inspect` found it."""

    path: Path
    format: ArchiveFormat
    whole_gzip: bool  # a gzip member holds several records: recompressed on import


def _inspect(path: Path) -> _Source:
    """Fail early, before anything is copied, on a file that is neither WARC nor ARC;
    tell a file gzipped whole (or in blocks of records) from one gzipped per record."""
    try:
        kind = sniff_format(path)
        if kind is None:
            raise UsageError(f"{path}: not a WARC or ARC file")
        if kind.kind == "arc" and kind.version != "1":  # v2 has other header fields
            raise UsageError(f"{path}: ARC version {kind.version[:10]!r} is not supported (1 is)")
        whole = False
        with open(path, "rb") as fh:
            records = iter(warc_records(fh, arc=kind.kind == "arc"))
            if next(records, None) is None:
                raise UsageError(f"{path}: not a WARC or ARC file")
            if kind.gz:
                # One pass over the record headers: warcio notices a gzip member holding
                # two records (the whole file, or a block of records) at the second one.
                try:
                    for _record in records:
                        pass
                except WholeGzipError:
                    whole = True
                except Exception:  # noqa: BLE001, S110 - damage further on: the import reports it
                    pass
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
        raise UsageError(f"{path}: not a readable WARC or ARC file ({message})") from exc
    return _Source(path, kind, whole)


def _copy_atomic(path: Path, dest: Path) -> None:
    """Copy ``path`` to ``dest`` via a temporary file, fsynced, then renamed: the catalog
    never sees a half-copied file."""
    tmp = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot copy {path} into {dest.parent}: {exc}") from exc


@dataclass
class _Stored:
    """Where an imported file landed: ``name`` in warc/; ``seen`` if it was there
    already; for a file gzipped whole, the ``original`` kept in originals/ and where its
    gzip data could not be read on (``stopped_at``, an offset in the original)."""

    name: str
    seen: bool
    original: Path | None = None
    stopped_at: int | None = None
    stop_reason: str | None = None

    def remove(self, store: Store) -> None:
        """Take the file out of the store again (it yielded no capture)."""
        for path in (store.warc_dir / self.name, self.original):
            if path is not None:
                path.unlink(missing_ok=True)


def _store_file(source: _Source, store: Store) -> _Stored:
    """Copy the file into warc/ under a hash-derived name (a file gzipped whole: into
    originals/, and a copy recompressed per record into warc/)."""
    sha = file_sha256(source.path)
    name = f"import-{sha[:32]}{source.format.suffix}"
    # Before formats were sniffed, a WARC's suffix followed the source's name.
    legacy = f"import-{sha[:32]}{'.warc.gz' if source.path.name.endswith('.gz') else '.warc'}"
    for known in (name, legacy):
        if (store.warc_dir / known).exists() or (
            store.remote is not None and store.catalog.warc_file(known)
        ):
            return _Stored(known, seen=True)
    if not source.whole_gzip:
        _copy_atomic(source.path, store.warc_dir / name)
        return _Stored(name, seen=False)
    original = store.originals_dir / name
    _copy_atomic(source.path, original)  # first: the copy never exists without it
    store.warc_dir.mkdir(parents=True, exist_ok=True)
    done = recompress(original, store.warc_dir / name, arc=source.format.kind == "arc")
    log.info("%s: gzipped whole; recompressed into %d members", source.path, done.members)
    return _Stored(name, False, original, done.stopped_at, done.reason)


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


def _is_html_resource(record: ForeignRecord) -> bool:
    """Whether a resource record holds an HTML page (by its Content-Type, else its start)."""
    if record.content_type:
        return record.content_type.split(";")[0].strip().lower() in HTML_TYPES
    head = record.payload[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _unusable(record: ForeignRecord) -> str | None:
    """Why a response, revisit or HTML resource record for an http(s) URI cannot be a
    capture."""
    if record.problem:
        return record.problem
    if _page_url(record.uri) is None:
        return f"WARC-Target-URI {record.uri[:100]!r} is not a usable http(s) URL"
    if record.http is None and record.record_type != "resource":
        return "no HTTP response head"
    if record.digest_ok is False:
        return "its payload does not match its WARC-Payload-Digest (a damaged record)"
    return None


def _capturable(record: ForeignRecord) -> bool:
    """Whether a record is meant as a capture of a web page: a response or revisit for
    an http(s) URI (or none: then skipped with that reason), or an HTML resource."""
    web = record.uri.lower().startswith(("http:", "https:"))
    if record.record_type == "resource":
        return web and _is_html_resource(record)
    return record.record_type in READ_TYPES and (web or not record.uri)


def _ingest_file(
    run: CrawlRun, source: Path, stored: _Stored, summary: CrawlSummary
) -> dict[str, object]:
    """Turn every usable capture record of warc/<name> into a capture; count the rest.

    Every record read is counted once: as a capture, as kept (by type: not meant as a
    capture, e.g. request, warcinfo, metadata, a screenshot) or as skipped (with why)."""
    name = stored.name
    reader = ForeignWarc(run.store.warc_dir / name, body_limit=run.crawl_config.max_bytes)
    count = 0
    skipped: list[dict[str, object]] = []
    kept: Counter[str] = Counter()
    kept_resources: list[dict[str, object]] = []
    for record in reader:
        if not _capturable(record):
            kept[record.record_type or "untyped"] += 1
            if record.record_type == "resource":
                kept_resources.append(
                    {
                        "offset": record.offset,
                        "uri": record.uri,
                        "content_type": record.content_type,
                    }
                )
            continue
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
        "format": "arc" if reader.arc else "warc",
        "records": count,
        "records_read": reader.records,
        "captures": count,
        "kept": dict(sorted(kept.items())),
        "kept_resources": kept_resources,
        "skipped_records": skipped,
    }
    if stored.original is not None:
        entry["original"] = f"{stored.original.parent.name}/{stored.original.name}"
    if stored.stopped_at is not None:  # the original's gzip data: cut short or damaged
        size = stored.original.stat().st_size if stored.original else 0
        entry["stopped_at"] = stored.stopped_at
        entry["error"] = (
            f"reading stopped at byte {stored.stopped_at} of {size} of the original"
            f" ({stored.stop_reason}); the records from there on were not imported"
        )
    elif reader.stopped_at is not None:
        entry["stopped_at"] = reader.stopped_at
        entry["error"] = (
            f"reading stopped at byte {reader.stopped_at} of {reader.size}"
            f" ({reader.stop_reason}); the records from there on were not imported"
        )
    if "error" in entry:
        log.warning("%s: %s", source, entry["error"])
    if count == 0:
        # Nothing points at the file: it is not kept, so that importing it again (with a
        # later archiver that reads more of it) is not taken for a repeat.
        stored.remove(run.store)
        entry["stored_as"] = None
        entry.pop("original", None)
        why = entry.get("error") or _no_capture_reason(reader.records, kept, skipped)
        entry["error"] = f"no capture: {why}; the file was not kept"
        log.warning("%s: %s", source, entry["error"])
    return entry


def _no_capture_reason(records: int, kept: Counter[str], skipped: list[dict[str, object]]) -> str:
    if not records:
        return "no complete record"
    parts = [f"{n} {kind}" for kind, n in sorted(kept.items())]
    if skipped:
        parts.append(f"{len(skipped)} skipped")
    return f"none of its {records} records is a web page capture ({', '.join(parts)})"


def _exchange(record: ForeignRecord, url: str, fetched_at: str, limit: int) -> Exchange:
    """The record's response as the fetcher would have produced it, within ``limit``.

    A resource record (no HTTP head) reads as a 200 response with its Content-Type, as
    replay tools (pywb) serve it. Raises FetchError for a body in an encoding archiver
    cannot undo."""
    http = record.http or HttpHead(200, "OK", _resource_headers(record))
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


def _resource_headers(record: ForeignRecord) -> list[tuple[str, str]]:
    return [("Content-Type", record.content_type)] if record.content_type else []


def _ingest_record(run: CrawlRun, record: ForeignRecord, name: str) -> TargetOutcome:
    """Record one capture with its version and target state in one transaction."""
    http = record.http or HttpHead(200, "OK", _resource_headers(record))
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
    """Import WARC and ARC files as one run (trigger "import"); raise UsageError on a
    file that is neither (before anything is copied).

    A file that could not be read to its end is reported in its ``files`` entry
    (``stopped_at``, ``error``), in the run's errors, and by ``complete`` being False; a
    file that yielded no capture by its ``error`` (and is not kept). Either makes ``ok``
    False.
    """
    sources = [_inspect(path) for path in paths]
    store.lock()
    try:
        spool.start_run(store)  # a store on S3: check it; upload what earlier runs left
        run_id = store.catalog.start_run("import")
        summary = ImportSummary(run_id=run_id)
        crawl = CrawlSummary(run_id=run_id)
        run = CrawlRun(crawl_config or CrawlConfig(), store, run_id, progress)
        run.by_capture_time = True  # an imported capture takes its place in time
        try:
            for source in sources:
                stored = _store_file(source, store)
                if stored.seen:
                    summary.files.append(
                        {
                            "file": str(source.path),
                            "stored_as": stored.name,
                            "records": 0,
                            "skipped": "already imported",
                        }
                    )
                    continue
                summary.files.append(_ingest_file(run, source.path, stored, crawl))
        finally:
            finish_run(run, crawl)
        if not summary.ok:  # the run is partial: say which file stopped where, or gave nothing
            stopped = [
                {"url": str(entry["file"]), "error": str(entry["error"])}
                for entry in summary.files
                if "error" in entry
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
