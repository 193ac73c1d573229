"""Similarity of short texts as the Dice coefficient of their character-bigram sets,
letters and digits only, case-folded: robust to particles, spacing and punctuation."""

from __future__ import annotations

import re

_NORMALISE = re.compile(r"[\W_]+")


def bigrams(text: str) -> set[str]:
    compact = _NORMALISE.sub("", text.lower())
    if len(compact) < 2:
        return {compact} if compact else set()
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


def dice(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))
