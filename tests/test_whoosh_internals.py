"""archiver.fulltext.whoosh_internals reads whoosh-reloaded internals; these tests fail
with a message saying so when an upgrade changes them, instead of search going quietly
wrong. Each internal reader is compared with what Whoosh's public API answers."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.multiproc import MpWriter

from archiver.fulltext import whoosh_internals as internals
from archiver.fulltext.index import Index, IndexDoc
from tests.test_search_formats import written_before_the_numpy_codec

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


DOCS = [
    IndexDoc(
        doc_id=f"https://example.test/{n}#v1",
        url=f"https://example.test/{n}",
        kind="page",
        version=1,
        latest=True,
        title=f"올트먼 기사 {n}",
        text=" ".join(["올트먼은 오픈AI에서 해임됐다."] * (1 + n % 5) + [f"문서{n}"]),
    )
    for n in range(1200)  # a frequent term spans several posting blocks
]


@pytest.fixture(scope="module", params=["numpy", "w3"])
def reader(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    directory: Path = tmp_path_factory.mktemp(f"index-{request.param}")
    with written_before_the_numpy_codec() if request.param == "w3" else contextlib.nullcontext():
        index = Index(directory)
        index.add(DOCS)
        index.close()
    ix = whoosh_index.open_dir(str(directory))
    with ix.reader() as r:
        yield r
    ix.close()


def test_the_installed_version_is_the_pinned_one() -> None:
    assert internals.INSTALLED_VERSION == internals.PINNED_VERSION, _message("another version")


def _public(reader, field: str, term: bytes) -> tuple[list[int], list[float], list[object]]:  # type: ignore[no-untyped-def]
    public = reader.postings(field, term)
    ids, tfs, values = [], [], []
    while public.is_active():
        ids.append(public.id())
        tfs.append(public.weight())
        values.append(public.value())
        public.next()
    return ids, tfs, values


@pytest.mark.parametrize("field", ["text", "text_stem", "title"])
def test_posting_blocks_decode_as_the_public_matcher_reads_them(reader, field: str) -> None:  # type: ignore[no-untyped-def]
    terms = list(reader.lexicon(field))
    assert reader.is_atomic(), "one segment, so that the block reader (not a fallback) runs"
    assert terms, f"no terms in field {field}"
    several_blocks = False
    for term in terms:
        try:
            ids, tfs = internals.read_postings(reader.postings(field, term))
        except Exception as exc:  # any failure here means the internals moved
            pytest.fail(_message(f"reading posting blocks raised {type(exc).__name__}: {exc}"))
        want_ids, want_tfs, _values = _public(reader, field, term)
        several_blocks |= len(want_ids) > 1024
        assert ids.tolist() == want_ids, _message(f"posting ids of {field}:{term!r} differ")
        assert np.allclose(tfs, want_tfs), _message(f"term weights of {field}:{term!r} differ")
        # Read for a few documents only: every posting of those is there.
        some = np.array(want_ids[:: max(1, len(want_ids) // 3)][:3], dtype=np.int64)
        part_ids, part_tfs = internals.read_postings(reader.postings(field, term), some)
        assert set(some.tolist()) <= set(part_ids.tolist())
        assert set(part_ids.tolist()) <= set(want_ids)
        if len(want_ids) > 1024 and reader.codec().__class__.__name__ == "NumpyCodec":
            assert len(part_ids) < len(want_ids), "blocks without a candidate are skipped"
        for doc, tf in zip(part_ids.tolist(), part_tfs.tolist(), strict=True):
            assert tf == want_tfs[want_ids.index(doc)]
    if field == "text":
        assert several_blocks, "the fixture should have a term spanning several blocks"


def test_a_posting_value_is_found_from_block_headers(reader) -> None:  # type: ignore[no-untyped-def]
    decode = reader.schema["text_stem"].format.decode_positions
    for term in list(reader.lexicon("text_stem"))[:20]:
        ids, _tfs, values = _public(reader, "text_stem", term)
        for doc, value in list(zip(ids, values, strict=True))[::97]:
            got = internals.value_at(reader, "text_stem", term, doc)
            assert got is not None and decode(got) == decode(value)
        assert internals.value_at(reader, "text_stem", term, reader.doc_count_all() + 5) is None


def test_the_numpy_codec_stores_what_the_w3_codec_stores(tmp_path: Path) -> None:
    # The same documents through both codecs: every term's public postings agree, the
    # positions included; and the numpy index is the smaller one.
    numpy_dir, w3_dir = tmp_path / "numpy", tmp_path / "w3"
    Index(numpy_dir).add(DOCS)
    with written_before_the_numpy_codec():
        Index(w3_dir).add(DOCS)
    numpy_ix, w3_ix = whoosh_index.open_dir(str(numpy_dir)), whoosh_index.open_dir(str(w3_dir))
    try:
        with numpy_ix.reader() as new, w3_ix.reader() as old:
            assert new.codec().__class__.__name__ == "NumpyCodec"
            assert old.codec().__class__.__name__ == "W3Codec"
            for field in ("text", "text_stem", "title", "title_stem", "url", "latest"):
                terms = list(old.lexicon(field))
                assert list(new.lexicon(field)) == terms
                decode = old.schema[field].format.decode_positions if field == "text_stem" else None
                for term in terms:
                    want = _public(old, field, term)
                    got = _public(new, field, term)
                    assert got[:2] == want[:2], f"{field}:{term!r}"
                    if decode is not None:
                        new_decode = new.schema[field].format.decode_positions
                        assert [new_decode(v) for v in got[2]] == [decode(v) for v in want[2]]
                    else:
                        assert got[2] == want[2], f"{field}:{term!r}"
    finally:
        numpy_ix.close()
        w3_ix.close()
    size = sum(f.stat().st_size for f in numpy_dir.iterdir())
    assert size < 0.7 * sum(f.stat().st_size for f in w3_dir.iterdir())


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
