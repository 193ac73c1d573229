"""The catalog's rows as typed records, and how they are read from the database."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SEED_PAGE = "seed page"  # the via of a seed post's own page among the targets


@dataclass(frozen=True)
class SeedRow:
    id: int
    name: str
    path: str | None
    sha256: str
    format: str
    title: str
    source_label: str | None
    posted_at: str | None
    text: str
    data: dict[str, Any]
    registered_at: str
    # A seed by URL (schema 6; an older catalog opened read-only has none of these).
    page_url: str | None = None  # the post's address; None for a seed file
    state: str = "live"  # "live" or "deleted" (the post answered 404/410 or "deleted")
    state_since: str | None = None  # when the state was first seen
    state_run: int | None = None  # the run that first saw it
    versions: int = 1  # how many versions of the post were archived (a file: 1)

    @property
    def url(self) -> str:
        """The seed's identifier where a URL is expected (search hits, reports)."""
        return f"seed:{self.id}"

    def as_json(self) -> dict[str, Any]:
        """The `seeds list --json` shape: ``url`` is the post's address for a seed by URL,
        ``seed:N`` (as before) for a seed file; ``ref`` is always ``seed:N``."""
        return {
            "id": self.id,
            "ref": self.url,
            "url": self.page_url or self.url,
            "name": self.name,
            "path": self.path,
            "title": self.title,
            "source_label": self.source_label,
            "posted_at": self.posted_at,
            "references": self.data["references"],
            "removed_references": self.data.get("removed_references", []),
            "versions": self.versions,
            "state": self.state,
            "state_since": self.state_since,
        }


@dataclass(frozen=True)
class SeedVersionRow:
    """One archived version of a seed post by URL (its text changed since the last)."""

    id: int
    seed_id: int
    version: int
    run_id: int | None
    capture_id: int | None
    fetched_at: str
    content_hash: str
    title: str
    source_label: str | None
    posted_at: str | None
    text: str
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The `history seed:N --json` shape of one version (as a page's, without text)."""
        return {
            "version": self.version,
            "fetched_at": self.fetched_at,
            "status": 200,
            "content_hash": self.content_hash,
            "title": self.title,
        }


@dataclass(frozen=True)
class TargetRow:
    id: int
    url: str
    via: str
    depth: int
    score: float | None
    seed_id: int | None
    first_seen: str
    state: str
    last_error: str | None
    tries: int
    last_checked: str | None
    # Cluster mode's frontier (schema 7; absent from an older catalog opened read-only).
    host: str | None = None
    next_fetch_at: float | None = None
    planned_run: int | None = None


@dataclass(frozen=True)
class HostRow:
    """A host's politeness state, shared by every cluster worker (times: epoch seconds)."""

    host: str
    last_request_at: float | None = None
    crawl_delay: float | None = None  # robots.txt Crawl-delay, when it asks for one
    robots: str | None = None  # the robots.txt body last fetched ("" when there is none)
    robots_at: float | None = None
    blocked_until: float | None = None  # backoff after a 429 or 503


HOST_FIELDS = {"last_request_at", "crawl_delay", "robots", "robots_at", "blocked_until"}


@dataclass(frozen=True)
class CaptureRow:
    id: int
    target_id: int
    run_id: int | None
    url: str
    fetched_at: str
    status: int | None
    content_type: str | None
    payload_digest: str | None
    record_type: str | None
    warc_file: str | None
    warc_offset: int | None
    warc_length: int | None
    etag: str | None
    last_modified: str | None
    error: str | None


@dataclass(frozen=True)
class VersionRow:
    id: int
    target_id: int
    version: int
    capture_id: int
    fetched_at: str
    status: int | None
    content_hash: str
    title: str | None
    author: str | None
    published_at: str | None
    modified_at: str | None
    text: str
    links: list[dict[str, str]]
    meta: dict[str, Any]
    url: str = ""
    position: int | None = None  # its place in the page's history (None: by number)

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n") if p]

    def as_json(self) -> dict[str, Any]:
        """The `history --json` shape of one version (without its text)."""
        return {
            "version": self.version,
            "fetched_at": self.fetched_at,
            "status": self.status,
            "content_hash": self.content_hash,
            "title": self.title,
        }


@dataclass(frozen=True)
class VersionText:
    """A version's title and text with the capture it came from (an export's page)."""

    target_id: int
    capture_id: int
    fetched_at: str
    title: str | None
    text: bytes  # UTF-8, as the catalog holds it


@dataclass(frozen=True)
class VersionStub:
    """A version's identity and age, without its text."""

    id: int
    target_id: int
    version: int
    capture_id: int
    fetched_at: str
    url: str


@dataclass(frozen=True)
class WarcFileRow:
    """A WARC file of a store on S3: spooled, uploading or uploaded (see schema.sql)."""

    name: str
    state: str
    size: int
    sha256: str
    updated_at: str
    error: str | None = None  # why the last upload failed


@dataclass(frozen=True)
class NotificationRow:
    """A message to one [[notify]] entry about one run (see schema.sql)."""

    id: int
    run_id: int
    entry: str  # the entry's key (NotifyEntry.key)
    label: str  # where it goes, secrets masked
    events: list[str]
    title: str
    body: str
    state: str  # pending | sending | sent | unknown | dropped
    attempts: int
    error: str | None
    created_at: str
    sent_at: str | None

    def as_json(self) -> dict[str, Any]:
        """The shape in `runs --json` (the body is left out: it is in the message)."""
        return {
            "id": self.id,
            "to": self.label,
            "events": self.events,
            "title": self.title,
            "state": self.state,
            "attempts": self.attempts,
            "error": self.error,
            "sent_at": self.sent_at,
        }


def notification_row(row: Mapping[str, Any]) -> NotificationRow:
    d = dict(row)
    d["events"] = json.loads(d["events"])
    return NotificationRow(**d)


@dataclass(frozen=True)
class RunRow:
    id: int
    started_at: str
    finished_at: str | None
    trigger: str
    outcome: str | None
    fetched: int
    new_versions: int
    unchanged: int
    not_modified: int
    errors: list[dict[str, str]]
    reason: str | None = None  # how it ended: the stop, failure or kill (None: ok)

    def as_json(self) -> dict[str, Any]:
        """The `runs --json` shape."""
        return {
            "run_id": self.id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "trigger": self.trigger,
            "outcome": self.outcome,
            "fetched": self.fetched,
            "new_versions": self.new_versions,
            "unchanged": self.unchanged,
            "not_modified": self.not_modified,
            "errors": self.errors,
            "reason": self.reason,
        }


def seed_row(row: Mapping[str, Any]) -> SeedRow:
    d = dict(row)
    d["data"] = json.loads(d["data"])
    d["versions"] = max(1, int(d.get("versions") or 0))
    return SeedRow(**d)


def seed_version_row(row: Mapping[str, Any]) -> SeedVersionRow:
    d = dict(row)
    d["data"] = json.loads(d["data"])
    return SeedVersionRow(**d)


def run_row(row: Mapping[str, Any]) -> RunRow:
    d = dict(row)
    d["errors"] = json.loads(d["errors"])
    return RunRow(**d)


def version_row(row: Mapping[str, Any]) -> VersionRow:
    d = {k: v for k, v in row.items() if k != "is_latest"}
    d["links"] = json.loads(d["links"])
    d["meta"] = json.loads(d["meta"])
    return VersionRow(**d)
