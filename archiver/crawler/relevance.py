"""How relevant a candidate page is to the seed post.

The seed's key terms are its nouns and foreign words (kiwipiepy morphology), weighted by
how often the seed uses them, with proper nouns, foreign words and title words counting
more. A candidate's score is the weighted share of those terms that its text (anchor
text, feed title and summary, then its extracted text) contains, from 0 to 1. Terms are
matched as substrings of the lower-cased text, so Korean particles (올트먼이, 올트먼은) do
not hide them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

MAX_TERMS = 25
_KINDS = {"NNP": 3.0, "SL": 2.0, "NNG": 1.0}
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
_LATIN_TERM = re.compile(r"^[a-z0-9\-.]+$")


@lru_cache(maxsize=1)
def _kiwi() -> Any:
    # Loading the model takes 1-2.5 s: only crawls that discover follow-ups pay for it.
    from kiwipiepy import Kiwi

    return Kiwi()


@dataclass(frozen=True)
class SeedTerms:
    """Weighted key terms of one or more seed posts."""

    weights: dict[str, float]
    # Other spellings of a term (from [[aliases]]): any of them counts as the term.
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def score(self, *texts: str) -> float:
        """Weighted share of the key terms found in the texts (0 when there are none)."""
        if not self.weights:
            return 0.0
        haystack = " ".join(texts).lower()
        words = set(re.findall(r"[a-z0-9][a-z0-9\-.]*", haystack))

        def present(term: str) -> bool:
            # Latin terms must be whole words ("ai" is not in "said").
            return term in words if _LATIN_TERM.match(term) else term in haystack

        found = sum(
            w
            for term, w in self.weights.items()
            if any(present(t) for t in (term, *self.variants.get(term, ())))
        )
        return round(found / self.total, 4)

    def top(self, n: int = 10) -> list[str]:
        return [t for t, _ in sorted(self.weights.items(), key=lambda kv: -kv[1])[:n]]


def seed_terms(
    titles: list[str], bodies: list[str], aliases: Sequence[Sequence[str]] = ()
) -> SeedTerms:
    """Key terms of seed posts: nouns and foreign words, weighted (see module doc);
    ``aliases`` are groups of spellings of one name, any of which matches the term."""
    counts: Counter[str] = Counter()
    kind_weight: dict[str, float] = {}
    title_terms: set[str] = set()
    kiwi = _kiwi()
    for is_title, texts in ((True, titles), (False, bodies)):
        for text in texts:
            for token in kiwi.tokenize(text):
                weight = _KINDS.get(token.tag)
                if weight is None or token.tag == "SL":  # Latin words: taken whole below
                    continue
                # kiwi may tag "샘 올트먼" as one noun: its parts are the searchable terms.
                for form in token.form.split():
                    form = form.lower()
                    if len(form) < 2:
                        continue
                    counts[form] += 1
                    kind_weight[form] = max(kind_weight.get(form, 0.0), weight)
                    if is_title:
                        title_terms.add(form)
            # kiwi splits unknown Latin names oddly; take Latin words whole instead.
            for word in _LATIN.findall(text):
                form = word.lower()
                counts[form] += 1
                kind_weight[form] = max(kind_weight.get(form, 0.0), _KINDS["SL"])
    # A name listed once in passing (one investor among ten) is not what the story is
    # about: terms count only if repeated, in the title, or proper nouns.
    weights = {
        term: kind_weight[term] * count**0.75 * (1.5 if term in title_terms else 1.0)
        for term, count in counts.items()
        if count >= 2 or term in title_terms or kind_weight[term] >= _KINDS["NNP"]
    }
    top = dict(sorted(weights.items(), key=lambda kv: -kv[1])[:MAX_TERMS])
    variants: dict[str, tuple[str, ...]] = {}
    for group in aliases:
        forms = {" ".join(n.lower().split()) for n in group}
        # A multi-word name ("sam altman") also stands for its parts that are terms.
        parts = {p for n in forms for p in n.split()} | forms
        for term in top:
            if term in parts:
                variants[term] = tuple(sorted(forms - {term}))
    return SeedTerms(top, variants)
