"""``pages/pages.jsonl`` of a WACZ export, written by a worker process beside the export.

The pages' text (often several times the WARC data) is most of what an export reads,
escapes, hashes and writes, and the escaping holds the GIL: one process cannot do it and
the WARC records at once. :class:`PagesProcess` forks a worker that reads the versions'
texts over its own catalog connection and writes the page lines straight into the
WACZ being written, as its first member (SHA-256 and CRC-32 taken as they are
written), and hands back the hash, CRC and size; the export's process meanwhile
spools the WARC members, appended after the pages once the worker is done.

Invariants:

- the worker is forked only from a process with no other thread (:func:`can_fork`):
  a fork copies no thread, and a lock another thread held would stay locked in the
  worker; it never touches the parent's connections and leaves by ``os._exit``;
- the lines come in the order the export sends them: each message is a batch of pages
  in export order; the pipe holds a few batches at most (the export waits when it is
  full), and the worker reads one batch's texts at a time, so memory stays bounded;
- an error of the worker reaches the export as an :class:`ArchiverError` (the same one
  for the worker's own ArchiverErrors), at the next batch or at :meth:`finish`; a
  worker that dies says so; :meth:`stop` kills and reaps it (the file it wrote into
  is the export's, removed by the export when it fails).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any, BinaryIO

from archiver.errors import ArchiverError, StoreError, UsageError, WorkerLostError
from archiver.storage.catalog import Catalog
from archiver.storage.hashed import Background, Blocks, Hashing
from archiver.storage.wacz import Page, pages_header
from archiver.storage.warc import warc_date

# A batch: the pages' ids, the record URI each kept capture was copied under, and each
# page's provenance (see wacz_export._Exporter.provenance).
_Batch = tuple[list[int], dict[int, str], dict[int, dict[str, Any]]]


def can_fork() -> bool:
    """Whether a worker may be forked here: a POSIX system, and no thread but this one."""
    return hasattr(os, "fork") and threading.active_count() == 1


@dataclass(frozen=True)
class PagesWritten:
    """The pages member the worker wrote: its hash, CRC, size and number of pages."""

    sha256: str
    crc: int
    size: int
    pages: int


class PagesProcess:
    """The worker writing ``pages.jsonl``; see the module's invariants. Send it
    :meth:`into` (where to write), :meth:`pages` (lines ready to write) and
    :meth:`batch` (pages whose texts it reads), then :meth:`finish`; :meth:`stop` in
    every case."""

    def __init__(self, catalog: str | Path) -> None:
        """Fork the worker; OSError when no process can be made (the caller then
        writes the pages itself)."""
        ours, theirs = Pipe()
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            raise
        if pid == 0:  # the worker
            _worker(catalog, theirs, ours)  # never returns
        self._pid: int | None = pid
        theirs.close()
        self._conn: Connection = ours

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            self._conn.send(message)
        except OSError:  # the worker is gone: its message says why
            raise self._failure() from None

    def into(self, path: Path, offset: int) -> None:
        """Write the pages into the existing file ``path`` from ``offset`` on."""
        self._send(("into", str(path), offset))

    def pages(self, pages: list[Page]) -> None:
        """Write these pages' lines (their texts given)."""
        self._send(("pages", pages))

    def batch(self, batch: _Batch) -> None:
        """Write the lines of a batch of pages: each version of ``ids`` (in history
        order) whose capture is in the URI map, read from the catalog."""
        self._send(("batch", *batch))

    def finish(self) -> PagesWritten:
        """Wait for the worker to write everything; the file it wrote."""
        self._send(("end",))
        reply = self._receive()
        if reply[0] != "done":
            raise self._error(reply)
        self._reap()
        _tag, sha256, crc, size, pages = reply
        return PagesWritten(sha256, crc, size, pages)

    def _receive(self) -> tuple[Any, ...]:
        try:
            return tuple(self._conn.recv())
        except (EOFError, OSError):
            return ("died",)

    def _failure(self) -> ArchiverError:
        return self._error(self._receive())

    def _error(self, reply: tuple[Any, ...]) -> ArchiverError:
        self.stop()
        if reply[0] == "error" and isinstance(reply[1], ArchiverError):
            return reply[1]
        return WorkerLostError("the WACZ pages writer stopped unexpectedly")

    def _reap(self) -> None:
        if self._pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None

    def stop(self) -> None:
        """End the worker (killed if still running) and reap it."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()
        self._conn.close()


def _worker(location: str | Path, conn: Connection, parents: Connection) -> None:
    """The worker's whole life: write what comes, reply once, leave without running
    the parent's exit handlers or finalizers (its connections are the parent's)."""
    code = 1
    try:
        parents.close()  # the parent's end: the worker sees EOF when the parent is gone
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the export stops the worker itself
        _tag, path, offset = conn.recv()  # ("into", …): the first message
        with open(path, "r+b") as file:
            file.seek(offset)
            conn.send(_write_pages(location, file, conn.recv))
        code = 0
    except BaseException as exc:  # noqa: BLE001 - reported to the export, one line
        with contextlib.suppress(BaseException):
            conn.send(("error", _as_archiver_error(exc)))
    finally:
        os._exit(code)


def _as_archiver_error(exc: BaseException) -> ArchiverError:
    if isinstance(exc, ArchiverError):
        return exc
    if isinstance(exc, OSError):
        return UsageError(f"cannot write the WACZ pages: {exc.strerror or exc}")
    return StoreError(f"the WACZ pages writer failed: {exc}")


def _read_ahead(location: str | Path, receive: Callable[[], Any], out: queue.Queue[Any]) -> None:
    """The worker's reading thread: each message, a batch's with the versions' texts
    read (SQLite and PostgreSQL read without the GIL, beside the escaping); at most one
    waits in ``out``. An error ends the messages."""
    catalog = None
    try:
        catalog = Catalog(location)
        while (message := receive())[0] != "end":
            if message[0] == "batch":
                message = (*message, catalog.version_texts_of(message[1]))
            out.put(message)
        out.put(message)
    except BaseException as exc:  # noqa: BLE001 - raised again by the writing thread
        out.put(("failed", exc))
    finally:
        if catalog is not None:
            catalog.close()


def _write_pages(
    location: str | Path, file: BinaryIO, receive: Callable[[], Any]
) -> tuple[Any, ...]:
    messages: queue.Queue[Any] = queue.Queue(maxsize=1)
    reader = threading.Thread(target=_read_ahead, args=(location, receive, messages))
    reader.start()  # not joined: an error ends the worker, which leaves by os._exit
    background = Background()
    try:
        hashing = Hashing(file, crc=True)
        out = Blocks(background, hashing)
        out.write(pages_header())
        count = 0

        def write(page: Page) -> None:
            nonlocal count
            for piece in page.json_line():
                out.write(piece)
            count += 1

        while (message := messages.get())[0] != "end":
            if message[0] == "failed":
                raise message[1]
            if message[0] == "pages":
                for page in message[1]:
                    write(page)
                continue
            _tag, _ids, uris, provenance, texts = message
            for version in texts:
                uri = uris.get(version.capture_id)
                if uri is None:  # outside the window, or its record was not readable
                    continue
                when = warc_date(version.fetched_at)
                write(Page(uri, when, version.title, version.text, provenance[version.target_id]))
        out.flush()
        background.drain()
        file.flush()
        assert hashing.crc is not None
        return ("done", hashing.sha256.hexdigest(), hashing.crc, hashing.size, count)
    finally:
        background.stop()
