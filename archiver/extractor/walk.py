"""Main text of a page: one walk over the DOM, then a choice of container, then filters.

The walk (:func:`walk`) turns a subtree into *blocks* — the text between two block-level
boundaries (a paragraph, a heading, a list item, a run of ``<br>``-separated text) — with
their link-text share, and records for every element the range of blocks it holds. Because
blocks come out in document order, any element's text is a contiguous slice, so its
totals are two prefix-sum lookups and choosing a container costs O(elements).

:func:`main_blocks` then scores every element by its *good* text (sentence-like blocks
with few links) weighted by the good share of all its text (the rest: link lists,
labelled boilerplate, short fragments), keeps the best one, and filters its blocks:
boilerplate-labelled elements (class/id words, chrome tags, ARIA roles) unless they hold
most of the page's good text, runs of link-only blocks, and stock lines. Small labelled
chrome is not even walked (a C-level length check instead); byline-like elements keep
their text for the metadata (:meth:`Walk.bylines`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import accumulate

from selectolax.lexbor import LexborNode

from .rules import (
    BLOCK_SKIP,
    BYLINE,
    INLINE,
    NOISE_ROLES,
    NOISE_TAGS,
    NOT_NOISE,
    boilerplate_line,
    noise_label,
)

__all__ = ["Block", "OverBudget", "Walk", "main_blocks", "walk"]

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_PARA = frozenset(("p", "pre", "blockquote", "li", "dd", "dt", "td", "th", "address",
                   *_HEADINGS))  # fmt: skip
_CELLS = frozenset(("td", "th"))
_SMALL_NOISE = 500  # characters of text below which labelled chrome is skipped unseen
# Class/id labels are read word by word (about half a microsecond a character): the first
# _MAX_LABEL characters of each, and _LABEL_BUDGET characters a walk; past that budget
# (a hostile page: megabytes of class names) labels are not read.
_MAX_LABEL = 512
_LABEL_BUDGET = 500_000
_BLOCK_SELECTOR = "p, div, section, article, ul, ol, table, blockquote, h1, h2, h3, h4, h5, h6"
_SENTENCE_END = tuple(".!?…\"'”’)»:;다요죠음함됨임")


class OverBudget(Exception):
    """The walk entered more elements than its budget (a tree too big, or one the parser
    inflated by copying formatting elements into every paragraph)."""


@dataclass(slots=True)
class Block:
    text: str
    link_chars: int
    tag: str  # the innermost block-level element around the text
    heading: bool
    row: int = 0  # the table row (numbered from 1) a cell's text belongs to
    noise: bool = False  # inside boilerplate-labelled markup


@dataclass
class Walk:
    blocks: list[Block] = field(default_factory=list)
    # per container element: (first block, end block) and whether it is labelled noise
    span_start: list[int] = field(default_factory=list)
    span_end: list[int] = field(default_factory=list)
    labelled: list[tuple[int, int, str]] = field(default_factory=list)  # + why
    anchors: list[tuple[int, LexborNode]] = field(default_factory=list)  # (block, <a href>)
    marks: dict[int, int] = field(default_factory=dict)  # mem_id -> index in spans
    byline_texts: list[str] = field(default_factory=list)  # of bylines skipped unwalked

    def span(self, index: int) -> tuple[int, int]:
        return self.span_start[index], self.span_end[index]

    def bylines(self, limit: int = 300) -> list[str]:
        """Texts of byline-like elements (author, date, ...), deduplicated."""
        found: dict[str, None] = {}
        for raw in self.byline_texts:
            text = " ".join(raw.split())[:limit]
            if text:
                found.setdefault(text, None)
        for start, end, why in self.labelled:
            if why.startswith("byline ") and end > start:
                text = " ".join(b.text for b in self.blocks[start : min(end, start + 8)])[:limit]
                found.setdefault(text, None)
        return list(found)


@dataclass(slots=True)
class _Open:
    """An element the walk is inside of, and what leaving it must undo."""

    node: LexborNode
    block: bool = False  # a block-level element: its text ends at its end
    para: bool = False  # a paragraph-like element (``<br>`` is a space inside one)
    heading: bool = False
    link: bool = False  # an inline <a>: its text counts as link text
    table_row: bool = False  # a <tr>: the row counter is restored on leaving
    saved_row: int = 0
    span: int = -1  # index into the span lists, -1 for inline elements
    noisy_from: int = -1  # first block of a labelled element, -1 when not labelled
    why: str = ""  # why it is labelled


class _Walker:
    """The state of one walk; each kind of node has a step of its own."""

    def __init__(
        self, root: LexborNode, marked: frozenset[int], thorough: bool, budget: int | None
    ) -> None:
        self.budget = budget
        self.label_budget = _LABEL_BUDGET
        self.out = Walk()
        self.marked = marked
        self.thorough = thorough
        self.buf: list[str] = []
        self.link_chars = 0
        self.in_link = self.in_heading = self.in_para = 0
        self.row = self.rows = self.open_noisy = 0
        self.after_break = False  # the last thing in the current block was a <br>
        self.tags: list[str] = [root.tag or "body"]

    def run(self, root: LexborNode) -> Walk:
        # Iterative pre-order walk over child/next pointers: hostile pages nest thousands
        # deep, and recursion (or per-node generators) would cost more than the walk itself.
        stack: list[_Open] = []
        buf = self.buf
        node = root.child
        left = self.budget if self.budget is not None else -1
        while node is not None:
            tag = node.tag or "-"
            if tag == "-text":  # the commonest node, so handled here rather than in a step
                piece = node.text_content
                if piece and (buf or not piece.isspace()):  # no block starts indented
                    buf.append(piece)
                    if self.in_link:
                        self.link_chars += len(piece.strip())
                    if self.after_break and not piece.isspace():
                        self.after_break = False
            elif tag[0] == "-" or tag in BLOCK_SKIP:
                pass
            elif tag == "br":
                self.line_break()
            else:
                opened = self.element(node, tag)
                if opened is not None:
                    left -= 1
                    if left == 0:  # a tree too big, or one the parser inflated
                        raise OverBudget(f"more than {self.budget} elements")
                    stack.append(opened)
                    node = node.child
                    continue
            # leave finished elements until one has a next sibling
            nxt = node.next
            while nxt is None and stack:
                opened = stack.pop()
                self.leave(opened)
                node = opened.node
                nxt = node.next
            node = nxt
        if self.buf:
            self.flush()
        return self.out

    def flush(self) -> None:
        """End the current block: its text becomes a Block (or joins its table row's)."""
        raw = "".join(self.buf)
        self.buf.clear()
        text = " ".join(raw.split())
        if text and _ZERO_WIDTH.search(text):
            text = " ".join(_ZERO_WIDTH.sub("", text).split())
        link_chars, self.link_chars = self.link_chars, 0
        self.after_break = False
        if not text:
            return
        blocks = self.out.blocks
        tag = self.tags[-1]
        row = self.row if tag in _CELLS else 0
        if row and blocks:
            last = blocks[-1]
            # a data table's cells make one line per row; long cells (layout) do not
            if last.row == row and len(last.text) + len(text) < 300:
                last.text = f"{last.text} {text}"
                last.link_chars += min(link_chars, len(text))
                return
        blocks.append(Block(text, min(link_chars, len(text)), tag, self.in_heading > 0, row))

    def line_break(self) -> None:
        """A <br> is a space inside a paragraph, and two in a row (with nothing but
        spaces between) end it: portal pages separate paragraphs by <br><br> only."""
        if self.in_para and not self.after_break:
            self.buf.append(" ")
            self.after_break = True
        elif self.buf:
            self.flush()

    def element(self, node: LexborNode, tag: str) -> _Open | None:
        """Enter an element; None when it is skipped (hidden, or chrome left unseen)."""
        noisy, why, hidden = self.label(node, tag)
        child = None if hidden else node.child  # display:none is skipped outright
        inline = tag in INLINE
        if noisy and child is not None and self.skip_unseen(node, tag, inline):
            child = None
            if why.startswith("byline "):
                self.out.byline_texts.append(node.text(deep=True, separator=" "))
        if child is None:
            if not inline and self.buf:
                self.flush()
            return None
        if noisy:
            inline = False  # labelled inline markup walked: blocks of its own
            self.open_noisy += 1
        opened = self.enter_inline(node, tag) if inline else self.enter_block(node, tag)
        if noisy:
            opened.noisy_from, opened.why = len(self.out.blocks), why
        return opened

    def skip_unseen(self, node: LexborNode, tag: str, inline: bool) -> bool:
        """Whether labelled chrome is skipped without a look inside.

        Inline chrome (a share link, a hover card), small chrome (a share bar, a caption,
        a byline: its text is kept for the metadata) and a <nav> are skipped; C-level
        text() and css_first() cost far less than walking them. Large labelled elements
        are walked: the label may be wrong (a wrapper called "content has-sidebar"), and
        main_blocks decides. Sizes (and blocks inside inline chrome) are checked three
        levels deep at most, or nested labels would make the checks quadratic.
        """
        if self.open_noisy >= 3:
            return tag == "nav" and not self.thorough
        if inline and node.css_first(_BLOCK_SELECTOR) is None:
            return True
        if self.thorough:
            return False
        return tag == "nav" or len(node.text(deep=True)) < _SMALL_NOISE

    def enter_inline(self, node: LexborNode, tag: str) -> _Open:
        if tag == "a":
            self.in_link += 1
            return _Open(node, link=True)
        return _Open(node)

    def enter_block(self, node: LexborNode, tag: str) -> _Open:
        if self.buf:
            self.flush()
        self.tags.append(tag)
        opened = _Open(node, block=True)
        if tag in _PARA:
            self.in_para += 1
            opened.para = True
            if tag in _HEADINGS:
                self.in_heading += 1
                opened.heading = True
        if tag == "tr":
            opened.table_row, opened.saved_row = True, self.row
            self.rows += 1
            self.row = self.rows
        spans = self.out.span_start
        opened.span = len(spans)
        spans.append(len(self.out.blocks))
        self.out.span_end.append(-1)
        if self.marked and node.mem_id in self.marked:
            self.out.marks[node.mem_id] = opened.span
        return opened

    def leave(self, opened: _Open) -> None:
        out = self.out
        if opened.block:
            if self.buf:
                self.flush()
            self.tags.pop()
            if opened.table_row:
                self.row = opened.saved_row
            if opened.para:
                self.in_para -= 1
            if opened.heading:
                self.in_heading -= 1
        elif opened.link:
            self.in_link -= 1
            if "href" in opened.node.attributes:
                out.anchors.append((len(out.blocks) - (0 if self.buf else 1), opened.node))
        if opened.span >= 0:
            out.span_end[opened.span] = len(out.blocks)
        if opened.noisy_from >= 0:
            self.open_noisy -= 1
            out.labelled.append((opened.noisy_from, len(out.blocks), opened.why))

    def label(self, node: LexborNode, tag: str) -> tuple[bool, str, bool]:
        """(labelled as boilerplate, why, hidden by its style) for one element."""
        noisy = tag in NOISE_TAGS
        why = ("byline " if tag == "header" else "") + tag if noisy else ""
        attrs = node.attributes
        if not attrs:
            return noisy, why, False
        label = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        if len(label) > _MAX_LABEL:
            label = label[:_MAX_LABEL].rpartition(" ")[0]
        self.label_budget -= len(label)
        style = attrs.get("style")
        hidden = bool(style and "none" in style and _hidden_style(style))
        role = attrs.get("role")
        kind = noise_label(label) if len(label) > 1 and self.label_budget >= 0 else NOT_NOISE
        if (
            kind
            or (role and role.lower() in NOISE_ROLES)
            or "hidden" in attrs
            or attrs.get("aria-hidden") == "true"
        ):
            noisy = True
            why = f"{tag} {role or ''} {label}"
            if kind == BYLINE:
                why = "byline " + why
        return noisy, why, hidden


def walk(
    root: LexborNode,
    marked: frozenset[int] = frozenset(),
    *,
    thorough: bool = False,
    budget: int | None = None,
) -> Walk:
    """Blocks and element spans below ``root``; ``marked`` mem_ids are noted in ``marks``.

    Small labelled chrome is skipped unseen unless ``thorough`` (for pages where that
    left no article: its wrapper may carry a boilerplate-sounding label). Entering more
    than ``budget`` elements raises :class:`OverBudget`.
    """
    return _Walker(root, marked, thorough, budget).run(root)


def _hidden_style(style: str) -> bool:
    compact = style.replace(" ", "").lower()
    return "display:none" in compact or "visibility:hidden" in compact


# --------------------------------------------------------------------------- scoring


def _weights(blocks: list[Block]) -> tuple[list[float], list[float]]:
    """(good, bad) characters of each block, before boilerplate labels are applied."""
    good: list[float] = []
    bad: list[float] = []
    for block in blocks:
        size = len(block.text)
        density = block.link_chars / size
        if _link_list(size, density):
            good.append(0.0)
            bad.append(float(size))
        elif block.heading:
            good.append(0.0)
            bad.append(0.0)
        elif size >= 80 or (size >= 25 and block.text.endswith(_SENTENCE_END)):
            good.append(size - block.link_chars)
            bad.append(0.0)
        else:
            good.append(0.0)
            bad.append(size * 0.3)
    return good, bad


def _link_list(size: int, density: float) -> bool:
    """Mostly link text: navigation and teasers (long summaries with links are text)."""
    return density > 0.8 or (density > 0.5 and size < 150)


def main_blocks(result: Walk, container: int | None = None) -> list[Block]:
    """The article's blocks: in ``container`` (a span index) or in the best-scored one."""
    blocks = result.blocks
    if not blocks:
        return []
    good, bad = _weights(blocks)
    good_sum = [0.0, *accumulate(good)]
    total_good = good_sum[-1]
    # Boilerplate labels: believed unless the element holds most of the page's good text
    # (a wrapper called "content has-sidebar" is the article, not a sidebar).
    cut = [0] * (len(blocks) + 1)
    inside = result.span(container) if container is not None else (0, len(blocks))
    for start, end, _ in result.labelled:
        if start <= inside[0] and end >= inside[1]:
            continue  # a wrapper around the chosen container is not boilerplate
        if end > start and not (0 < total_good <= 2 * (good_sum[end] - good_sum[start])):
            cut[start] += 1
            cut[end] -= 1
    depth = 0
    for i, step in enumerate(cut[:-1]):
        depth += step
        if depth:
            blocks[i].noise = True
            bad[i] = 0.1 * len(blocks[i].text)
            good[i] = 0.0
    if container is None:
        container = _best_span(result, good, bad)
    start, end = result.span(container) if container is not None else (0, len(blocks))
    return _filter(blocks[start:end])


def _best_span(result: Walk, good: list[float], bad: list[float]) -> int | None:
    good_sum = [0.0, *accumulate(good)]
    bad_sum = [0.0, *accumulate(bad)]
    best, best_score = None, 0.0
    for index, (start, end) in enumerate(zip(result.span_start, result.span_end, strict=True)):
        good_text = good_sum[end] - good_sum[start]
        # good text weighted by its share of the element: a wrapper that adds a menu or a
        # related list to the article loses to the article, but only when the addition is
        # a real share of it, so an article split in parts keeps its parts together
        score = good_text * good_text / (good_text + bad_sum[end] - bad_sum[start] or 1.0)
        if score > best_score:  # ties keep the outer element, the first one seen
            best, best_score = index, score
    return best


def _filter(blocks: list[Block]) -> list[Block]:
    """Drop labelled boilerplate, stock lines and runs of link-only blocks (link lists).

    A link-only list item standing alone between text ("Get it on Amazon for $39") is
    kept: navigation and related-post lists come as runs of them.
    """
    candidates = [b for b in blocks if not b.noise and not boilerplate_line(b.text)]
    linky = [
        _link_list(len(b.text), b.link_chars / len(b.text))
        and (not b.row or b.link_chars > 0.8 * len(b.text))  # a table row names its links
        for b in candidates
    ]
    last = len(candidates) - 1
    return [
        block
        for i, block in enumerate(candidates)
        if not linky[i]
        or (
            block.tag in ("li", "dd")
            and len(block.text) >= 15
            and not ((i > 0 and linky[i - 1]) or (i < last and linky[i + 1]))
        )
    ]
