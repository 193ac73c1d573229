"""`archiver import FILE.wacz`: a WACZ (from Browsertrix, or from `archiver export`)
imported like a WARC file.

The whole WACZ is checked first (:func:`archiver.storage.wacz.open_wacz`: a zip, whole,
no member name leaving its folder, every member's SHA-256 as ``datapackage.json``
says): a file failing any check is a one-line error and nothing is imported. Its WARC
members are then extracted aside and imported by :func:`import_warcs` (each copied into
the store under its SHA-256, so a second import of the same WACZ changes nothing), and
the seed posts archiver's own WACZ carries are registered and indexed (the same post
registers once). The pages the import registered take the provenance (via, depth,
relevance, seed post) the WACZ's ``pages.jsonl`` records for them.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.config import CrawlConfig
from archiver.errors import StoreError, UsageError
from archiver.fulltext.rebuild import open_index, seed_doc
from archiver.net.urls import canonicalize
from archiver.storage.rows import SeedRow
from archiver.storage.store import Store
from archiver.storage.wacz import PAGE_KEY
from archiver.storage.wacz_read import open_wacz, read_pages, read_seed_fields

from .importer import ImportSummary, import_warcs
from .outcome import ProgressFn

log = logging.getLogger(__name__)

_SEED_KEYS = ("sha256", "name", "format", "title", "text")


@dataclass
class WaczImport:
    """What importing one WACZ did: the WARC import's summary and the seed posts."""

    file: str
    summary: ImportSummary | None
    seeds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.summary is None or self.summary.ok

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"wacz": self.file, "seeds": self.seeds}
        if self.summary is not None:
            data.update(self.summary.as_json())
        return data


def _seed_fields(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """A seed's catalog fields, checked (UsageError before anything is imported)."""
    for key in _SEED_KEYS:
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise UsageError(f"{path}: a seed post in the WACZ lacks its {key!r}")
    data = raw.get("data")
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a seed post in the WACZ lacks its 'data'")
    for key in ("source_label", "posted_at"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise UsageError(f"{path}: a seed post's {key!r} is not text")
    data.setdefault("references", [])
    return raw


def _register(store: Store, fields: dict[str, Any]) -> tuple[SeedRow, bool]:
    row, created = store.catalog.add_seed(
        name=fields["name"],
        path=None,
        sha256=fields["sha256"],
        fmt=fields["format"],
        title=fields["title"],
        source_label=fields.get("source_label"),
        posted_at=fields.get("posted_at"),
        text=fields["text"],
        data=fields["data"],
    )
    index = open_index(store)
    if created or not index.exists():
        index.add([seed_doc(row)])
    return row, created


def _member_names(text: str, extracted: list[Path], wacz: Path) -> str:
    """``text`` with each extracted copy's path as ``FILE.wacz:member``."""
    for copy in extracted:
        text = text.replace(str(copy), f"{wacz}:{copy.name}")
    return text


def import_wacz(
    store: Store,
    path: Path,
    *,
    crawl_config: CrawlConfig | None = None,
    progress: ProgressFn | None = None,
) -> WaczImport:
    """Import one WACZ; UsageError (nothing imported) when it fails a check."""
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(prefix=".wacz-import-", dir=store.root)
    except OSError as exc:
        raise StoreError(f"cannot write in {store.root}: {exc.strerror or exc}") from exc
    with scratch:
        contents = open_wacz(path, Path(scratch.name))
        seeds = [
            _seed_fields(raw, path)
            for raw in (read_seed_fields(contents.seeds) if contents.seeds else [])
        ]
        summary = None
        if contents.warcs:
            try:
                summary = import_warcs(
                    store, contents.warcs, crawl_config=crawl_config, progress=progress
                )
            except UsageError as exc:  # name the member, not its extracted copy
                message = _member_names(str(exc), contents.warcs, path)
                raise UsageError(f"{message}; nothing was imported") from exc
            for entry in summary.files:
                entry["file"] = _member_names(str(entry["file"]), contents.warcs, path)
        result = WaczImport(str(path), summary)
        seed_ids: dict[str, int] = {}
        for fields in seeds:
            row, created = _register(store, fields)
            seed_ids[row.sha256] = row.id
            result.seeds.append({"seed": row.url, "title": row.title, "created": created})
        if summary is not None and contents.pages is not None:
            _adopt_provenance(store, contents.pages, seed_ids)
        return result


def _adopt_provenance(store: Store, pages: Path, seed_ids: dict[str, int]) -> None:
    """Give the pages this import registered the provenance archiver's WACZ records for
    them (``pages.jsonl``'s ``archiver`` key): via, depth, relevance and seed post. A
    value of the wrong type is passed over (the file is untrusted)."""
    catalog = store.catalog
    # A page's versions repeat its provenance: the first sets it (then via is not "import").
    with catalog.transaction():
        for entry in read_pages(pages):
            found = entry.get(PAGE_KEY)
            if not isinstance(found, dict):
                continue
            url = canonicalize(entry["url"])
            via, depth, score, seed = (found.get(k) for k in ("via", "depth", "score", "seed"))
            if not isinstance(via, str) or not 0 < len(via) <= 2048:
                continue
            if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= 1000:
                continue
            if score is not None and not (isinstance(score, float | int) and 0 <= score <= 1):
                continue
            seed_id = seed_ids.get(seed) if isinstance(seed, str) else None
            if via.startswith("seed:"):
                via = f"seed:{seed_id}" if seed_id is not None else "import"
            catalog.adopt_provenance(url, via=via, depth=depth, score=score, seed_id=seed_id)
