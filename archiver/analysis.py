"""Korean-aware text analysis for the full-text index.

Korean glues particles and endings onto words (올트먼이, 올트먼은), so whitespace words
cannot be searched. Hangul runs become overlapping character bigrams (a single syllable
stays a unigram); a query word becomes the phrase of its bigrams, so 올트먼 matches
inside 올트먼이 but not 올트 … 먼. Latin words are lower-cased and kept whole; numbers
lose their thousands separators (1,200 and 1200 match). Every token carries its
character span, so highlights and phrase queries work and never cut a syllable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from whoosh.analysis import LowercaseFilter, Token, Tokenizer

_TOKEN = re.compile(
    r"(?P<hangul>[\uac00-\ud7a3]+)"
    r"|(?P<number>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[^\W\d_\uac00-\ud7a3]+)"
)


@dataclass(frozen=True)
class Span:
    """One analysed token: its indexed text and where it stands in the source."""

    text: str
    start: int
    end: int


def tokens(text: str) -> Iterator[Span]:
    """The tokens of ``text`` in order (bigrams for Hangul, whole words otherwise)."""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group(0)
        start = match.start()
        if kind == "hangul":
            if len(value) == 1:
                yield Span(value, start, start + 1)
            else:
                for i in range(len(value) - 1):
                    yield Span(value[i : i + 2], start + i, start + i + 2)
        elif kind == "number":
            yield Span(value.replace(",", ""), start, match.end())
        else:
            yield Span(value.lower(), start, match.end())


class KoreanBigramTokenizer(Tokenizer):
    """A Whoosh tokenizer over :func:`tokens`, honouring positions and chars."""

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
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        for pos, span in enumerate(tokens(value)):
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


def korean_analyzer() -> Any:
    """The analyzer of the index's text fields."""
    # LowercaseFilter is a no-op for our own tokens but keeps Whoosh's term
    # normalisation identical for query terms typed in upper case.
    return KoreanBigramTokenizer() | LowercaseFilter()


def match_spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    """Merged character spans of ``text`` whose tokens are among ``terms``."""
    spans: list[tuple[int, int]] = []
    for span in tokens(text):
        if span.text in terms:
            if spans and span.start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], span.end))
            else:
                spans.append((span.start, span.end))
    return spans
