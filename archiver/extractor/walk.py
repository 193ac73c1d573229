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

__all__ = ["Block", "Walk", "main_blocks", "walk"]

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_PARA = frozenset(("p", "pre", "blockquote", "li", "dd", "dt", "td", "th", "address",
                   *_HEADINGS))  # fmt: skip
_CELLS = frozenset(("td", "th"))
_SMALL_NOISE = 500  # characters of text below which labelled chrome is skipped unseen
_BLOCK_SELECTOR = "p, div, section, article, ul, ol, table, blockquote, h1, h2, h3, h4, h5, h6"
_SENTENCE_END = tuple(".!?…\"'”’)»:;다요죠음함됨임")


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


def walk(root: LexborNode, marked: frozenset[int] = frozenset(), *, thorough: bool = False) -> Walk:
    """Blocks and element spans below ``root``; ``marked`` mem_ids are noted in ``marks``.

    Small labelled chrome is skipped unseen unless ``thorough`` (for pages where that
    left no article: its wrapper may carry a boilerplate-sounding label).
    """
    out = Walk()
    blocks, labelled, anchors = out.blocks, out.labelled, out.anchors
    span_start, span_end = out.span_start, out.span_end
    buf: list[str] = []
    link_chars = 0
    in_link = in_heading = in_para = 0
    row = rows = open_noisy = 0
    tags: list[str] = [root.tag or "body"]

    def flush() -> None:
        nonlocal link_chars
        raw = "".join(buf)
        buf.clear()
        text = " ".join(raw.split())
        if text and _ZERO_WIDTH.search(text):
            text = " ".join(_ZERO_WIDTH.sub("", text).split())
        if text:
            tag = tags[-1]
            if tag in _CELLS and row:
                last = blocks[-1] if blocks else None
                # a data table's cells make one line per row; long cells (layout) do not
                if last and last.row == row and len(last.text) + len(text) < 300:
                    last.text = f"{last.text} {text}"
                    last.link_chars += min(link_chars, len(text))
                    link_chars = 0
                    return
            blocks.append(
                Block(
                    text,
                    min(link_chars, len(text)),
                    tag,
                    in_heading > 0,
                    row if tag in _CELLS else 0,
                )
            )
        link_chars = 0

    # Iterative pre-order walk over child/next pointers: hostile pages nest thousands
    # deep, and recursion (or per-node generators) would cost more than the walk itself.
    # Stack entries: (node, what to undo on exit, span index or -1, labelled start or -1,
    # why it is labelled, the table row to restore)
    stack: list[tuple[LexborNode, int, int, int, str, int]] = []
    node = root.child
    while node is not None:
        tag = node.tag or "-"
        if tag == "-text":
            piece = node.text_content
            if piece and (buf or not piece.isspace()):  # no block starts with indentation
                buf.append(piece)
                if in_link:
                    link_chars += len(piece.strip())
        elif tag[0] == "-" or tag in BLOCK_SKIP:
            pass
        elif tag == "br":
            if in_para:
                buf.append(" ")
            elif buf:
                flush()
        else:
            attrs = node.attributes
            noisy = tag in NOISE_TAGS
            hidden = False
            why = ("byline " if tag == "header" else "") + tag if noisy else ""
            if attrs:
                style = attrs.get("style")
                hidden = bool(style and "none" in style and _hidden_style(style))
                label = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
                role = attrs.get("role")
                kind = noise_label(label) if len(label) > 1 else NOT_NOISE
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
            child = None if hidden else node.child  # display:none is skipped outright
            inline = tag in INLINE
            if noisy and child is not None:
                # Chrome is skipped without a look inside when it is inline text (a share
                # link, a hover card), small (a share bar, a caption, a byline: its text is
                # kept for the metadata) or a <nav>; C-level text() and css_first() cost
                # far less than walking it. Large labelled elements are walked: the label
                # may be wrong (a wrapper called "content has-sidebar"), and main_blocks
                # decides. (Sizes are checked three levels deep at most, or nested labels
                # would make them quadratic.)
                if (inline and node.css_first(_BLOCK_SELECTOR) is None) or (
                    not thorough
                    and (
                        tag == "nav"
                        or (open_noisy < 3 and len(node.text(deep=True)) < _SMALL_NOISE)
                    )
                ):
                    child = None
                if child is None and why.startswith("byline "):
                    out.byline_texts.append(node.text(deep=True, separator=" "))
            if noisy and child is not None:
                inline = False  # labelled inline markup walked: blocks of its own
            if child is None:
                if not inline and buf:
                    flush()
            else:
                undo = span = saved_row = 0
                if inline:
                    span = -1
                    if tag == "a":
                        in_link += 1
                        undo = 8
                else:
                    if buf:
                        flush()
                    tags.append(tag)
                    undo = 1
                    if tag in _PARA:
                        in_para += 1
                        undo |= 2
                        if tag in _HEADINGS:
                            in_heading += 1
                            undo |= 4
                    if tag == "tr":
                        undo |= 16
                        saved_row, rows = row, rows + 1
                        row = rows
                    span = len(span_start)
                    span_start.append(len(blocks))
                    span_end.append(-1)
                    if marked and node.mem_id in marked:
                        out.marks[node.mem_id] = span
                if noisy:
                    open_noisy += 1
                stack.append((node, undo, span, len(blocks) if noisy else -1, why, saved_row))
                node = child
                continue
        # leave finished elements until one has a next sibling
        nxt = node.next
        while nxt is None and stack:
            node, undo, span, noisy_from, why, saved_row = stack.pop()
            if undo & 1:
                if buf:
                    flush()
                tags.pop()
                if undo & 16:
                    row = saved_row
                if undo & 2:
                    in_para -= 1
                    if undo & 4:
                        in_heading -= 1
            elif undo & 8:
                in_link -= 1
                if "href" in node.attributes:
                    anchors.append((len(blocks) - (0 if buf else 1), node))
            if span >= 0:
                span_end[span] = len(blocks)
            if noisy_from >= 0:
                open_noisy -= 1
                labelled.append((noisy_from, len(blocks), why))
            nxt = node.next
        node = nxt
    if buf:
        flush()
    return out


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
