"""Word diffs inside an edited sentence: which words changed, and for a lone replaced
word which characters (a changed particle shows as 올트먼~~은~~**이**). Words come from
:func:`archiver.text.sentences.words`, so a Hangul syllable is never cut.

:func:`opcodes` is the bounded sequence diff every level uses (paragraphs, sentences,
words): difflib's exact matcher when it is cheap, which it is for every ordinary text,
and otherwise a linear-time one (common ends, then a patience diff on the items unique
to both sides, recursively), so that one long sentence or a page of ten thousand
identical paragraphs diffs in well under a second (issue 18, row 17). A sentence longer
than a few thousand characters is first cut to the span between its common beginning
and end, and a span too long even for that is one replaced run.
"""

from __future__ import annotations

import bisect
import difflib
import unicodedata
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from archiver.text.sentences import can_cut, words

__all__ = [
    "MIN_STEM", "Opcode", "WordOp", "common_prefix", "common_suffix", "join_opcodes", "opcodes",
    "word_diff",
]  # fmt: skip

MIN_STEM = 2  # characters a replaced word must share to be shown as stem + ending
# difflib's matcher costs about sum(count in a * count in b) over the items, per pass:
# fine for prose, quadratic for a sentence whose words repeat or a page of the same line.
MAX_EXACT_ITEMS = 4_000
MAX_EXACT_COST = 400_000
_MAX_DEPTH = 12  # patience recursion levels; deeper gaps are replaced runs
CHUNKED_FROM = 50_000  # items (both sides) from which runs of them are matched first
_ITEM_MASK = 15  # a run of items ends after one whose hash ends in 4 zero bits ...
_CHUNK_ITEMS = 64  # ... or after this many
LONG_SENTENCE = 4_000  # characters (both sides) from which a sentence is cut to its changes
MAX_CHANGED_CHARS = 400_000  # a changed span longer than this is not split into words
_CHUNK_MASK = 7  # a chunk of words ends after a word whose hash ends in 3 zero bits ...
_CHUNK_TOKENS = 64  # ... or after this many tokens

Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class WordOp:
    op: str  # "equal" | "insert" | "delete"
    text: str


# --------------------------------------------------------------------------- sequences


def opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """difflib-style opcodes turning ``a`` into ``b``, in linear-ish time whatever the
    input: difflib's own when that is cheap (then exactly its answer), else bounded."""
    if _cheap(a, b, 0, len(a), 0, len(b)):
        return _exact(a, b)
    found: list[Opcode] = []
    if len(a) + len(b) > CHUNKED_FROM:  # by runs of items first (a fraction as many)
        cuts_a, cuts_b = _item_chunks(a), _item_chunks(b)
        runs_a = ["\n".join(a[s:e]) for s, e in zip(cuts_a, cuts_a[1:], strict=False)]
        runs_b = ["\n".join(b[s:e]) for s, e in zip(cuts_b, cuts_b[1:], strict=False)]
        for tag, i1, i2, j1, j2 in opcodes(runs_a, runs_b):
            alo, ahi, blo, bhi = cuts_a[i1], cuts_a[i2], cuts_b[j1], cuts_b[j2]
            if tag == "equal" or alo == ahi or blo == bhi:
                found.append((tag, alo, ahi, blo, bhi))
            else:
                _patience(a, b, alo, ahi, blo, bhi, found, 1)
    else:
        _patience(a, b, 0, len(a), 0, len(b), found, 0)
    return join_opcodes(found)


def _item_chunks(items: Sequence[str]) -> list[int]:
    """Boundaries (indexes from 0 to len) of runs of items, cut after an item whose hash
    says so (so that an insertion does not shift every later run) or after _CHUNK_ITEMS."""
    cuts = [0]
    for k, item in enumerate(items, 1):
        if (
            k - cuts[-1] >= _CHUNK_ITEMS
            or zlib.crc32(item.encode("utf-8", "surrogatepass")) & _ITEM_MASK == 0
        ):
            cuts.append(k)
    if cuts[-1] != len(items):
        cuts.append(len(items))
    return cuts


def _exact(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    return list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes())


def _cheap(a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int, bhi: int) -> bool:
    if (ahi - alo) + (bhi - blo) > MAX_EXACT_ITEMS:
        return False
    in_b = Counter(b[blo:bhi])
    cost = 0
    for item in a[alo:ahi]:
        cost += in_b.get(item, 0)
    return cost <= MAX_EXACT_COST


def _patience(
    a: Sequence[str],
    b: Sequence[str],
    alo: int,
    ahi: int,
    blo: int,
    bhi: int,
    out: list[Opcode],
    depth: int,
) -> None:
    """Opcodes for a[alo:ahi] → b[blo:bhi]: common ends; items replaced in place when
    both sides are as long and mostly equal; else anchors on the items found once on each
    side (their longest increasing run) and the gaps between them, recursively."""
    start_a, start_b = alo, blo
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        alo, blo = alo + 1, blo + 1
    out.append(("equal", start_a, alo, start_b, blo))
    end_a, end_b = ahi, bhi
    while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
    tail = ("equal", ahi, end_a, bhi, end_b)
    if alo == ahi or blo == bhi or depth >= _MAX_DEPTH:
        out.append(_change(alo, ahi, blo, bhi))
    elif _cheap(a, b, alo, ahi, blo, bhi):
        matcher = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            out.append((tag, alo + i1, alo + i2, blo + j1, blo + j2))
    elif ahi - alo == bhi - blo and _mostly_equal(a, b, alo, ahi, blo):
        out += _in_place(a, b, alo, ahi, blo)
    else:
        anchors = _anchors(a, b, alo, ahi, blo, bhi)
        if not anchors and ahi - alo == bhi - blo:  # (the same item repeated, say)
            out += _in_place(a, b, alo, ahi, blo)
        elif not anchors:
            out.append(_change(alo, ahi, blo, bhi))
        else:
            i, j = alo, blo  # the end of the last run of anchors
            run_a, run_b = alo, blo  # its start
            for ai, bj in anchors:
                if ai == i and bj == j:  # the run goes on
                    i, j = ai + 1, bj + 1
                    continue
                out.append(("equal", run_a, i, run_b, j))
                if ai > i and bj > j:
                    _patience(a, b, i, ai, j, bj, out, depth + 1)
                else:
                    out.append(_change(i, ai, j, bj))
                run_a, run_b = ai, bj
                i, j = ai + 1, bj + 1
            out.append(("equal", run_a, i, run_b, j))
            if i < ahi and j < bhi:
                _patience(a, b, i, ahi, j, bhi, out, depth + 1)
            else:
                out.append(_change(i, ahi, j, bhi))
    out.append(tail)


def _mostly_equal(a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int) -> bool:
    """Whether at most a tenth of a[alo:ahi] differs from b, item for item."""
    differ = sum(x != y for x, y in zip(a[alo:ahi], b[blo : blo + ahi - alo], strict=True))
    return 10 * differ <= ahi - alo


def _change(alo: int, ahi: int, blo: int, bhi: int) -> Opcode:
    tag = "replace" if alo < ahi and blo < bhi else "delete" if alo < ahi else "insert"
    return (tag, alo, ahi, blo, bhi)


def _anchors(
    a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Pairs (i, j) of items found exactly once in each range, the longest run of them
    in the same order on both sides."""
    in_a = Counter(a[alo:ahi])
    in_b = Counter(b[blo:bhi])
    where = {item: j for j, item in enumerate(b[blo:bhi], blo) if in_b[item] == 1}
    pairs = [
        (i, where[item])
        for i, item in enumerate(a[alo:ahi], alo)
        if in_a[item] == 1 and item in where
    ]
    if all(p[1] < q[1] for p, q in zip(pairs, pairs[1:], strict=False)):
        return pairs  # in order already (nothing moved): all of them
    # longest increasing subsequence of the j's (patience sorting)
    tops: list[int] = []  # smallest last j of a run of each length
    ends: list[int] = []  # index into pairs of that run's last pair
    back: list[int] = []
    for k, (_i, j) in enumerate(pairs):
        n = bisect.bisect_left(tops, j)
        back.append(ends[n - 1] if n else -1)
        if n == len(tops):
            tops.append(j)
            ends.append(k)
        else:
            tops[n], ends[n] = j, k
    run: list[tuple[int, int]] = []
    k = ends[-1] if ends else -1
    while k >= 0:
        run.append(pairs[k])
        k = back[k]
    return run[::-1]


def join_opcodes(found: list[Opcode]) -> list[Opcode]:
    """Neighbouring opcodes of one kind (and neighbouring changes) joined, as difflib's."""
    joined: list[Opcode] = []
    for tag, i1, i2, j1, j2 in found:
        if i1 == i2 and j1 == j2:
            continue
        if joined:
            last = joined[-1]
            if (tag == "equal") == (last[0] == "equal"):
                merged = (last[0], last[1], i2, last[3], j2)
                joined[-1] = merged if tag == "equal" else _change(last[1], i2, last[3], j2)
                continue
        joined.append((tag, i1, i2, j1, j2))
    return joined


def common_prefix(a: str, b: str) -> int:
    """Length of the longest common beginning of ``a`` and ``b`` (compared in C)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # the first lo characters are equal; the first hi+1 are not all equal
        mid = (lo + hi + 1) // 2
        if a.startswith(b[lo:mid], lo):
            lo = mid
        else:
            hi = mid - 1
    return lo


def common_suffix(a: str, b: str, limit: int) -> int:
    """Length of the longest common ending of ``a`` and ``b``, at most ``limit``."""
    lo, hi = 0, min(len(a), len(b), limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a.endswith(b[len(b) - mid : len(b) - lo], 0, len(a) - lo):
            lo = mid
        else:
            hi = mid - 1
    return lo


# --------------------------------------------------------------------------- words


def word_diff(old: str, new: str) -> tuple[WordOp, ...]:
    """Word-level diff of two sentences; a lone replaced word is narrowed to the
    characters that changed (올트먼은 → 올트먼이 marks only 은/이), never cutting a syllable.

    A long sentence (LONG_SENTENCE characters) is diffed between its common beginning
    and end only, cut at spaces; a changed span longer than MAX_CHANGED_CHARS is shown
    replaced whole."""
    old, new = unicodedata.normalize("NFC", old), unicodedata.normalize("NFC", new)
    head = tail = ""
    if len(old) + len(new) > LONG_SENTENCE:
        start, end_old, end_new = _changed_span(old, new)
        head, tail = old[:start], old[end_old:]
        old, new = old[start:end_old], new[start:end_new]
        if len(old) + len(new) > MAX_CHANGED_CHARS:
            ops = [WordOp("equal", head), WordOp("delete", old), WordOp("insert", new)]
            return _merge([*ops, WordOp("equal", tail)])
    a, b = words(old), words(new)
    ops = [WordOp("equal", head)]
    for tag, i1, i2, j1, j2 in _word_opcodes(a, b):
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
    ops.append(WordOp("equal", tail))
    return _merge([op for op in ops if op.text])


def _changed_span(old: str, new: str) -> tuple[int, int, int]:
    """(start, end in old, end in new) of the part that differs, widened to word
    boundaries that are the same in both: a space before the start, a space before the
    end, so that the words inside split as they would in the whole sentence."""
    prefix = common_prefix(old, new)
    suffix = common_suffix(old, new, min(len(old), len(new)) - prefix)
    space = old.rfind(" ", 0, prefix)  # the span starts at a run of spaces ...
    start = len(old[:space].rstrip(" ")) if space > 0 else 0
    end = len(old)
    space = old.find(" ", len(old) - suffix)  # ... and ends after one, before a word
    if space >= 0:
        after = len(old) - len(old[space:].lstrip(" "))
        if after < len(old) and can_cut(old, after) and not old[after].isspace():
            end = after
    return start, end, end + len(new) - len(old)


def _word_opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """Opcodes for two token lists: exact when cheap, else by chunks of words (cut where
    a word's hash says so, so that an insertion does not shift every later chunk), each
    changed run of chunks then diffed word by word when that is cheap."""
    if _cheap(a, b, 0, len(a), 0, len(b)):
        return _exact(a, b)
    if len(a) == len(b) and _mostly_equal(a, b, 0, len(a), 0):
        return _in_place(a, b, 0, len(a), 0)  # a few words replaced, none added or removed
    cuts_a, cuts_b = _chunks(a), _chunks(b)
    chunks_a = ["".join(a[s:e]) for s, e in zip(cuts_a, cuts_a[1:], strict=False)]
    chunks_b = ["".join(b[s:e]) for s, e in zip(cuts_b, cuts_b[1:], strict=False)]
    found: list[Opcode] = []
    for tag, i1, i2, j1, j2 in opcodes(chunks_a, chunks_b):
        alo, ahi, blo, bhi = cuts_a[i1], cuts_a[i2], cuts_b[j1], cuts_b[j2]
        if tag != "equal" and _cheap(a, b, alo, ahi, blo, bhi):
            matcher = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
            for t, k1, k2, l1, l2 in matcher.get_opcodes():
                found.append((t, alo + k1, alo + k2, blo + l1, blo + l2))
        elif tag == "replace" and ahi - alo == bhi - blo:  # words replaced, none added
            found += _in_place(a, b, alo, ahi, blo)
        else:
            found.append((tag, alo, ahi, blo, bhi))
    return join_opcodes(found)


def _in_place(a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int) -> list[Opcode]:
    """Opcodes for a[alo:ahi] against as many items of b from blo, item by item."""
    return join_opcodes(
        [
            ("equal" if a[i] == b[j] else "replace", i, i + 1, j, j + 1)
            for i, j in zip(range(alo, ahi), range(blo, blo + ahi - alo), strict=True)
        ]
    )


def _chunks(tokens: list[str]) -> list[int]:
    """Chunk boundaries (token indexes, from 0 to len(tokens))."""
    cuts = [0]
    for k, token in enumerate(tokens):
        if (
            token[:1].isspace()
            and k
            and (
                k - cuts[-1] >= _CHUNK_TOKENS
                or zlib.crc32(tokens[k - 1].encode("utf-8", "surrogatepass")) & _CHUNK_MASK == 0
            )
        ):
            cuts.append(k)
    if cuts[-1] != len(tokens):
        cuts.append(len(tokens))
    return cuts


def _narrow(old: str, new: str) -> list[WordOp]:
    """A replaced word split into its shared stem and the changed ending (particles:
    올트먼은 → 올트먼이); numbers stay whole (10억 → 20억) and syllables are never cut."""
    prefix = common_prefix(old, new)
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
    ops = [op for op in ops if op.text]
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
