"""Compare two texts at paragraph, sentence and word granularity.

Paragraphs are matched first (difflib over their comparison keys); a paragraph deleted in
one place and inserted in another is a *move*, not a delete plus an insert. Inside each
changed run of paragraphs the sentences are matched; an edited sentence (one paired with
a similar sentence on the other side) gets a word diff. What a reader gets: which
paragraphs moved, which sentences were added or removed, and inside an edited sentence
exactly which words changed. Ignore rules (view counters, "3분 전") are applied to the
comparison keys only, so the texts shown are always the archived ones.

Every step is bounded, whatever the texts (issue 18): the sequences are matched by
:func:`archiver.changes.words.opcodes` (difflib's answer when that is cheap, a linear
patience diff otherwise), sentence pairing looks at fewer neighbours in a huge changed
run, paragraphs and sentences over LONG_TEXT characters are compared by their common
beginning and end rather than by bigram sets, and the similarity counts only the
bigrams between a changed sentence's common beginning and end.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from archiver.text.ignore import ComparisonKeys, IgnoreRule
from archiver.text.sentences import paragraphs, split_paragraph, split_sentences
from archiver.text.similarity import bigrams, dice

from .words import (
    Opcode,
    WordOp,
    common_prefix,
    common_suffix,
    join_opcodes,
    opcodes,
    word_diff,
)

__all__ = ["GRANULARITIES", "Hunk", "TextDiff", "diff_texts", "unified_diff"]

GRANULARITIES = ("paragraph", "sentence", "word")
PAIR_SENTENCE = 0.5  # bigram Dice above which two sentences are one sentence edited
MOVED_PARAGRAPH = 0.7  # ... above which a deleted and an inserted paragraph are one moved
PAIR_WINDOW = 40  # new sentences looked at per old one: keeps pairing linear
PAIR_BUDGET = 100_000  # sentence comparisons per changed run (a huge run looks at fewer)
MIN_MOVE_CHARS = 20  # shorter paragraphs ("사진", "정정") are not worth calling moved
LONG_TEXT = 20_000  # characters from which a paragraph/sentence is not cut into bigrams
# Characters (both texts) from which the lines the texts share at their beginning and end
# are set aside unread, and the plain unified diff has a line per paragraph.
BIG_TEXT = 500_000
_MOVE_SCAN = 64  # same-text paragraphs looked at for an exact move


@dataclass(frozen=True)
class Hunk:
    """One change, in reading order of the new text.

    granularity "paragraph": op insert / delete (a whole paragraph) or move (``old_index``
    → ``new_index``; an edited moved paragraph is followed by its sentence/word hunks);
    "sentence": op insert / delete of one sentence inside a kept paragraph;
    "word": op replace, an edited sentence, ``words`` the word diff.
    Indexes are 0-based paragraph numbers.
    """

    granularity: str
    op: str
    old: str | None = None
    new: str | None = None
    old_index: int | None = None
    new_index: int | None = None
    words: tuple[WordOp, ...] = ()

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "granularity": self.granularity,
            "op": self.op,
            "old": self.old,
            "new": self.new,
            "old_paragraph": self.old_index,
            "new_paragraph": self.new_index,
        }
        if self.words:
            data["words"] = [[w.op, w.text] for w in self.words]
        return data


@dataclass(frozen=True)
class TextDiff:
    """The changes between two texts and how alike they are (bigram Dice, 1.0 same)."""

    hunks: list[Hunk]
    similarity: float
    old_paragraphs: list[str] = field(default_factory=list)
    new_paragraphs: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.hunks)

    @property
    def moved(self) -> list[Hunk]:
        return [h for h in self.hunks if h.op == "move"]

    def removed_at(self, granularity: str = "sentence") -> list[str]:
        return _units(self, granularity, old=True)

    def added_at(self, granularity: str = "sentence") -> list[str]:
        return _units(self, granularity, old=False)

    @property
    def added(self) -> list[str]:
        return self.added_at("sentence")

    @property
    def removed(self) -> list[str]:
        return self.removed_at("sentence")


def _units(diff: TextDiff, granularity: str, *, old: bool) -> list[str]:
    """Added (or removed) paragraphs, sentences or changed word runs."""
    side = "delete" if old else "insert"
    out: list[str] = []
    if granularity == "paragraph":
        seen: set[int] = set()
        for h in diff.hunks:
            index = h.old_index if old else h.new_index
            text = h.old if old else h.new
            if h.op == "move" or index is None or index in seen or text is None:
                continue
            seen.add(index)
            if h.granularity == "paragraph":
                out.append(text)
            else:
                out.append((diff.old_paragraphs if old else diff.new_paragraphs)[index])
        return out
    for h in diff.hunks:
        text = h.old if old else h.new
        if h.op == "move" or text is None:
            continue
        if h.granularity == "paragraph":
            out.extend(split_paragraph(text) if granularity == "sentence" else [text])
        elif h.granularity == "sentence" or granularity == "sentence":
            out.append(text)
        else:
            out.extend(w.text.strip() for w in h.words if w.op == side and w.text.strip())
    return out


def diff_texts(old: str, new: str, ignore: Sequence[IgnoreRule] = ()) -> TextDiff:
    """Paragraph, sentence and word changes from ``old`` to ``new``."""
    norm = ComparisonKeys(ignore)
    pa, ka, pb, kb, found = _paragraph_opcodes(old, new, norm)
    blocks = [op for op in found if op[0] != "equal"]
    moves = _find_moves(pa, pb, ka, kb, blocks)
    moved_old = {i for i, _ in moves}
    moved_new = {j: i for i, j in moves}
    hunks: list[Hunk] = []
    for _tag, i1, i2, j1, j2 in blocks:
        olds = [i for i in range(i1, i2) if i not in moved_old]
        # Moved paragraphs are reported where they now stand, with their own edits.
        news = list(range(j1, j2))
        run_new: list[int] = []
        for j in news + [-1]:
            if j != -1 and j not in moved_new:
                run_new.append(j)
                continue
            if run_new or olds:
                hunks += _paragraph_run(pa, pb, olds, run_new, norm)
                olds, run_new = [], []
            if j != -1:
                i = moved_new[j]
                hunks.append(Hunk("paragraph", "move", pa[i], pb[j], i, j))
                if ka[i] != kb[j]:
                    hunks += _paragraph_run(pa, pb, [i], [j], norm)
    return TextDiff(hunks, round(_similarity(ka, kb, hunks, norm), 4), pa, pb)


def _paragraph_opcodes(
    old: str, new: str, norm: ComparisonKeys
) -> tuple[list[str], list[str], list[str], list[str], list[Opcode]]:
    """Paragraphs and keys of both texts, and the opcodes between the keys. Past BIG_TEXT,
    the lines both texts begin and end with are split and keyed once and matched unread,
    so that a one-word change in a huge text costs little more than reading it."""
    if len(old) + len(new) <= BIG_TEXT:
        pa, ka = _keyed(paragraphs(old), norm)
        pb, kb = _keyed(paragraphs(new), norm)
        return pa, ka, pb, kb, opcodes(ka, kb)
    old, new = unicodedata.normalize("NFC", old), unicodedata.normalize("NFC", new)
    start, end_old, end_new = _changed_lines(old, new)
    ph, kh = _keyed(paragraphs(old[:start]), norm)
    pt, kt = _keyed(paragraphs(old[end_old:]), norm)
    ma, mka = _keyed(paragraphs(old[start:end_old]), norm)
    mb, mkb = _keyed(paragraphs(new[start:end_new]), norm)
    head, na, nb = len(ph), len(ma), len(mb)
    found: list[Opcode] = [("equal", 0, head, 0, head)]
    found += [
        (t, head + i1, head + i2, head + j1, head + j2) for t, i1, i2, j1, j2 in opcodes(mka, mkb)
    ]
    found.append(("equal", head + na, head + na + len(pt), head + nb, head + nb + len(pt)))
    return ph + ma + pt, kh + mka + kt, ph + mb + pt, kh + mkb + kt, join_opcodes(found)


def _changed_lines(old: str, new: str) -> tuple[int, int, int]:
    """(start, end in old, end in new) of the lines that differ: the text before start and
    after the ends is the same in both and made of whole lines."""
    prefix = common_prefix(old, new)
    suffix = common_suffix(old, new, min(len(old), len(new)) - prefix)
    start = old.rfind("\n", 0, prefix) + 1
    newline = old.find("\n", len(old) - suffix) if suffix else -1
    end = newline + 1 if newline >= 0 else len(old)
    return start, end, end + len(new) - len(old)


def _plain(norm: ComparisonKeys) -> bool:
    """No ignore rule: a paragraph's (or sentence's) key is the text itself."""
    return not norm.patterns and not norm.whitespace


def _key(norm: ComparisonKeys, text: str) -> str:
    return text if _plain(norm) else norm.key(text)


def _keyed(texts: list[str], norm: ComparisonKeys) -> tuple[list[str], list[str]]:
    """The texts whose comparison key is not empty, and their keys."""
    if _plain(norm):  # paragraphs and sentences come whitespace-folded, never empty
        return texts, texts
    kept: list[str] = []
    keys: list[str] = []
    for text in texts:
        key = norm.key(text)
        if key:
            kept.append(text)
            keys.append(key)
    return kept, keys


def _similarity(ka: list[str], kb: list[str], hunks: list[Hunk], norm: ComparisonKeys) -> float:
    """Dice coefficient of the two texts' character-bigram multisets (spaces left out,
    bigrams taken inside paragraphs). Everything outside the hunks is shared, so only the
    changed sentences are cut into bigrams and the cost follows the change, not the text;
    a moved paragraph counts as kept. An edited sentence's common beginning and end are
    shared too, so only the bigrams between them are counted one by one."""
    if not hunks:
        return 1.0
    total_a, total_b = _size(ka), _size(kb)
    if not total_a + total_b:
        return 0.0
    gone: Counter[str] = Counter()
    came: Counter[str] = Counter()
    gone_total = common = 0
    for h in hunks:
        if h.op == "move":
            continue
        old = _key(norm, h.old or "").replace(" ", "")
        new = _key(norm, h.new or "").replace(" ", "")
        gone_total += max(len(old) - 1, 0)
        if old and new:  # the bigrams inside a common beginning and end are in both
            prefix = common_prefix(old, new)
            suffix = common_suffix(old, new, min(len(old), len(new)) - prefix)
            common += max(prefix - 1, 0) + max(suffix - 1, 0)
            start = max(prefix - 1, 0)
            old = old[start : len(old) - suffix + 1 if suffix else len(old)]
            new = new[start : len(new) - suffix + 1 if suffix else len(new)]
        gone.update(_bigram_list(old))
        came.update(_bigram_list(new))
    overlap = common + sum(min(count, came[g]) for g, count in gone.items())
    shared = max(total_a - gone_total, 0) + overlap
    return min(2 * shared / (total_a + total_b), 1.0)


def _size(keys: list[str]) -> int:
    """Number of bigrams in comparison keys, spaces left out (a key is never empty nor
    all spaces, so each has its length less its spaces less one)."""
    joined = "".join(keys)
    return len(joined) - joined.count(" ") - len(keys)


def _bigram_list(compact: str) -> list[str]:
    return [compact[i : i + 2] for i in range(len(compact) - 1)]


def _find_moves(
    pa: list[str],
    pb: list[str],
    ka: list[str],
    kb: list[str],
    blocks: Sequence[tuple[str, int, int, int, int]],
) -> list[tuple[int, int]]:
    """Pairs (old, new) of a deleted and an inserted paragraph in different change blocks
    that are the same paragraph (or nearly: a moved paragraph may also be edited)."""
    deleted = [(b, i) for b, (_t, i1, i2, _j1, _j2) in enumerate(blocks) for i in range(i1, i2)]
    inserted = [(b, j) for b, (_t, _i1, _i2, j1, j2) in enumerate(blocks) for j in range(j1, j2)]
    moves: list[tuple[int, int]] = []
    taken: set[int] = set()
    by_key: dict[str, list[tuple[int, int]]] = {}
    for b, j in inserted:
        by_key.setdefault(kb[j], []).append((b, j))
    first: dict[str, int] = {}  # per key, the first entry not yet taken
    fuzzy: list[tuple[int, int]] = []
    for b, i in deleted:
        same = by_key.get(ka[i], [])
        start = first.get(ka[i], 0)
        while start < len(same) and same[start][1] in taken:
            start += 1
        first[ka[i]] = start
        exact = next(
            (j for bj, j in same[start : start + _MOVE_SCAN] if bj != b and j not in taken), None
        )
        if exact is not None:
            moves.append((i, exact))
            taken.add(exact)
        elif MIN_MOVE_CHARS <= len(ka[i]) <= LONG_TEXT:
            fuzzy.append((b, i))
    if not fuzzy:
        return moves
    unbalanced = {b for b, (_t, i1, i2, j1, j2) in enumerate(blocks) if i2 - i1 != j2 - j1}
    grams_a = {i: bigrams(ka[i]) for b, i in fuzzy if b in unbalanced}
    grams_b = {
        j: bigrams(kb[j])
        for b, j in inserted
        if b in unbalanced and j not in taken and MIN_MOVE_CHARS <= len(kb[j]) <= LONG_TEXT
    }
    # A paragraph edited where it stands (paired with its counterpart in the same block)
    # is not a move candidate: this keeps the quadratic search below to the few leftovers.
    in_place_a, in_place_b = set(), set()
    for _t, i1, i2, j1, j2 in blocks:
        for i, j in zip(range(i1, i2), range(j1, j2), strict=False):
            # A block as long on both sides is paragraphs edited in place; otherwise check.
            if i2 - i1 == j2 - j1 or (
                i in grams_a and j in grams_b and dice(grams_a[i], grams_b[j]) >= MOVED_PARAGRAPH
            ):
                in_place_a.add(i)
                in_place_b.add(j)
    candidates = [(b, j) for b, j in inserted if j in grams_b and j not in in_place_b]
    leftovers = [(b, i) for b, i in fuzzy if i in grams_a and i not in in_place_a]
    if len(leftovers) * len(candidates) > 20_000:  # bound the quadratic pairing
        return moves
    for b, i in leftovers:
        best, best_j = MOVED_PARAGRAPH, None
        for bj, j in candidates:
            if bj != b and j not in taken:
                score = dice(grams_a[i], grams_b[j])
                if score >= best:
                    best, best_j = score, j
        if best_j is not None:
            moves.append((i, best_j))
            taken.add(best_j)
    return moves


def _paragraph_run(
    pa: list[str], pb: list[str], olds: list[int], news: list[int], norm: ComparisonKeys
) -> list[Hunk]:
    """Hunks for a run of changed paragraphs: sentence changes where the paragraphs
    still share sentences, whole-paragraph inserts and deletes where they do not."""
    sa = [(i, s) for i in olds for s in split_paragraph(pa[i]) if _key(norm, s)]
    sb = [(j, s) for j in news for s in split_paragraph(pb[j]) if _key(norm, s)]
    ka, kb = [_key(norm, s) for _, s in sa], [_key(norm, s) for _, s in sb]
    found = opcodes(ka, kb)
    hunks: list[Hunk] = []
    kept = any(tag == "equal" for tag, *_ in found)
    for tag, i1, i2, j1, j2 in found:
        if tag == "equal":
            continue
        pairs = _pair(ka[i1:i2], kb[j1:j2]) if tag == "replace" else []
        kept = kept or bool(pairs)
        hunks += _sentence_hunks(sa[i1:i2], sb[j1:j2], pairs)
    if kept or not hunks:
        return hunks
    # Nothing survived: whole paragraphs were replaced.
    return [Hunk("paragraph", "delete", old=pa[i], old_index=i) for i in olds] + [
        Hunk("paragraph", "insert", new=pb[j], new_index=j) for j in news
    ]


def _pair(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """Monotonic pairs of similar sentences (an edit) inside a replaced run."""
    pairs: list[tuple[int, int]] = []
    start = 0
    window = max(1, min(PAIR_WINDOW, PAIR_BUDGET // max(len(old), 1)))
    new_grams: dict[int, set[str]] = {}
    for i, sentence in enumerate(old):
        mine = bigrams(sentence) if len(sentence) <= LONG_TEXT else None
        best, best_j = PAIR_SENTENCE, None
        for j in range(start, min(len(new), start + window)):
            if mine is None or len(new[j]) > LONG_TEXT:
                score = _ends_alike(sentence, new[j])
            else:
                grams = new_grams.get(j)
                if grams is None:
                    grams = new_grams[j] = bigrams(new[j])
                score = dice(mine, grams)
            if score >= best:
                best, best_j = score, j
        if best_j is not None:
            pairs.append((i, best_j))
            start = best_j + 1
    return pairs


def _ends_alike(old: str, new: str) -> float:
    """How alike two long texts are, cheaply: the share of both in a common beginning
    and end (a sentence edited in one place scores high)."""
    prefix = common_prefix(old, new)
    suffix = common_suffix(old, new, min(len(old), len(new)) - prefix)
    return 2 * (prefix + suffix) / (len(old) + len(new) or 1)


def _sentence_hunks(
    old: list[tuple[int, str]], new: list[tuple[int, str]], pairs: list[tuple[int, int]]
) -> list[Hunk]:
    hunks: list[Hunk] = []
    i = j = 0
    for pi, pj in pairs + [(len(old), len(new))]:
        hunks += [Hunk("sentence", "delete", old=s, old_index=p) for p, s in old[i:pi]]
        hunks += [Hunk("sentence", "insert", new=s, new_index=p) for p, s in new[j:pj]]
        if pi < len(old):
            (oi, os_), (nj, ns) = old[pi], new[pj]
            hunks.append(Hunk("word", "replace", os_, ns, oi, nj, word_diff(os_, ns)))
        i, j = pi + 1, pj + 1
    return hunks


def unified_diff(
    old: str,
    new: str,
    from_label: str,
    to_label: str,
    ignore: Sequence[IgnoreRule] = (),
    granularity: str = "sentence",
) -> str:
    """A plain unified diff, one sentence (or paragraph) per line; lines that differ only
    by ignored text count as equal. Past BIG_TEXT, one paragraph per line."""
    norm = ComparisonKeys(ignore)
    if granularity == "paragraph" or len(old) + len(new) > BIG_TEXT:
        a, _ka, b, _kb, found = _paragraph_opcodes(old, new, norm)
    else:
        a, ka = _keyed(split_sentences(old), norm)
        b, kb = _keyed(split_sentences(new), norm)
        found = opcodes(ka, kb)
    lines: list[str] = []
    for group in _grouped(found, 3):
        if not lines:
            lines += [f"--- {from_label}", f"+++ {to_label}"]
        first, last = group[0], group[-1]
        lines.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + s for s in b[j1:j2]]
                continue
            lines += ["-" + s for s in a[i1:i2]]
            lines += ["+" + s for s in b[j1:j2]]
    return "\n".join(lines)


def _grouped(found: list[Opcode], context: int) -> list[list[Opcode]]:
    """Opcodes in hunks with ``context`` unchanged lines around each change (as
    difflib's ``get_grouped_opcodes``)."""
    codes = list(found) or [("equal", 0, 1, 0, 1)]
    if codes[0][0] == "equal":
        _tag, i1, i2, j1, j2 = codes[0]
        codes[0] = ("equal", max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    if codes[-1][0] == "equal":
        _tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = ("equal", i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    groups: list[list[Opcode]] = []
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"
