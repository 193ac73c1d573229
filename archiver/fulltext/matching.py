"""Which documents match a query, best first: postings narrow, stored text decides.

Bigram postings give a superset of the matches cheaply (every token of every word
present, no positions stored); documents are then taken in score order and checked
against their stored text with the words' surface patterns (the same rules as the
bigrams: 올트먼 inside 올트먼이, 칩 before a particle, GPT-4 as GPT 4 or GPT4) until
enough are found. So a search costs a few checks, however common its words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from .engine import (
    PARTIAL_SHARE,
    RERANK_DEPTH,
    Snapshot,
    groups,
    proximity,
    score,
    score_top,
    site_mask,
)
from .query import And, Leaf, Node, Not, Site, positive_leaves
from .snippets import surface_pattern


def approximate(snap: Snapshot, node: Node, candidates: np.ndarray) -> np.ndarray:
    """A superset of ``node``'s matches among ``candidates``, from postings alone."""
    if isinstance(node, Leaf):
        out = np.zeros(snap.size, dtype=bool)
        for group in groups(node):
            found = candidates & ~out
            # Rarest token first: the others then read only the blocks of its documents.
            rarest_first = sorted(
                node.match, key=lambda alts: sum(snap.doc_frequency(group, t) for t in alts)
            )
            for alternatives in rarest_first:
                within = _within(found)
                if within is not None and not len(within):
                    break
                present = np.zeros(snap.size, dtype=bool)
                for token in alternatives:
                    present[snap.postings(group, token, within).ids] = True
                found &= present
            out |= found
        return out
    if isinstance(node, Site):
        in_site: np.ndarray = site_mask(snap, node.host) & candidates
        return in_site
    if isinstance(node, Not):
        child = node.child
        if isinstance(child, Site) or (isinstance(child, Leaf) and len(child.match) == 1):
            kept: np.ndarray = candidates & ~approximate(snap, child, candidates)
            return kept  # exact: one token
        return candidates  # excluding a superset would drop true matches
    if isinstance(node, And):
        current = candidates
        for part in _selective_first(snap, node.children):
            current = approximate(snap, part, current)
        return current
    out = np.zeros(snap.size, dtype=bool)
    for part in node.children:
        out |= approximate(snap, part, candidates & ~out)
    return out


def _rarity(snap: Snapshot, leaf: Leaf) -> int:
    """At most how many documents ``leaf`` can match: its rarest token's, per field."""
    return sum(
        min(
            (sum(snap.doc_frequency(group, t) for t in alts) for alts in leaf.match),
            default=snap.size,
        )
        for group in groups(leaf)
    )


def _selective_first(snap: Snapshot, parts: tuple[Node, ...]) -> list[Node]:
    """An AND's parts in the order to narrow with: plain words from the rarest up (the
    common words then read only the blocks of the few documents left), then the rest."""
    words = [p for p in parts if isinstance(p, Leaf)]
    others = [p for p in parts if not isinstance(p, Leaf)]
    return sorted(words, key=lambda leaf: _rarity(snap, leaf)) + others


class Checker:
    """Decides on a document's stored fields whether it matches a query exactly."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._patterns: dict[Leaf, re.Pattern[str] | None] = {}

    def _pattern(self, leaf: Leaf) -> re.Pattern[str] | None:
        if leaf not in self._patterns:
            surface = surface_pattern(leaf.text)
            self._patterns[leaf] = re.compile(surface) if surface else None
        return self._patterns[leaf]

    def matches(self, stored: dict[str, Any], node: Node | None = None) -> bool:
        node = self.node if node is None else node
        if isinstance(node, Leaf):
            pattern = self._pattern(node)
            return pattern is not None and any(
                pattern.search(stored.get(field) or "") for field in groups(node)
            )
        if isinstance(node, Site):
            bare = (stored.get("site") or "").removeprefix("www.")
            return bare == node.host or bare.endswith("." + node.host)
        if isinstance(node, Not):
            return not self.matches(stored, node.child)
        if isinstance(node, And):
            return all(self.matches(stored, part) for part in node.children)
        return any(self.matches(stored, part) for part in node.children)


HEAD = 64  # documents sorted first; the rest only if the checks reject too many


def _within(mask: np.ndarray) -> np.ndarray | None:
    """The documents of ``mask`` for a partial posting read, or None when so many that
    whole lists (cached between searches) are cheaper."""
    count = int(np.count_nonzero(mask))
    if count * PARTIAL_SHARE > len(mask):
        return None
    within: np.ndarray = np.flatnonzero(mask)
    return within


def _order(docs: np.ndarray, scores: np.ndarray) -> Iterator[int]:
    """``docs`` best first; ties: older (lower-numbered) documents first.

    Only the best HEAD are sorted up front: a search usually stops within them.
    """
    values = scores[docs]
    if len(docs) > HEAD:
        bound = np.partition(values, len(values) - HEAD)[len(values) - HEAD]
        top = values >= bound
        head, rest = docs[top], docs[~top]
        yield from (int(d) for d in head[np.lexsort((head, -values[top]))])
        yield from (int(d) for d in rest[np.lexsort((rest, -values[~top]))])
        return
    yield from (int(d) for d in docs[np.lexsort((docs, -values))])


def _required_parts(node: Node) -> Node | None:
    """In soft mode: the parts of a top-level AND that are not plain words."""
    parts = node.children if isinstance(node, And) else (node,)
    required = [p for p in parts if not (isinstance(p, Leaf) and not p.phrase and p.field is None)]
    if not required:
        return None
    return required[0] if len(required) == 1 else And(tuple(required))


def rank(
    snap: Snapshot, node: Node, filters: np.ndarray, *, soft: bool, limit: int | None
) -> list[tuple[int, float, dict[str, Any]]]:
    """Matching documents as (docnum, score, stored fields), best first.

    ``limit`` None returns every match. ``soft`` ranks every document sharing a term
    with the query's plain words instead of requiring each (the `--any` mode); the
    query's other parts must still match.
    """
    snap.new_search()
    leaves = positive_leaves(node)
    candidates = filters & snap.live
    if soft:
        required = _required_parts(node)
        if required is None and limit is not None:
            scores = score_top(snap, leaves, candidates, max(limit, RERANK_DEPTH))
        else:
            scores = score(snap, leaves)
        if required is not None:
            candidates = approximate(snap, required, candidates)
        candidates &= scores > 0
    else:
        required = node
        candidates = approximate(snap, node, candidates)
        scores = score(snap, leaves, _within(candidates))
    checker = Checker(required) if required is not None else None
    wanted = None if limit is None else max(limit, RERANK_DEPTH)
    found: list[tuple[int, float, dict[str, Any]]] = []
    for doc in _order(np.flatnonzero(candidates), scores):
        stored = snap.searcher.stored_fields(doc)
        if checker is None or checker.matches(stored):
            found.append((doc, float(scores[doc]), stored))
            if wanted is not None and len(found) == wanted:
                break
    stems = [s for leaf in leaves if leaf.field is None for s in leaf.stems]
    head = found[:RERANK_DEPTH]
    bonuses = proximity(snap, [doc for doc, _, _ in head], stems)
    head = sorted(
        (
            (doc, value + bonus, stored)
            for (doc, value, stored), bonus in zip(head, bonuses, strict=True)
        ),
        key=lambda item: -item[1],
    )
    found = head + found[RERANK_DEPTH:]
    return found if limit is None else found[:limit]
