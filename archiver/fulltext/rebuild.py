"""The index is derived data: these turn catalog rows into index documents, and
:func:`reindex` rebuilds the whole index from the catalog alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from archiver.net.urls import host_of
from archiver.storage.rows import SeedRow, VersionRow
from archiver.storage.store import Store

from .index import Index, IndexDoc


def open_index(store: Store) -> Index:
    """The search index of a store (the store itself never opens it)."""
    return Index(store.index_dir)


def seed_doc(seed: SeedRow) -> IndexDoc:
    return IndexDoc(
        doc_id=seed.url,
        url=seed.url,
        kind="seed",
        version=seed.versions,  # a seed by URL: its latest version (the one indexed)
        latest=True,
        title=seed.title,
        text=seed.text,
        author=seed.data.get("author") or seed.source_label or "",
        published_at=seed.posted_at,
        fetched_at=seed.registered_at,
    )


def version_doc(version: VersionRow, latest: bool) -> IndexDoc:
    return IndexDoc(
        doc_id=f"{version.url}#v{version.version}",
        url=version.url,
        kind="page",
        version=version.version,
        latest=latest,
        title=version.title or "",
        text=version.text,
        author=version.author or "",
        site=host_of(version.url),
        published_at=version.published_at,
        fetched_at=version.fetched_at,
    )


def reindex(store: Store, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the index from the catalog alone; return the number of documents."""
    catalog = store.catalog
    total = len(catalog.seeds()) + catalog.count_versions()

    def docs() -> Iterator[IndexDoc]:
        done = 0
        for seed in catalog.seeds():
            yield seed_doc(seed)
            done += 1
            if progress:
                progress(done, total)
        for version, latest in catalog.iter_versions():
            yield version_doc(version, latest)
            done += 1
            if progress:
                progress(done, total)

    return open_index(store).rebuild(docs())


def shared_index(store: Store) -> Index:
    """The process's one warm :class:`Index` of a store (see :meth:`Index.shared`)."""
    return Index.shared(store.index_dir)


def drain(store: Store, *, batch: int = 500) -> int:
    """Index the versions the catalog holds and the index does not yet (cluster mode's
    one indexer job, on the search host); return how many versions it indexed.

    Each batch re-adds every version of the pages it touches, so the ``latest`` mark
    moves to a page's newest version, then records the batch as indexed. Documents are
    keyed by ``doc_id``: a batch indexed twice (a crash between the index commit and the
    catalog write) is the same index.
    """
    catalog = store.catalog
    index = open_index(store)
    total = 0
    seeds = catalog.seeds()
    if seeds and (not index.exists() or catalog.meta("indexed_seeds") != str(seeds[-1].id)):
        index.add([seed_doc(seed) for seed in seeds])
        catalog.set_meta("indexed_seeds", str(seeds[-1].id))
    while pending := catalog.unindexed_versions(batch):
        docs = []
        for target_id in sorted({target for _, target in pending}):
            history = catalog.versions(target_id)
            docs += [version_doc(v, latest=i == len(history) - 1) for i, v in enumerate(history)]
        index.add(docs, procs=2 if len(docs) >= 200 else 1)
        catalog.mark_indexed([version for version, _ in pending])
        total += len(pending)
    return total
