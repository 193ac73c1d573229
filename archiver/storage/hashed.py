"""Output that is SHA-256-hashed (and CRC'd) as it is written, the hashing and writing
done on a second thread while the caller goes on producing the bytes.

A WACZ export hands every byte it writes to SHA-256 (``datapackage.json``), to CRC-32
(the zip) and to the kernel: for a large export that is a third of its work. hashlib,
zlib and file writes let go of the GIL on large buffers, so :class:`Background` runs
them on its own thread, over blocks that :class:`Blocks` gathers (2 MB each: the
thread takes the GIL back a few times per block, not per page or record).

Invariants: the blocks of one sink are hashed and written in the order they were
given; :data:`BUFFERS` blocks are all the memory used, however large the output; an
error of the thread is raised in the caller at its next :meth:`Background.put` or at
:meth:`Background.drain`.
"""

from __future__ import annotations

import hashlib
import io
import queue
import threading
import zlib
from typing import Any, Protocol

BLOCK = 2 << 20  # bytes handed to the thread at a time
BUFFERS = 8  # blocks in use at most: two being filled (pages, WARC), the rest queued


class Sink(Protocol):
    def write(self, data: Any, /) -> int: ...


class Hashing(io.RawIOBase):
    """A write-only stream that hashes and counts what passes through to ``sink``, and
    takes its CRC-32 too when ``crc`` (a zip member whose bytes are not CRC'd on their
    way into the zip)."""

    def __init__(self, sink: Sink, *, crc: bool = False) -> None:
        self.sink = sink
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.crc: int | None = 0 if crc else None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sink.write(view)
        self.sha256.update(view)
        if self.crc is not None:
            self.crc = zlib.crc32(view, self.crc)
        self.size += len(view)
        return len(view)


class Background:
    """One thread that writes blocks to their :class:`Hashing` sinks, in order.

    Blocks are :data:`BUFFERS` buffers at most, passed round between the caller, who
    fills one (:meth:`buffer`, :meth:`put`), and the thread, which gives it back once
    written: reused, they cost no allocation (a fresh 2 MB block costs a page fault per
    4 KB); made only when none is free, so a small output makes few."""

    def __init__(self) -> None:
        self._free: queue.Queue[bytearray] = queue.Queue()
        self._made = 0
        self._queue: queue.Queue[tuple[Hashing, bytearray, int] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hashed-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                sink, buffer, size = item
                try:
                    if self._error is None:  # after an error, only give the buffers back
                        with memoryview(buffer) as view:
                            sink.write(view[:size])
                finally:
                    self._free.put(buffer)
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller
                self._error = exc
            finally:
                self._queue.task_done()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def buffer(self) -> bytearray:
        """A buffer to fill (waits for the thread to give one back)."""
        self._check()
        if self._made < BUFFERS and self._free.empty():
            self._made += 1
            return bytearray(BLOCK)
        return self._free.get()

    def put(self, sink: Hashing, buffer: bytearray, size: int) -> None:
        """Write the first ``size`` bytes of ``buffer`` to ``sink``, on the thread."""
        self._check()
        self._queue.put((sink, buffer, size))

    def drain(self) -> None:
        """Wait until every block given is written; the thread's error, if any."""
        self._queue.join()
        self._check()

    def stop(self) -> None:
        """End the thread (what is queued is written first, or dropped after an error)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


class Blocks:
    """Copies what is written into the buffers of ``background``, each handed to it to
    write to ``sink`` once full; :attr:`size` counts the bytes given so far."""

    def __init__(self, background: Background, sink: Hashing) -> None:
        self.background = background
        self.sink = sink
        self.size = 0
        self._buffer: bytearray | None = None
        self._fill = 0

    def write(self, data: bytes) -> int:
        size = len(data)
        if not size:
            return 0
        if self._buffer is None:
            self._buffer = self.background.buffer()
        if self._fill + size <= BLOCK:
            self._buffer[self._fill : self._fill + size] = data
            self._fill += size
        else:
            with memoryview(data) as view:
                done = 0
                while done < size:
                    if self._buffer is None:
                        self._buffer = self.background.buffer()
                    take = min(size - done, BLOCK - self._fill)
                    self._buffer[self._fill : self._fill + take] = view[done : done + take]
                    self._fill += take
                    done += take
                    if self._fill == BLOCK:
                        self.flush()
        self.size += size
        return size

    def flush(self) -> None:
        """Hand what is gathered to the thread (it may not be written yet)."""
        if self._buffer is not None and self._fill:
            self.background.put(self.sink, self._buffer, self._fill)
            self._buffer = None
            self._fill = 0
