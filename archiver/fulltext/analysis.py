"""Korean-aware text analysis for the full-text index.

Two token streams are indexed for every text field (the choice was measured on KorQuAD:
benchmarks/search_korquad.py and benchmarks/README.md):

* **bigrams** — Hangul (and CJK) runs become overlapping character bigrams (a single
  syllable stays a unigram); Latin words are lower-cased and kept whole; numbers lose
  their thousands separators (1,200 and 1200 match). A query word is the phrase of its
  bigrams, so 올트먼 matches inside 올트먼이 and 샘올트먼 but not in 올트 … 먼.
* **stems** — one token per word: the Hangul word without its particles and endings
  (:func:`archiver.text.korean.stem`), Latin and numbers as above. They rank whole-word
  matches above bigram coincidences and carry word positions for proximity.

Every token carries its character span, so highlights and phrase queries work and
never cut a syllable. Text is NFC-normalised first (decomposed jamo become syllables).

Indexing needs only the token texts, so :func:`bigram_terms` and :func:`stem_terms` give
the same tokens without spans, and :class:`TermFrequency` / :class:`TermPositions` count
them without Whoosh's per-token ``Token`` objects, the slow part of indexing before.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from whoosh.analysis import Token, Tokenizer
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_uint

from archiver.text.korean import is_particle, stem

TOKEN_PATTERN = _TOKEN = re.compile(
    r"(?P<hangul>[\uac00-\ud7a3]+)"
    r"|(?P<cjk>[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+)"
    r"|(?P<number>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[^\W\d_\uac00-\ud7a3\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+)"
)
_HANGUL = re.compile(r"[\uac00-\ud7a3]+")
# The same token classes one at a time, for bigram_terms: findall runs in C, and a
# frequency field does not need the tokens in order. The classes share no character,
# so each finds exactly what _TOKEN's alternation gives it.
_H = "\uac00-\ud7a3"
_C = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"


class _IndexingPatterns(NamedTuple):
    hangul_pair: re.Pattern[str]
    hangul_alone: re.Pattern[str]
    cjk_pair: re.Pattern[str]
    cjk_alone: re.Pattern[str]
    number: re.Pattern[str]
    word: re.Pattern[str]
    # For stem_terms: a Hangul run right after a letter or digit ("S8의") is its own group.
    stem_token: re.Pattern[str]


@functools.cache
def _indexing() -> _IndexingPatterns:
    """Compiled on first use: indexing needs them, a search does not, and their large
    character classes take milliseconds to compile in every new process."""
    return _IndexingPatterns(
        re.compile(f"(?=([{_H}]{{2}}))"),
        re.compile(f"(?<![{_H}])[{_H}](?![{_H}])"),
        re.compile(f"(?=([{_C}]{{2}}))"),
        re.compile(f"(?<![{_C}])[{_C}](?![{_C}])"),
        re.compile(r"\d+(?:[.,]\d+)*"),
        re.compile(f"[^\\W\\d_{_H}{_C}]+"),
        re.compile(
            f"(?<=[^\\W_{_H}{_C}])([{_H}]+)|([{_H}]+)|[{_C}]+|(\\d+(?:[.,]\\d+)*)"
            f"|[^\\W\\d_{_H}{_C}]+"
        ),
    )


class Span(NamedTuple):
    """One analysed token: its indexed text and where it stands in the source."""

    text: str
    start: int
    end: int


def normalize(text: str) -> str:
    """NFC, so that decomposed jamo (some macOS text) index as syllables."""
    return unicodedata.normalize("NFC", text)


def _number(value: str) -> str:
    return value.replace(",", "")


def tokens(text: str) -> list[Span]:
    """The bigram-field tokens of ``text`` in order."""
    out: list[Span] = []
    append = out.append
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group(0)
        start = match.start()
        if kind == "hangul" or kind == "cjk":
            if len(value) == 1:
                append(Span(value, start, start + 1))
            else:
                for i in range(len(value) - 1):
                    append(Span(value[i : i + 2], start + i, start + i + 2))
        elif kind == "number":
            append(Span(_number(value), start, match.end()))
        else:
            append(Span(value.lower(), start, match.end()))
    return out


def stem_tokens(text: str) -> list[Span]:
    """The stem-field tokens of ``text``: one per word; spans cover the stem only."""
    out: list[Span] = []
    append = out.append
    prev_end = -1
    prev_kind: str | None = None
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group(0)
        start = match.start()
        if kind == "hangul":
            glued = start == prev_end and prev_kind in ("number", "word")
            if not (glued and is_particle(value)):  # the 의 of "S8의" is no word
                stemmed = stem(value)
                append(Span(stemmed, start, start + len(stemmed)))
        elif kind == "number":
            append(Span(_number(value), start, match.end()))
        else:
            append(Span(value.lower(), start, match.end()))
        prev_end = match.end()
        prev_kind = kind
    return out


def bigram_terms(text: str) -> list[str]:
    """The texts of :func:`tokens`, in no particular order (the same multiset)."""
    patterns = _indexing()
    out = patterns.hangul_pair.findall(text)
    out += patterns.hangul_alone.findall(text)
    out += patterns.cjk_pair.findall(text)
    out += patterns.cjk_alone.findall(text)
    out += [_number(n) for n in patterns.number.findall(text)]
    out += [w.lower() for w in patterns.word.findall(text)]
    return out


def stem_terms(text: str) -> list[str]:
    """The texts of :func:`stem_tokens`, in order."""
    out: list[str] = []
    append = out.append
    for match in _indexing().stem_token.finditer(text):
        glued, hangul, number = match.groups()
        if hangul:
            append(stem(hangul))
        elif glued:
            if not is_particle(glued):  # the 의 of "S8의" is no word
                append(stem(glued))
        elif number:
            append(_number(number))
        else:
            append(match.group(0).lower())
    return out


class _SpanTokenizer(Tokenizer):
    """A Whoosh tokenizer over a span function, honouring positions and chars."""

    analyse: Callable[[str], list[Span]] = staticmethod(tokens)
    terms: Callable[[str], list[str]] = staticmethod(bigram_terms)  # analyse's texts only

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        spans = self.analyse(value) if tokenize else [Span(value, 0, len(value))]
        for pos, span in enumerate(spans):
            token.text = span.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = span.text
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + span.start
                token.endchar = start_char + span.end
            yield token


class KoreanBigramTokenizer(_SpanTokenizer):
    """Bigram-field tokens (:func:`tokens`)."""

    analyse = staticmethod(tokens)
    terms = staticmethod(bigram_terms)


class KoreanStemTokenizer(_SpanTokenizer):
    """Stem-field tokens (:func:`stem_tokens`)."""

    analyse = staticmethod(stem_tokens)
    terms = staticmethod(stem_terms)


def _terms(value: object, analyzer: object) -> list[str] | None:
    if isinstance(value, str) and isinstance(analyzer, _SpanTokenizer):
        return analyzer.terms(value)
    return None


class TermFrequency(Frequency):
    """Whoosh's Frequency format, fed by the analyzer's term list when it has one."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Any:
        terms = _terms(value, analyzer)
        if terms is None:
            return super().word_values(value, analyzer, **kwargs)
        boost = self.field_boost
        return [(term, n, n * boost, pack_uint(n)) for term, n in Counter(terms).items()]


class TermPositions(Positions):
    """Whoosh's Positions format, fed by the analyzer's term list when it has one."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Any:
        terms = _terms(value, analyzer)
        if terms is None:
            return super().word_values(value, analyzer, **kwargs)
        where: dict[str, list[int]] = {}
        for pos, term in enumerate(terms):
            where.setdefault(term, []).append(pos)
        boost = self.field_boost
        return [(term, len(p), len(p) * boost, self.encode(p)) for term, p in where.items()]


def korean_analyzer() -> Any:
    """The analyzer of the index's bigram fields."""
    return KoreanBigramTokenizer()


def stem_analyzer() -> Any:
    """The analyzer of the index's stem fields."""
    return KoreanStemTokenizer()


def is_hangul_word(text: str) -> bool:
    return bool(_HANGUL.fullmatch(text))
