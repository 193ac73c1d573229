"""Compare texts: one version of a page against another, or against the seed post.

Texts are compared sentence by sentence (paragraph lines split at sentence ends), which
is what a reader checks: which sentences were added, removed or edited. Against the seed
post, every seed sentence is aligned with its best match in the page by character-bigram
overlap (robust to Korean particles and small rewordings) and classified as present,
paraphrased or absent.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

# A sentence ends at . ! ? (or their full-width forms, or 。) followed by space, or at a
# line end; decimals such as 3.5 are not sentence ends because no space follows the dot,
# and a parenthetical right after a sentence, "(… 수정)", stays with it.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"'”’)\]]*\s+(?=[^\s(])")
_NORMALISE = re.compile(r"[\W_]+")

PRESENT = 0.8
PARAPHRASED = 0.4
MIN_SEED_SENTENCE = 8  # characters (ignoring spaces) below which a line is a label


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, one paragraph line at a time, whitespace collapsed."""
    sentences: list[str] = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if not line:
            continue
        sentences.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return sentences


@dataclass(frozen=True)
class TextDiff:
    """Sentence-level differences between two texts."""

    added: list[str]
    removed: list[str]
    similarity: float

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def diff_texts(old: str, new: str) -> TextDiff:
    """Sentences removed from ``old`` and added in ``new``, and how alike they are."""
    a, b = split_sentences(old), split_sentences(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    added: list[str] = []
    removed: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed.extend(a[i1:i2])
        if tag in ("replace", "insert"):
            added.extend(b[j1:j2])
    similarity = 1.0 if not a and not b else _dice(_bigrams(old), _bigrams(new))
    return TextDiff(added=added, removed=removed, similarity=round(similarity, 4))


def unified_diff(old: str, new: str, from_label: str, to_label: str) -> str:
    """A plain unified diff of the two texts, one sentence per line."""
    lines = difflib.unified_diff(
        split_sentences(old), split_sentences(new), fromfile=from_label, tofile=to_label,
        lineterm="",
    )
    return "\n".join(lines)


def _bigrams(text: str) -> set[str]:
    compact = _NORMALISE.sub("", text.lower())
    if len(compact) < 2:
        return {compact} if compact else set()
    return {compact[i:i + 2] for i in range(len(compact) - 1)}


def _dice(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def _containment(seed: set[str], page: set[str]) -> float:
    """How much of the seed sentence the page sentence covers (a longer page sentence
    that quotes the seed sentence whole still counts as present)."""
    return len(seed & page) / len(seed) if seed else 0.0


@dataclass(frozen=True)
class SeedSentence:
    text: str
    status: str  # "present" | "paraphrased" | "absent"
    match: str | None
    score: float


@dataclass(frozen=True)
class SeedAlignment:
    sentences: list[SeedSentence]
    similarity: float
    page_only: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        if not self.sentences:
            return 0.0
        found = sum(1 for s in self.sentences if s.status != "absent")
        return round(found / len(self.sentences), 4)


def align_seed(seed_text: str, page_text: str) -> SeedAlignment:
    """Align each seed sentence with its best match among the page's sentences.

    The score of a pair is the mean of the bigram Dice coefficient and the seed
    sentence's containment in the page sentence; neighbouring page sentences are also
    tried joined, since a seed often merges two source sentences into one.
    """
    page = split_sentences(page_text)
    candidates = page + [f"{page[i]} {page[i + 1]}" for i in range(len(page) - 1)]
    grams = [_bigrams(c) for c in candidates]
    results: list[SeedSentence] = []
    used: set[int] = set()
    for sentence in split_sentences(seed_text):
        if len(_NORMALISE.sub("", sentence)) < MIN_SEED_SENTENCE:
            continue  # headings and labels such as "코드명" carry no claim to check
        mine = _bigrams(sentence)
        best, best_i = 0.0, -1
        for i, theirs in enumerate(grams):
            score = (_dice(mine, theirs) + _containment(mine, theirs)) / 2
            if score > best:
                best, best_i = score, i
        if best >= PRESENT:
            status = "present"
        elif best >= PARAPHRASED:
            status = "paraphrased"
        else:
            status = "absent"
        match = candidates[best_i] if best_i >= 0 and status != "absent" else None
        if match is not None and best_i < len(page):
            used.add(best_i)
        elif match is not None:
            used.update({best_i - len(page), best_i - len(page) + 1})
        results.append(SeedSentence(sentence, status, match, round(best, 4)))
    similarity = sum(s.score for s in results) / len(results) if results else 0.0
    page_only = [s for i, s in enumerate(page) if i not in used]
    return SeedAlignment(results, round(similarity, 4), page_only)
