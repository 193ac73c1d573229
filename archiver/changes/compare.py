"""Changes over a store: one version of a page against another, or against its seed post.

This is the read side of the differ: it looks up the versions in the catalog, applies the
page's ignore rules, runs the text diff (:mod:`archiver.changes.diff`) and the seed alignment
(:mod:`archiver.changes.align`), and returns typed records that the renderers
(:mod:`archiver.changes.render`) and the run report (:mod:`archiver.changes.report`) format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from archiver.errors import NotFoundError, UsageError
from archiver.storage.catalog import SeedRow, SeedVersionRow, TargetRow, VersionRow
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
    seed = seed_for(store, target)
    refs = version_ref(store, old), version_ref(store, new)
    return _compare(target.url, old, new, refs, rules, granularity, seed)


def _compare(
    url: str,
    old: VersionRow,
    new: VersionRow,
    refs: tuple[VersionRef, VersionRef],
    rules: list[IgnoreRule],
    granularity: str,
    seed: SeedRow | None,
) -> VersionChange:
    diff = diff_texts(old.text, new.text, rules)
    metadata = {
        key: (getattr(old, key), getattr(new, key))
        for key in METADATA_FIELDS
        if getattr(old, key) != getattr(new, key)
    }
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
        f"{url} v{old.version}",
        f"{url} v{new.version}",
        rules,
        "paragraph" if granularity == "paragraph" else "sentence",
    )
    return VersionChange(url, refs[0], refs[1], diff, metadata, granularity, unified, shift)


def seed_history(store: Store, seed: SeedRow) -> list[SeedVersionRow]:
    """A seed post's versions, oldest first: those archived from its page, or the one
    version a seed file has (its registered text)."""
    versions = store.catalog.seed_versions(seed.id)
    if versions or seed.page_url:
        return versions
    return [
        SeedVersionRow(
            0,
            seed.id,
            1,
            None,
            None,
            seed.registered_at,
            seed.sha256,
            seed.title,
            seed.source_label,
            seed.posted_at,
            seed.text,
            seed.data,
        )  # fmt: skip
    ]


def seed_version(store: Store, seed: SeedRow, number: int | None) -> SeedVersionRow:
    """Version ``number`` of a seed post (default its latest); NotFoundError else."""
    history = seed_history(store, seed)
    if not history:
        raise NotFoundError(f"{seed.url} has no archived version yet")
    if number is None:
        return history[-1]
    found = next((v for v in history if v.version == number), None)
    if found is None:
        raise NotFoundError(f"no version {number} of {seed.url}")
    return found


def _seed_row_version(seed: SeedRow, version: SeedVersionRow) -> VersionRow:
    """A seed version in the shape of a page's, for the differ."""
    return VersionRow(
        id=version.id,
        target_id=0,
        version=version.version,
        capture_id=version.capture_id or 0,
        fetched_at=version.fetched_at,
        status=200,
        content_hash=version.content_hash,
        title=version.title,
        author=version.data.get("author") or version.source_label,
        published_at=version.posted_at,
        modified_at=None,
        text=version.text,
        links=[{"url": r["url"], "text": r["label"] or ""} for r in version.data["references"]],
        meta={},
        url=seed.url,
    )


def seed_version_ref(store: Store, seed: SeedRow, version: SeedVersionRow) -> VersionRef:
    capture = store.catalog.capture(version.capture_id) if version.capture_id else None
    return VersionRef(
        seed.url,
        version.version,
        version.fetched_at,
        version.title,
        capture.warc_file if capture else None,
        capture.warc_offset if capture else None,
    )


def diff_seed_versions(
    store: Store,
    seed: SeedRow,
    from_version: int | None = None,
    to_version: int | None = None,
    *,
    ignore: Sequence[IgnoreRule] = (),
    granularity: str = "sentence",
) -> VersionChange:
    """Two versions of a seed post (default: the previous and the latest): its edits."""
    if granularity not in GRANULARITIES:
        raise UsageError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    new = seed_version(store, seed, to_version)
    if from_version is None:
        history = seed_history(store, seed)
        index = next(i for i, v in enumerate(history) if v.version == new.version)
        old = history[index - 1] if index > 0 else new
    else:
        old = seed_version(store, seed, from_version)
    rules = rules_for(seed.page_url or seed.url, ignore)
    refs = seed_version_ref(store, seed, old), seed_version_ref(store, seed, new)
    return _compare(
        seed.url,
        _seed_row_version(seed, old),
        _seed_row_version(seed, new),
        refs,
        rules,
        granularity,
        None,
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
