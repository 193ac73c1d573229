"""Hostile archived text and hostile input at the command line (issue 18).

Pages, servers and seed posts are written by strangers: their titles, authors, text and
error messages may carry terminal escape sequences and Rich markup. Whatever they carry,
the terminal gets plain text (no control characters, never markup parsed), `--json` keeps
the archived text exactly, and absurd input (deep queries, huge numbers) is one line,
exit 2.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import Result
from rich.text import Text

from archiver.cli import writing
from archiver.cli.app import SafeConsole, clean_spans, out
from archiver.crawler import pipeline
from archiver.crawler.outcome import CrawlSummary, ProgressFn, TargetOutcome
from archiver.errors import QueryError
from archiver.fulltext.query import MAX_DEPTH, MAX_TERMS, parse

from .helpers import FixtureSite, Route, cli, cli_store, write_config

# Terminal control as an attacker would plant it, one kind per entry.
SEQUENCES = {
    "csi-clear-screen": "\x1b[2J",
    "osc-window-title": "\x1b]0;pwned\x07",
    "osc8-hyperlink": "\x1b]8;;http://evil.example/\x1b\\링크\x1b]8;;\x1b\\",
    "dcs-query": "\x1bP1$r\x1b\\",
    "c1-csi": "\x9b31m",
    "c0-bell-backspace-cr": "\x07\x08\r\x0b\x0c",
    "del": "\x7f",
    "lone-esc": "\x1b",
    "bidi-override": "\u202e",
}
HOSTILE = " ".join(SEQUENCES.values())
# What must never reach a terminal: C0 but newline and tab, DEL, C1, bidi controls...
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# ...nor what is left of a sequence whose ESC alone was dropped.
RESIDUE = ("[2J", "]0;", "pwned", "8;;", "P1$r", "31m")
# Rich markup and emoji codes: printed as they are, never interpreted.
MARKUP = "[/x] [bold]굵게[/bold] [/] [link=file:///etc/passwd]링크[/link] :smile: [red"
# Short enough not to be cut by a table column's ellipsis.
MARKUP_TOKENS = ("[/x]", "[bold]굵게", ":smile:", "[red")
# An author must fit in 100 characters to be kept.
AUTHOR = "김기자 \x1b[2J \x1b]0;pwned\x07 \x9b31m \u202e [/x] [bold]굵게 :smile:"


def page(title: str, body: str) -> bytes:
    return (
        f"<html><head><title>{title}</title>"
        f'<meta name="author" content="{AUTHOR}"></head>'
        f"<body><article><h1>{title}</h1>"
        f"<p>해킹시도 본문입니다 {body} 올트먼이 말했다. 이 문장은 충분히 길게 씁니다.</p>"
        f"<p>둘째 문단입니다. 여기도 {body} 있습니다.</p></article></body></html>"
    ).encode()


class _Reason(BaseHTTPRequestHandler):
    """A server whose status line carries markup: its reason phrase becomes the error."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(404, "[/x] [bold]Gone")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"no")


@dataclass
class Archive:
    config: Path
    store: Path
    evil: str  # a page whose title, author and text are hostile, in two versions
    gone: str  # a URL whose error message carries markup
    site: FixtureSite
    first_crawl: Result
    seed_add: Result


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    site = FixtureSite()
    site.thread.start()
    reason = ThreadingHTTPServer(("127.0.0.1", 0), _Reason)
    reason.daemon_threads = True
    threading.Thread(target=reason.serve_forever, args=(0.05,), daemon=True).start()
    gone = f"http://127.0.0.1:{reason.server_address[1]}/gone"
    try:
        directory = tmp_path_factory.mktemp("hostile") / "project"
        site.routes["/evil"] = Route(body=page(f"제목 {HOSTILE} {MARKUP}", f"{HOSTILE} {MARKUP}"))
        config = write_config(
            directory, site, targets=["/evil", gone, "/99700", "/99720", "/99710"]
        )
        first = cli(config, "crawl")
        site.routes["/evil"] = Route(
            body=page(f"고친 제목 {HOSTILE} {MARKUP}", f"바뀐 {MARKUP} 내용 {HOSTILE}")
        )
        assert cli(config, "crawl").exit_code == 1  # /gone fails again
        seed = directory / "hostile-seed.txt"
        seed.write_text(
            f"{MARKUP} 제보 {HOSTILE}\n해킹시도 글입니다 {HOSTILE} {MARKUP}.\n"
            f"참고기사: 출처 {MARKUP} ({site.url('/evil')})\n",
            encoding="utf-8",
        )
        seed_add = cli(config, "seeds", "add", str(seed))
        yield Archive(config, directory / "store", site.url("/evil"), gone, site, first, seed_add)
    finally:
        reason.shutdown()
        reason.server_close()
        site.server.shutdown()
        site.server.server_close()


def terminal_safe(result: Result, *, whole: bool = True) -> str:
    """stdout and stderr of a command: no traceback, nothing a terminal would obey, and
    (``whole``) escape sequences removed whole, not just their ESC."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    both = result.stdout + result.stderr
    assert "Traceback" not in both and "internal error" not in both, both
    assert not FORBIDDEN.findall(both), FORBIDDEN.findall(both)
    assert not whole or not [r for r in RESIDUE if r in both], both
    return both


def flat(text: str) -> str:
    """Output with table borders and line breaks gone (cells wrap at 80 columns)."""
    return re.sub(r"[\s│┃|]", "", text)


def one_line_error(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archiver: error: "), result.stderr
    assert "internal error" not in lines[0] and "Traceback" not in result.output
    return lines[0]


# --- row 3: terminal escape codes in archived text ------------------------------------


TERMINAL = ("--format", "terminal")
READERS: dict[str, Callable[[Archive], list[str]]] = {
    "search": lambda a: ["search", "해킹시도"],
    "search-all-versions": lambda a: ["search", "해킹시도", "--all-versions"],
    "show": lambda a: ["show", a.evil],
    "show-v1": lambda a: ["show", a.evil, "--version", "1"],
    "show-seed": lambda a: ["show", "seed:2"],
    "history": lambda a: ["history", a.evil],
    "history-error": lambda a: ["history", a.gone],
    "seeds-list": lambda a: ["seeds", "list"],
    "runs": lambda a: ["runs"],
    "verify": lambda a: ["verify"],
    "diff-terminal": lambda a: ["diff", a.evil, "--format", "terminal"],
    "diff-word": lambda a: ["diff", a.evil, "--format", "terminal", "--granularity", "word"],
    "diff-seed-terminal": lambda a: ["diff", a.evil, "--against-seed", "--seed", "2", *TERMINAL],
    "diff-text": lambda a: ["diff", a.evil, "--format", "text"],
    "diff-markdown": lambda a: ["diff", a.evil, "--format", "markdown"],
    "report-markdown": lambda a: ["report"],
}
# Markdown escapes "[" after ESC ("\x1b\\[2J"): what is left is inert text, not a sequence.
ESCAPED_BY_THE_RENDERER = {"diff-markdown", "report-markdown"}


@pytest.mark.parametrize("command", READERS)
def test_archived_control_sequences_never_reach_the_terminal(
    archive: Archive, command: str
) -> None:
    result = cli(archive.config, *READERS[command](archive))
    assert result.exit_code in (0, 1), result.output  # diff: 1 = different
    shown = terminal_safe(result, whole=command not in ESCAPED_BY_THE_RENDERER)
    assert any(word in shown for word in ("제목", "제보", "해킹시도", "run", "checked", "HTTP 404"))


def test_the_archive_keeps_the_text_and_json_output_escapes_it(archive: Archive) -> None:
    raw = cli(archive.config, "show", archive.evil, "--version", "1", "--json")
    assert raw.exit_code == 0
    # JSON escapes every control character (\u001b, \u009b, \u202e): a terminal shows them
    # as text, and a JSON reader gets the archived text back exactly.
    assert not FORBIDDEN.findall(raw.stdout)
    assert "\\u001b[2J" in raw.stdout and "\\u009b31m" in raw.stdout
    shown = json.loads(raw.stdout)
    for sequence in ("\x1b[2J", "\x1b]0;pwned\x07", "\x9b31m", "\u202e"):
        assert sequence in shown["title"] and sequence in shown["text"]
    assert shown["author"] == AUTHOR
    hits = json.loads(cli(archive.config, "search", "해킹시도", "--json").stdout)
    assert any("\x1b[2J" in hit["title"] for hit in hits)


def test_visible_text_survives_and_highlights_stay_on_the_words(archive: Archive) -> None:
    result = cli(archive.config, "show", archive.evil, "--version", "1")
    shown = terminal_safe(result)
    assert "제목" in shown and "링크" in shown and "해킹시도 본문입니다" in shown
    assert "title: 제목" in shown and "author: 김기자" in shown
    assert "[/x] [bold]굵게 :smile:\n" in shown  # the end of the author line
    hits = cli(archive.config, "search", "있습니다 올트먼이")
    # (a snippet cut inside a sequence leaves its inert tail: not whole)
    assert hits.exit_code == 0 and "올트먼이" in terminal_safe(hits, whole=False)


def test_highlights_move_with_the_words_they_mark(archive: Archive) -> None:
    hits = json.loads(cli(archive.config, "search", "있습니다 올트먼이", "--json").stdout)
    [hit] = [h for h in hits if h["url"] == archive.evil]
    snippet, marks = hit["snippet"], [(s, e) for s, e in hit["highlights"]]
    assert FORBIDDEN.search(snippet) and marks  # control characters before the words
    text, moved = clean_spans(snippet, marks)
    assert [text[s:e] for s, e in moved] == [snippet[s:e] for s, e in marks]
    # A Text given to the console directly: its styles stay on the same characters.
    raw = "앞 \x1b[2J\x1bP1$r\x1b\\ 올트먼\x9b1m 뒤"
    line = Text(raw)
    line.stylize("bold", raw.index("올트먼"), raw.index("올트먼") + 3)
    segments = list(out.render(line))
    assert "".join(s.text for s in segments if s.style and s.style.bold) == "올트먼"
    assert "".join(s.text for s in segments) == "앞  올트먼 뒤\n"


def test_error_messages_are_cleaned(archive: Archive) -> None:
    bad = f"{archive.site.url('/nothing')}\x1b]0;pwned\x07\x1b[2J"
    result = cli(archive.config, "show", bad)
    message = one_line_error(result)
    assert "no archived page for" in message
    terminal_safe(result)


# --- row 10: Rich markup in archived text -------------------------------------------------


def test_markup_in_a_crawl_summary_error_is_printed_not_parsed(archive: Archive) -> None:
    result = archive.first_crawl
    assert result.exit_code == 1, result.output  # /gone failed; every other URL archived
    shown = terminal_safe(result)
    assert "HTTP404[/x][bold]Gone" in flat(shown)  # the error column of the summary table
    assert "fetched 5, new versions 5" in shown
    history = cli(archive.config, "history", archive.gone)
    assert history.exit_code == 0
    assert "(HTTP 404 [/x] [bold]Gone, 1 tries)" in terminal_safe(history)


def test_the_crawl_progress_line_shows_urls_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal, the crawl's progress line names each URL as it is done."""
    screen = io.StringIO()
    terminal = SafeConsole(stderr=True, file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(writing, "err", terminal)
    url = f"http://x/{MARKUP}{HOSTILE}"

    def crawl(config: object, store: object, progress: ProgressFn | None = None) -> CrawlSummary:
        assert progress is not None
        progress(TargetOutcome(url, "error", error=MARKUP))
        deadline = time.monotonic() + 5  # the bar redraws ten times a second, on a thread
        while "error http" not in screen.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        return CrawlSummary(1, outcomes=[TargetOutcome(url, "error", error=MARKUP, tries=1)])

    monkeypatch.setattr(pipeline, "crawl", crawl)
    config = tmp_path / "archiver.toml"
    config.write_text('[store]\npath = "store"\n', encoding="utf-8")
    result = cli(config, "crawl")
    assert result.exit_code == 1  # the URL failed
    shown = screen.getvalue()
    assert "error http://x/[/x] [bold]굵게" in shown
    assert not [r for r in RESIDUE if r in shown]
    # Colours and cursor moves of Rich's own are all the terminal gets.
    own = re.sub(r"\x1b\[(?:[0-9;]*m|[0-9]*[A-DGK]|\?25[lh])|\r", "", shown)
    assert not FORBIDDEN.findall(own), ascii(own)
    terminal_safe(result)


def test_markup_in_a_seed_post_is_registered_and_listed(archive: Archive) -> None:
    added = archive.seed_add
    assert added.exit_code == 0, added.output
    assert f"seed 2 registered: {MARKUP} 제보" in terminal_safe(added)
    listed = cli(archive.config, "seeds", "list")
    assert listed.exit_code == 0
    shown = flat(terminal_safe(listed))
    assert all(token in shown for token in MARKUP_TOKENS), shown
    again = cli(archive.config, "seeds", "list", "--json")
    assert [s["title"] for s in json.loads(again.stdout)][1].startswith(MARKUP)


@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["show", "--version", "1"],
        ["history"],
        ["diff", "--format", "terminal"],
        ["diff", "--against-seed", "--seed", "2", "--format", "terminal"],
    ],
)
def test_markup_in_titles_and_text_is_printed_literally(
    archive: Archive, command: list[str]
) -> None:
    result = cli(archive.config, command[0], archive.evil, *command[1:])
    assert result.exit_code in (0, 1), result.output
    shown = flat(terminal_safe(result))
    assert all(flat(token) in shown for token in MARKUP_TOKENS), shown


def test_search_prints_markup_literally(archive: Archive) -> None:
    result = cli(archive.config, "search", "해킹시도")
    assert result.exit_code == 0
    shown = terminal_safe(result)
    assert all(token in shown for token in MARKUP_TOKENS), shown


def test_markup_in_a_verify_problem_is_printed_literally(archive: Archive, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(archive.store, store)
    # A catalog row disagreeing with its WARC record, the URL planted by an attacker.
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        db.execute(
            "UPDATE captures SET url = ? WHERE id = (SELECT MIN(id) FROM captures"
            " WHERE warc_file IS NOT NULL)",
            (f"http://x/{MARKUP}{HOSTILE}",),
        )
    db.close()
    result = cli_store(store, "verify")
    assert result.exit_code == 1, result.output
    shown = terminal_safe(result)
    assert "checked" in shown and "1 problems" in shown
    assert f"catalog says http://x/{MARKUP}" in shown


# --- row 12: queries nested or long enough to exhaust the parser ---------------------------


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        ("(" * 300, "nest"),
        ("(" * 300 + "올트먼" + ")" * 300, "nest"),
        ("NOT " * 50 + "올트먼", "nest"),
        ("NOT " * 1000 + "올트먼", "words"),
        ("올트먼 " + "-" * 1000 + "올트먼", "nest"),
        ("올트먼 " + "NOT -" * 30 + "x", "nest"),
        ("올트먼 " * 5000, "words"),
        ("올트먼 OR " * 2000 + "x", "words"),
        ('"올트먼" ' * 1000, "words"),
        ("(올트먼) " * 1000, "words"),
    ],
)
def test_deep_or_long_queries_are_one_line_exit_2(archive: Archive, query: str, limit: str) -> None:
    message = one_line_error(cli(archive.config, "search", query))
    assert limit in message
    assert str(MAX_DEPTH if limit == "nest" else MAX_TERMS) in message


def test_queries_within_the_limits_still_work(archive: Archive) -> None:
    nested = "(" * (MAX_DEPTH - 1) + "해킹시도" + ")" * (MAX_DEPTH - 1)
    words = " ".join(["해킹시도"] * MAX_TERMS)
    odd = MAX_DEPTH - 1 if MAX_DEPTH % 2 == 0 else MAX_DEPTH  # NOT NOT x is x
    for query in (nested, words, "해킹시도 " + "NOT " * odd + "없는말"):
        result = cli(archive.config, "search", query, "--json")
        assert result.exit_code == 0, (query[:40], result.output)
        assert archive.evil in {h["url"] for h in json.loads(result.stdout)}


def test_parser_never_recurses_out_of_stack() -> None:
    for query in ("(" * 100_000, "NOT " * 100_000 + "x", "-" * 100_000 + "x", "x " * 100_000):
        with pytest.raises(QueryError, match="at most"):
            parse(query)


# --- row 13: numbers too big for the catalog -------------------------------------------------

HUGE = "99999999999999999999999"


NUMBERED: dict[str, tuple[Callable[[Archive, str], list[str]], str]] = {
    "show --version": (lambda a, n: ["show", a.evil, "--version", n], "no version {n} of"),
    "show seed:N": (lambda a, n: ["show", f"seed:{n.lstrip('-')}"], "no seed with id {n}"),
    "diff --from": (lambda a, n: ["diff", a.evil, "--from", n], "no version {n} of"),
    "diff --to": (lambda a, n: ["diff", a.evil, "--to", n], "no version {n} of"),
    "diff --against-seed --to": (
        lambda a, n: ["diff", a.evil, "--against-seed", "--to", n],
        "no version {n} of",
    ),
    "diff --against-seed --seed": (
        lambda a, n: ["diff", a.evil, "--against-seed", "--seed", n],
        "no seed with id {n}",
    ),
    "report --run": (lambda a, n: ["report", "--run", n], "no crawl run with id {n}"),
}


@pytest.mark.parametrize("huge", [HUGE, "-" + HUGE, str(2**63), str(-(2**63) - 1)])
@pytest.mark.parametrize("option", NUMBERED)
def test_huge_numbers_are_not_found_exit_2(archive: Archive, option: str, huge: str) -> None:
    command, expected = NUMBERED[option]
    message = one_line_error(cli(archive.config, *command(archive, huge)))
    number = huge.lstrip("-") if option == "show seed:N" else huge
    assert expected.format(n=number) in message, message
    if "version" in expected:
        assert message.endswith(f" of {archive.evil}")


@pytest.mark.parametrize("ref", ["seed:²", "seed:١٢", "seed:", "seed:-1", "seed:1.5", "seed:0"])
def test_odd_seed_references_are_not_found_exit_2(archive: Archive, ref: str) -> None:
    assert "no seed" in one_line_error(cli(archive.config, "show", ref))


def test_huge_version_of_an_unknown_page_says_the_page_is_unknown(archive: Archive) -> None:
    result = cli(archive.config, "show", archive.site.url("/nothing"), "--version", HUGE)
    assert "no archived page for" in one_line_error(result)


# --- row 20 (part): site:HOST alone lists the site's pages ----------------------------------


def test_site_alone_lists_the_sites_pages_newest_first(archive: Archive) -> None:
    def urls(*args: str) -> list[str]:
        result = cli(archive.config, "search", *args, "--json")
        assert result.exit_code == 0, result.output
        return [h["url"] for h in json.loads(result.stdout)]

    dated = [archive.site.url(p) for p in ("/99720", "/99710", "/99700", "/99663")]
    listed = urls("site:127.0.0.1", "--limit", "100")
    # Newest first by publication date; a page without one (/evil) by its fetch time.
    assert listed == [archive.evil, *dated]
    assert urls("site:127.0.0.1", "--limit", "2") == listed[:2]
    assert urls("site:127.0.0.1", "--any", "--limit", "100") == listed
    assert urls("site:www.127.0.0.1", "--limit", "100") == listed
    assert urls("site:127.0.0.1 -해킹시도", "--limit", "100") == dated
    assert urls("site:127.0.0.1 OR site:example.com", "--limit", "100") == listed
    assert urls("site:example.com") == []
    assert urls("site:127.0.0.1", "--since", "2023-11-23", "--limit", "100") == dated[:2]
    every = urls("site:127.0.0.1", "--all-versions", "--limit", "100")
    assert every[:2] == [archive.evil, archive.evil] and every[2:] == dated
    printed = cli(archive.config, "search", "site:127.0.0.1")
    assert printed.exit_code == 0 and "1. " in printed.stdout and "5. " in printed.stdout
    still = one_line_error(cli(archive.config, "search", "NOT site:127.0.0.1"))
    assert "only excludes" in still
