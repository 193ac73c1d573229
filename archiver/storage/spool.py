"""The local spool of a store whose WARC files live on S3 (``[store] warc = "s3://…"``).

Writers keep writing ``<store>/warc/`` exactly as in a local store (one write and an
fsync per record). A closed file is recorded as *spooled* in the catalog's
``warc_files`` table, with its size and SHA-256, and :func:`upload_spool` uploads it:
*uploading*, the object is PUT with its SHA-256 (which the server checks), a HEAD
request then confirms the object's size and SHA-256, the row becomes *uploaded*, and
only then is the spool copy deleted. A crash at any step leaves the spool file, which
the next pass uploads again (a PUT of the same name is idempotent).

Uploads run when a run starts and ends (crawl, import) and with ``archiver upload``,
always under the store lock, so no writer has a spool file open meanwhile; during a run
the :class:`Uploader` sends each file the writer closes (by size or age). When S3
cannot be reached the files wait in the spool, nothing lost; a server that refuses the
credentials or the bucket is bad input (:class:`ObjectStoreError`, exit status 2).

Readers go through :func:`open_record`: the spool file when it is still there, else one
HTTP range request for exactly the record's bytes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from archiver.errors import ArchiverError, ObjectStoreError, StoreError

from .foreign import STORE_SUFFIXES, unaccounted
from .store import Store
from .warc import ClosedWarc

if TYPE_CHECKING:
    from .objects import ObjectStore

log = logging.getLogger(__name__)

SPOOLED, UPLOADING, UPLOADED = "spooled", "uploading", "uploaded"


@dataclass
class UploadReport:
    """What one upload pass did: files ``uploaded``, files still ``waiting`` in the
    spool, and ``error``, why they wait (S3 unreachable), if they do."""

    uploaded: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"uploaded": self.uploaded, "waiting": self.waiting, "error": self.error}


def spool_files(store: Store) -> list[Path]:
    """The WARC (and imported ARC) files in ``<store>/warc/`` (the spool), by name; not
    ``.part`` copies."""
    if not store.warc_dir.is_dir():
        return []
    return sorted(p for p in store.warc_dir.iterdir() if p.name.endswith(STORE_SUFFIXES))


def _digest(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                sha.update(block)
                size += len(block)
    except OSError as exc:
        raise StoreError(f"cannot read spool file {path}: {exc.strerror or exc}") from exc
    return size, sha.hexdigest()


def _put_checked(objects: ObjectStore, path: Path, name: str, size: int, sha256: str) -> None:
    """Upload a spool file, then confirm with a HEAD request that the object has its
    size and SHA-256; ObjectStoreError otherwise (the spool copy must then stay)."""
    objects.put(path, name, size, sha256)
    info = objects.head(name)
    if info is None or (info.size, info.sha256) != (size, sha256):
        found = "no object" if info is None else f"{info.size} bytes, sha256 {info.sha256}"
        raise ObjectStoreError(
            f"{objects.uri(name)} does not match its spool file after upload"
            f" ({found}; expected {size} bytes, sha256 {sha256})"
        )


def upload_spool(store: Store, *, strict: bool = False) -> UploadReport:
    """Upload every file in the spool, oldest name first; the caller holds the store lock.

    When S3 cannot be reached the rest waits (``report.error`` says why); a file S3
    refuses (too large, say) waits and the others go on. With ``strict`` either is an
    ObjectStoreError (an unreachable S3 at once, a refused file after the others).
    """
    report = UploadReport()
    files = spool_files(store)
    if store.remote is None or not files:
        return report
    objects = store.objects
    catalog = store.catalog
    refused: ObjectStoreError | None = None
    if strict:
        objects.check()  # wrong credentials or bucket: one error, not one per file
    for number, path in enumerate(files):
        name = path.name
        size, sha256 = _digest(path)
        known = catalog.warc_file(name)
        if known is not None and (known.size, known.sha256) != (size, sha256):
            log.warning(
                "spool file %s is %d bytes now, %d when it was closed; uploading it as it is",
                name,
                size,
                known.size,
            )
        catalog.record_warc_file(name, state=UPLOADING, size=size, sha256=sha256)
        try:
            _put_checked(objects, path, name, size, sha256)
        except ObjectStoreError as exc:
            catalog.record_warc_file(name, state=SPOOLED, size=size, sha256=sha256, error=str(exc))
            report.error = report.error or str(exc)
            if not exc.unreachable:  # this file only: the others may go
                report.waiting.append(name)
                refused = refused or exc
                log.warning("%s waits in the spool: %s", name, exc)
                continue
            if strict:
                raise
            report.waiting += [p.name for p in files[number:]]
            log.warning(
                "%d WARC files wait in the spool %s: %s; they upload at the next run or"
                " with `archiver upload`",
                len(report.waiting),
                store.warc_dir,
                exc,
            )
            return report
        catalog.record_warc_file(name, state=UPLOADED, size=size, sha256=sha256)
        try:
            path.unlink()  # verified above: the object is the same bytes
        except OSError as exc:
            log.warning("uploaded %s but cannot delete its spool copy: %s", name, exc.strerror)
        report.uploaded.append(name)
        log.info("uploaded %s (%d bytes) to %s", name, size, objects.uri(name))
    if strict and refused is not None:
        raise refused
    return report


class Uploader:
    """Uploads the files a running writer closes (by size or age) in one background
    thread, so that the crawl keeps fetching meanwhile.

    The thread only reads the spool file and talks to S3; the catalog (whose connection
    belongs to the crawl's thread) is written here, by :meth:`closed` and :meth:`close`,
    and a spool copy is deleted only after its row says *uploaded* (committed). A failed upload
    leaves the file spooled for the end-of-run pass (:func:`end_run`) or a later one.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.objects = store.objects  # made here: boto3 clients are shared, not made, in threads
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warc-upload")
        self._pending: list[tuple[ClosedWarc, Future[None]]] = []

    def closed(self, closed: ClosedWarc) -> None:
        """The writer closed a file: record it, start its upload (the crawl's
        thread, inside the page's transaction)."""
        self.store.catalog.record_warc_file(
            closed.name, state=UPLOADING, size=closed.size, sha256=closed.sha256
        )
        self._pending.append((closed, self._pool.submit(self._send, closed)))

    def _send(self, closed: ClosedWarc) -> None:  # in the upload thread
        path = self.store.warc_dir / closed.name
        size, sha256 = _digest(path)
        if (size, sha256) != (closed.size, closed.sha256):
            raise StoreError(f"spool file {closed.name} changed after it was closed")
        _put_checked(self.objects, path, closed.name, size, sha256)

    def settle(self, *, wait: bool = False) -> None:
        """Record the uploads that finished (all of them, with ``wait``) and delete their
        spool copies. Call it outside any catalog transaction: a rolled-back row must
        never leave a spool copy deleted."""
        catalog = self.store.catalog
        for closed, future in list(self._pending):
            if not (wait or future.done()):
                continue
            self._pending.remove((closed, future))
            try:
                future.result()
            except ArchiverError as exc:
                # info: the end-of-run pass tries again, and warns if it fails too
                log.info("%s waits in the spool: %s", closed.name, exc)
                catalog.record_warc_file(
                    closed.name,
                    state=SPOOLED,
                    size=closed.size,
                    sha256=closed.sha256,
                    error=str(exc),
                )
                continue
            catalog.record_warc_file(
                closed.name, state=UPLOADED, size=closed.size, sha256=closed.sha256
            )
            try:
                (self.store.warc_dir / closed.name).unlink()
            except OSError as exc:
                log.warning("uploaded %s but cannot delete its spool copy: %s", closed.name, exc)
            log.info("uploaded %s (%d bytes)", closed.name, closed.size)

    def close(self) -> None:
        """Wait for the uploads under way and record them."""
        try:
            self.settle(wait=True)
        finally:
            self._pool.shutdown(wait=True)


def start_run(store: Store) -> None:
    """Before a run writes: S3 must accept the credentials and bucket (ObjectStoreError
    otherwise); when it answers, files earlier runs left in the spool upload now."""
    if store.remote is None:
        return
    try:
        store.objects.check()
    except ObjectStoreError as exc:
        if not exc.unreachable:
            raise
        log.warning("%s; WARC files wait in the spool %s until it answers", exc, store.warc_dir)
        return
    upload_spool(store)


def end_run(store: Store) -> None:
    """After a run closed its WARC file: upload the spool; a failure only warns (the
    files wait for the next run or `archiver upload`)."""
    if store.remote is None:
        return
    try:
        upload_spool(store)
    except ArchiverError as exc:  # the run is recorded; its files are safe in the spool
        log.warning("WARC files wait in the spool %s: %s", store.warc_dir, exc)


# How much of an uploaded archiver-written file gc reads first: its warcinfo record,
# which tells that the file holds archiver's records only (warc.unaccounted).
_HEAD_BYTES = 1 << 16


@contextmanager
def readable_copy(store: Store, name: str) -> Iterator[tuple[Path, int] | None]:
    """A local path to read WARC file ``name`` whole, and its size: the spool (or local)
    file, else the uploaded object downloaded aside (deleted afterwards); None when the
    file is nowhere. For ``gc``'s check of what a file holds."""
    path = store.warc_dir / name
    if path.is_file():
        yield path, path.stat().st_size
        return
    row = store.catalog.warc_file(name) if store.remote is not None else None
    if row is None or row.state != UPLOADED:
        yield None
        return
    with tempfile.TemporaryDirectory(dir=store.root, prefix=".gc-") as folder:
        copy = Path(folder) / name  # the same name: unaccounted() reads it
        store.objects.download(name, copy)
        yield copy, row.size


def owned_by_archiver(store: Store, name: str) -> bool:
    """Whether an uploaded file opens with archiver's warcinfo record (then it holds
    archiver's records only), read with one small range request."""
    if store.remote is None or not name.startswith("archiver-"):
        return False
    with tempfile.TemporaryDirectory(dir=store.root, prefix=".gc-") as folder:
        head = Path(folder) / name
        store.objects.download(name, head, limit=_HEAD_BYTES)
        return unaccounted(head, set()) is None


def forget(store: Store, name: str) -> None:
    """``gc`` deleted WARC file ``name``: delete its object too, and its row."""
    if store.remote is None:
        return
    row = store.catalog.warc_file(name)
    if row is not None and row.state != SPOOLED:
        store.objects.delete(name)
    store.catalog.forget_warc_file(name)


def open_record(store: Store, file: str, offset: int, length: int | None) -> BinaryIO:
    """A stream positioned at the record ``file@offset``: the spool (or local) file when
    it is there, else the record's ``length`` bytes from S3 by a range request."""
    path = store.warc_dir / file
    if store.remote is not None and not path.is_file():
        return io.BytesIO(store.objects.read(file, offset, length))
    try:
        fh = open(path, "rb")  # noqa: SIM115 - the caller closes it
        fh.seek(offset)
    except OSError as exc:
        raise StoreError(f"cannot read WARC record {file}@{offset}: {exc.strerror or exc}") from exc
    return fh


class _Slice(io.RawIOBase):
    """Reads a file descriptor from ``offset`` on by ``pread`` (closing it leaves the
    descriptor open: :class:`RecordFiles` owns it)."""

    def __init__(self, fd: int, offset: int) -> None:
        self.fd = fd
        self.at = offset

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = max(os.fstat(self.fd).st_size - self.at, 0)
        data = os.pread(self.fd, size, self.at)
        self.at += len(data)
        return data


class RecordFiles:
    """Opens records like :func:`open_record`, keeping the local WARC files it read open
    (the last :data:`_KEEP_OPEN`): an export reads thousands of records from a few files,
    and opening a file costs more than reading a record. Use it as a context manager."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._fds: dict[str, int] = {}

    def open(self, file: str, offset: int, length: int | None) -> BinaryIO:
        """A stream of the record ``file@offset`` (see :func:`open_record`)."""
        fd = self._fds.get(file)
        if fd is None:
            path = self.store.warc_dir / file
            if self.store.remote is not None and not path.is_file():
                return open_record(self.store, file, offset, length)
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as exc:
                where = f"{file}@{offset}"
                raise StoreError(f"cannot read WARC record {where}: {exc.strerror or exc}") from exc
            if len(self._fds) >= _KEEP_OPEN:
                os.close(self._fds.pop(next(iter(self._fds))))
            self._fds[file] = fd
        return cast(BinaryIO, _Slice(fd, offset))

    def __enter__(self) -> RecordFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


_KEEP_OPEN = 16


@dataclass(frozen=True)
class RemoteCheck:
    """What verify found of the files on S3: ``problems`` (a missing or different
    object) and the files still ``waiting`` in the spool."""

    problems: list[str]
    waiting: list[str]


def check_remote(store: Store) -> RemoteCheck:
    """HEAD every uploaded file: its object must exist with the recorded size and
    SHA-256. Spool files (recorded or not) are reported as waiting."""
    if store.remote is None:
        return RemoteCheck([], [])
    problems: list[str] = []
    rows = store.catalog.warc_files()
    local = {p.name for p in spool_files(store)}
    waiting = sorted(local)
    objects = store.objects
    for row in rows:
        if row.state != UPLOADED:
            if row.name not in local:
                problems.append(f"WARC file {row.name} was never uploaded and left the spool")
            continue
        info = objects.head(row.name)
        if info is None:
            problems.append(f"WARC file {objects.uri(row.name)} is missing")
        elif (info.size, info.sha256) != (row.size, row.sha256):
            problems.append(
                f"WARC file {objects.uri(row.name)} differs from the one uploaded"
                f" ({info.size} bytes, sha256 {info.sha256}; uploaded {row.size} bytes,"
                f" sha256 {row.sha256})"
            )
    return RemoteCheck(problems, waiting)
