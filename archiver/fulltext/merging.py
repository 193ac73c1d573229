"""When an index commit merges segments: like-sized segments, a few at a time.

Every run adds one or two segments (one per writer process), and every search looks each
term up in each segment. Whoosh's default policy lets small segments pile up (its
thresholds follow the Fibonacci numbers of the segment count: a store grown run by run
kept 13-18) and then re-sorts them all through its posting pool, as slow as indexing
them again (benchmarks/README.md).

This policy sorts segments into size tiers, each FANIN times the one below it (every
segment under FLOOR live documents is in the lowest). Once a tier holds FANIN
segments, they are merged into one of the next tier. So a store of N documents has at
most (FANIN - 1) segments per tier, about (FANIN - 1) * log_FANIN(N / FLOOR) in all,
and each document is rewritten about log_FANIN(N / FLOOR) times over its life: the
merge work per document grows with the logarithm of the store, not with its size.
A segment whose documents are mostly deleted (old versions replaced) is rewritten
alone, which drops them; an empty one is dropped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from .codec import NumpyCodec
from .whoosh_internals import merge_segments

FANIN = 4
FLOOR = 1000  # live documents: smaller segments all count as the lowest tier
PURGE_SHARE = 0.5  # a segment with more than this share deleted is rewritten


def tier(live: int) -> int:
    """The size tier of a segment with ``live`` documents."""
    return int(math.log(max(live, FLOOR) / FLOOR, FANIN) + 1e-9)


def plan(sizes: list[tuple[int, int]]) -> set[int]:
    """Which segments to merge, given (live, all) document counts per segment.

    Tiers with FANIN or more segments are merged (the smallest tier's merge may reach
    into the next one: its segments then join too); segments mostly deleted are
    rewritten. A plan of one segment that has nothing deleted is no plan.
    """
    tiers: dict[int, list[int]] = defaultdict(list)
    for i, (live, _total) in enumerate(sizes):
        tiers[tier(live)].append(i)
    chosen: set[int] = set()
    for level in sorted(tiers):
        members = tiers[level]
        if len(members) + (1 if chosen else 0) >= FANIN:
            chosen.update(members)
    for i, (live, total) in enumerate(sizes):
        if not live or (total - live) > PURGE_SHARE * total:
            chosen.add(i)  # empty, or mostly replaced versions
    if len(chosen) == 1:
        (only,) = chosen
        live, total = sizes[only]
        if live and live == total:
            return set()
    return chosen


def merge_tiers(writer: Any, segments: list[Any]) -> list[Any]:
    """A Whoosh merge policy (``commit(mergetype=...)``): the segments :func:`plan`
    chooses become one, where the first of them stood (documents keep their order
    when, as usual, the newest segments are the ones merged)."""
    sizes = [(int(s.doc_count()), int(s.doc_count_all())) for s in segments]
    chosen = sorted(plan(sizes))
    if not chosen:
        return segments
    if not all(isinstance(segments[i].codec(), NumpyCodec) for i in chosen):
        return _merge_through_pool(writer, segments, chosen)  # an index from before codec.py
    merged = merge_segments(writer, [segments[i] for i in chosen])
    kept = [s for i, s in enumerate(segments) if i not in chosen]
    if merged.doc_count_all():  # else dropped: its files go with the commit's clean-up
        kept.insert(sum(1 for i in range(chosen[0]) if i not in chosen), merged)
    return kept


def _merge_through_pool(writer: Any, segments: list[Any], chosen: list[int]) -> list[Any]:
    """Whoosh's own merge: the chosen segments' postings into the writer's new one."""
    from whoosh.reading import SegmentReader

    for i in chosen:
        reader = SegmentReader(writer.storage, writer.schema, segments[i])
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    return [s for i, s in enumerate(segments) if i not in chosen]
