"""Fuzzing with hypothesis: no exception escapes, and the invariants hold.

Each target runs with a small budget in CI and with a large one in the `slow` job
(`pytest -m slow tests/test_fuzz.py`: 2,000 examples per target, 12,000 in all).
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.formats import Frequency, Positions

from archiver import api
from archiver.api import History, Provenance, VersionView
from archiver.changes.align import align_seed
from archiver.changes.compare import SeedChange, VersionChange, VersionRef
from archiver.changes.diff import diff_texts
from archiver.cli import main
from archiver.crawler import pipeline
from archiver.crawler.outcome import CrawlSummary, TargetOutcome
from archiver.errors import QueryError, SeedError
from archiver.extractor import meta
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
from archiver.fulltext.index import Hit, Index, IndexDoc
from archiver.fulltext.query import MAX_DEPTH, And, Node, Not, Or, parse
from archiver.net.urls import canonicalize, url_problem
from archiver.storage.rows import RunRow, SeedRow, TargetRow, VersionRow
from archiver.storage.verify import TornTail, VerifyReport
from archiver.text.sentences import split_sentences

from .helpers import no_extraction_failure
from .test_hostile_import import FUZZ_FILES, check_warc_import

T = TypeVar("T")

CI_EXAMPLES = 150
SLOW_EXAMPLES = 2000

HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
KOREANISH = st.text(
    alphabet=st.one_of(HANGUL, st.sampled_from(" .,!?\n()[]\"'-:/<>&#;=%")), max_size=300
)
ANY_TEXT = st.one_of(st.text(max_size=300), KOREANISH)


def both_budgets(
    check: Callable[[T], None], strategy: st.SearchStrategy[T]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """A CI test and a slow test running the same check with different budgets."""

    def budget(examples: int) -> Callable[[], None]:
        test: Callable[[], None] = given(strategy)(check)
        return settings(
            max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        )(test)

    return budget(CI_EXAMPLES), pytest.mark.slow(budget(SLOW_EXAMPLES))


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
    with no_extraction_failure():  # extract() never raises: it logs "extraction failed"
        doc = extract(page, "https://example.com/a")
    assert all(p and p == meta.collapse(p) for p in doc.paragraphs)
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
    once = canonicalize(url)  # never raises
    assert canonicalize(once) == once  # idempotent
    problem = url_problem(url)
    assert url_problem(once) == problem  # invalid URLs are treated alike, every time
    if problem is None:
        query = once.partition("?")[2].lower()
        assert once.startswith(("http://", "https://"))
        assert "#" not in once and not query.startswith("utm_") and "&utm_" not in query
        assert "/./" not in once and "/../" not in once  # dot segments removed
    else:
        assert once == url.strip() and "\n" not in problem


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


# --- URLs through the whole fetch → record path ------------------------------------------
#
# A generated URL (odd ports, IPv6 literals, schemes, huge lengths, control characters, dot
# segments, IDNA hosts, user info) is a target, a redirect Location, an outlink, a feed entry
# and a child sitemap, all served by the fixture site; every run ends with every URL in a
# recorded state, the other pages archived, no traceback and `verify` clean. Host names are
# never looked up: a stand-in resolver answers for IP literals and localhost only. Each
# example is a whole crawl, so the budgets are small (8 in CI, 300 in the slow job).

URL_CI_EXAMPLES = 8
URL_SLOW_EXAMPLES = 300
PORT = "{PORT}"  # the fixture site's port, filled in by the check
URL_STATES = {
    "new",
    "changed",
    "unchanged",
    "not modified",
    "archived",
    "skipped",
    "irrelevant",
    "duplicate",
    "error",
}

URL_SCHEMES = st.sampled_from(
    ["http://", "https://", "HTTP://", "hTtP://", "http:", "http:/", "http:///", "//"]
    + ["javascript:", "ftp://", "file:///", "data:text/html,", "mailto:", "ws://", ""]
)
URL_USERINFO = st.sampled_from(["", "", "", "user@", "user:pw@", "@", "a%40b@", "::@", "한@"])
URL_HOSTS = st.one_of(
    st.sampled_from(
        ["127.0.0.1", "127.0.0.1", "localhost", "LocalHost", "[::1]", "[::1", "::1]"]
        + ["[fe80::1%25eth0]", "[::ffff:127.0.0.1]", "[1:2:3]", "[v1.x]", "999.1.1.1"]
        + ["127.1", "0x7f.0.0.1", "", "a..b", "bücher.localhost", "xn--.localhost"]
        + ["☃.localhost", "İ.localhost", "exa mple", "ex\x00am", "a" * 70 + ".localhost"]
    ),
    st.text(max_size=12),
)
URL_PORTS = st.sampled_from(
    [f":{PORT}", f":{PORT}", f":{PORT}", "", ":9", ":0", ":65536", ":99999", ":-1", ":http", ":"]
)
URL_PATHS = st.one_of(
    st.sampled_from(
        ["/99700", "/99710", "/a/../99700", "/%2e%2e/99700", "/./99720", "/99710/.."]
        + ["/status/404", "/loop/a", "/moved", "/feed", "", "/2023/11/20/altman-tigris"]
    ),
    st.text(max_size=30).map(lambda s: "/" + s),
    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=12).map(lambda s: "/p" + s),
    st.integers(8100, 9000).map(lambda n: "/" + "a" * n),
    st.just("/" + "가" * 3000),  # 27,000 characters once percent-encoded
)
URL_TAILS = st.sampled_from(["", "", "?a=1&utm_source=x", "#frag", "?", "?%zz", "#"])
HOSTILE_URLS = st.one_of(
    st.builds(
        lambda *parts: "".join(parts),
        URL_SCHEMES,
        URL_USERINFO,
        URL_HOSTS,
        URL_PORTS,
        URL_PATHS,
        URL_TAILS,
    ),
    st.text(max_size=40),
)


@lru_cache(maxsize=1)
def url_fuzz_site() -> object:
    """One fixture site for every example (a function-scoped fixture cannot serve them)."""
    from .helpers import FixtureSite

    site = FixtureSite()
    site.thread.start()
    return site


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text`` exactly."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return (
        '"'
        + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in escaped)
        + '"'
    )


def xml_text(text: str) -> str:
    """``text`` as XML character data (characters XML cannot hold dropped)."""
    from xml.sax.saxutils import escape

    return escape(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text))


def check_hostile_url(template: str) -> None:
    import html
    import ipaddress
    import json
    import logging
    import socket
    from typing import Any
    from unittest import mock

    from .helpers import FixtureSite, Route, cli, write_config

    site = url_fuzz_site()
    assert isinstance(site, FixtureSite)
    url = template.replace(PORT, site.base.rsplit(":", 1)[1])
    # What a server sends: a header value's bytes as they are, but no line break in it.
    location = re.sub(r"[\r\n]", "", url).encode("utf-8", "replace").decode("latin-1")
    site.routes["/fz/r"] = Route(status=302, headers={"Location": location}, body=b"")
    site.routes["/fz/links"] = Route(
        body=(
            "<html><head><title>올트먼과 티그리스</title></head><body><article><p>오픈AI "
            "이사회는 샘 올트먼을 해임했다. 티그리스 반도체 투자를 둘러싼 갈등이다. 자세한 "
            f'내용은 <a href="{html.escape(url)}">올트먼의 티그리스 반도체와 오픈AI 이사회'
            "</a> 기사가 전한다. 이사회는 올트먼이 투자자들과 협의한 내용을 공유하지 "
            "않았다고 밝혔다.</p></article></body></html>"
        ).encode()
    )
    site.routes["/fz/feed"] = Route(
        body=(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t'
            "</title><item><title>올트먼의 티그리스 반도체와 오픈AI 이사회</title>"
            f"<link>{xml_text(url)}</link></item></channel></rss>"
        ).encode(),
        content_type="application/rss+xml",
    )
    site.routes["/fz/index.xml"] = Route(
        body=(
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
            f'sitemap/0.9"><sitemap><loc>{xml_text(url)}</loc></sitemap></sitemapindex>'
        ).encode(),
        content_type="application/xml",
    )
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host: str | bytes | None, *args: Any, **kwargs: Any) -> Any:
        """getaddrinfo for localhost and IP literals only: no name is ever looked up."""
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name.split("%")[0])
        except ValueError:
            if name.lower() != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return real_getaddrinfo(host, *args, **kwargs)

    class Records(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.WARNING)
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    handler = Records()
    root = logging.getLogger()
    with tempfile.TemporaryDirectory() as tmp, mock.patch("socket.getaddrinfo", resolver):
        root.addHandler(handler)
        try:
            config = write_config(
                Path(tmp),
                site,
                targets=["/99700", "/fz/r", "/fz/links"],
                feeds=["/fz/feed", "/fz/index.xml"],
                extra='follow_hosts = ["127.0.0.1", "localhost"]',
            )
            plain = config.read_text()
            config.write_text(plain + f"\n[[targets]]\nurl = {toml_string(url)}\n")
            result = cli(config, "crawl", "--json")
            as_target = result.exit_code != 2
            if not as_target:  # the config refused the URL: one line, then without it
                lines = result.stderr.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("archiver: error: "), lines
                assert "targets.url" in lines[0]
                config.write_text(plain)
                result = cli(config, "crawl", "--json")
            assert result.exit_code in (0, 1), result.output
            assert "Traceback" not in result.output and "internal error" not in result.output
            summary = json.loads(result.stdout)
            found = {t["url"]: t for t in summary["targets"]}
            for target in found.values():
                assert target["state"] in URL_STATES, target
                error = target["error"] or ""
                assert "\n" not in error and len(error) < 600, target
                assert "internal error" not in error and "fetch failed" not in error, target
            assert found[site.url("/99700")]["state"] == "new"
            assert found[site.url("/99663")]["state"] == "new"  # the seed's reference
            assert found[site.url("/fz/r")]["state"] in URL_STATES
            if as_target:  # recorded under its canonical form, or as given if invalid
                assert found[canonicalize(url)]["state"] in URL_STATES
            verify = cli(config, "verify", "--json")
            assert verify.exit_code == 0 and json.loads(verify.stdout)["problems"] == []
        finally:
            root.removeHandler(handler)
    leaked = [r.getMessage() for r in handler.records if r.exc_info]
    assert not leaked, leaked


# The canonicaliser on the same URLs (fast: no crawl).
test_canonicalize_hostile, test_canonicalize_hostile_slow = both_budgets(
    check_canonicalize, HOSTILE_URLS
)

test_hostile_urls_fetch_and_record = settings(
    max_examples=URL_CI_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck)
)(given(HOSTILE_URLS)(check_hostile_url))
test_hostile_urls_fetch_and_record_slow = pytest.mark.slow(
    settings(
        max_examples=URL_SLOW_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck)
    )(given(HOSTILE_URLS)(check_hostile_url))
)


# --- CLI printers ------------------------------------------------------------------------
# Archived strings (titles, authors, URLs, server errors, seed posts, verify problems)
# through every command that prints them on a terminal: whatever they hold, the command
# exits as it should, without a traceback, and nothing a terminal would obey (ESC, C0 but
# newline and tab, DEL, C1, bidi controls) reaches stdout or stderr; Rich markup in them
# is never parsed. The library calls are replaced by records made of the fuzzed strings,
# as a store per example would be slow; tests/test_hostile_cli.py does it through crawls.

TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE_PIECES = st.sampled_from(
    [
        "\x1b[2J",
        "\x1b[31;1m",
        "\x1b]0;pwned\x07",
        "\x1b]8;;http://evil.example/\x1b\\",
        "\x1bP1$r\x1b\\",
        "\x1bc",
        "\x9b31m",
        "\x9d0;t\x9c",
        "\x1b",
        "\x07",
        "\x08",
        "\r",
        "\x00",
        "\x7f",
        "\x85",
        "\u202e",
        "\u2066",
        "[/x]",
        "[bold]",
        "[/]",
        "[link=file:///etc/passwd]",
        ":smile:",
        "\\[",
        "[",
        "]",
        "올트먼",
        " ",
        "\n",
        "\t",
    ]
)
ARCHIVED = st.one_of(
    st.lists(st.one_of(HOSTILE_PIECES, st.text(max_size=4)), max_size=10).map("".join),
    st.text(max_size=30),
)
PRINTERS = ("search", "show", "history", "seeds list", "runs", "verify", "crawl", "diff", "seed")
PRINTER_CASES = st.tuples(st.sampled_from(PRINTERS), st.lists(ARCHIVED, min_size=6, max_size=6))


@lru_cache(maxsize=1)
def printer_config() -> Path:
    config = Path(tempfile.mkdtemp(prefix="archiver-fuzz-cli-")) / "archiver.toml"
    config.write_text('[store]\npath = "store"\n', encoding="utf-8")
    return config


def printer_call(command: str, s: list[str]) -> tuple[object, str, object, list[str], set[int]]:
    """What to replace (module, name) with which result, the arguments, the exit codes."""
    a, b, c, d, e, f = s
    ref = VersionRef(a, 1, b, c, None, None)
    if command == "search":
        hits = [
            Hit(a, "page", b, 1, c, d, 1.0, e, [(0, len(e))] if e else []),
            Hit(f, "page", a, 2, None, None, 0.5, f, [(len(f) // 2, len(f))] if f else []),
        ]
        return api, "search", hits, ["search", "x", "--all-versions"], {0}
    if command == "show":
        view = VersionView(a, 1, b, c, d, None, f"{e}\n{f}", [], Provenance(f, 0, None))
        return api, "show", view, ["show", "u"], {0}
    if command == "history":
        target = TargetRow(1, a, "target", 0, None, None, "t", b, c, 1, None)
        version = VersionRow(1, 1, 1, 1, d, 200, "0" * 64, e, f, None, None, "", [], {}, a)
        return api, "history", History(target, [version]), ["history", "u"], {0}
    if command == "seeds list":
        seed = SeedRow(1, a, None, "0", "text", b, c, d, e, {"references": [{"url": f}]}, "t")
        return api, "seeds", [seed], ["seeds", "list"], {0}
    if command == "runs":
        run = RunRow(1, a, b, c, d, 1, 1, 0, 0, [{"url": e, "error": f}])
        return api, "runs", [run], ["runs"], {0}
    if command == "verify":
        report = VerifyReport(2, [a, b], [TornTail(c, 0, 1)])
        return api, "verify", report, ["verify"], {1}
    if command == "crawl":
        summary = CrawlSummary(
            1,
            outcomes=[TargetOutcome(a, "error", error=b, tries=1), TargetOutcome(c, "new", 1)],
            reports=[d + ".html"],
        )
        return pipeline, "crawl", summary, ["crawl"], {1}
    if command == "diff":
        change = VersionChange(
            a, ref, ref, diff_texts(e, f), {"title": (b, c)}, "sentence", "", None
        )
        return api, "diff", change, ["diff", "u", "--format", "terminal"], {0, 1}
    seed_change = SeedChange(a, b, c, ref, align_seed(e, f))
    args = ["diff", "u", "--against-seed", "--format", "terminal"]
    return api, "diff_against_seed", seed_change, args, {0, 1}


def check_printers(case: tuple[str, list[str]]) -> None:
    command, strings = case
    module, name, record, args, codes = printer_call(command, strings)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, name, lambda *args, **kwargs: record)
        result = CliRunner().invoke(main, ["--config", str(printer_config()), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    both = result.stdout + result.stderr
    assert result.exit_code in codes, both
    assert "Traceback" not in both and "internal error" not in both, both
    assert not TERMINAL_CONTROL.search(both), ascii(both)


test_cli_printers, test_cli_printers_slow = both_budgets(check_printers, PRINTER_CASES)


# --- query parser limits -----------------------------------------------------------------
# Queries far deeper and longer than the parser's limits: a QueryError naming a limit, or a
# tree no deeper than MAX_DEPTH; never a RecursionError.

WRAPPERS = st.sampled_from([("(", ")"), ("NOT ", ""), ("-", ""), ("(x OR ", ")"), ("x ", "")])
DEEP_QUERIES = st.one_of(
    st.builds(  # a word inside runs of ( ), NOTs and minus signs, hundreds deep
        lambda runs, word: (
            "".join(o * n for (o, _), n in runs) + word + "".join(c * n for (_, c), n in runs[::-1])
        ),
        st.lists(st.tuples(WRAPPERS, st.integers(1, 600)), max_size=4),
        st.sampled_from(["올트먼", "-x", '"샘 올트먼"', "site:a.kr"]),
    ),
    st.lists(
        st.sampled_from(["(", ")", "NOT", "-올트먼", "--x", "올트먼", "OR", "AND", '"샘 올트먼"']),
        max_size=600,
    ).map(" ".join),
)


def depth(node: Node) -> int:
    if isinstance(node, And | Or):
        return 1 + max(depth(child) for child in node.children)
    return 1 + depth(node.child) if isinstance(node, Not) else 0


def check_deep_query(query: str) -> None:
    try:
        node = parse(query)
    except QueryError as exc:
        assert "\n" not in str(exc)
        return
    assert depth(node) <= 2 * MAX_DEPTH + 2  # each ( ) may hold an OR of ANDs, as the top


test_deep_queries, test_deep_queries_slow = both_budgets(check_deep_query, DEEP_QUERIES)


# --- WARC import ----------------------------------------------------------------------
# Generated WARC files, valid and broken (records of every type, missing or odd target
# URIs and dates, broken HTTP heads, gzip/chunked/bomb bodies, wrong digests; files cut,
# padded with garbage, with a flipped byte), each through `archiver import` into a fresh
# store: never a traceback, never a half-recorded capture, `verify` clean afterwards
# (check_warc_import in test_hostile_import.py). A whole import per example: a smaller
# budget than the in-memory targets.


def import_budget(examples: int) -> Callable[[], None]:
    test: Callable[[], None] = given(FUZZ_FILES)(check_warc_import)
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )(test)


test_warc_import = import_budget(25)
test_warc_import_slow = pytest.mark.slow(import_budget(500))
