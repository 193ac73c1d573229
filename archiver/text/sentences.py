"""Text units for diffs, Korean-aware: paragraphs, sentences and words.

Sentences are split by a regex, not by kiwipiepy: it is orders of magnitude faster and
agrees with kiwi on most sentences (``benchmarks/diff.py --kiwi``; the figures are in
benchmarks/README.md). Where they differ kiwi is sometimes worse ("사실이다(" cut before a
parenthesis, a URL in brackets split off) and sometimes better (a two-sentence quotation
kept whole, which the regex cuts at its inner full stop; an ellipsis glued to the next
word, "나오는데..알트만이", and a list number "1.", both handled here now). A missing space
after an ending ("본다.OpenAI") is split here and left joined by kiwi.

Words are runs of letters/digits, runs of spaces, or single punctuation marks, taken
from NFC text, so a precomposed Hangul syllable is one code point and never cut; a
combining mark or a conjoining jamo stays with the character before it.
"""

from __future__ import annotations

import re
import unicodedata

# The end of a sentence: . ! ? (full-width too), 。 or … , any closing quotes or brackets,
# then whitespace before something that is not "(" (a parenthetical right after a
# sentence, "(… 수정)", stays with it) nor a quotative particle ("…했다.” 라고 말했다").
# A decimal such as 3.5 has no space after the dot.
_END = re.compile(r"[.!?。！？…]+[\"'”’)\]」』]*(?=\s+(?!(?:이?라고|라며|하고|고)\s)[^\s(])")
# A Korean ending with a missing space after it: "…본다.OpenAI에서", "나오는데..알트만이".
_GLUED_END = re.compile(r"(?<=[가-힣])(?:[.!?]|\.{2,}|…)(?=[가-힣A-Za-z])")
# Pieces that end a sentence only in appearance: list numbers and initials/abbreviations.
_ENUMERATOR = re.compile(r"^(?:\d{1,3}|[가-하]|[A-Za-z]|[ivxIVX]{1,4})[.)]$")
_ABBREVIATION = re.compile(
    r"(?:\b[A-Z]\.|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Co|Corp|Inc|Ltd|vs|No|Vol|pp?)\.)$"
)
_ABBREVIATION_TAIL = 8  # characters that decide _ABBREVIATION: "Prof." and the one before
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_ODD_SPACE = re.compile(r"[^\S\n ]")  # whitespace other than a space or a newline
_WHITESPACE = re.compile(r"\s+")
# Characters that never continue the one before them (fast path of ``words``).
_SAFE = frozenset(
    " .,!?()[]\"'“”‘’-:;/%0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def paragraphs(text: str) -> list[str]:
    """Non-empty lines of ``text`` (the extractor writes one paragraph per line), NFC,
    whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    if not (
        "  " in text
        or "\n " in text
        or " \n" in text
        or text.startswith(" ")
        or text.endswith(" ")
        or _ODD_SPACE.search(text)
    ):  # already tidy, as extracted text is: no line to collapse, checked in C
        return [line for line in text.split("\n") if line]
    out = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line:
            out.append(line)
    return out


def split_paragraph(line: str) -> list[str]:
    """The sentences of one paragraph line (already whitespace-collapsed)."""
    cuts = [m.end() for m in _END.finditer(line)] + [m.end() for m in _GLUED_END.finditer(line)]
    if not cuts:  # one sentence (most lines of a long list or table)
        whole = line.strip()
        return [whole] if whole else []
    pieces: list[str] = []
    start = 0
    for cut in sorted(set(cuts)):
        pieces.append(line[start:cut].strip())
        start = cut
    pieces.append(line[start:].strip())
    merged: list[str] = []
    carry = ""
    for piece in pieces:
        if not piece:
            continue
        piece = f"{carry} {piece}" if carry else piece
        carry = ""
        # (only a piece's end can be an abbreviation: a 20 MB piece is not searched whole)
        if _ENUMERATOR.match(piece) or _ABBREVIATION.search(piece[-_ABBREVIATION_TAIL:]):
            carry = piece  # "1." or "U.S." belongs to the words after it
            continue
        merged.append(piece)
    if carry:
        merged.append(carry)
    return merged


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, one paragraph line at a time, whitespace collapsed."""
    return [s for line in paragraphs(text) for s in split_paragraph(line)]


def words(text: str) -> list[str]:
    """Word, space and punctuation tokens of NFC ``text``; joined they give it back."""
    text = unicodedata.normalize("NFC", text)
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        first = token[0]
        if (
            tokens
            and first not in _SAFE
            and not "가" <= first <= "힣"
            and not can_cut(token, 0, start=True)
        ):
            tokens[-1] += token  # a combining mark or a jamo continues the last character
        else:
            tokens.append(token)
    return tokens


def continues_previous(char: str) -> bool:
    """Whether ``char`` belongs to the character before it: a combining mark, a
    conjoining Hangul medial vowel or final consonant, or a zero-width joiner."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Mc"):
        return True
    code = ord(char)
    return 0x1160 <= code <= 0x11FF or 0xD7B0 <= code <= 0xD7FF or char == "\u200d"


def can_cut(text: str, i: int, *, start: bool = False) -> bool:
    """Whether a boundary before ``text[i]`` keeps every character (and syllable) whole;
    ``start``: the text continues something before it, so its start counts too."""
    if i >= len(text) or (i <= 0 and not start):
        return True
    return not continues_previous(text[i])
