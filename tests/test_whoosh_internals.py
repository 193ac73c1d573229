"""archiver.fulltext.whoosh_internals reads whoosh-reloaded internals; these tests fail
with a message saying so when an upgrade changes them, instead of search going quietly
wrong. Each internal reader is compared with what Whoosh's public API answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.multiproc import MpWriter

from archiver.fulltext import whoosh_internals as internals
from archiver.fulltext.index import Index, IndexDoc

CHANGED = (
    "whoosh-reloaded {installed} is installed, but archiver.fulltext.whoosh_internals was"
    " written against {pinned}: {what}. Re-check that module against the new release"
    " (and pyproject's pin) before upgrading."
)


def _message(what: str) -> str:
    return CHANGED.format(
        installed=".".join(map(str, internals.INSTALLED_VERSION)),
        pinned=".".join(map(str, internals.PINNED_VERSION)),
        what=what,
    )


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    directory: Path = tmp_path_factory.mktemp("index")
    index = Index(directory)
    # Enough documents that a frequent term spans several posting blocks (512 per block).
    docs = [
        IndexDoc(
            doc_id=f"https://example.test/{n}#v1",
            url=f"https://example.test/{n}",
            kind="page",
            version=1,
            latest=True,
            title=f"올트먼 기사 {n}",
            text=" ".join(["올트먼은 오픈AI에서 해임됐다."] * (1 + n % 5) + [f"문서{n}"]),
        )
        for n in range(1200)
    ]
    index.add(docs)
    index.close()
    ix = whoosh_index.open_dir(str(directory))
    with ix.reader() as r:
        yield r
    ix.close()


def test_the_installed_version_is_the_pinned_one() -> None:
    assert internals.INSTALLED_VERSION == internals.PINNED_VERSION, _message("another version")


@pytest.mark.parametrize("field", ["text", "text_stem", "title"])
def test_posting_blocks_decode_as_the_public_matcher_reads_them(reader, field: str) -> None:  # type: ignore[no-untyped-def]
    terms = list(reader.lexicon(field))
    assert reader.is_atomic(), "one segment, so that the block reader (not a fallback) runs"
    assert terms, f"no terms in field {field}"
    several_blocks = False
    positions = field == "text_stem"  # the only field whose posting values are read
    for term in terms:
        try:
            ids, tfs, values = internals.read_postings(reader.postings(field, term), positions)
        except Exception as exc:  # any failure here means the internals moved
            pytest.fail(_message(f"reading posting blocks raised {type(exc).__name__}: {exc}"))
        public = reader.postings(field, term)
        want_ids, want_tfs, want_values = [], [], []
        while public.is_active():
            want_ids.append(public.id())
            want_tfs.append(public.weight())
            want_values.append(public.value())
            public.next()
        several_blocks |= len(want_ids) > 1024
        assert ids.tolist() == want_ids, _message(f"posting ids of {field}:{term!r} differ")
        assert np.allclose(tfs, want_tfs), _message(f"term weights of {field}:{term!r} differ")
        if positions:
            assert values == want_values, _message(f"positions of {field}:{term!r} differ")
    if field == "text":
        assert several_blocks, "the fixture should have a term spanning several blocks"


def test_length_columns_decode_as_the_public_reader_reads_them(reader) -> None:  # type: ignore[no-untyped-def]
    n = reader.doc_count_all()
    codes = internals.length_codes(reader, "text", n)
    assert codes is not None, _message("the field-length column is no longer a plain column")
    lengths = internals.BYTE_LENGTH[codes]
    want = [reader.doc_field_length(doc, "text") for doc in range(n)]
    assert lengths.tolist() == pytest.approx(want), _message("field lengths decode differently")


def test_the_parallel_writer_still_builds_its_workers_here(tmp_path: Path) -> None:
    # ParallelWriter overrides MpWriter._new_task and hands these attributes to the worker
    # it starts: if Whoosh renames any of them, the override breaks or is never called.
    index = Index(tmp_path)
    index.add([])  # creates the empty index
    index.close()
    ix = whoosh_index.open_dir(str(tmp_path))
    writer = internals.ParallelWriter(ix, procs=2)
    try:
        assert callable(getattr(MpWriter, "_new_task", None)), _message(
            "MpWriter._new_task is gone"
        )
        for name in ("storage", "indexname", "jobqueue", "resultqueue", "subargs", "tasks"):
            assert hasattr(writer, name), _message(f"MpWriter has no attribute {name!r}")
        assert "multisegment" in vars(writer), _message("MpWriter has no multisegment flag")
    finally:
        writer.cancel()
        ix.close()
