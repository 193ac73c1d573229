"""Changes over a store: one version of a page against another, or against its seed post.

This is the read side of the differ: it looks up the versions in the catalog, applies the
page's ignore rules, runs the text diff (:mod:`archiver.changes.diff`) and the seed alignment
(:mod:`archiver.changes.align`), and returns typed records that the renderers
(:mod:`archiver.changes.render`) and the run report (:mod:`archiver.changes.report`) format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from archiver.errors import UsageError
from archiver.storage.catalog import SeedRow, TargetRow, VersionRow
from archiver.storage.store import Store
from archiver.text.ignore import IgnoreRule

from .align import AlignmentChange, SeedAlignment, align_seed, alignment_changes
from .diff import GRANULARITIES, TextDiff, diff_texts, unified_diff

METADATA_FIELDS = ("title", "author", "published_at", "modified_at")


@dataclass(frozen=True)
class VersionRef:
    """One archived version, with where its bytes are (for links in reports)."""

    url: str
    version: int
    fetched_at: str
    title: str | None
    warc_file: str | None
    warc_offset: int | None

    def as_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "fetched_at": self.fetched_at,
            "title": self.title,
            "warc_file": self.warc_file,
            "warc_offset": self.warc_offset,
        }


@dataclass(frozen=True)
class SeedShift:
    """How a page's support for its seed post changed between two versions."""

    seed: str
    seed_title: str
    before: SeedAlignment
    after: SeedAlignment
    changes: list[AlignmentChange]

    def as_json(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "from_coverage": self.before.coverage,
            "to_coverage": self.after.coverage,
            "changes": [c.as_json() for c in self.changes],
        }


@dataclass(frozen=True)
class VersionChange:
    """Version ``old`` against version ``new`` of one page."""

    url: str
    old: VersionRef
    new: VersionRef
    diff: TextDiff
    metadata: dict[str, tuple[str | None, str | None]]
    granularity: str
    unified: str
    seed: SeedShift | None = None

    @property
    def changed(self) -> bool:
        return self.diff.changed or bool(self.metadata)

    @property
    def added(self) -> list[str]:
        return self.diff.added_at(self.granularity)

    @property
    def removed(self) -> list[str]:
        return self.diff.removed_at(self.granularity)

    def as_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "from": self.old.version,
            "to": self.new.version,
            "changed": self.changed,
            "text_changed": self.diff.changed,
            "added": self.added,
            "removed": self.removed,
            "similarity": self.diff.similarity,
            "metadata": {k: {"from": a, "to": b} for k, (a, b) in self.metadata.items()},
            "granularity": self.granularity,
            "hunks": [h.as_json() for h in self.diff.hunks],
            "versions": {"from": self.old.as_json(), "to": self.new.as_json()},
            "seed": self.seed.as_json() if self.seed else None,
        }


@dataclass(frozen=True)
class SeedChange:
    """A version of a page against the seed post that cites it."""

    url: str
    seed: str
    seed_title: str
    version: VersionRef
    alignment: SeedAlignment

    @property
    def changed(self) -> bool:
        return any(s.status != "present" for s in self.alignment.sentences)

    def as_json(self) -> dict[str, object]:
        a = self.alignment
        return {
            "url": self.url,
            "from": self.seed,
            "to": self.version.version,
            "changed": self.changed,
            "added": a.page_only,
            "removed": [s.text for s in a.sentences if s.status == "absent"],
            "contradicted": [s.text for s in a.sentences if s.status == "contradicted"],
            "similarity": a.similarity,
            "coverage": a.coverage,
            "counts": a.counts(),
            "seed_sentences": [s.as_json() for s in a.sentences],
            "versions": {"to": self.version.as_json()},
        }


def rules_for(url: str, rules: Sequence[IgnoreRule]) -> list[IgnoreRule]:
    return [r for r in rules if r.applies_to(url)]


def seed_for(store: Store, target: TargetRow, seed_id: int | None = None) -> SeedRow | None:
    """The seed a page is compared with: the one asked for, the one that cited the page,
    else the first registered seed (None when there is none)."""
    chosen = seed_id or target.seed_id
    if chosen is not None:
        return store.catalog.seed(chosen)
    seeds = store.catalog.seeds()
    return seeds[0] if seeds else None


def seed_body(seed: SeedRow) -> str:
    """The post itself, without platform chrome and teasers of other posts."""
    return "\n".join(seed.data.get("body", [])) or seed.text


def version_ref(store: Store, version: VersionRow) -> VersionRef:
    capture = store.catalog.capture(version.capture_id)
    return VersionRef(
        version.url,
        version.version,
        version.fetched_at,
        version.title,
        capture.warc_file,
        capture.warc_offset,
    )


def compare(
    store: Store,
    target: TargetRow,
    old: VersionRow,
    new: VersionRow,
    *,
    ignore: Sequence[IgnoreRule] = (),
    granularity: str = "sentence",
) -> VersionChange:
    """Two versions of ``target``, with metadata changes and the seed alignment's shift."""
    if granularity not in GRANULARITIES:
        raise UsageError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    rules = rules_for(target.url, ignore)
    diff = diff_texts(old.text, new.text, rules)
    metadata = {
        key: (getattr(old, key), getattr(new, key))
        for key in METADATA_FIELDS
        if getattr(old, key) != getattr(new, key)
    }
    seed = seed_for(store, target)
    shift = None
    if seed is not None and diff.changed:
        body = seed_body(seed)
        before, after = align_seed(body, old.text, rules), align_seed(body, new.text, rules)
        shift = SeedShift(
            seed.url, seed.title, before, after, alignment_changes(before, after, new.text)
        )
    unified = unified_diff(
        old.text,
        new.text,
        f"{target.url} v{old.version}",
        f"{target.url} v{new.version}",
        rules,
        "paragraph" if granularity == "paragraph" else "sentence",
    )
    return VersionChange(
        target.url,
        version_ref(store, old),
        version_ref(store, new),
        diff,
        metadata,
        granularity,
        unified,
        shift,
    )


def diff_versions(
    store: Store,
    url: str,
    from_version: int | None = None,
    to_version: int | None = None,
    *,
    ignore: Sequence[IgnoreRule] = (),
    granularity: str = "sentence",
) -> VersionChange:
    """Two versions of a page (default: the previous and the latest)."""
    target = store.catalog.find_target(url)
    new = store.catalog.version_or_latest(target, to_version)
    if from_version is None:
        # The one before it in the page's history (gc leaves gaps in the numbering, and
        # an imported older capture is numbered after the versions it precedes).
        old = store.catalog.previous_version(new) or new
    else:
        old = store.catalog.version(target.id, from_version)
    return compare(store, target, old, new, ignore=ignore, granularity=granularity)


def diff_against_seed(
    store: Store,
    url: str,
    number: int | None = None,
    seed_id: int | None = None,
    *,
    ignore: Sequence[IgnoreRule] = (),
) -> SeedChange:
    """Align the seed post's sentences with a version of the page (default latest)."""
    target = store.catalog.find_target(url)
    version = store.catalog.version_or_latest(target, number)
    seed = seed_for(store, target, seed_id)
    if seed is None:
        raise UsageError("no seed post is registered; run `archiver seeds add FILE`")
    alignment = align_seed(seed_body(seed), version.text, rules_for(target.url, ignore))
    return SeedChange(target.url, seed.url, seed.title, version_ref(store, version), alignment)
