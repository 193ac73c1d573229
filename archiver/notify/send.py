"""Delivery through Apprise: the one module that imports it (an import-linter contract).

Apprise loads only when a message is checked or sent (``import apprise`` and its plugins
cost a few tenths of a second), never on the start-up path of other commands.

Each attempt uses a fresh Apprise service object with the entry's timeout as its connect
and read timeout, so that a slow receiver costs at most ``timeout`` per attempt; attempts
are spaced by a doubling backoff. Apprise's own log lines are kept off the user's stderr
and become the attempt's error, with every secret from the environment masked.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from archiver.config import NotifyEntry
from archiver.errors import ConfigError

log = logging.getLogger(__name__)

BACKOFF = 0.5  # seconds before the second attempt; doubled before each next one
MAX_ERROR = 300  # characters of an error kept


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    error: str | None = None  # the last attempt's, secrets masked


def _apprise() -> Any:
    import apprise

    # Its lines (and any secret a plugin might log) reach the user as our one-line errors
    # only; the NullHandler keeps Python's last-resort handler from printing them.
    quiet = logging.getLogger("apprise")
    if quiet.propagate:
        quiet.propagate = False
        quiet.addHandler(logging.NullHandler())
    return apprise


def _service(entry: NotifyEntry, where: str = "notify.url") -> Any:
    """The Apprise service object of ``entry``; ConfigError (one line) if Apprise cannot
    read its URL. The URL is never quoted: it may hold a password."""
    apprise = _apprise()
    with warnings.catch_warnings():
        # apprise 2.3's plugins import imghdr (deprecated since Python 3.11) as they load
        warnings.simplefilter("ignore", DeprecationWarning)
        service = apprise.Apprise.instantiate(entry.target())
    if service is None:
        scheme = urlsplit(entry.url).scheme or "?"
        raise ConfigError(
            f"{where}: a {scheme}:// URL that Apprise cannot use (an unknown service, or a"
            " part it needs is missing or malformed)"
        )
    return service


def check(entries: tuple[NotifyEntry, ...], where: str) -> None:
    """Raise ConfigError for the first entry Apprise cannot read (at config load of the
    commands that send)."""
    for number, entry in enumerate(entries, 1):
        _service(entry, f"{where}: key 'notify.url' of [[notify]] {number}")


def label_of(entry: NotifyEntry) -> str:
    """Where an entry sends to, for people: Apprise's privacy form of its URL (passwords
    and tokens shortened to ``****`` or ``1...p``) without the query string, and with any
    secret from the environment masked; the scheme and host (or service id) stay."""
    try:
        shown = str(_service(entry).url(privacy=True)).partition("?")[0]
    except ConfigError:  # not an Apprise URL that works: mask what a URL may hold
        parts = urlsplit(entry.url)
        user, at, host = parts.netloc.rpartition("@")
        name = user.partition(":")[0]
        shown = f"{parts.scheme}://{name}{':****' if ':' in user else ''}{at}{host}{parts.path}"
    return _masked(entry, shown)


def _masked(entry: NotifyEntry, text: str) -> str:
    for value, name in entry.secrets():
        text = text.replace(value, name)
    return text


def deliver(entry: NotifyEntry, title: str, body: str) -> Delivery:
    """Send one message, trying up to ``entry.attempts`` times; never raises."""
    error = "not tried"
    for attempt in range(1, entry.attempts + 1):
        if attempt > 1:
            time.sleep(BACKOFF * 2 ** (attempt - 2))
        started = time.monotonic()
        try:
            ok, error = _attempt(entry, title, body)
        except Exception as exc:  # noqa: BLE001 - a plugin's bug is one failed attempt
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if ok:
            return Delivery(True, attempt)
        if time.monotonic() - started >= entry.timeout * 0.9:
            error = f"no answer within {entry.timeout:g} s ({error})"
        error = " ".join(_masked(entry, error).split())[:MAX_ERROR]
        log.info("notify %s: attempt %d failed: %s", label_of(entry), attempt, error)
    return Delivery(False, entry.attempts, error)


def _attempt(entry: NotifyEntry, title: str, body: str) -> tuple[bool, str]:
    apprise = _apprise()
    service = _service(entry)
    service.socket_connect_timeout = entry.timeout
    service.socket_read_timeout = entry.timeout
    sender = apprise.Apprise()
    sender.add(service)
    result = sender.notify(
        body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN, log_level=logging.INFO
    )
    if result:
        return True, ""
    said = [
        entry_.message
        for entry_ in result.logs()
        if entry_.level in ("WARNING", "ERROR", "CRITICAL")
    ]
    return False, "; ".join(said) or "the service did not accept the message"
