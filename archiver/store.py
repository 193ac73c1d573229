"""The archive root: where the catalog, WARC files, index and reports live.

Layout (documented for users in store/README.md)::

    <store>/catalog.sqlite3   the catalog (source of truth, with warc/)
    <store>/warc/             WARC/1.1 files, gzip per record
    <store>/index/            the Whoosh index (derived; `archiver reindex` rebuilds it)
    <store>/reports/          generated change reports
    <store>/lock              held by the crawl run writing to the store
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from .catalog import Catalog
from .errors import StoreError, StoreLockedError
from .index import Index


class Store:
    """Opens the parts of one archive root on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._catalog: Catalog | None = None
        self._lock_fd: int | None = None

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self.root / "catalog.sqlite3")
        return self._catalog

    @property
    def index(self) -> Index:
        return Index(self.root / "index")

    def exists(self) -> bool:
        return (self.root / "catalog.sqlite3").is_file()

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        self.unlock()

    def lock(self) -> None:
        """Take the store's writer lock, or raise StoreLockedError if a run holds it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the store at {self.root}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLockedError(
                f"another crawl run (pid {holder}) is writing to {self.root}; try again later"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
