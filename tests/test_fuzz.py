"""Fuzzing with hypothesis: no exception escapes, and the invariants hold.

Each target runs with a small budget in CI and with a large one in the `slow` job
(`pytest -m slow tests/test_fuzz.py`: 2,000 examples per target, 12,000 in all).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.formats import Frequency, Positions

from archiver.changes.diff import diff_texts
from archiver.errors import QueryError, SeedError
from archiver.extractor.page import extract
from archiver.extractor.seed import parse_seed_bytes
from archiver.fulltext.analysis import (
    KoreanBigramTokenizer,
    KoreanStemTokenizer,
    TermFrequency,
    TermPositions,
    bigram_terms,
    stem_terms,
    stem_tokens,
    tokens,
)
from archiver.fulltext.index import Index, IndexDoc
from archiver.net.urls import canonicalize
from archiver.text.sentences import split_sentences

CI_EXAMPLES = 150
SLOW_EXAMPLES = 2000

HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
KOREANISH = st.text(
    alphabet=st.one_of(HANGUL, st.sampled_from(" .,!?\n()[]\"'-:/<>&#;=%")), max_size=300
)
ANY_TEXT = st.one_of(st.text(max_size=300), KOREANISH)


def both_budgets(check: Callable[..., Any], strategy: Any) -> tuple[Any, Any]:
    """A CI test and a slow test running the same check with different budgets."""
    quick = settings(
        max_examples=CI_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )(given(strategy)(check))
    slow = pytest.mark.slow(
        settings(
            max_examples=SLOW_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        )(given(strategy)(check))
    )
    return quick, slow


# --- seed parser -------------------------------------------------------------------


def check_seed(data: bytes) -> None:
    try:
        post = parse_seed_bytes(data, "fuzz")
    except SeedError as exc:
        assert "\n" not in str(exc)
        return
    assert post.title.strip()
    assert len({r.url for r in post.references}) == len(post.references)


SEED_BYTES = st.one_of(
    st.binary(max_size=400),
    KOREANISH.map(lambda s: s.encode()),
    st.builds(
        lambda a, b: (
            a + "\n참고기사: 출처 (https://example.com/1)\n2023년 11월 20일 오전 2:21\n" + b
        ).encode(),
        KOREANISH,
        KOREANISH,
    ),
)
test_seed_parser, test_seed_parser_slow = both_budgets(check_seed, SEED_BYTES)


# --- extractor -----------------------------------------------------------------------

HTML = st.builds(
    lambda title, body, junk: (
        f"<html><head><title>{title}</title></head><body><article>"
        f"<p>{body}</p>{junk}</article></body></html>"
    ),
    KOREANISH,
    KOREANISH,
    st.text(alphabet="<>/=\"' abcdivpscript", max_size=80),
)


def check_extract(page: str | bytes) -> None:
    doc = extract(page, "https://example.com/a")
    assert isinstance(doc.text, str)
    assert all(link.url.startswith(("http://", "https://")) for link in doc.links)


test_extractor, test_extractor_slow = both_budgets(
    check_extract, st.one_of(HTML, st.binary(max_size=400), st.text(max_size=300))
)


# --- URL canonicaliser ---------------------------------------------------------------

URLS = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda host, path, query, frag: f"https://{host}/{path}?{query}#{frag}",
        st.from_regex(r"[A-Za-z0-9.\-]{1,20}", fullmatch=True),
        st.text(max_size=20),
        st.text(max_size=30),
        st.text(max_size=10),
    ),
    st.builds(
        lambda p: f"HTTP://Example.COM:80/{p}?utm_source=x&b=2&a=1#top", st.text(max_size=20)
    ),
)


def check_canonicalize(url: str) -> None:
    once = canonicalize(url)
    assert canonicalize(once) == once  # idempotent
    if once.startswith(("http://", "https://")):
        query = once.partition("?")[2].lower()
        assert "#" not in once and not query.startswith("utm_") and "&utm_" not in query


test_canonicalize, test_canonicalize_slow = both_budgets(check_canonicalize, URLS)


# --- query parser --------------------------------------------------------------------


@lru_cache(maxsize=1)
def small_index() -> Index:
    index = Index(Path(tempfile.mkdtemp(prefix="archiver-fuzz-")) / "index")
    index.add(
        [
            IndexDoc(
                "a",
                "https://a/1",
                "page",
                1,
                True,
                "오픈AI 이사회",
                "샘 올트먼이 해임됐다. GPT-4와 860억 달러.",
                site="a",
            )
        ]
    )
    return index


QUERIES = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            [
                "올트먼",
                "AND",
                "OR",
                "NOT",
                '"',
                "(",
                ")",
                "title:",
                "site:",
                "*",
                "?",
                "~",
                "^2",
                "[a TO b]",
                "-",
                "오픈AI",
                "GPT-4",
            ]
        ),
        max_size=8,
    ).map(" ".join),
)


def check_query(query: str) -> None:
    try:
        hits = small_index().search(query)
    except QueryError as exc:
        assert "\n" not in str(exc)
        return
    assert all(0 <= s <= e <= len(h.snippet) for h in hits for s, e in h.highlights)


test_query_parser, test_query_parser_slow = both_budgets(check_query, QUERIES)


# --- index analysis -----------------------------------------------------------------------

# Every token class and the characters at their borders: Hangul, kana and Han, digits with
# separators, Latin with case (İ lower-cases to two characters), marks, underscores.
PIECES = st.sampled_from(
    [
        "가",
        "이",
        "의",
        "은",
        "올트먼",
        "S8",
        "GPT",
        "-4",
        "1,200",
        "3.14",
        "860",
        ",",
        ".",
        "_",
        "İ",
        "ß",
        "Aa",
        "\u0301",
        "\u3042",
        "漢字",
        "テ",
        " ",
        "\n",
    ]
)
MIXED = st.lists(st.one_of(PIECES, HANGUL), max_size=40).map("".join)


def check_terms(text: str) -> None:
    """The index's fast term lists give exactly the query side's tokens and postings."""
    assert Counter(bigram_terms(text)) == Counter(s.text for s in tokens(text))
    assert stem_terms(text) == [s.text for s in stem_tokens(text)]
    for fast, whoosh_format, analyzer in (
        (TermFrequency(), Frequency(), KoreanBigramTokenizer()),
        (TermFrequency(), Frequency(), KoreanStemTokenizer()),
        (TermPositions(), Positions(), KoreanStemTokenizer()),
    ):
        assert sorted(fast.word_values(text, analyzer, mode="index")) == sorted(
            whoosh_format.word_values(text, analyzer, mode="index")
        )


test_index_terms, test_index_terms_slow = both_budgets(check_terms, st.one_of(MIXED, ANY_TEXT))


# --- diff ------------------------------------------------------------------------------

PARAGRAPHS = st.lists(
    st.lists(KOREANISH.filter(lambda s: "\n" not in s), max_size=4).map(". ".join), max_size=6
).map("\n".join)


def check_diff(pair: tuple[str, str]) -> None:
    old, new = pair
    result = diff_texts(old, new)
    old_s, new_s = split_sentences(old), split_sentences(new)
    # Applying the diff to the old sentences yields the new ones: take the removed
    # sentences out of the old text and put the added ones in, and the sentences match.
    patched = Counter(old_s)
    patched.subtract(result.removed)
    assert min(patched.values(), default=0) >= 0  # only sentences that were there
    patched.update(result.added)
    assert +patched == Counter(new_s)
    assert 0.0 <= result.similarity <= 1.0
    assert result.changed or old_s == new_s


test_diff, test_diff_slow = both_budgets(check_diff, st.tuples(PARAGRAPHS, PARAGRAPHS))
