"""`archiver export --jsonl FILE|-`: one JSON object per version, for data tools (pandas,
DuckDB, Datasette). The keys are a contract documented in the README; keys may be added,
none removed or renamed.

Versions are written page by page (the catalog is read one page at a time), so memory
does not grow with the archive.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from archiver.changes.align import align_seed
from archiver.changes.compare import rules_for, seed_body
from archiver.storage.rows import SeedRow, TargetRow, VersionRow
from archiver.storage.store import Store
from archiver.text.ignore import IgnoreRule

from .selection import Selection


def _claims(seed: SeedRow | None, version: VersionRow, rules: Sequence[IgnoreRule]) -> Any:
    """The status of each of the seed post's claims in this version (None: the page was
    not reached from a seed post)."""
    if seed is None:
        return None
    alignment = align_seed(seed_body(seed), version.text, rules_for(version.url, rules))
    return {
        "seed": seed.url,
        "coverage": alignment.coverage,
        "counts": alignment.counts(),
        "sentences": [s.as_json() for s in alignment.sentences],
    }


def version_line(
    target: TargetRow,
    version: VersionRow,
    seed: SeedRow | None,
    rules: Sequence[IgnoreRule] = (),
) -> dict[str, Any]:
    """One version as its JSON Lines object (the README's contract)."""
    return {
        "url": target.url,
        "version": version.version,
        "fetched_at": version.fetched_at,
        "published_at": version.published_at,
        "modified_at": version.modified_at,
        "title": version.title,
        "author": version.author,
        "text": version.text,
        "content_hash": version.content_hash,
        "status": version.status,
        "provenance": {"via": target.via, "depth": target.depth, "score": target.score},
        "claims": _claims(seed, version, rules),
    }


def export_jsonl(
    store: Store,
    selection: Selection,
    out: TextIO,
    *,
    ignore: Sequence[IgnoreRule] = (),
) -> int:
    """Write the selected versions to ``out``, one JSON object a line; how many."""
    catalog = store.catalog
    selection.seeds(catalog)  # an unknown --seed is an error, not an empty export
    seeds: dict[int, SeedRow] = {}
    count = 0
    for target in selection.targets(catalog):
        seed = None
        if target.seed_id is not None:
            if target.seed_id not in seeds:
                seeds[target.seed_id] = catalog.seed(target.seed_id)
            seed = seeds[target.seed_id]
        for version in catalog.versions(target.id):
            if not selection.keeps(version.fetched_at):
                continue
            line = version_line(target, version, seed, ignore)
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
    return count
