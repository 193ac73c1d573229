"""Text units for diffs, Korean-aware: paragraphs, sentences, words, and word diffs.

Sentences are split by a regex, not by kiwipiepy (``benchmarks/diff.py --kiwi``): on the
fixture pages and the seed post (5,590 characters) the regex takes 0.7 ms and kiwi's
``split_into_sents`` 2.0 s plus 1.3 s to load its model; 101 of kiwi's 110 sentences are
identical. Where they differ kiwi is sometimes worse ("사실이다(" cut before a
parenthesis, a URL in brackets split off) and sometimes better (a two-sentence quotation
kept whole, which the regex cuts at its inner full stop; an ellipsis glued to the next
word, "나오는데..알트만이", and a list number "1.", both handled here now). A missing space
after an ending ("본다.OpenAI") is split here and left joined by kiwi.

Words are runs of letters/digits, runs of spaces, or single punctuation marks, taken
from NFC text, so a precomposed Hangul syllable is one code point and never cut; a
combining mark or a conjoining jamo stays with the character before it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

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
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_WHITESPACE = re.compile(r"\s+")
# Characters that never continue the one before them (fast path of ``words``).
_SAFE = frozenset(" .,!?()[]\"'“”‘’-:;/%0123456789abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def paragraphs(text: str) -> list[str]:
    """Non-empty lines of ``text`` (the extractor writes one paragraph per line), NFC,
    whitespace collapsed."""
    out = []
    for line in unicodedata.normalize("NFC", text).split("\n"):
        line = " ".join(line.split())
        if line:
            out.append(line)
    return out


def split_paragraph(line: str) -> list[str]:
    """The sentences of one paragraph line (already whitespace-collapsed)."""
    cuts = [m.end() for m in _END.finditer(line)] + [m.end() for m in _GLUED_END.finditer(line)]
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
        if _ENUMERATOR.match(piece) or _ABBREVIATION.search(piece):
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
        if tokens and first not in _SAFE and not "가" <= first <= "힣" \
                and not can_cut(token, 0, start=True):
            tokens[-1] += token  # a combining mark or a jamo continues the last character
        else:
            tokens.append(token)
    return tokens


def can_cut(text: str, i: int, *, start: bool = False) -> bool:
    """Whether a boundary before ``text[i]`` keeps every character (and syllable) whole;
    ``start``: the text continues something before it, so its start counts too."""
    if i >= len(text) or (i <= 0 and not start):
        return True
    char = text[i]
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Mc"):
        return False
    code = ord(char)
    # Conjoining Hangul medial vowels and final consonants continue a syllable.
    return not (0x1160 <= code <= 0x11FF or 0xD7B0 <= code <= 0xD7FF or char == "\u200d")


@dataclass(frozen=True)
class IgnoreRule:
    """A change that does not count: text matching ``pattern`` or whitespace-only edits,
    for pages whose URL starts with ``url`` (every page when it is None)."""

    pattern: re.Pattern[str] | None = None
    whitespace: bool = False
    url: str | None = None
    # Names of one thing ("올트먼", "알트만", "Sam Altman"): the seed alignment and the
    # follow-up relevance treat them as the same word; version diffs still show them.
    aliases: tuple[str, ...] = ()

    def applies_to(self, page_url: str) -> bool:
        return self.url is None or page_url.startswith(self.url)


def alias_pattern(names: Sequence[str]) -> re.Pattern[str]:
    """One regex matching any of ``names`` (longest first, case-insensitive; spaces in a
    name match any run of spaces, so "샘 올트먼" also finds "샘  올트먼")."""
    ordered = sorted(names, key=len, reverse=True)
    return re.compile("|".join(r"\s*".join(map(re.escape, n.split())) for n in ordered),
                      re.IGNORECASE)


class Normaliser:
    """Comparison keys: text with ignored patterns removed and whitespace folded."""

    def __init__(self, rules: Sequence[IgnoreRule] = ()) -> None:
        self.patterns = [r.pattern for r in rules if r.pattern is not None]
        self.whitespace = any(r.whitespace for r in rules)
        self.names = [(alias_pattern(r.aliases), r.aliases[0]) for r in rules if r.aliases]

    def canon(self, text: str) -> str:
        """``text`` with every alias replaced by the first name of its group."""
        for pattern, name in self.names:
            text = pattern.sub(name, text)
        return text

    def key(self, text: str) -> str:
        for pattern in self.patterns:
            text = pattern.sub("", text)
        if self.whitespace:
            return _WHITESPACE.sub("", text)
        return " ".join(text.split())

    def strip(self, text: str) -> str:
        """``text`` without the ignored patterns (spacing and lines kept, for display)."""
        for pattern in self.patterns:
            text = pattern.sub("", text)
        return text


# -- word diffs ----------------------------------------------------------------------

MIN_STEM = 2  # characters a replaced word must share to be shown as stem + ending


@dataclass(frozen=True)
class WordOp:
    op: str  # "equal" | "insert" | "delete"
    text: str


def word_diff(old: str, new: str) -> tuple[WordOp, ...]:
    """Word-level diff of two sentences; a lone replaced word is narrowed to the
    characters that changed (올트먼은 → 올트먼이 marks only 은/이), never cutting a syllable."""
    a, b = words(old), words(new)
    ops: list[WordOp] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(WordOp("equal", "".join(a[i1:i2])))
            continue
        gone, came = "".join(a[i1:i2]), "".join(b[j1:j2])
        if tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1:
            ops.extend(_narrow(gone, came))
            continue
        if gone:
            ops.append(WordOp("delete", gone))
        if came:
            ops.append(WordOp("insert", came))
    return _merge(ops)


def _narrow(old: str, new: str) -> list[WordOp]:
    """A replaced word split into its shared stem and the changed ending (particles:
    올트먼은 → 올트먼이); numbers stay whole (10억 → 20억) and syllables are never cut."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    while prefix and not (can_cut(old, prefix) and can_cut(new, prefix)):
        prefix -= 1
    while prefix and (
        old[prefix - 1].isdigit()
        and (
            prefix < len(old)
            and old[prefix].isdigit()
            or prefix < len(new)
            and new[prefix].isdigit()
        )
    ):
        prefix -= 1  # never split a number
    if prefix < MIN_STEM:
        return [WordOp("delete", old), WordOp("insert", new)]
    ops = [
        WordOp("equal", old[:prefix]),
        WordOp("delete", old[prefix:]),
        WordOp("insert", new[prefix:]),
    ]
    return [op for op in ops if op.text]


def _merge(ops: list[WordOp]) -> tuple[WordOp, ...]:
    """Join neighbouring ops of one kind; a lone space between two changes joins both
    sides, so "30분이 채 걸리지" → "10분 남짓 걸렸고" reads as one replaced phrase."""
    folded: list[WordOp] = []
    for k, op in enumerate(ops):
        between = 0 < k < len(ops) - 1 and ops[k - 1].op != "equal" and ops[k + 1].op != "equal"
        if op.op == "equal" and between and not op.text.strip():
            folded += [WordOp("delete", op.text), WordOp("insert", op.text)]
        else:
            folded.append(op)
    # Within a run of changes, all deletions first, then all insertions.
    runs: list[WordOp] = []
    k = 0
    while k < len(folded):
        if folded[k].op == "equal":
            runs.append(folded[k])
            k += 1
            continue
        end = k
        while end < len(folded) and folded[end].op != "equal":
            end += 1
        runs += [o for o in folded[k:end] if o.op == "delete"]
        runs += [o for o in folded[k:end] if o.op == "insert"]
        k = end
    merged: list[WordOp] = []
    for op in runs:
        if merged and merged[-1].op == op.op:
            merged[-1] = WordOp(op.op, merged[-1].text + op.text)
        else:
            merged.append(op)
    return tuple(merged)
