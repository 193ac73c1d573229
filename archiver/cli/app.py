"""The command group, its options, and how errors reach the user.

Domain errors (:class:`ArchiverError`) become a one-line message on stderr and the exit
status of their kind (2 for bad input, 1 otherwise; `diff` follows diff(1)); anything
else becomes one line too, its traceback only with --verbose.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from archiver._version import __version__
from archiver.config import Config, load_config
from archiver.errors import ArchiverError
from archiver.storage.store import Store

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_CONFIG = "config/archiver.toml"

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Context:
    def __init__(self, config_path: str | None, store_path: str | None) -> None:
        self.config_path = config_path
        self.store_path = store_path
        self._config: Config | None = None

    def config(self) -> Config:
        if self._config is None:
            path = self.config_path or DEFAULT_CONFIG
            self._config = load_config(path, store_override=self.store_path)
        return self._config

    def store(self) -> Store:
        if self.store_path and not self.config_path and not Path(DEFAULT_CONFIG).is_file():
            return Store(Path(self.store_path).resolve())
        return Store(self.config().store)


def _fail(message: str, code: int) -> None:
    click.echo(f"archiver: error: {message}", err=True)
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
            except KeyboardInterrupt:
                _fail("interrupted", 130)
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


def _json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


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
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("httpx", "httpcore", "hpack", "charset_normalizer", "apscheduler.scheduler"):
        # their per-request lines repeat ours; keep their warnings only
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    ctx.obj = Context(config_path, store_path)


pass_context = click.make_pass_decorator(Context)
