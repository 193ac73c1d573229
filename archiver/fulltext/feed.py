"""A crawl run's new index documents: staged per page, streamed or indexed at the end.

A page's documents are staged while it is recorded and taken only once its catalog
transaction commits, so the index never holds a version the catalog rolled back. Pages
recorded as a group (one catalog commit) are held page by page until the group commits. All of
a run's documents become searchable together, when the run ends.
"""

from __future__ import annotations

import logging

from archiver.errors import ArchiverError

from .index import Index, IndexDoc, IndexWriter

log = logging.getLogger(__name__)

# Below this many new index documents, starting indexing processes costs more than it
# saves.
PARALLEL_INDEX_DOCS = 200


class IndexFeed:
    """A run's new index documents, all searchable at once when the run ends.

    A small run is indexed at its end in this process. Once a run reaches
    PARALLEL_INDEX_DOCS documents, two worker processes start and get every document as
    it comes, so indexing overlaps fetching (measured by benchmarks/crawl.py).
    The documents stay in memory too: if the workers fail, the run's end indexes them
    the plain way.
    """

    def __init__(self, index: Index) -> None:
        self.index = index
        self.docs: list[IndexDoc] = []
        self._staged: list[IndexDoc] = []  # the page being recorded
        self._held: list[IndexDoc] = []  # pages recorded, waiting for their group's commit
        self._writer: IndexWriter | None = None
        self._streaming = True  # False once streaming failed: index at the end only

    def add(self, doc: IndexDoc) -> None:
        """Stage a document of the page being recorded (see :meth:`flush`)."""
        self._staged.append(doc)

    def discard(self) -> None:
        """Drop the staged documents: their page's transaction was rolled back."""
        self._staged.clear()

    def hold(self) -> None:
        """The staged page is recorded inside a group that has not committed yet."""
        self._held += self._staged
        self._staged = []

    def discard_all(self) -> None:
        """Drop staged and held documents: the whole group was rolled back."""
        self._staged.clear()
        self._held.clear()

    def flush(self) -> None:
        """Take the staged and held documents: their versions are committed."""
        staged, self._held, self._staged = self._held + self._staged, [], []
        for doc in staged:
            self._take(doc)

    def _take(self, doc: IndexDoc) -> None:
        self.docs.append(doc)
        if self._writer is not None:
            self._feed([doc])
        elif self._streaming and len(self.docs) >= PARALLEL_INDEX_DOCS:
            try:
                self._writer = self.index.writer(procs=2)
            except ArchiverError as exc:
                self._give_up(exc)
            else:
                self._feed(self.docs)

    def _feed(self, docs: list[IndexDoc]) -> None:
        assert self._writer is not None
        try:
            for doc in docs:
                self._writer.add(doc)
        except Exception as exc:  # a full disk, a worker gone: fall back at the end
            self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        log.warning("indexing while crawling failed (%s); indexing when the run ends", exc)
        if self._writer is not None:
            try:
                self._writer.cancel()
            except Exception as cancel_exc:  # the end-of-run path reports what matters
                log.warning("could not cancel the index writer: %s", cancel_exc)
        self._writer = None
        self._streaming = False

    def commit(self) -> int:
        """Make the run's documents searchable; return how many were indexed."""
        self.flush()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            try:
                return writer.commit()
            except ArchiverError:
                try:
                    writer.cancel()  # end the workers and free the write lock
                except Exception as exc:
                    log.warning("could not cancel the index writer: %s", exc)
                raise
        if not self.docs:
            return 0
        procs = 2 if len(self.docs) >= PARALLEL_INDEX_DOCS else 1
        return self.index.add(self.docs, procs=procs)
