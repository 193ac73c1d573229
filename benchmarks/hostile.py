#!/usr/bin/env python3
"""Extraction and re-crawl diff time on pathological pages (issue 18, rows 16 and 17).

    .venv/bin/python benchmarks/hostile.py [--max-mb 20] [--only NAME] [--repeat 1]

Generates pages no sane site serves but anyone can: 200,000 nested ``<div>``s and other
nestings that make an HTML5 tree builder quadratic (at sizes on each side of the
extractor's bounds), open formatting elements the parser copies into every paragraph,
one element with 100,000 attributes, attribute values of megabytes, one sentence of
30,000 words, huge tables, a million tiny paragraphs (all different, or all the same);
each kind small and up to --max-mb megabytes (the default is the crawler's
``max_bytes``, 20 MB). For each page it times ``extract()`` on the bytes as the
crawler sees them (old and new version, the slower counts), then the re-crawl diff a run
report makes (``diff_texts``, ``unified_diff`` and the seed alignment of both versions,
as :func:`archiver.changes.compare.compare` does) between the page and the same page with
one word changed. Generation is deterministic (a fixed random seed).

Per page it prints the size, both times, the paragraphs extracted and the first warning
the extractor logged (a bound that acted). The last line is exactly
``pages=N worst_extract_s=… worst_diff_s=…`` (targets: each page ≤ 2 s for both).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archiver.changes.align import align_seed, alignment_changes  # noqa: E402
from archiver.changes.diff import diff_texts, unified_diff  # noqa: E402
from archiver.extractor.page import Document, extract  # noqa: E402

MB = 1_000_000
SEED_POST = ROOT / "config" / "seeds" / "careerly-altman-tigris.txt"
OLD_WORD, NEW_WORD = "목요일", "금요일"  # the one word a re-crawl finds changed
WORDS = [
    "이사회는",
    "투자자들은",
    "연구진은",
    "새",
    "반도체",
    "회사",
    "설립",
    "계획을",
    "발표했다",
    "검토했다",
    "OpenAI",
    "Altman",
    "칩",
    "벤처",
    "수십억",
    "달러",
    "규모의",
    "협상",
    "초기",
    "단계",
    "전망을",
    "내놓았다",
    "the",
    "board",
    "said",
    "it",
    "would",
    "review",
    "plans",
    "for",
    "a",
    "new",
    "chip",
    "venture",
    "worth",
    "billions",
    "of",
    "dollars",
]

Page = tuple[str, str]  # (old HTML, new HTML: one word changed)


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def _doc(body: str, title: str = "Hostile page") -> str:
    return f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"


def _pair(html: str) -> Page:
    assert OLD_WORD in html
    return html, html.replace(OLD_WORD, NEW_WORD, 1)


def _fill(unit: str, size: int) -> int:
    return max(1, size // len(unit.encode()))


# --------------------------------------------------------------------------- the pages


def nested(tag_open: str, tag_close: str, count: int) -> Page:
    """``count`` nested elements with a sentence at the bottom (and one at the top)."""
    text = f"<p>오늘 {OLD_WORD} 발표된 계획은 이렇다.</p>"
    return _pair(_doc(text + tag_open * count + text + tag_close * count))


def many_attributes(count: int, elements: int = 1) -> Page:
    attrs = " ".join(f'data-a{i}="{i}"' for i in range(count))
    body = f"<div {attrs}><p>속성이 많은 {OLD_WORD} 문단이다.</p></div>" * elements
    return _pair(_doc(body))


def same_attribute(count: int) -> Page:
    body = f"<div {' a' * count}><p>같은 속성이 반복된 {OLD_WORD} 문단이다.</p></div>"
    return _pair(_doc(body))


def long_attribute_values(size: int, rng: random.Random) -> Page:
    """Elements whose class, style and href values are ~100 KB of distinct tokens each."""
    tokens = " ".join(f"c{rng.randrange(10**9)}" for _ in range(10_000))
    unit = (
        f'<div class="{tokens}" style="color: red; {tokens}">'
        f'<a href="/x?{tokens.replace(" ", "&")}">링크</a>'
        f"<p>긴 속성값 {OLD_WORD} 문단의 문장이다.</p></div>"
    )
    return _pair(_doc(unit * _fill(unit, size)))


def one_sentence(words: int, rng: random.Random) -> Page:
    text = _words(rng, words // 2) + f" {OLD_WORD} " + _words(rng, words // 2)
    return _pair(_doc(f"<article><p>{text}</p></article>"))


def one_sentence_bytes(size: int, rng: random.Random) -> Page:
    words = size // 8  # ~8 bytes of UTF-8 per word and space
    return one_sentence(words, rng)


def _filled(make: Callable[[int], str], size: int) -> list[str]:
    """Pieces make(0), make(1), ... until they hold ``size`` bytes of UTF-8."""
    pieces: list[str] = []
    total = 0
    while total < size:
        piece = make(len(pieces))
        pieces.append(piece)
        total += len(piece.encode())
    return pieces


def table(size: int, rng: random.Random) -> Page:
    """A table of distinct rows of six cells (a row is one paragraph)."""
    cells = [_words(rng, 2) for _ in range(997)]
    rows = _filled(
        lambda i: "<tr>" + "".join(f"<td>{cells[(i * 7 + k) % 997]} {i}</td>" for k in range(6)),
        size,
    )
    rows[len(rows) // 2] = f"<tr><td>{OLD_WORD}</td></tr>"
    return _pair(_doc("<table>" + "".join(rows) + "</table>"))


def tiny_paragraphs(size: int, distinct: bool, rng: random.Random) -> Page:
    """Paragraphs of a few words each (all the same one when not ``distinct``)."""
    words = [_words(rng, 2) for _ in range(1000)]
    unit = "<p>짧다.</p>"
    paras = _filled(lambda i: f"<p>{words[i % 1000]} {i}.</p>" if distinct else unit, size)
    paras[len(paras) // 2] = f"<p>{OLD_WORD}.</p>"
    return _pair(_doc("".join(paras)))


def many_headings(count: int) -> Page:
    """Nested headings inside nav chrome: every heading looks up its ancestors."""
    return nested("<nav>" + "<h1><div class='share'>", "", count)


def formatting_bomb(formatting: int, paragraphs: int) -> Page:
    """Distinct formatting elements left open: the parser copies all of them into every
    later paragraph (formatting x paragraphs elements from a few kilobytes)."""
    opened = "".join(f"<b id=b{i}>" for i in range(formatting))
    body = "<div>" + opened + "</div>" + "<p>문단.</p>" * paragraphs
    return _pair(_doc(body + f"<p>{OLD_WORD} 마지막 문단.</p>"))


def options(count: int) -> Page:
    return _pair(_doc(f"<p>{OLD_WORD} 선택지 앞 문단.</p><select>" + "<option>선택" * count))


def pages(max_mb: float) -> Iterator[tuple[str, Callable[[], Page]]]:
    big = int(max_mb * MB)
    two = int(min(2.0, max_mb) * MB)
    rng = random.Random(18)
    # nesting: the page, then each regime of the extractor's bounds: below the
    # count of tags every tag is read at, between it and MAX_TAGS (nesting capped), above
    yield "nested-div-200k", lambda: nested("<div>", "</div>", 200_000)
    yield "nested-div-4900", lambda: nested("<div>", "</div>", 4_900)
    yield "nested-ul-li-4900", lambda: nested("<ul><li>", "", 4_900)
    yield "nested-div-60k", lambda: nested("<div>", "</div>", 60_000)
    yield "nested-div-unclosed-140k", lambda: nested("<div>", "", 140_000)
    yield "nested-ul-li-70k", lambda: nested("<ul><li>", "", 70_000)
    yield "nested-div-stray-p-70k", lambda: nested("<div></p>", "", 70_000)
    yield "nested-h1-div-70k", lambda: nested("<h1><div>", "", 70_000)
    yield "nested-blockquote-140k", lambda: nested("<blockquote>", "", 140_000)
    yield "nested-span-labelled-140k", lambda: nested("<span class='share'>", "", 140_000)
    yield "nested-table-45k", lambda: nested("<table><tr><td>", "", 45_000)
    yield "headings-in-chrome-45k", lambda: many_headings(45_000)
    yield "nested-div-max", lambda: nested("<div>", "", big // 5)
    yield "select-options-9k", lambda: options(9_900)
    yield "formatting-bomb-3k", lambda: formatting_bomb(1_500, 1_500)
    yield "formatting-bomb-9k", lambda: formatting_bomb(4_900, 4_900)
    yield "formatting-bomb-100k", lambda: formatting_bomb(50_000, 50_000)
    # attributes
    yield "attributes-100k", lambda: many_attributes(100_000)
    yield "same-attribute-1m", lambda: same_attribute(1_000_000)
    yield "attributes-max", lambda: many_attributes(20_000, max(1, big // 400_000))
    yield "attributes-300-max", lambda: many_attributes(300, max(1, big // 4_500))
    yield "long-attribute-values", lambda: long_attribute_values(big, rng)
    # one huge sentence
    yield "sentence-10k-words", lambda: one_sentence(10_000, rng)
    yield "sentence-30k-words", lambda: one_sentence(30_000, rng)
    yield "sentence-90kb", lambda: one_sentence_bytes(90_000, rng)
    yield "sentence-max", lambda: one_sentence_bytes(big, rng)
    # tables and paragraphs
    yield "table-2mb", lambda: table(two, rng)
    yield "table-max", lambda: table(big, rng)
    yield "tiny-paragraphs-2mb", lambda: tiny_paragraphs(two, True, rng)
    yield "tiny-paragraphs-max", lambda: tiny_paragraphs(big, True, rng)
    yield "same-paragraph-max", lambda: tiny_paragraphs(big, False, rng)


# --------------------------------------------------------------------------- measuring


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def timed_extract(html: bytes, url: str) -> tuple[float, Document]:
    start = time.perf_counter()
    doc = extract(html, url, content_type="text/html; charset=utf-8")
    return time.perf_counter() - start, doc


def recrawl_diff(old: str, new: str, seed: str) -> float:
    """What a run report computes for a changed page (archiver.changes.compare)."""
    start = time.perf_counter()
    diff = diff_texts(old, new)
    unified_diff(old, new, "v1", "v2")
    before, after = align_seed(seed, old), align_seed(seed, new)
    alignment_changes(before, after, new)
    elapsed = time.perf_counter() - start
    assert diff.changed, "the changed word was lost"
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-mb", type=float, default=20.0, help="size of the largest pages")
    ap.add_argument("--only", action="append", help="only pages whose name starts with this")
    ap.add_argument("--repeat", type=int, default=1, help="keep the fastest of N runs")
    args = ap.parse_args()
    seed = SEED_POST.read_text(encoding="utf-8")
    warnings = _Warnings()
    logging.getLogger("archiver").addHandler(warnings)
    worst_extract = worst_diff = 0.0
    count = 0
    for name, make in pages(args.max_mb):
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        old, new = make()
        old_bytes, new_bytes = old.encode(), new.encode()
        url = f"https://hostile.example/{name}"
        extract_s = diff_s = float("inf")
        warnings.messages.clear()
        for _ in range(max(1, args.repeat)):
            t_old, doc_old = timed_extract(old_bytes, url)
            t_new, doc_new = timed_extract(new_bytes, url)
            extract_s = min(extract_s, max(t_old, t_new))
            diff_s = min(diff_s, recrawl_diff(doc_old.text, doc_new.text, seed))
        note = f"  [{warnings.messages[0][:90]}]" if warnings.messages else ""
        print(
            f"{name:<24} {len(old_bytes) / MB:7.2f} MB  extract {extract_s:6.3f} s  "
            f"diff {diff_s:6.3f} s  paragraphs {len(doc_old.paragraphs):>8}{note}",
            flush=True,
        )
        worst_extract, worst_diff = max(worst_extract, extract_s), max(worst_diff, diff_s)
        count += 1
    print(f"pages={count} worst_extract_s={worst_extract:.3f} worst_diff_s={worst_diff:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
