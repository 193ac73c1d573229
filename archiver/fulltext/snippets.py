"""Search-result snippets: a window of text around the matches, with their offsets.

The window opens and closes at a space when one is near, so it does not cut a word, and
never inside a syllable or a combining sequence (text is NFC, and a decomposed jamo or
combining mark is never left at an edge).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from archiver.text.korean import PARTICLE_STARTS
from archiver.text.sentences import continues_previous

from .analysis import TOKEN_PATTERN, stem_tokens

SNIPPET_CHARS = 160
_SNAP = 15  # how far a window edge may move to reach a space


def _safe_start(text: str, begin: int, limit: int) -> int:
    """Move ``begin`` forward to a space within reach (never past ``limit``)."""
    if begin <= 0:
        return 0
    space = text.rfind(" ", max(0, begin - _SNAP), limit)
    if space != -1 and space + 1 <= limit:
        begin = space + 1
    while 0 < begin < len(text) and continues_previous(text[begin]):
        begin -= 1
    return begin


def _safe_end(text: str, end: int, floor: int) -> int:
    """Move ``end`` back to a space within reach (never before ``floor``)."""
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", max(floor, end - _SNAP), end + 1)
    if space > floor:
        end = space
    while floor < end < len(text) and continues_previous(text[end]):
        end -= 1
    return end


# Small classes only: a class spanning the Hangul block costs milliseconds to compile,
# once per query. "A word character that is no digit, _ or ASCII letter" ~ a syllable.
_SYLLABLE = "[^\\W\\d_A-Za-z]"
_LETTER = "[A-Za-z]"


_PARTICLE = "[" + "".join(sorted(PARTICLE_STARTS)) + "]"


def _run_pattern(kind: str, value: str, prefix_only: bool, last: bool) -> str:
    if kind in ("hangul", "cjk"):
        if len(value) > 1:
            return re.escape(value)  # bigrams match inside longer words: 올트먼 in 샘올트먼이
        alone = f"(?<!{_SYLLABLE}){re.escape(value)}"
        if prefix_only:
            return alone
        if last:  # as in the index: 칩 finds 칩, 칩을 and 포테이토칩이, but not 칩셋
            return f"(?:{alone}(?!{_SYLLABLE})|{re.escape(value)}(?={_PARTICLE}))"
        return f"{alone}(?!{_SYLLABLE})"
    if kind == "number":
        digits = ",?".join(re.escape(ch) for ch in value.replace(",", ""))
        return f"(?<![\\d]){digits}(?![\\d])"
    # Scoped (?i:…): a global IGNORECASE makes compiling the syllable classes slow.
    return f"(?<!{_LETTER})(?i:{re.escape(value)})(?!{_LETTER})"


def surface_pattern(text: str, prefix_only: bool = False) -> str | None:
    """A regex for how a query word or phrase appears in text, by the index's rules."""
    found = list(TOKEN_PATTERN.finditer(text))
    runs = [
        _run_pattern(m.lastgroup or "", m.group(0), prefix_only, i == len(found) - 1)
        for i, m in enumerate(found)
    ]
    return "[\\W_]*".join(runs) if runs else None


def highlighter(words: Iterable[tuple[str, bool]], stems: bool = False) -> re.Pattern[str] | None:
    """One regex finding the query's words and phrases, as (text, is_phrase), in a text.

    With ``stems`` a word is also found by its stem (올트먼이 highlights the 올트먼 of
    올트먼은): for ranked `--any` results, which may match by stem only.
    """
    patterns: list[str] = []
    for text, phrase in words:
        surface = surface_pattern(text)
        if surface:
            patterns.append(surface)
        if stems and not phrase:
            joined = " ".join(s.text for s in stem_tokens(text))
            stemmed = surface_pattern(joined, prefix_only=True) if joined != text.lower() else None
            if stemmed and stemmed not in patterns:
                patterns.append(stemmed)
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def match_spans(text: str, pattern: re.Pattern[str] | None) -> list[tuple[int, int]]:
    """Merged spans of ``text`` that ``pattern`` (from :func:`highlighter`) finds."""
    merged: list[tuple[int, int]] = []
    if pattern is None:
        return merged
    for match in pattern.finditer(text):
        start, end = match.span()
        if end == start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def make_snippet(
    text: str, pattern: re.Pattern[str] | None, width: int = SNIPPET_CHARS
) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` around the densest cluster of matches, and their offsets.

    ``pattern`` comes from :func:`highlighter`; offsets are ``(start, end)`` in the
    returned snippet.
    """
    spans = match_spans(text, pattern)
    if not spans:
        end = _safe_end(text, width, 0)
        snippet = text[:end].replace("\n", " ")
        return (snippet + ("…" if end < len(text) else "")), []
    best_start, best_count = spans[0][0], 0
    for i, (start, _end) in enumerate(spans):
        count = sum(1 for _s, e in spans[i:] if e <= start + width)
        if count > best_count:
            best_start, best_count = start, count
    begin = _safe_start(text, max(0, best_start - width // 4), best_start)
    end = _safe_end(text, min(len(text), begin + width), best_start + 1)
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(text) else ""
    body = text[begin:end].replace("\n", " ")
    shift = len(prefix) - begin
    highlights = [
        (max(s, begin) + shift, min(e, end) + shift) for s, e in spans if s < end and e > begin
    ]
    return prefix + body + suffix, highlights
