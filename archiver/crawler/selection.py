"""Which part of the archive an export covers: a story (``--seed N``), the pages under
a URL prefix (``--url``), a time window on capture times (``--since``/``--until``),
any of these together, or everything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from archiver.errors import UsageError
from archiver.storage.catalog import Catalog
from archiver.storage.rows import SeedRow, TargetRow


def _bound(value: str | None, what: str, *, end: bool) -> datetime | None:
    """An ISO date or time as an aware datetime; a date alone as the start of that day
    (``--since``) or the start of the next (``--until``, exclusive)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise UsageError(f"{what}: not an ISO date or time: {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end and len(value.strip()) == 10:  # 2026-11-30: the whole day
        parsed += timedelta(days=1)
    return parsed


def _when(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Selection:
    """The filters of one export; all of them hold for what it covers (none: all)."""

    seed_id: int | None = None
    url_prefix: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    @classmethod
    def of(
        cls,
        *,
        seed_id: int | None = None,
        url_prefix: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Selection:
        """A selection from the command line's values; UsageError on a bad one."""
        selection = cls(
            seed_id,
            url_prefix or None,
            _bound(since, "--since", end=False),
            _bound(until, "--until", end=True),
        )
        if selection.since and selection.until and selection.since >= selection.until:
            raise UsageError("--since is after --until")
        return selection

    def seeds(self, catalog: Catalog) -> list[SeedRow]:
        """The seed posts the export carries: the story's own, or every one when the
        export is not limited to a story or a URL prefix."""
        if self.seed_id is not None:
            return [catalog.seed(self.seed_id)]  # NotFoundError (exit 2) if unknown
        return [] if self.url_prefix else catalog.seeds()

    def targets(self, catalog: Catalog) -> Iterator[TargetRow]:
        """The pages covered (their captures still pass :meth:`keeps`)."""
        rows = catalog.seed_targets(self.seed_id) if self.seed_id is not None else catalog.targets()
        for target in rows:
            if self.url_prefix is None or target.url.startswith(self.url_prefix):
                yield target

    def keeps(self, fetched_at: str | None) -> bool:
        """Whether a capture (or version) fetched then is inside the time window."""
        if self.since is None and self.until is None:
            return True
        when = _when(fetched_at)
        if when is None:
            return False
        if self.since is not None and when < self.since:
            return False
        return self.until is None or when < self.until
