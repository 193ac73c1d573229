"""The one exception tree of archiver.

Every error the library raises is an :class:`ArchiverError`; foreign exceptions
(httpx, sqlite3, whoosh, OSError, ...) are translated at the module that meets them
with ``raise ... from exc``, so the CLI can map each kind to a one-line message and an
exit status without ever showing a traceback::

    ArchiverError
    ├── UsageError            bad input from the user (exit 2)
    │   ├── ConfigError       unreadable or invalid config file
    │   ├── SeedError         empty, binary or unreadable seed post
    │   ├── QueryError        a search query that cannot be parsed
    │   ├── NotFoundError     unknown URL, version, run or seed
    │   └── CatalogAccessError a cluster catalog that cannot be reached or logged into
    ├── FetchError            one URL could not be fetched (recorded, never escapes a crawl)
    │   └── BlockedError      refused before any request (SSRF guard, scheme, robots)
    ├── StoreError            catalog or WARC storage failed (exit 1)
    │   ├── StoreLockedError  another run holds the store lock
    │   ├── CatalogConnectionLost  the server dropped a transaction (it was rolled back)
    │   └── ObjectStoreError  S3 unreachable, or it refused the credentials or bucket (exit 2)
    └── IndexError_           the full-text index is missing or corrupt (run `reindex`)
"""

from __future__ import annotations

from pathlib import Path


class ArchiverError(Exception):
    """Base class of every error archiver raises on purpose."""

    exit_code = 1


class UsageError(ArchiverError):
    """Bad input from the user: exit status 2."""

    exit_code = 2


class ConfigError(UsageError):
    """The configuration file is missing, unreadable or invalid."""


class SeedError(UsageError):
    """A seed post is empty, binary or cannot be read."""


class QueryError(UsageError):
    """A search query that cannot be parsed."""


class NotFoundError(UsageError):
    """An unknown URL, version, run or seed."""


class CatalogAccessError(UsageError):
    """A PostgreSQL catalog refused the connection: a bad DSN, an unreachable server,
    a wrong password. Its message never carries the password."""


class FetchError(ArchiverError):
    """One URL could not be fetched; the crawl records it on the target."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class BlockedError(FetchError):
    """A URL refused before any request was sent (SSRF guard, unsupported scheme)."""


class StoreError(ArchiverError):
    """The catalog or WARC files could not be read or written."""


class WorkerLostError(StoreError):
    """A worker process of the command died before it finished (killed, out of memory):
    what it was writing is not kept, so the command stops with exit status 2."""

    exit_code = 2


class StoreLockedError(StoreError):
    """Another crawl run holds the store's lock."""


class CatalogConnectionLost(StoreError):
    """A cluster catalog's connection dropped inside a transaction before its COMMIT:
    the server rolled all of it back, so the caller may run it again."""


class ObjectStoreError(StoreError):
    """The S3-compatible server holding the WARC files cannot be reached (``unreachable``)
    or refused the request: a wrong endpoint, credentials or bucket, so exit status 2.
    Its message never holds a credential."""

    exit_code = 2

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class SearchIndexError(ArchiverError):
    """The full-text index is missing or corrupt; `archiver reindex` rebuilds it."""


class IndexDamagedError(SearchIndexError):
    """The index could not be read: damaged, or changed under the reader."""

    @classmethod
    def at(cls, directory: Path, exc: BaseException) -> IndexDamagedError:
        return cls(
            f"search index at {directory} is damaged ({type(exc).__name__}); run `archiver reindex`"
        )


# The name before 0.2; kept so that code catching it goes on working.
IndexError_ = SearchIndexError
