"""Import WARC files made by other tools (wget, Browsertrix, pywb …) into the store.

The file is copied into ``<store>/warc/`` unchanged (named by its SHA-256, so a second
import of the same file is recognised and skipped), and each response record becomes a
capture pointing into that copy — the original bytes stay the evidence. Responses then
go through the crawl's own ingest step: extraction, a version when the text is new, the
index. Records are processed in file order, which for crawlers is capture order.
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

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archiver.config import CrawlConfig
from archiver.errors import StoreError, UsageError
from archiver.net.exchange import Exchange
from archiver.net.urls import canonicalize
from archiver.storage.store import Store
from archiver.text.dates import now_iso

from .outcome import ERROR, CrawlSummary, ProgressFn, TargetOutcome
from .recorder import CrawlRun, finish_run

log = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    """What one `archiver import` did, file by file."""

    run_id: int
    files: list[dict[str, object]] = field(default_factory=list)
    crawl: CrawlSummary | None = None

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"run_id": self.run_id, "files": self.files}
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
            records = ArchiveIterator(fh)
            first = next(iter(records), None)
            if first is None or first.format != "warc":
                raise UsageError(f"{path}: not a WARC file")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{path}: is a directory") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc
    except (ArchiveLoadFailed, ValueError, EOFError) as exc:
        raise UsageError(f"{path}: not a readable WARC file ({exc})".replace("\n", " ")) from exc


def _copy_into_store(path: Path, store: Store) -> tuple[str, bool]:
    """Copy the file into warc/ under a hash-derived name; return (name, already there)."""
    sha = _sha256(path)
    suffix = ".warc.gz" if path.name.endswith(".gz") else ".warc"
    name = f"import-{sha[:32]}{suffix}"
    dest = store.warc_dir / name
    if dest.exists():
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


def _ingest_file(run: CrawlRun, name: str, summary: CrawlSummary) -> int:
    """Turn every HTTP response record of warc/<name> into captures; return the count."""
    count = 0
    path = run.store.warc_dir / name
    try:
        with open(path, "rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                if (
                    record.rec_type not in ("response", "revisit")
                    or record.http_headers is None
                    or not uri.startswith(("http:", "https:"))
                ):
                    continue
                body = record.content_stream().read() if record.rec_type == "response" else b""
                offset, length = records.get_record_offset(), records.get_record_length()
                summary.outcomes.append(
                    _ingest_record(run, record, uri, body, name, offset, length)
                )
                count += 1
    except (ArchiveLoadFailed, ValueError, EOFError) as exc:
        log.warning("%s: stopped at a damaged record: %s", name, exc)
    return count


def _ingest_record(
    run: CrawlRun, record: object, uri: str, body: bytes, name: str, offset: int, length: int
) -> TargetOutcome:
    rec_headers = record.rec_headers  # type: ignore[attr-defined]
    http = record.http_headers  # type: ignore[attr-defined]
    code = http.get_statuscode() or ""
    status = int(code) if code.isdigit() else 0
    url = canonicalize(uri)
    fetched_at = _iso(rec_headers.get_header("WARC-Date") or "")
    target = run.catalog.upsert_target(url, via="import")
    headers = list(http.headers)
    exchange = Exchange(
        url=url,
        method="GET",
        request_headers=[],
        http_version="1.1",
        status=status,
        reason=http.get_statuscode() and http.statusline.partition(" ")[2] or "",
        response_headers=headers,
        raw_body=b"",
        body=body,
        fetched_at=fetched_at,
    )
    capture_id = run.catalog.add_capture(
        target_id=target.id,
        run_id=run.run_id,
        url=url,
        fetched_at=fetched_at,
        status=status,
        content_type=exchange.content_type,
        payload_digest=rec_headers.get_header("WARC-Payload-Digest"),
        record_type=record.rec_type,  # type: ignore[attr-defined]
        warc_file=name,
        warc_offset=offset,
        warc_length=length,
        etag=exchange.header("etag"),
        last_modified=exchange.header("last-modified"),
    )
    if record.rec_type == "revisit":  # type: ignore[attr-defined]
        outcome = TargetOutcome(url, "unchanged")
    else:
        try:
            outcome = run.ingest(target, url, exchange, capture_id)
            run.index_feed.flush()  # each catalog call here commits on its own
        except StoreError:
            raise
        except Exception as exc:  # one odd record must not stop an import
            outcome = TargetOutcome(url, ERROR, error=f"cannot ingest: {exc}")
    run.catalog.set_target_state(target.id, outcome.state, error=outcome.error)
    if run.progress:
        run.progress(outcome)
    return outcome


def import_warcs(
    store: Store,
    paths: Iterable[Path],
    *,
    crawl_config: CrawlConfig | None = None,
    progress: ProgressFn | None = None,
) -> ImportSummary:
    """Import WARC files as one run (trigger "import"); raise UsageError on a bad file."""
    paths = list(paths)
    for path in paths:
        _check_readable(path)
    store.lock()
    try:
        run_id = store.catalog.start_run("import")
        summary = ImportSummary(run_id=run_id)
        crawl = CrawlSummary(run_id=run_id)
        run = CrawlRun(crawl_config or CrawlConfig(), store, run_id, progress)
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
                records = _ingest_file(run, name, crawl)
                summary.files.append({"file": str(path), "stored_as": name, "records": records})
        finally:
            finish_run(run, crawl)
        summary.crawl = crawl
        return summary
    finally:
        store.unlock()
