"""The records of HTTP exchanges that pass from the fetcher to the WARC writer and the
catalog. Plain dataclasses, so that storage reads them without importing httpx."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Exchange:
    """One HTTP request and its response, as archived."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    http_version: str
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    raw_body: bytes  # as received (still content-encoded): what the WARC stores
    body: bytes  # content-decoded: what the extractor reads
    fetched_at: str
    truncated: bool = False

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.response_headers:
            if key.lower() == name:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.header("content-type")


@dataclass
class FetchResult:
    """The outcome of fetching one URL: exchanges, or an error after ``tries`` attempts."""

    url: str
    exchanges: list[Exchange] = field(default_factory=list)
    error: str | None = None
    tries: int = 0
    skipped: str | None = None  # why the URL was not requested (robots.txt)

    @property
    def response(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    @property
    def final_url(self) -> str:
        return self.exchanges[-1].url if self.exchanges else self.url


@dataclass(frozen=True)
class Conditional:
    """Validators from the last capture, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None
