"""The catalog's rows as typed records, and how they are read from the database."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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

    @property
    def url(self) -> str:
        """The seed's identifier where a URL is expected (search hits, reports)."""
        return f"seed:{self.id}"

    def as_json(self) -> dict[str, Any]:
        """The `seeds list --json` shape."""
        return {
            "id": self.id,
            "url": self.url,
            "name": self.name,
            "path": self.path,
            "title": self.title,
            "source_label": self.source_label,
            "posted_at": self.posted_at,
            "references": self.data["references"],
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
    # Cluster mode's frontier (schema 5; absent from an older catalog opened read-only).
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
    return SeedRow(**d)


def run_row(row: Mapping[str, Any]) -> RunRow:
    d = dict(row)
    d["errors"] = json.loads(d["errors"])
    return RunRow(**d)


def version_row(row: Mapping[str, Any]) -> VersionRow:
    d = {k: v for k, v in row.items() if k != "is_latest"}
    d["links"] = json.loads(d["links"])
    d["meta"] = json.loads(d["meta"])
    return VersionRow(**d)
