"""Whoosh's multiprocessing writer, with worker processes that never outlive their run.

Whoosh's ``MpWriter`` workers wait on a job queue until the writer tells them to finish.
Two ways out of an indexing run leave them waiting for ever, each holding a whole
segment in memory:

* the process that started them dies (SIGKILL, the OOM killer) before it commits;
* the writer is cancelled (an error in the middle of ``Index.add``): Whoosh's
  ``cancel`` only flips a flag in the parent's copy of each worker object.

Here a worker also watches its parent and exits once the parent is gone, and ``cancel``
ends the workers. Neither touches the index: workers never commit, only the parent does,
so the index stays as it was before the run.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from whoosh.multiproc import MpWriter, SubWriterTask

PARENT_POLL = 0.5  # seconds between a worker's checks that its parent still lives


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:  # an orphan is re-parented to init or a subreaper
        time.sleep(PARENT_POLL)
    os._exit(1)


class _Worker(SubWriterTask):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # Taken in the parent: a worker that starts after its parent died must see it.
        self.parent_pid = os.getpid()

    def run(self) -> None:
        threading.Thread(target=_exit_when_orphaned, args=(self.parent_pid,), daemon=True).start()
        super().run()


class ParallelWriter(MpWriter):
    """``MpWriter`` with :class:`_Worker` processes and a ``cancel`` that ends them."""

    def _new_task(self) -> Any:
        task = _Worker(
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        self.tasks.append(task)
        task.start()
        return task

    def cancel(self) -> None:
        try:
            for task in self.tasks:
                task.terminate()
            for task in self.tasks:
                task.join()
        finally:
            super().cancel()
