"""Scoring over Whoosh's postings with numpy: BM25 and a proximity bonus.

Whoosh stores the index; this module reads whole posting lists at once and scores with
vector arithmetic instead of Whoosh's per-posting Python matchers, which are several times
slower (benchmarks/README.md). Ranking is BM25 (k1 0.3, b 0.75, Lucene's idf) over bigrams
and stems; then the best documents get a bonus for query stems close together and in query
order, from the stem field's positions. The parameters were chosen on KorQuAD 1.0
(benchmarks/search_korquad.py). Whoosh's internal structures are read only through
:mod:`archiver.fulltext.whoosh_internals`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from .query import Leaf
from .whoosh_internals import BYTE_LENGTH, length_codes, read_postings

K1 = 0.3
B = 0.75
STEM_WEIGHT = 0.7  # stems add to bigrams; both count for a matched word
FIELD_WEIGHT = {"text": 1.0, "title": 2.0, "author": 1.0}
RERANK_DEPTH = 10  # proximity re-orders the best few only
WINDOW = 20  # words
WINDOW_WEIGHT = 1.0
PAIR_WEIGHT = 0.5
CACHE_POSTINGS = 4_000_000  # postings kept in memory between searches of one snapshot

_EMPTY_IDS = np.zeros(0, dtype=np.int64)


@dataclass
class Postings:
    """One term's postings over the whole index (global document numbers, ascending)."""

    ids: np.ndarray
    tf: np.ndarray
    values: list[Any]
    decode: Any  # the field format's decode_positions

    def positions(self, doc: int) -> list[int]:
        i = int(np.searchsorted(self.ids, doc))
        if i >= len(self.ids) or self.ids[i] != doc:
            return []
        return list(self.decode(self.values[i]))


class Snapshot:
    """One point-in-time view of the index, with the arrays scoring needs."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher
        self.leaves = [(sub.reader(), offset) for sub, offset in searcher.leaf_searchers()]
        self.size = int(searcher.doc_count_all())
        self.count = max(1, int(searcher.doc_count()))
        self.live = np.ones(self.size, dtype=bool)
        for reader, offset in self.leaves:
            if reader.has_deletions():
                deleted = getattr(reader, "deleted_docs_set", None)
                if deleted is not None:
                    self.live[[offset + d for d in deleted]] = False
                else:
                    for doc in range(reader.doc_count_all()):
                        self.live[offset + doc] = not reader.is_deleted(doc)
        self._postings: dict[tuple[str, Any], Postings] = {}
        self._cached = 0
        self._lengths: dict[str, np.ndarray] = {}
        self._avg: dict[str, float] = {}

    def close(self) -> None:
        self.searcher.close()

    def postings(self, field: str, token: Any) -> Postings:
        key = (field, token)
        cached = self._postings.get(key)
        if cached is not None:
            return cached
        decode = getattr(self.searcher.schema[field].format, "decode_positions", None)
        id_parts: list[np.ndarray] = []
        tf_parts: list[np.ndarray] = []
        values: list[Any] = []
        for reader, offset in self.leaves:
            if (field, token) not in reader:
                continue
            ids, tfs, vals = read_postings(reader.postings(field, token), decode is not None)
            id_parts.append(ids + offset)
            tf_parts.append(tfs)
            values.extend(vals)
        if id_parts:
            result = Postings(np.concatenate(id_parts), np.concatenate(tf_parts), values, decode)
        else:
            result = Postings(_EMPTY_IDS, np.zeros(0, dtype=np.float32), [], decode)
        self._cached += len(result.ids)
        if self._cached > CACHE_POSTINGS:  # a long-lived process: bound the memory
            self._postings.clear()
            self._cached = len(result.ids)
        self._postings[key] = result
        return result

    def mask(self, field: str, token: Any) -> np.ndarray:
        out = np.zeros(self.size, dtype=bool)
        out[self.postings(field, token).ids] = True
        return out

    def lengths(self, field: str) -> np.ndarray:
        cached = self._lengths.get(field)
        if cached is not None:
            return cached
        out = np.zeros(self.size, dtype=np.float32)
        for reader, offset in self.leaves:
            n = reader.doc_count_all()
            codes = length_codes(reader, field, n)
            if codes is not None:
                out[offset : offset + len(codes)] = BYTE_LENGTH[codes]
            else:
                for doc in range(n):
                    out[offset + doc] = reader.doc_field_length(doc, field) or 0
        self._lengths[field] = out
        self._avg[field] = float(out[self.live].mean()) if self.live.any() else 1.0
        return out

    def idf(self, field: str, token: Any) -> float:
        df = len(self.postings(field, token).ids)
        return math.log(1.0 + (self.count - df + 0.5) / (df + 0.5)) if df else 0.0

    def add_bm25(self, field: str, token: Any, weight: float, acc: np.ndarray) -> None:
        postings = self.postings(field, token)
        if not len(postings.ids):
            return
        lengths = self.lengths(field)[postings.ids]
        avg = self._avg[field] or 1.0
        tf = postings.tf
        norm = K1 * ((1.0 - B) + B * lengths / avg)
        acc[postings.ids] += weight * self.idf(field, token) * tf * (K1 + 1.0) / (tf + norm)


def groups(leaf: Leaf) -> tuple[str, ...]:
    """The bigram fields a leaf searches: its field, or the title and the text."""
    return (leaf.field,) if leaf.field else ("title", "text")


def site_mask(snap: Snapshot, host: str) -> np.ndarray:
    """Documents of ``host`` or its sub-domains (``www.`` ignored)."""
    out = np.zeros(snap.size, dtype=bool)
    for reader, _offset in snap.leaves:
        for value in reader.lexicon("site"):
            name = value.decode() if isinstance(value, bytes) else str(value)
            bare = name.removeprefix("www.")
            if bare == host or bare.endswith("." + host):
                out |= snap.mask("site", name)
    return out


def score(snap: Snapshot, leaves: list[Leaf]) -> np.ndarray:
    """BM25 of every document over the bigrams and stems of the ranking leaves."""
    acc = np.zeros(snap.size, dtype=np.float32)
    for leaf in leaves:
        for group in groups(leaf):
            weight = FIELD_WEIGHT[group]
            for token in leaf.bigrams:
                snap.add_bm25(group, token, weight, acc)
            for token in leaf.stems:
                snap.add_bm25(group + "_stem", token, weight * STEM_WEIGHT, acc)
    return acc


def _window(hits: list[tuple[int, str]], idf: dict[str, float]) -> float:
    """The largest idf sum of distinct query stems within WINDOW consecutive words."""
    best = current = 0.0
    seen: Counter[str] = Counter()
    j = 0
    for pos, term in hits:
        if not seen[term]:
            current += idf[term]
        seen[term] += 1
        while hits[j][0] <= pos - WINDOW:
            old = hits[j][1]
            seen[old] -= 1
            if not seen[old]:
                current -= idf[old]
            j += 1
        best = max(best, current)
    return best


def proximity(snap: Snapshot, docs: list[int], stems: list[str]) -> list[float]:
    """A bonus per document for query stems close together and in query order."""
    distinct = list(dict.fromkeys(stems))
    if len(distinct) < 2:
        return [0.0] * len(docs)
    idf = {t: snap.idf("text_stem", t) for t in distinct}
    pairs = [(a, b) for a, b in zip(stems, stems[1:], strict=False) if a != b]
    bonuses = []
    for doc in docs:
        where = {t: snap.postings("text_stem", t).positions(doc) for t in distinct}
        hits = sorted((p, t) for t, ps in where.items() for p in ps)
        bonus = WINDOW_WEIGHT * _window(hits, idf) if hits else 0.0
        for a, b in pairs:
            after = {p + 1 for p in where[a]}
            if after and not after.isdisjoint(where[b]):
                bonus += PAIR_WEIGHT * (idf[a] + idf[b])
        bonuses.append(bonus)
    return bonuses
