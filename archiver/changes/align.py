"""Align a seed post with a page: does the source still say what the seed claimed?

Every seed sentence is scored against every page sentence and every pair of neighbouring
page sentences (a seed often merges two source sentences) by character bigrams, which
survive Korean particles and small rewordings: the score is the mean of the Dice
coefficient and the share of the seed sentence's bigrams found in the candidate
(containment, so a longer page sentence that quotes the seed whole still counts).
Candidates come from an inverted bigram index, so only pages sentences sharing a bigram
with the seed sentence are scored; a page is aligned by its first MAX_PAGE_CHARS
characters (ten times a long article), so that a hostile 20 MB page costs a fraction of
a second. rapidfuzz was not needed: its ratios work on characters or whitespace tokens,
which particles (올트먼은/올트먼이) and a seed's rewording defeat, while bigram overlap
through the index meets the time target (benchmarks/diff.py, align_ms).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from archiver.text.ignore import ComparisonKeys, IgnoreRule
from archiver.text.sentences import split_sentences
from archiver.text.similarity import bigrams

from .claims import Conflict, conflicts

STATUSES = ("present", "paraphrased", "contradicted", "absent")
PRESENT = 0.8
PARAPHRASED = 0.4
MIN_SEED_SENTENCE = 8  # letters below which a line is a label ("코드명"), not a claim
PAIR_CANDIDATES = 5  # best single sentences whose neighbours are tried as a pair
MAX_PAGE_CHARS = 300_000  # of a page aligned: a longer one (no article is) is cut here
_NOT_LETTER = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class SeedSentence:
    text: str
    status: str  # "present" | "paraphrased" | "contradicted" | "absent"
    match: str | None
    score: float
    conflicts: tuple[Conflict, ...] = ()  # why it is "contradicted"

    def as_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "status": self.status,
            "match": self.match,
            "score": self.score,
            "conflicts": [c.as_json() for c in self.conflicts],
        }


@dataclass(frozen=True)
class SeedAlignment:
    sentences: list[SeedSentence]
    similarity: float
    page_only: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        """Share of seed sentences the page supports (present or paraphrased; a
        contradicted claim is found but not supported)."""
        if not self.sentences:
            return 0.0
        found = sum(1 for s in self.sentences if s.status in ("present", "paraphrased"))
        return round(found / len(self.sentences), 4)

    def counts(self) -> dict[str, int]:
        counts = Counter(s.status for s in self.sentences)
        return {k: counts.get(k, 0) for k in STATUSES}


def _score(seed: set[str], candidate: set[str], overlap: int) -> float:
    """Mean of the Dice coefficient and the seed sentence's containment in the candidate."""
    if not seed or not candidate:
        return 0.0
    return (2 * overlap / (len(seed) + len(candidate)) + overlap / len(seed)) / 2


def _status(score: float) -> str:
    if score >= PRESENT:
        return "present"
    return "paraphrased" if score >= PARAPHRASED else "absent"


def seed_sentences(seed_text: str) -> list[str]:
    """The seed's sentences that carry a claim (labels and headings left out)."""
    return [
        s for s in split_sentences(seed_text) if len(_NOT_LETTER.sub("", s)) >= MIN_SEED_SENTENCE
    ]


def align_seed(seed_text: str, page_text: str, ignore: Sequence[IgnoreRule] = ()) -> SeedAlignment:
    """Align each seed sentence with its best match among the page's sentences."""
    norm = ComparisonKeys(ignore)
    page = split_sentences(norm.strip(page_text[:MAX_PAGE_CHARS]))
    grams = [bigrams(norm.canon(s)) for s in page]
    postings: dict[str, list[int]] = {}
    for i, g in enumerate(grams):
        for gram in g:
            postings.setdefault(gram, []).append(i)
    results: list[SeedSentence] = []
    used: set[int] = set()
    for sentence in seed_sentences(seed_text):
        mine = bigrams(norm.canon(sentence))
        shared: Counter[int] = Counter()
        for gram in mine:
            shared.update(postings.get(gram, ()))
        m = len(mine)
        scored: list[tuple[float, int]] = []
        for i, n in shared.most_common():
            if scored and (2 * n / (m + n) + n / m) / 2 < scored[0][0]:
                break  # by overlap, most to least: nothing further can beat the best
            score = (2 * n / (m + len(grams[i])) + n / m) / 2
            scored.append((score, i))
            scored.sort(key=lambda pair: (-pair[0], pair[1]))
            del scored[PAIR_CANDIDATES:]
        best, span = (scored[0][0], (scored[0][1], scored[0][1] + 1)) if scored else (0.0, (0, 0))
        # A seed sentence often merges two neighbouring page sentences: try each top
        # single sentence joined with the one before and after it.
        for _score_i, i in scored[:PAIR_CANDIDATES]:
            for lo in (i - 1, i):
                if lo >= 0 and lo + 1 < len(page):
                    joined = grams[lo] | grams[lo + 1]
                    score = _score(mine, joined, len(mine & joined))
                    if score > best:
                        best, span = score, (lo, lo + 2)
        status = _status(best)
        match = " ".join(page[span[0] : span[1]]) if status != "absent" else None
        found: tuple[Conflict, ...] = ()
        if match is not None:
            used.update(range(*span))
            found = tuple(conflicts(sentence, match, norm))
            status = "contradicted" if found else status
        results.append(SeedSentence(sentence, status, match, round(best, 4), found))
    similarity = sum(s.score for s in results) / len(results) if results else 0.0
    page_only = [s for i, s in enumerate(page) if i not in used]
    return SeedAlignment(results, round(similarity, 4), page_only)


@dataclass(frozen=True)
class AlignmentChange:
    """How one seed sentence's support changed between two versions of a page."""

    text: str
    change: str  # "edited" | "removed" | "added" | "restated" | "contradicted"
    before: SeedSentence
    after: SeedSentence

    def as_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "change": self.change,
            "from": self.before.as_json(),
            "to": self.after.as_json(),
        }


def alignment_changes(
    before: SeedAlignment, after: SeedAlignment, new_page_text: str
) -> list[AlignmentChange]:
    """Seed sentences whose support changed: the page now states another value or name
    than the seed ("contradicted", or contradicted otherwise), the page sentence the seed
    relied on was edited ("edited": still matched, by other words) or removed ("removed":
    now absent), a claim the page did not support now is ("added"), or the match moved to
    another sentence with the same status ("restated")."""
    still_there = set(split_sentences(new_page_text[:MAX_PAGE_CHARS]))
    changes: list[AlignmentChange] = []
    for old, new in zip(before.sentences, after.sentences, strict=True):
        if old.match == new.match and old.status == new.status:
            continue
        relied = old.match is not None and any(
            part not in still_there for part in split_sentences(old.match)
        )
        if new.status == "contradicted" and old.conflicts != new.conflicts:
            change = "contradicted"
        elif new.status == "absent" and old.status != "absent":
            change = "removed"
        elif old.status == "absent" and new.status != "absent":
            change = "added"
        elif relied:
            change = "edited"
        else:
            change = "restated"
        changes.append(AlignmentChange(old.text, change, old, new))
    return changes
