"""The catalog's rows as typed records, and how they are read from SQLite."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    """The current time, ISO 8601 with offset (UTC), to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


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

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n") if p]


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


def seed_row(row: sqlite3.Row) -> SeedRow:
    d = dict(row)
    d["data"] = json.loads(d["data"])
    return SeedRow(**d)


def run_row(row: sqlite3.Row) -> RunRow:
    d = dict(row)
    d["errors"] = json.loads(d["errors"])
    return RunRow(**d)


def version_row(row: sqlite3.Row) -> VersionRow:
    d = {k: row[k] for k in row.keys() if k != "is_latest"}  # noqa: SIM118 - sqlite3.Row
    d["links"] = json.loads(d["links"])
    d["meta"] = json.loads(d["meta"])
    return VersionRow(**d)
