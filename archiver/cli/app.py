"""The command group, its options, and how errors reach the user.

Domain errors (:class:`ArchiverError`) become a one-line message on stderr and the exit
status of their kind (2 for bad input, 1 otherwise; `diff` follows diff(1)); anything
else becomes one line too, its traceback only with --verbose.

Archived text (titles, authors, URLs, page text, server error messages, seed posts) is
written by strangers, so nothing the CLI prints to a terminal is obeyed by it: the
consoles ``out`` and ``err`` never parse Rich markup or emoji codes and strip terminal
control (:func:`clean`) from everything they render, and every other way out (error
lines, log lines, text written to stdout) goes through :func:`clean` too. JSON output
keeps the archived text exactly: JSON escapes C0 controls itself, and :func:`_json`
escapes DEL, C1 and bidi controls as well (``\\u009b``), which a JSON reader decodes back.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterable
from itertools import accumulate
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Span, Text

from archiver._version import __version__
from archiver.config import CATALOG_ENV, Config, catalog_setting, load_config
from archiver.errors import ArchiverError
from archiver.storage.store import Store

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")
DEFAULT_CONFIG = "config/archiver.toml"

# Terminal control that archived text must not carry to a terminal: whole escape
# sequences first (so that no "[2J" is left behind), then any single control character.
_UNSAFE = re.compile(
    # OSC, DCS, SOS, PM, APC strings (window titles, hyperlinks, queries), up to BEL or ST
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x90-\x9f]*(?:\x07|\x1b\\|\x9c)"
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"  # CSI: colours, cursor, clear
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]"  # other escapes: ESC c (reset), ESC ( 0, ESC 7
    # C0 but tab and newline, DEL, C1, and the bidi embeddings, overrides and isolates
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` as a terminal may show it: escape sequences and control characters
    (C0 but newline and tab, DEL, C1, bidi overrides) removed, the rest kept."""
    return _UNSAFE.sub("", text) if _UNSAFE.search(text) else text


def _cleaner(text: str) -> tuple[str, Callable[[int], int]]:
    """``clean(text)``, and where each offset into ``text`` lands in it."""
    removed = [match.span() for match in _UNSAFE.finditer(text)]
    if not removed:
        return text, lambda offset: offset
    starts = [start for start, _ in removed]
    before = [0, *accumulate(end - start for start, end in removed)]

    def kept(offset: int) -> int:  # characters kept before ``offset``
        i = bisect_left(starts, offset)  # removed runs starting before it
        if i == 0:
            return offset
        start, end = removed[i - 1]
        return offset - before[i - 1] - (min(end, offset) - start)

    return _UNSAFE.sub("", text), kept


def clean_spans(text: str, spans: Iterable[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """``clean(text)``, and ``spans`` (offsets into ``text``, such as search highlights)
    moved onto the same characters of it; spans left empty are dropped."""
    cleaned, kept = _cleaner(text)
    moved = [(kept(start), kept(end)) for start, end in spans]
    return cleaned, [(start, end) for start, end in moved if end > start]


def clean_text(text: Text) -> Text:
    """A Text without terminal control, its styles kept on the same characters.

    Rich drops BEL and CR when it makes a Text, so a sequence they ended can no longer
    be found whole: strings are cleaned before they become Texts (``print`` and table
    cells do it); this is the net under that."""
    plain = text.plain
    cleaned, kept = _cleaner(plain)
    if cleaned is plain:
        return text
    copy = text.blank_copy(cleaned)
    copy.spans = [
        Span(kept(span.start), kept(span.end), span.style)
        for span in text.spans
        if kept(span.end) > kept(span.start)
    ]
    return copy


def scrub(record: R) -> R:
    """A copy of ``record`` (dataclasses, lists, tuples, dicts of them) with every string
    cleaned: for renderers that make Texts of archived strings themselves."""
    value: Any = record
    if isinstance(value, str):
        value = clean(value)
    elif isinstance(value, list | tuple):
        items = [scrub(item) for item in value]
        value = type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    elif isinstance(value, dict):
        value = {key: scrub(item) for key, item in value.items()}
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.replace(
            value,
            **{f.name: scrub(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init},
        )
    return cast(R, value)


class SafeConsole(Console):
    """A console for archived text: no markup or emoji codes are ever parsed, and no
    terminal control is ever written, whatever the strings and Texts it is given
    (inside tables and groups too)."""

    def __init__(self, **options: Any) -> None:  # Console's (stderr, file, force_terminal...)
        options.update(markup=False, emoji=False, highlight=False, soft_wrap=True)
        super().__init__(**options)

    def render_str(self, text: str, **options: Any) -> Text:
        options.update(markup=False, emoji=False)
        return super().render_str(clean(text), **options)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        if isinstance(renderable, Text):
            renderable = clean_text(renderable)
        for segment in super().render(renderable, options):
            # Anything another renderable lets through; Rich's own control codes
            # (cursor moves of a progress bar) are marked as such and kept.
            if not segment.control and _CONTROL.search(segment.text):
                segment = Segment(_CONTROL.sub("", segment.text), segment.style)
            yield segment


out = SafeConsole()
err = SafeConsole(stderr=True)


class _CleanFormatter(logging.Formatter):
    """Log lines carry URLs and error messages from servers: cleaned like the rest."""

    def format(self, record: logging.LogRecord) -> str:
        return clean(super().format(record))


class Context:
    def __init__(self, config_path: str | None, store_path: str | None) -> None:
        self.config_path = config_path
        self.store_path = store_path
        self._config: Config | None = None
        self._notify_checked = False

    def config(self, *, sending: bool = False) -> Config:
        """The config; ``sending`` (commands that notify): its [[notify]] URLs checked by
        Apprise too, which loads only then (it costs a cold start tenths of a second)."""
        if self._config is None:
            path = self.config_path or DEFAULT_CONFIG
            self._config = load_config(path, store_override=self.store_path)
        if sending and self._config.notify and not self._notify_checked:
            from archiver.notify import check

            check(self._config.notify, str(self._config.path or DEFAULT_CONFIG))
            self._notify_checked = True
        return self._config

    def store(self) -> Store:
        if self.store_path and not self.config_path and not Path(DEFAULT_CONFIG).is_file():
            return Store(Path(self.store_path).resolve(), catalog_setting(f"${CATALOG_ENV}", None))
        return Store.from_config(self.config())


def _fail(message: str, code: int) -> None:
    one_line = " ".join(clean(message).splitlines())  # may quote a URL, a title
    click.echo(f"archiver: error: {one_line}", err=True)
    sys.exit(code)


def handle_errors(trouble_code: int | None = None) -> Callable[[F], F]:
    """Map ArchiverError to a one-line message; ``trouble_code`` overrides every code."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except ArchiverError as exc:
                _fail(str(exc), trouble_code if trouble_code is not None else exc.exit_code)
            except KeyboardInterrupt as exc:  # a crawl says which run it recorded
                _fail(str(exc) or "interrupted", 130)
            except OSError as exc:  # a full disk, a vanished file: still one line
                logging.getLogger("archiver").debug("system error", exc_info=True)
                _fail(
                    f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
                    trouble_code if trouble_code is not None else 1,
                )
            except Exception as exc:  # a bug: one line, the traceback only with --verbose
                logging.getLogger("archiver").debug("internal error", exc_info=True)
                _fail(
                    f"internal error ({type(exc).__name__}: {exc}); rerun with --verbose"
                    " and report it",
                    trouble_code if trouble_code is not None else 1,
                )

        return wrapper  # type: ignore[return-value]

    return decorate


def json_text(text: str) -> str:
    """JSON text with DEL, C1 and bidi controls escaped too (json escapes only C0): the
    same data for a JSON reader, nothing a terminal would obey."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _json(data: object) -> None:
    click.echo(json_text(json.dumps(data, ensure_ascii=False, indent=2)))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"Config file (default: {DEFAULT_CONFIG}).",
)
@click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False),
    help="Archive root (default: store.path from the config).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every event.")
@click.option("-q", "--quiet", is_flag=True, help="Log errors only.")
@click.version_option(__version__, prog_name="archiver")
@click.pass_context
def main(
    ctx: click.Context, config_path: str | None, store_path: str | None, verbose: bool, quiet: bool
) -> None:
    """Archive a news story and its sources from a seed post."""
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CleanFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    for noisy in ("httpx", "httpcore", "hpack", "charset_normalizer", "apscheduler.scheduler"):
        # their per-request lines repeat ours; keep their warnings only
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # The work queue logs each failure with its traceback; archiver says it in one line.
    for noisy in ("procrastinate", "psycopg.pool"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.CRITICAL)
    ctx.obj = Context(config_path, store_path)


pass_context = click.make_pass_decorator(Context)
