"""Read-side library API: search, history, show, diff and verify over a store.

The CLI calls one function here per command and only formats what it gets back, so
everything a user can do from the shell is also a Python call.
"""

from __future__ import annotations

import logging
from typing import Any

from .catalog import RunRow, SeedRow, TargetRow, VersionRow
from .diff import align_seed, diff_texts, unified_diff
from .errors import NotFoundError, StoreError, UsageError
from .frontier import canonicalize
from .index import Hit
from .store import Store
from .warc import payload_digest, read_record

log = logging.getLogger(__name__)


def _require_store(store: Store) -> None:
    if not store.exists():
        raise NotFoundError(f"no archive at {store.root}; run `archiver crawl` first")


def find_target(store: Store, url: str) -> TargetRow:
    """The archived page for a URL as the user typed it (canonicalised)."""
    _require_store(store)
    for candidate in (canonicalize(url), url.strip()):
        target = store.catalog.target_by_url(candidate)
        if target is not None:
            return target
    raise NotFoundError(f"no archived page for {url}")


def _seed_by_ref(store: Store, ref: str) -> SeedRow:
    _require_store(store)
    number = ref.removeprefix("seed:")
    if not number.isdigit():
        raise NotFoundError(f"no seed {ref!r} (seeds are named seed:N)")
    return store.catalog.seed(int(number))


def search(store: Store, query: str, *, limit: int = 10, site: str | None = None,
           since: str | None = None, until: str | None = None,
           all_versions: bool = False) -> list[Hit]:
    _require_store(store)
    index = store.index
    hits = index.search(query, limit=limit, site=site, since=since, until=until,
                        all_versions=all_versions)
    expected = len(store.catalog.seeds()) + store.catalog.count_versions()
    if index.doc_count() < expected:
        log.warning("the index is behind the catalog (%d of %d documents);"
                    " run `archiver reindex`", index.doc_count(), expected)
    return hits


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "url": hit.url, "kind": hit.kind, "title": hit.title, "version": hit.version,
        "fetched_at": hit.fetched_at, "published_at": hit.published_at, "score": hit.score,
        "snippet": hit.snippet, "highlights": [list(span) for span in hit.highlights],
    }


def history(store: Store, url: str) -> tuple[TargetRow, list[VersionRow]]:
    target = find_target(store, url)
    return target, store.catalog.versions(target.id)


def history_json(version: VersionRow) -> dict[str, Any]:
    return {"version": version.version, "fetched_at": version.fetched_at,
            "status": version.status, "content_hash": version.content_hash,
            "title": version.title}


def _version(store: Store, target: TargetRow, number: int | None) -> VersionRow:
    if number is not None:
        return store.catalog.version(target.id, number)
    latest = store.catalog.latest_version(target.id)
    if latest is None:
        reason = f" ({target.last_error})" if target.last_error else ""
        raise NotFoundError(f"{target.url} has no extracted version yet{reason}")
    return latest


def show(store: Store, url: str, number: int | None = None) -> dict[str, Any]:
    """One version (or a seed post, for ``seed:N``) as the `show --json` shape."""
    if url.startswith("seed:"):
        seed = _seed_by_ref(store, url)
        return {"url": seed.url, "version": 1, "title": seed.title,
                "author": seed.source_label, "published_at": seed.posted_at,
                "modified_at": None, "text": seed.text,
                "links": [{"url": r["url"], "text": r["label"] or ""}
                          for r in seed.data["references"]],
                "provenance": {"via": seed.path, "depth": 0, "score": None}}
    target = find_target(store, url)
    version = _version(store, target, number)
    return {
        "url": target.url, "version": version.version, "title": version.title,
        "author": version.author, "published_at": version.published_at,
        "modified_at": version.modified_at, "fetched_at": version.fetched_at,
        "content_hash": version.content_hash, "text": version.text, "links": version.links,
        "charset": version.meta.get("charset"),
        "provenance": {"via": target.via, "depth": target.depth, "score": target.score},
    }


def diff_versions(store: Store, url: str, from_version: int | None = None,
                  to_version: int | None = None) -> dict[str, Any]:
    """Sentence diff between two versions (default: previous and latest)."""
    target = find_target(store, url)
    new = _version(store, target, to_version)
    if from_version is None:
        old = new if new.version == 1 else store.catalog.version(target.id, new.version - 1)
    else:
        old = store.catalog.version(target.id, from_version)
    result = diff_texts(old.text, new.text)
    metadata = {key: {"from": getattr(old, key), "to": getattr(new, key)}
                for key in ("title", "author", "published_at", "modified_at")
                if getattr(old, key) != getattr(new, key)}
    return {
        "url": target.url, "from": old.version, "to": new.version, "changed": result.changed,
        "added": result.added, "removed": result.removed, "similarity": result.similarity,
        "metadata": metadata,
        "unified": unified_diff(old.text, new.text, f"{target.url} v{old.version}",
                                f"{target.url} v{new.version}"),
    }


def diff_against_seed(store: Store, url: str, number: int | None = None,
                      seed_id: int | None = None) -> dict[str, Any]:
    """Align the seed post's sentences with a version of the page."""
    target = find_target(store, url)
    version = _version(store, target, number)
    chosen = seed_id or target.seed_id
    if chosen is None:
        seeds = store.catalog.seeds()
        if not seeds:
            raise UsageError("no seed post is registered; run `archiver seeds add FILE`")
        chosen = seeds[0].id
    seed = store.catalog.seed(chosen)
    seed_body = "\n".join(seed.data.get("body", [])) or seed.text
    alignment = align_seed(seed_body, version.text)
    return {
        "url": target.url, "from": seed.url, "to": version.version,
        "changed": any(s.status != "present" for s in alignment.sentences),
        "added": alignment.page_only,
        "removed": [s.text for s in alignment.sentences if s.status == "absent"],
        "similarity": alignment.similarity, "coverage": alignment.coverage,
        "seed_sentences": [
            {"text": s.text, "status": s.status, "match": s.match, "score": s.score}
            for s in alignment.sentences
        ],
    }


def render_diff(result: dict[str, Any], fmt: str) -> str:
    """A diff result as text (unified), markdown or json."""
    import json

    if fmt == "json":
        data = {k: v for k, v in result.items() if k != "unified"}
        return json.dumps(data, ensure_ascii=False, indent=2)
    lines: list[str] = []
    if "seed_sentences" in result:
        header = (f"{result['url']} v{result['to']} against {result['from']}: similarity "
                  f"{result['similarity']}, coverage {result['coverage']}")
        lines.append(f"## {header}" if fmt == "markdown" else header)
        for s in result["seed_sentences"]:
            mark = {"present": "=", "paraphrased": "~", "absent": "-"}[s["status"]]
            lines.append(f"- **{s['status']}** {s['text']}" if fmt == "markdown"
                         else f"{mark} [{s['status']}] {s['text']}")
        return "\n".join(lines)
    if fmt == "markdown":
        lines.append(f"## {result['url']}: v{result['from']} → v{result['to']} "
                     f"(similarity {result['similarity']})")
        for key, change in result.get("metadata", {}).items():
            lines.append(f"- {key}: {change['from']} → {change['to']}")
        lines += [f"- removed: ~~{s}~~" for s in result["removed"]]
        lines += [f"- added: **{s}**" for s in result["added"]]
        return "\n".join(lines)
    text = result.get("unified", "")
    meta = [f"# {key}: {c['from']} -> {c['to']}" for key, c in result.get("metadata", {}).items()]
    return "\n".join(meta + ([text] if text else []))


def seed_json(seed: SeedRow) -> dict[str, Any]:
    return {"id": seed.id, "url": seed.url, "name": seed.name, "path": seed.path,
            "title": seed.title, "source_label": seed.source_label,
            "posted_at": seed.posted_at, "references": seed.data["references"]}


def run_json(run: RunRow) -> dict[str, Any]:
    return {"run_id": run.id, "started_at": run.started_at, "finished_at": run.finished_at,
            "trigger": run.trigger, "outcome": run.outcome, "fetched": run.fetched,
            "new_versions": run.new_versions, "unchanged": run.unchanged,
            "not_modified": run.not_modified, "errors": run.errors}


def verify(store: Store) -> dict[str, Any]:
    """Re-read every record the catalog points at; compare URI and payload digest."""
    _require_store(store)
    checked = 0
    problems: list[str] = []
    for capture in store.catalog.captures():
        if capture.warc_file is None or capture.warc_offset is None:
            continue
        checked += 1
        where = f"capture {capture.id} ({capture.warc_file}@{capture.warc_offset})"
        try:
            record = read_record(store.warc_dir, capture.warc_file, capture.warc_offset)
        except StoreError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if record.uri != capture.url:
            problems.append(f"{where}: record is for {record.uri}, catalog says {capture.url}")
        if record.payload_digest != capture.payload_digest:
            problems.append(f"{where}: payload digest {record.payload_digest} differs from"
                            f" catalog {capture.payload_digest}")
        elif record.record_type == "response" and \
                payload_digest(record.payload) != record.payload_digest:
            problems.append(f"{where}: payload does not match its digest")
    return {"checked": checked, "problems": problems}
