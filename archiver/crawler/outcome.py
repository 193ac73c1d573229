"""What became of each URL in a run, and the run's summary.

Every URL ends a run in one recorded state instead of an exception escaping, as
urlwatch does with its jobs: new, changed, unchanged, not modified, archived (kept in
WARC, not extracted), skipped (robots.txt), irrelevant or duplicate (follow-ups), error
(with the number of tries and the last error).

A run ends ``ok``, ``partial`` (some URLs in error), ``failed`` (none fetched, or the run
itself failed: a full disk, a catalog write), ``interrupted`` (stopped by a signal or the
scheduler) or, marked later, ``abandoned`` (its process was killed); every outcome but
``ok`` comes with a one-line ``reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Target states, as shown by `history` and the crawl summary.
NEW, CHANGED, UNCHANGED, NOT_MODIFIED, ARCHIVED, SKIPPED, IRRELEVANT, DUPLICATE, ERROR = (
    "new",
    "changed",
    "unchanged",
    "not modified",
    "archived",
    "skipped",
    "irrelevant",
    "duplicate",
    "error",
)


def counted_outcome(fetched: int, errors: int) -> tuple[str, str | None]:
    """A run's outcome and reason from its counts, when nothing stopped it."""
    if not errors:
        return "ok", None
    if fetched == 0:
        return "failed", f"none of the {errors} URLs could be fetched"
    return "partial", f"{errors} of {errors + fetched} URLs in error"


@dataclass
class TargetOutcome:
    url: str
    state: str
    version: int | None = None
    error: str | None = None
    tries: int = 0
    score: float | None = None  # relevance to the seed, for follow-up pages


@dataclass
class CrawlSummary:
    run_id: int
    seeds: list[int] = field(default_factory=list)
    outcomes: list[TargetOutcome] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    interrupted: bool = False
    stop_reason: str | None = None  # what stopped an interrupted run
    failure: str | None = None  # why the run itself failed (not one URL): one line
    reports: list[str] = field(default_factory=list)  # this run's report files
    # this run's messages to [[notify]] entries (NotificationRow.as_json), as they ended
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def count(self, *states: str) -> int:
        return sum(1 for o in self.outcomes if o.state in states)

    @property
    def fetched(self) -> int:
        return sum(1 for o in self.outcomes if o.state not in (ERROR, SKIPPED))

    @property
    def errors(self) -> list[dict[str, str]]:
        return [
            {"url": o.url, "error": o.error or "error"} for o in self.outcomes if o.state == ERROR
        ]

    @property
    def outcome(self) -> str:
        if self.failure is not None:
            return "failed"
        if self.interrupted:
            return "interrupted"
        return counted_outcome(self.fetched, len(self.errors))[0]

    @property
    def reason(self) -> str | None:
        """Why the run ended as it did, in one line; None for ``ok``."""
        if self.failure is not None:
            return self.failure
        if self.interrupted:
            return self.stop_reason or "stopped before its work was done"
        return counted_outcome(self.fetched, len(self.errors))[1]

    def run_record(self) -> dict[str, Any]:
        """What the catalog keeps of the finished run: ``Catalog.finish_run``'s keywords."""
        return {
            "outcome": self.outcome,
            "fetched": self.fetched,
            "new_versions": self.count(NEW, CHANGED),
            "unchanged": self.count(UNCHANGED),
            "not_modified": self.count(NOT_MODIFIED),
            "errors": self.errors,
            "reason": self.reason,
        }

    def as_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "fetched": self.fetched,
            "new_versions": self.count(NEW, CHANGED),
            "unchanged": self.count(UNCHANGED),
            "not_modified": self.count(NOT_MODIFIED),
            "errors": self.errors,
            "skipped": [
                {"url": o.url, "reason": o.error or ""} for o in self.outcomes if o.state == SKIPPED
            ],
            "follow_ups": self.follow_ups,
            "seeds": self.seeds,
            "reports": self.reports,
            "notifications": self.notifications,
            "targets": [
                {
                    "url": o.url,
                    "state": o.state,
                    "version": o.version,
                    "error": o.error,
                    "tries": o.tries,
                    "score": o.score,
                }
                for o in self.outcomes
            ],
        }


ProgressFn = Callable[[TargetOutcome], None]
