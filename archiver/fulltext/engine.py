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
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .blocks import PostingList
from .query import Leaf
from .whoosh_internals import BYTE_LENGTH, length_codes, raw_postings, read_postings, value_at

K1 = 0.3
B = 0.75
STEM_WEIGHT = 0.7  # stems add to bigrams; both count for a matched word
FIELD_WEIGHT = {"text": 1.0, "title": 2.0, "author": 1.0}
RERANK_DEPTH = 10  # proximity re-orders the best few only
WINDOW = 20  # words
WINDOW_WEIGHT = 1.0
PAIR_WEIGHT = 0.5
# Postings kept decoded between searches of one snapshot (12 bytes each: 192 MB at most),
# the least recently used evicted first (benchmarks/README.md: how the size was chosen).
CACHE_POSTINGS = 16_000_000
# Partial reads (only the blocks holding candidates) pay off on long lists only.
PARTIAL_MIN = 4096  # postings
PARTIAL_SHARE = 8  # candidates under 1/8 of the term's documents
SEARCH_SHARE = 16  # fewer candidates than 1/16 of a list: look them up in it, not sweep it
CACHE_RAW_BYTES = 256 << 20  # raw posting lists kept likewise (a warm server reads no file)

_EMPTY_IDS = np.zeros(0, dtype=np.int64)


@dataclass
class Postings:
    """One term's postings over the whole index (global document numbers, ascending).

    ``values`` holds the term frequencies until the list is first scored, then each
    posting's BM25 contribution (before the field weight): the document lengths of a
    snapshot never change, so a cached list is scored once, and a search adds it in
    one pass.
    """

    ids: np.ndarray
    values: np.ndarray
    scored: bool = False


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
        # Least recently used first: a long-lived process evicts the coldest lists only,
        # so the common words' lists that most searches need stay decoded.
        self._postings: OrderedDict[tuple[str, Any], Postings] = OrderedDict()
        self._cached = 0
        self._lengths: dict[str, np.ndarray] = {}
        self._avg: dict[str, float] = {}
        self._df: dict[tuple[str, Any], int] = {}
        self._terms: OrderedDict[
            tuple[str, Any], list[tuple[Any, int, int, PostingList | None]]
        ] = OrderedDict()
        self._raw_bytes = 0
        # Partial reads of the current search: (the documents asked for, the postings).
        self._partial: dict[tuple[str, Any], tuple[np.ndarray, Postings]] = {}

    def new_search(self) -> None:
        """Forget the partial reads of the previous search (they hold its candidates)."""
        self._partial.clear()

    def close(self) -> None:
        self.searcher.close()

    def _term(self, field: str, token: Any) -> list[tuple[Any, int, int, PostingList | None]]:
        """(segment reader, offset, document frequency, raw numpy postings or None) of
        each segment holding ``token``: a term is looked up and read once per snapshot
        (within a memory bound), so a warm process reads no file for it again."""
        key = (field, token)
        cached = self._terms.get(key)
        if cached is not None:
            self._terms.move_to_end(key)
            return cached
        cached = []
        for reader, offset in self.leaves:
            found = raw_postings(reader, field, token)
            if found is not None:
                df, raw = found
                cached.append((reader, offset, df, raw))
                self._raw_bytes += len(raw) if raw is not None else 0
        self._terms[key] = cached
        while self._raw_bytes > CACHE_RAW_BYTES and len(self._terms) > 1:  # bound the memory
            _key, old = self._terms.popitem(last=False)
            self._raw_bytes -= sum(len(r) for _, _, _, r in old if r is not None)
        return cached

    def postings(self, field: str, token: Any, within: np.ndarray | None = None) -> Postings:
        """The postings of ``token``; with ``within`` (sorted global document numbers)
        at least those of the documents in it, decoding only the blocks that hold them."""
        key = (field, token)
        cached = self._postings.get(key)
        if cached is not None:
            self._postings.move_to_end(key)
            return cached
        if within is not None:
            df = self.doc_frequency(field, token)
            if (
                df <= PARTIAL_MIN
                or len(within) * PARTIAL_SHARE > df
                or self._block_share(field, token, within) * PARTIAL_SHARE > 1
            ):
                # Short, or many blocks needed (the candidates spread over a list that
                # holds most documents): read it whole, and cache it for later searches.
                within = None
            else:
                earlier = self._partial.get(key)
                if earlier is not None and _covers(earlier[0], within):
                    return earlier[1]  # candidates only shrink within a search
        id_parts: list[np.ndarray] = []
        tf_parts: list[np.ndarray] = []
        for reader, offset, _df, raw in self._term(field, token):
            local = None
            if within is not None:
                end = offset + reader.doc_count_all()
                lo, hi = np.searchsorted(within, (offset, end))
                if lo == hi:
                    continue
                local = within[lo:hi] - offset
            if raw is not None:
                ids, tfs = raw.read(local)
            else:
                ids, tfs = read_postings(reader.postings(field, token), local)
            id_parts.append(ids + offset)
            tf_parts.append(tfs)
        if id_parts:
            result = Postings(np.concatenate(id_parts), np.concatenate(tf_parts))
        else:
            result = Postings(_EMPTY_IDS, np.zeros(0, dtype=np.float32))
        if within is not None:
            self._partial[key] = (within, result)  # a partial list: for this search only
            return result
        self._cached += len(result.ids)
        self._postings[key] = result
        while self._cached > CACHE_POSTINGS and len(self._postings) > 1:  # bound the memory
            _key, old = self._postings.popitem(last=False)
            self._cached -= len(old.ids)
        return result

    def _block_share(self, field: str, token: Any, within: np.ndarray) -> float:
        """The share of ``token``'s blocks that hold one of ``within`` (0 when the
        segments' format has no block directory)."""
        held = total = 0
        for reader, offset, _df, raw in self._term(field, token):
            if raw is None:
                continue
            lo, hi = np.searchsorted(within, (offset, offset + reader.doc_count_all()))
            held += raw.blocks_holding(within[lo:hi] - offset)
            total += raw.blocks
        return held / total if total else 0.0

    def doc_frequency(self, field: str, token: Any) -> int:
        """How many documents hold ``token``, from the term dictionaries alone."""
        key = (field, token)
        cached = self._df.get(key)
        if cached is None:
            cached = sum(df for _reader, _offset, df, _raw in self._term(field, token))
            self._df[key] = cached
        return cached

    def positions(self, field: str, token: Any, docs: list[int]) -> dict[int, list[int]]:
        """Where ``token`` stands in each of ``docs`` (only their blocks are decoded)."""
        fmt = self.searcher.schema[field].format
        out: dict[int, list[int]] = {}
        for reader, offset, _df, raw in self._term(field, token):
            local = [d - offset for d in docs if offset <= d < offset + reader.doc_count_all()]
            if not local:
                continue
            if raw is not None:
                found = raw.values_of(fmt.fixed_value_size(), local)
            else:
                found = {d: v for d in local if (v := value_at(reader, field, token, d))}
            out.update((d + offset, list(fmt.decode_positions(v))) for d, v in found.items())
        return out

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
        df = self.doc_frequency(field, token)
        return math.log(1.0 + (self.count - df + 0.5) / (df + 0.5)) if df else 0.0

    def add_bm25(
        self,
        field: str,
        token: Any,
        weight: float,
        acc: np.ndarray,
        within: np.ndarray | None = None,
    ) -> None:
        """Add ``token``'s BM25 to ``acc`` (only correct for ``within`` if given)."""
        postings = self.postings(field, token, within)
        ids, impact = postings.ids, self._impacts(field, token, postings)
        if within is not None and len(within) * SEARCH_SHARE < len(ids):
            # Score the asked documents only: a whole (cached) list of a common term is
            # searched, not swept, so the cost follows the candidates.
            at = np.minimum(np.searchsorted(ids, within), len(ids) - 1)
            present = ids[at] == within
            ids, impact = within[present], impact[at[present]]
        if len(ids):
            acc[ids] += impact * np.float32(weight)

    def _impacts(self, field: str, token: Any, postings: Postings) -> np.ndarray:
        """Each posting's BM25 contribution (idf, saturated and length-normalised tf)."""
        if not postings.scored:
            tf = postings.values
            lengths = self.lengths(field)[postings.ids]
            avg = self._avg[field] or 1.0
            norm = K1 * ((1.0 - B) + B * lengths / avg)
            postings.values = self.idf(field, token) * tf * (K1 + 1.0) / (tf + norm)
            postings.scored = True
        return postings.values


def _covers(asked: np.ndarray, within: np.ndarray) -> bool:
    """Whether every document of ``within`` is in ``asked`` (both sorted)."""
    if len(within) > len(asked):
        return False
    at = np.searchsorted(asked, within)
    return bool(
        np.all(at < len(asked)) and np.array_equal(asked[np.minimum(at, len(asked) - 1)], within)
    )


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


def score(snap: Snapshot, leaves: list[Leaf], within: np.ndarray | None = None) -> np.ndarray:
    """BM25 over the bigrams and stems of the ranking leaves: of every document, or
    (``within``, sorted document numbers) of those only, reading only their blocks."""
    acc = np.zeros(snap.size, dtype=np.float32)
    for leaf in leaves:
        for group in groups(leaf):
            weight = FIELD_WEIGHT[group]
            for token in leaf.bigrams:
                snap.add_bm25(group, token, weight, acc, within)
            for token in leaf.stems:
                snap.add_bm25(group + "_stem", token, weight * STEM_WEIGHT, acc, within)
    return acc


def score_top(snap: Snapshot, leaves: list[Leaf], allowed: np.ndarray, k: int) -> np.ndarray:
    """Like :func:`score`, but exact only where it matters for the ``k`` best of
    ``allowed`` (MaxScore): terms go from the highest possible contribution (the rarest)
    down; once the kth best score so far exceeds what the remaining terms could add to
    any document, those terms are read only for documents that can still reach it.
    Every other document's score stays below the kth best, so the k best and their
    order are those of :func:`score`.
    """
    terms = [
        (group, token, FIELD_WEIGHT[group])
        for leaf in leaves
        for group in groups(leaf)
        for token in leaf.bigrams
    ] + [
        (group + "_stem", token, FIELD_WEIGHT[group] * STEM_WEIGHT)
        for leaf in leaves
        for group in groups(leaf)
        for token in leaf.stems
    ]
    # tf / (tf + norm) < 1: a term adds less than weight * idf * (k1 + 1) to any document
    # (with a margin for float32 rounding).
    bounds = [
        weight * snap.idf(field, token) * (K1 + 1.0) * 1.001 for field, token, weight in terms
    ]
    order = sorted(range(len(terms)), key=lambda i: -bounds[i])
    remaining = float(sum(bounds))
    acc = np.zeros(snap.size, dtype=np.float32)
    within: np.ndarray | None = None
    for i in order:
        field, token, weight = terms[i]
        snap.add_bm25(field, token, weight, acc, within)
        remaining -= bounds[i]
        if within is not None or remaining <= 0:
            continue
        if float(acc.max()) <= remaining:
            continue  # no document can be ruled out yet
        # Only documents scored so far can beat the remaining terms' bound: the kth best
        # of them is the threshold (untouched ones have 0 and stay below it).
        touched = np.flatnonzero(acc)
        touched = touched[allowed[touched]]
        if len(touched) <= k:
            continue
        values = acc[touched]
        theta = float(np.partition(values, len(values) - k)[len(values) - k])
        if remaining < theta:
            within = touched[values + remaining >= theta]
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
    found = {t: snap.positions("text_stem", t, docs) for t in distinct}
    bonuses = []
    for doc in docs:
        where = {t: found[t].get(doc, []) for t in distinct}
        hits = sorted((p, t) for t, ps in where.items() for p in ps)
        bonus = WINDOW_WEIGHT * _window(hits, idf) if hits else 0.0
        for a, b in pairs:
            after = {p + 1 for p in where[a]}
            if after and not after.isdisjoint(where[b]):
                bonus += PAIR_WEIGHT * (idf[a] + idf[b])
        bonuses.append(bonus)
    return bonuses
