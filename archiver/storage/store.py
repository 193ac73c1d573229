"""The archive root: where the catalog, WARC files, index and reports live.

Layout (documented for users in store/README.md)::

    <store>/catalog.sqlite3   the catalog (source of truth, with warc/), unless
                              [store] catalog names a PostgreSQL database
    <store>/warc/             WARC/1.1 files, gzip per record (with [store] warc on S3:
                              the spool of files not yet uploaded)
    <store>/index/            the Whoosh index (derived; `archiver reindex` rebuilds it)
    <store>/reports/          generated change reports
    <store>/lock              held by the crawl run writing to the store
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from archiver.config import Config, RemoteWarc
from archiver.errors import StoreError, StoreLockedError

from .catalog import Catalog

if TYPE_CHECKING:
    from .objects import ObjectStore


class Store:
    """Opens the parts of one archive root on demand.

    With ``remote`` (``[store] warc = "s3://…"``) the WARC files live in that bucket and
    ``warc/`` is their local spool: see :mod:`archiver.storage.spool`.
    """

    def __init__(
        self, root: Path, catalog: str | None = None, remote: RemoteWarc | None = None
    ) -> None:
        self.root = root
        self.catalog_dsn = catalog  # None: the embedded <root>/catalog.sqlite3
        self.remote = remote
        self._catalog: Catalog | None = None
        self._lock: PidLock | None = None
        self._claimed = False  # the cluster catalog's writer lock (see Catalog.claim_writer)
        self._objects: ObjectStore | None = None

    @classmethod
    def from_config(cls, config: Config) -> Store:
        """The store a config names: its root, its catalog and where its WARC files go."""
        return cls(config.store, config.catalog, config.warc_remote)

    of = from_config  # the name the S3 branch used; from_config is the one to call

    @property
    def catalog_path(self) -> Path:
        """The embedded catalog's file (what `archiver migrate` copies from)."""
        return self.root / "catalog.sqlite3"

    @property
    def objects(self) -> ObjectStore:
        """The S3 bucket holding the WARC files (only for a store with ``remote``)."""
        if self.remote is None:
            raise StoreError(f"the WARC files of {self.root} are not on S3")
        if self._objects is None:
            from .objects import ObjectStore  # boto3 loads only for stores on S3

            self._objects = ObjectStore(self.remote)
        return self._objects

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def originals_dir(self) -> Path:
        """Imported files kept as they were when the store reads a recompressed copy
        (a WARC or ARC gzipped whole; see ``archiver.storage.regzip``)."""
        return self.root / "originals"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._check_root()
            self._catalog = Catalog(self.catalog_dsn or self.catalog_path)
        return self._catalog

    def _check_root(self) -> None:
        """A clear error for a root that cannot be a folder (not "…/lock: File exists")."""
        try:
            is_file = self.root.exists() and not self.root.is_dir()
        except OSError as exc:  # a loop of symbolic links, a name too long
            raise StoreError(f"store path {self.root}: {exc.strerror or exc}") from exc
        if is_file:
            raise StoreError(f"store path {self.root} is a file, not a folder")
        for parent in self.root.parents:
            if parent.is_file():
                raise StoreError(f"store path {self.root}: {parent} is a file, not a folder")

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    def exists(self) -> bool:
        """Whether there is an archive to read; a cluster catalog is always there once
        it can be opened (a CatalogAccessError says why not)."""
        if self.catalog_dsn is not None:
            return self.catalog is not None
        return self.catalog_path.is_file()

    def close(self) -> None:
        self.unlock()
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def lock(self) -> None:
        """Take the store's writer lock, or raise StoreLockedError if a run holds it."""
        self._check_root()
        if self._lock is None:
            self._lock = PidLock(
                self.root / "lock",
                busy="another crawl run (pid {pid}) is writing to {where}; try again later",
            )
        self._lock.acquire()
        if self.catalog_dsn is not None and not self._claimed:
            try:
                claimed = self.catalog.claim_writer()
            except BaseException:
                self._lock.release()
                raise
            if not claimed:
                self._lock.release()
                raise StoreLockedError(
                    f"another crawl run is writing to the catalog at {self.catalog.label};"
                    " try again later"
                )
            self._claimed = True

    def unlock(self) -> None:
        if self._claimed and self._catalog is not None:
            self._catalog.release_writer()
        self._claimed = False
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PidLock:
    """An flock on a file that holds the owner's pid, so a refusal can name the owner.

    The kernel drops the lock when the process dies, however it dies: a SIGKILL never
    leaves a stale lock behind.
    """

    def __init__(self, path: Path, *, busy: str) -> None:
        self.path = path
        self.busy = busy  # the refusal, with {pid} and {where} filled in
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create {self.path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLockedError(self.busy.format(pid=holder, where=self.path.parent)) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None

    def holder(self) -> int | None:
        """The pid holding the lock, -1 if unreadable, None when nobody holds it."""
        if not self.path.is_file():
            return None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            text = os.read(fd, 32).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        finally:
            os.close(fd)  # also drops the shared lock if we got it
