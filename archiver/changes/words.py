"""Word diffs inside an edited sentence: which words changed, and for a lone replaced
word which characters (a changed particle shows as 올트먼~~은~~**이**). Words come from
:func:`archiver.text.sentences.words`, so a Hangul syllable is never cut."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from archiver.text.sentences import can_cut, words

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
