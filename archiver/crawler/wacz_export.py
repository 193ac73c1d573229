"""`archiver export --wacz FILE`: the archive, or a story of it, as one WACZ file.

Invariants:

- every WARC record a covered capture points at is copied byte for byte (through
  :class:`archiver.storage.spool.RecordFiles`, so a store on S3 works the same), and for
  each ``revisit`` record (an identical payload, or a 304) the response it refers to is
  copied too, whatever the filters, so that replay finds the payload;
- each version is a page of ``pages/pages.jsonl`` with its title and extracted text,
  under the URI and time of the record it was extracted from; each seed post is a page
  of its own (a ``resource`` record under ``https://seed.archiver.invalid/<hash>``, with
  a ``metadata`` record holding its catalog fields so that ``archiver import`` restores
  it);
- records stream through a bounded buffer and the index is sorted in bounded runs:
  memory does not grow with the archive (the catalog is read in batches of pages);
- the file appears complete or not at all (written aside, renamed at the end);
- ``pages/pages.jsonl`` is the same whether a worker process writes it (see
  :mod:`.wacz_pages`; the export's process is then left the WARC records and index)
  or the export's own process does.
"""

from __future__ import annotations

import contextlib
import html
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.errors import StoreError
from archiver.storage import spool
from archiver.storage.catalog import Catalog
from archiver.storage.rows import CaptureRow, SeedRow, TargetRow, VersionText
from archiver.storage.store import Store
from archiver.storage.wacz import (
    DATA_WARC,
    SEEDS_WARC,
    Page,
    WaczWriter,
    seed_records,
    seed_url,
)
from archiver.storage.warc import warc_date

from .selection import Selection
from .wacz_pages import PagesProcess, can_fork

log = logging.getLogger(__name__)

_BATCH = 100  # pages read from the catalog at a time (three batches in memory at most)


@dataclass
class WaczExport:
    """What one export wrote."""

    file: str
    records: int = 0
    warc_bytes: int = 0
    pages: int = 0
    seeds: int = 0
    bytes: int = 0
    skipped: list[dict[str, object]] = field(default_factory=list)  # records not readable

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "records": self.records,
            "warc_bytes": self.warc_bytes,
            "pages": self.pages,
            "seeds": self.seeds,
            "bytes": self.bytes,
            "skipped": self.skipped,
        }


def seed_page_html(seed: SeedRow) -> str:
    """The seed post as a page to replay: title, source, time, body and references,
    all escaped."""
    lines = [
        "<!DOCTYPE html>",
        '<html lang="ko"><head><meta charset="utf-8">',
        f"<title>{html.escape(seed.title)}</title></head><body>",
        f"<h1>{html.escape(seed.title)}</h1>",
    ]
    about = " · ".join(x for x in (seed.source_label, seed.posted_at) if x)
    if about:
        lines.append(f"<p><small>{html.escape(about)}</small></p>")
    body = seed.data.get("body") or seed.text.split("\n")
    lines += [f"<p>{html.escape(str(line))}</p>" for line in body if str(line).strip()]
    references = seed.data.get("references") or []
    if references:
        lines.append("<h2>References</h2><ul>")
        for ref in references:
            url = html.escape(str(ref.get("url", "")), quote=True)
            label = html.escape(str(ref.get("label") or ref.get("url", "")))
            lines.append(f'<li><a href="{url}">{label}</a></li>')
        lines.append("</ul>")
    lines.append("</body></html>")
    return "\n".join(lines) + "\n"


def seed_fields(seed: SeedRow) -> dict[str, Any]:
    """The catalog fields that register the seed again on import."""
    return {
        "sha256": seed.sha256,
        "name": seed.name,
        "format": seed.format,
        "title": seed.title,
        "source_label": seed.source_label,
        "posted_at": seed.posted_at,
        "text": seed.text,
        "data": seed.data,
        "registered_at": seed.registered_at,
    }


@dataclass(frozen=True)
class _Batch:
    """A batch of pages with their captures and versions (each page's in order)."""

    targets: list[TargetRow]
    captures: list[CaptureRow]
    versions: list[VersionText]


class _BatchReader:
    """Reads the batches' captures and versions on a thread of its own, over its own
    catalog connection, one batch ahead of the export: reading the texts (as much as the
    rest of the export's work on the main thread) then runs beside it, the database
    releasing the GIL while it reads. Iterate over it inside ``with``.

    Invariants: the batches come in order; at most one batch waits, read; an error of
    the thread is raised by the iteration; leaving ``with`` stops the thread and closes
    its connection."""

    def __init__(self, store: Store, batches: list[list[TargetRow]], *, texts: bool) -> None:
        self._texts = texts  # read the versions' texts too (no pages worker to read them)
        self._location = store.catalog_dsn or store.catalog_path
        self._batches = batches
        self._queue: queue.Queue[_Batch | BaseException | None] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wacz-catalog", daemon=True)

    def _run(self) -> None:
        try:
            catalog = Catalog(self._location)
        except BaseException as exc:  # noqa: BLE001 - raised again by the iteration
            self._queue.put(exc)
            return
        try:
            for targets in self._batches:
                if self._stop.is_set():
                    break
                ids = [t.id for t in targets]
                captures = catalog.captures_of(ids)
                texts = catalog.version_texts_of(ids) if self._texts else []
                self._queue.put(_Batch(targets, captures, texts))
            self._queue.put(None)
        except BaseException as exc:  # noqa: BLE001 - raised again by the iteration
            self._queue.put(exc)
        finally:
            catalog.close()

    def __enter__(self) -> _BatchReader:
        self._thread.start()
        return self

    def __iter__(self) -> Iterator[_Batch]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # free a put() the thread may wait in
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()


class _Exporter:
    def __init__(
        self,
        store: Store,
        writer: WaczWriter,
        result: WaczExport,
        worker: PagesProcess | None = None,
    ) -> None:
        self.store = store
        self.worker = worker  # writes the pages, when there is one
        self.writer = writer
        self.result = result
        self.seed_hashes: dict[int, str] = {}  # seed id -> its SHA-256
        self.files = spool.RecordFiles(store)

    def copy(self, capture: CaptureRow) -> str | None:
        """Copy a capture's record; the record's URI, or None when it cannot be read
        (warned about and listed in ``skipped``)."""
        assert capture.warc_file is not None and capture.warc_offset is not None
        length = capture.warc_length or 0
        position = self.writer.position
        try:
            stream = self.files.open(capture.warc_file, capture.warc_offset, length)
            with stream:
                head = self.writer.add_record(stream, length)
        except StoreError as exc:
            if self.writer.position != position:  # cut off mid-copy: the member is torn
                raise
            where = f"{capture.warc_file}@{capture.warc_offset}"
            log.warning("%s: record %s not exported: %s", capture.url, where, exc)
            self.result.skipped.append({"url": capture.url, "record": where, "error": str(exc)})
            return None
        return head.uri or capture.url

    def seeds(self, seeds: list[SeedRow]) -> Page | None:
        """Write the seed posts' records and pages; the first seed's page."""
        if not seeds:
            return None
        self.writer.warc(SEEDS_WARC)
        first: Page | None = None
        pages: list[Page] = []
        for seed in seeds:
            when = seed.posted_at or seed.registered_at
            for record in seed_records(
                seed.sha256, seed_page_html(seed), seed_fields(seed), warc_date(when)
            ):
                self.writer.add_bytes(record)
            page = Page(seed_url(seed.sha256), warc_date(when), seed.title, seed.text)
            pages.append(page)
            first = first or page
            self.result.seeds += 1
        if self.worker is not None:
            self.worker.pages(pages)
        else:
            for page in pages:
                self.writer.add_page(page)
        return first

    def pages(self, selection: Selection) -> None:
        self.writer.warc(DATA_WARC)
        targets = list(selection.targets(self.store.catalog))
        batches = [targets[i : i + _BATCH] for i in range(0, len(targets), _BATCH)]
        with _BatchReader(self.store, batches, texts=self.worker is None) as reader:
            for batch in reader:
                self._batch(batch, selection)

    def _batch(self, batch: _Batch, selection: Selection) -> None:
        """Copy a batch of pages' records and write their pages."""
        catalog = self.store.catalog
        captures: dict[int, list[CaptureRow]] = {}
        for capture in batch.captures:
            captures.setdefault(capture.target_id, []).append(capture)
        copied: dict[int, str | None] = {}  # capture id -> record URI (this batch only)
        for target in batch.targets:
            for capture in captures.get(target.id, []):
                if capture.warc_file is None or capture.warc_offset is None:
                    continue  # a failed fetch: nothing was archived
                if not selection.keeps(capture.fetched_at):
                    continue
                if capture.record_type == "revisit" and capture.payload_digest:
                    original = catalog.original_response(capture.payload_digest, capture.url)
                    if original is not None and original.id not in copied:
                        copied[original.id] = self.copy(original)
                if capture.id not in copied:
                    copied[capture.id] = self.copy(capture)
        if self.worker is not None:
            uris = {capture: uri for capture, uri in copied.items() if uri is not None}
            found = {t.id: self.provenance(t) for t in batch.targets}
            self.worker.batch(([t.id for t in batch.targets], uris, found))
            return
        by_id = {t.id: t for t in batch.targets}
        for version in batch.versions:
            uri = copied.get(version.capture_id)
            if uri is None:  # outside the window, or its record was not readable
                continue
            when = warc_date(version.fetched_at)
            provenance = self.provenance(by_id[version.target_id])
            self.writer.add_page(Page(uri, when, version.title, version.text, provenance))

    def provenance(self, target: TargetRow) -> dict[str, Any]:
        """How the page was found, for `archiver import` to restore (the seed named by
        its SHA-256: its id differs in another store)."""
        seed = None
        if target.seed_id is not None:
            if target.seed_id not in self.seed_hashes:
                self.seed_hashes[target.seed_id] = self.store.catalog.seed(target.seed_id).sha256
            seed = self.seed_hashes[target.seed_id]
        return {"via": target.via, "depth": target.depth, "score": target.score, "seed": seed}


def export_wacz(
    store: Store, selection: Selection, path: Path, *, worker: bool | None = None
) -> WaczExport:
    """Write the selected part of the archive to ``path`` as a WACZ 1.1.1 file; the
    pages by a worker process (``worker``; by default whenever :func:`can_fork`)."""
    catalog = store.catalog
    seeds = selection.seeds(catalog)
    title = seeds[0].title if selection.seed_id is not None else "archiver export"
    result = WaczExport(file=str(path))
    # Forked first, before this export starts a thread of its own.
    pages = None
    if worker if worker is not None else can_fork():
        try:
            pages = PagesProcess(store.catalog_dsn or store.catalog_path)
        except OSError as exc:  # no process to be had (a limit): the pages are written here
            log.info("pages written without a worker process: %s", exc)
    try:
        writer = WaczWriter(path, title=title, pages_apart=pages is not None)
        if pages is not None:
            pages.into(writer.part, writer.pages_offset)
    except BaseException:
        if pages is not None:
            pages.stop()
        raise
    exporter = _Exporter(store, writer, result, pages)
    try:
        with exporter.files:
            main_page = exporter.seeds(seeds)
            exporter.pages(selection)
        if pages is not None:
            done = pages.finish()
            writer.pages_written(done.sha256, done.crc, done.size, done.pages)
    except BaseException:
        writer.abort()
        raise
    finally:
        if pages is not None:
            pages.stop()
    writer.close(main_page=main_page)
    result.records = writer.records
    result.warc_bytes = writer.warc_bytes
    result.pages = writer.pages
    result.bytes = path.stat().st_size
    return result
