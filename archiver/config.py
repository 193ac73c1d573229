"""Load and validate ``archiver.toml``.

Every key is checked against a known schema so that a typo is a one-line error naming
the key and the file, never a silent default. Relative paths resolve against the
folder of the config file.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archiver.errors import ConfigError
from archiver.text.ignore import IgnoreRule

DEFAULT_USER_AGENT = "archiver/0.1 (+https://github.com/archiver-project/archiver)"


@dataclass(frozen=True)
class CrawlConfig:
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 30.0
    max_bytes: int = 20_000_000
    concurrency: int = 8
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    retries: int = 3
    respect_robots: bool = True
    allow_private_networks: bool = False
    follow_depth: int = 1
    follow_hosts: tuple[str, ...] = ()
    follow_threshold: float = 0.2
    follow_budget: int = 20
    max_redirects: int = 10
    warc_max_size: int = 1_000_000_000
    warc_max_age: str = "1h"  # a WARC file older than this is closed (and, on S3, uploaded)
    render: str = "never"  # "never" | "auto" | "always": pages rendered in headless Chromium
    render_timeout: float = 20.0  # seconds for a rendered page to load and settle


@dataclass(frozen=True)
class ScheduleConfig:
    every: str | None = "6h"
    cron: str | None = None
    jitter: str = "0s"  # durations: a number with an s/m/h/d suffix
    misfire_grace_time: str = "6h"
    lock_wait: str = "30s"


@dataclass(frozen=True)
class RetentionConfig:
    keep_last: int = 0  # 0: no rule by count
    keep_days: float = 0.0  # 0: no rule by age


@dataclass(frozen=True)
class RemoteWarc:
    """Where WARC files go once closed: an S3 bucket and key prefix (``[store] warc``).

    Holds no credentials, ever: boto3 reads them from the environment
    (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_PROFILE).
    """

    bucket: str
    prefix: str = ""  # "" or ends with "/"
    endpoint: str | None = None  # an S3-compatible server; None: AWS
    region: str = "us-east-1"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def object_url(self, name: str) -> str:
        """The HTTP URL of WARC file ``name`` (path style on an S3-compatible server)."""
        if self.endpoint:
            return f"{self.endpoint.rstrip('/')}/{self.bucket}/{self.prefix}{name}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{self.prefix}{name}"


NOTIFY_EVENTS = ("follow_up", "changed", "claim", "error")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class NotifyEntry:
    """A ``[[notify]]`` entry: where messages go (an Apprise URL), for which events.

    ``url`` is kept as written, ``${VAR}`` references unexpanded: it is what is shown and
    what identifies the entry, so that no secret from the environment is ever stored,
    logged or reported; :meth:`target` expands it only to send.
    """

    url: str
    on: tuple[str, ...] = NOTIFY_EVENTS
    min_relevance: float | None = None  # follow-up pages scored lower are left out
    url_prefix: str | None = None  # only pages whose URL starts with this
    error_runs: int = 3  # `error`: a URL failing this many runs in a row
    timeout: float = 10.0  # seconds per delivery attempt
    attempts: int = 3  # tries per run, with backoff between them

    @property
    def key(self) -> str:
        """A stable name of the entry in the catalog: a digest of its URL as written."""
        return hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:16]

    def target(self) -> str:
        """The URL with ``${VAR}`` expanded from the environment (ConfigError if unset)."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"notify.url: environment variable {name} is not set")
            return os.environ[name]

        return _ENV_REF.sub(value, self.url)

    def secrets(self) -> list[tuple[str, str]]:
        """(value, ``${NAME}``) of every variable the URL uses: what to mask in messages."""
        names = _ENV_REF.findall(self.url)
        return [(os.environ[n], f"${{{n}}}") for n in names if os.environ.get(n)]


@dataclass(frozen=True)
class Config:
    path: Path | None
    store: Path
    catalog: str | None = None  # a postgresql:// DSN (cluster mode); None: <store>/catalog.sqlite3
    seeds: tuple[Path, ...] = ()
    seed_urls: tuple[str, ...] = ()  # [[seeds]] url: seed posts by their address (issue 20)
    targets: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    ignore: tuple[IgnoreRule, ...] = ()  # changes that do not count in diffs (issue 6)
    warc_remote: RemoteWarc | None = None  # None: WARC files stay in <store>/warc/
    target_render: tuple[tuple[str, str], ...] = ()  # ([[targets]] url, its own render mode)
    notify: tuple[NotifyEntry, ...] = ()  # [[notify]]: messages after each run (issue 16)
    serve_url: str | None = None  # [serve] public_url: where `archiver serve` is reached


_TOP_KEYS = {
    "store",
    "seeds",
    "targets",
    "feeds",
    "crawl",
    "schedule",
    "retention",
    "ignore",
    "aliases",
    "notify",
    "serve",
}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The longest duration or age a key takes: beyond it dates overflow (datetime ends in
# year 9999) and nobody means it.
MAX_DAYS = 36500
_MAX_SECONDS = MAX_DAYS * 86400
_MAX_INT = 2**63 - 1  # TOML's integers are 64-bit; tomllib reads any size


def parse_duration(text: str, *, key: str = "duration", where: str = "<config>") -> float:
    """Seconds in "30s", "5m", "6h", "1.5d"; a ConfigError naming ``key`` otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ConfigError(
            f"{where}: key '{key}' must be a number with an s, m, h or d"
            f' suffix (like "6h"), got {_shown(text)}'
        )
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not seconds <= _MAX_SECONDS:  # also inf, from a number too long for a float
        raise ConfigError(f"{where}: key '{key}' must be at most {MAX_DAYS}d, got {_shown(text)}")
    return seconds


def _shown(value: object, limit: int = 60) -> str:
    """A value for an error message: repr, cut short (a message stays one short line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "…" + text[-4:]


def _schedule(where: str, raw: dict[str, Any]) -> ScheduleConfig:
    schedule: ScheduleConfig = _dataclass_from(ScheduleConfig, where, "schedule", raw)
    if "every" in raw and "cron" in raw:
        raise ConfigError(f"{where}: set 'schedule.every' or 'schedule.cron', not both")
    if schedule.cron is not None:  # cron replaces the default interval
        schedule = replace(schedule, every=None)
    for name in ("every", "jitter", "misfire_grace_time", "lock_wait"):
        value = getattr(schedule, name)
        if value is not None:
            seconds = parse_duration(value, key=f"schedule.{name}", where=where)
            if seconds <= 0 and name in ("every", "misfire_grace_time"):
                raise ConfigError(f"{where}: key 'schedule.{name}' must be more than 0")
    return schedule


def _ignore_rules(where: str, raw: Any) -> tuple[IgnoreRule, ...]:
    """``[[ignore]]`` tables: ``pattern`` (a regex) and/or ``whitespace = true``, for pages
    whose URL starts with ``url`` (all pages without it)."""
    rules = []
    for entry in _tables(where, raw, "ignore"):
        unknown = set(entry) - {"pattern", "whitespace", "url"}
        if unknown:
            raise ConfigError(f"{where}: unknown key 'ignore.{sorted(unknown)[0]}'")
        pattern, url = entry.get("pattern"), entry.get("url")
        whitespace = entry.get("whitespace", False)
        _check_type(where, "ignore.whitespace", whitespace, bool)
        if pattern is None and not whitespace:
            raise ConfigError(f"{where}: an [[ignore]] needs 'pattern' or 'whitespace = true'")
        compiled = None
        if pattern is not None:
            _check_type(where, "ignore.pattern", pattern, str)
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"{where}: 'ignore.pattern' {pattern!r}: {exc}") from exc
        if url is not None:
            _check_type(where, "ignore.url", url, str)
            url = _canonical_prefix(_http_url(where, "ignore.url", url, prefix=True))
        rules.append(IgnoreRule(compiled, whitespace, url))
    return tuple(rules)


def _aliases(where: str, raw: Any) -> tuple[IgnoreRule, ...]:
    """``[[aliases]]`` tables: ``names``, two or more spellings of one name (the first is
    the one shown), as comparison rules that apply to every page."""
    rules = []
    for entry in _tables(where, raw, "aliases"):
        unknown = set(entry) - {"names"}
        if unknown:
            raise ConfigError(f"{where}: unknown key 'aliases.{sorted(unknown)[0]}'")
        names: Any = entry.get("names")
        _check_type(where, "aliases.names", names, list)
        for name in names:
            _check_type(where, "aliases.names", name, str)
        cleaned = tuple(" ".join(n.split()) for n in names if n.strip())
        if len(cleaned) < 2:
            raise ConfigError(f"{where}: 'aliases.names' needs two or more names, got {names!r}")
        rules.append(IgnoreRule(aliases=cleaned))
    return tuple(rules)


def _check_type(where: str, key: str, value: Any, expected: type | tuple[type, ...]) -> None:
    # bool is an int in Python; a TOML `true` must not pass as a number.
    ok = isinstance(value, expected) and not (
        isinstance(value, bool) and expected in (int, float, (int, float))
    )
    if not ok:
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        raise ConfigError(f"{where}: key '{key}' must be {names}, got {value!r}")


def _tables(where: str, raw: Any, name: str) -> list[dict[str, Any]]:
    """The tables of a ``[[name]]`` array (none when the key is absent)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: '{name}' must be an array of tables ([[{name}]])")
    return [_table(where, item, name) for item in raw]


def _table(where: str, raw: Any, name: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: '{name}' must be a table")
    return raw


def _dataclass_from(
    cls: type, where: str, section: str, raw: dict[str, Any], **required: Any
) -> Any:
    """``cls`` from a TOML table, each value checked against its default's type;
    ``required`` are the fields without a default, already checked."""
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = dict(required)
    defaults = cls(**required)
    for key, value in raw.items():
        if key not in known or key in required:
            raise ConfigError(f"{where}: unknown key '{section}.{key}'")
        default = getattr(defaults, key)
        dotted = f"{section}.{key}"
        if isinstance(default, bool):
            _check_type(where, dotted, value, bool)
        elif isinstance(default, float):
            _check_type(where, dotted, value, (int, float))
            value = float(value)
        elif isinstance(default, int):
            _check_type(where, dotted, value, int)
        elif isinstance(default, tuple):
            _check_type(where, dotted, value, list)
            for item in value:
                _check_type(where, dotted, item, str)
            value = tuple(value)
        elif value is not None:
            _check_type(where, dotted, value, str)
        if isinstance(value, int | float) and not isinstance(value, bool):
            _check_number(where, dotted, value)
        values[key] = value
    return cls(**values)


# Bounds beyond "not negative" (low, whether low itself is allowed, high): a value
# outside them would make every fetch fail or a date overflow, so it is refused when the
# config loads instead.
_BOUNDS: dict[str, tuple[float, bool, float]] = {
    "crawl.timeout": (0, False, 86400),
    "crawl.max_bytes": (1, True, _MAX_INT),
    "crawl.concurrency": (1, True, _MAX_INT),
    "crawl.per_host_concurrency": (1, True, _MAX_INT),
    "crawl.per_host_delay": (0, True, 86400),
    "crawl.follow_threshold": (0, True, 1),
    "notify.min_relevance": (0, True, 1),
    "notify.error_runs": (1, True, 1000),
    "notify.timeout": (0, False, 600),
    "notify.attempts": (1, True, 10),
    "retention.keep_days": (0, True, MAX_DAYS),
}


def _check_number(where: str, key: str, value: float) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: key '{key}' must be a finite number, got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}: key '{key}' must not be negative")
    low, low_allowed, high = _BOUNDS.get(key, (0, True, _MAX_INT))
    if value < low or (value == low and not low_allowed):
        bound = f"at least {_number(low)}" if low_allowed else f"more than {_number(low)}"
        raise ConfigError(f"{where}: key '{key}' must be {bound}, got {_shown(value)}")
    if value > high:
        bound = "between 0 and 1" if (low, high) == (0, 1) else f"at most {_number(high)}"
        raise ConfigError(f"{where}: key '{key}' must be {bound}, got {_shown(value)}")


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


RENDER_MODES = ("never", "auto", "always")


def _url_list(where: str, raw: Any, name: str) -> tuple[str, ...]:
    return tuple(url for url, _ in _url_entries(where, raw, name))


def _url_entries(where: str, raw: Any, name: str) -> list[tuple[str, str | None]]:
    """(url, render mode or None) per [[name]] entry; only [[targets]] take ``render``."""
    entries: list[tuple[str, str | None]] = []
    for entry in _tables(where, raw, name):
        unknown = set(entry) - ({"url", "render"} if name == "targets" else {"url"})
        if unknown:
            raise ConfigError(f"{where}: unknown key '{name}.{sorted(unknown)[0]}'")
        url = entry.get("url")
        _check_type(where, f"{name}.url", url, str)
        mode = entry.get("render")
        if mode is not None:
            _check_render(where, f"{name}.render", mode)
        entries.append((_http_url(where, f"{name}.url", str(url)), mode))
    return entries


def _check_render(where: str, key: str, mode: Any) -> None:
    if mode not in RENDER_MODES:
        raise ConfigError(
            f"{where}: key '{key}' must be one of {', '.join(map(repr, RENDER_MODES))},"
            f" got {_shown(str(mode))}"
        )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _http_url(where: str, key: str, url: str, *, prefix: bool = False) -> str:
    """An http(s) URL (the scheme in any case) with a host, stripped; ConfigError else.

    The frontier canonicalises URLs (scheme and host lower-cased) before fetching them.
    """
    url = url.strip()
    what = "URL prefix" if prefix else "URL"
    problem = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme.lower() not in ("http", "https") or "://" not in url:
            problem = "not http(s)"
        elif not parts.hostname:
            problem = "no host"
        elif _CONTROL.search(url):
            problem = "a control character in it"
        elif any(c.isspace() for c in parts.netloc):
            # A space in the path or query is sent percent-encoded, as a browser does.
            problem = "a space in its host"
    if problem is not None:
        raise ConfigError(
            f"{where}: '{key}' must be an http(s) {what}, got {_shown(url)} ({problem})"
        )
    return url


def load_config(path: str | Path, *, store_override: str | Path | None = None) -> Config:
    """Read and validate a TOML config file; raise ConfigError with a one-line reason."""
    path = Path(path)
    where = str(path)
    try:
        # utf-8-sig: a byte order mark, as some Windows editors write, is no TOML error.
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{where}: config file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from exc
    except (OSError, ValueError) as exc:  # UnicodeDecodeError; ValueError: a NUL in the path
        raise ConfigError(f"{where}: cannot read config: {exc}") from exc
    return config_from_dict(data, base=path.parent, source=path, store_override=store_override)


def config_from_dict(
    data: dict[str, Any],
    *,
    base: Path,
    source: Path | None = None,
    store_override: str | Path | None = None,
) -> Config:
    """Validate an already-parsed config mapping (paths resolve against ``base``)."""
    where = str(source) if source else "<config>"
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{where}: unknown key '{key}'")
    store_table = _table(where, data.get("store"), "store")
    unknown = set(store_table) - {"path", "catalog", "warc", "warc_endpoint", "warc_region"}
    if unknown:
        raise ConfigError(f"{where}: unknown key 'store.{sorted(unknown)[0]}'")
    catalog = catalog_setting(f"{where}: key 'store.catalog'", store_table.get("catalog"))
    warc_remote = _warc_remote(where, store_table)
    store_path = store_table.get("path", "store")
    _check_type(where, "store.path", store_path, str)
    if store_override is not None:
        store = _store_folder("--store", Path.cwd(), str(store_override))
    else:
        store = _store_folder(f"{where}: key 'store.path'", base, store_path)

    seeds_raw = data.get("seeds") or []
    if not isinstance(seeds_raw, list):
        raise ConfigError(f"{where}: 'seeds' must be an array of tables ([[seeds]])")
    seeds: list[Path] = []
    seed_urls: list[str] = []
    for item in seeds_raw:
        entry = _table(where, item, "seeds")
        unknown = set(entry) - {"path", "url"}
        if unknown:
            raise ConfigError(f"{where}: unknown key 'seeds.{sorted(unknown)[0]}'")
        if ("path" in entry) == ("url" in entry):
            raise ConfigError(f"{where}: each [[seeds]] entry needs one of 'path' or 'url'")
        if "url" in entry:
            _check_type(where, "seeds.url", entry["url"], str)
            seed_urls.append(_http_url(where, "seeds.url", str(entry["url"])))
            continue
        seed_path = entry.get("path")
        _check_type(where, "seeds.path", seed_path, str)
        seeds.append(_resolved(f"{where}: key 'seeds.path'", base, str(seed_path)))

    crawl = _dataclass_from(CrawlConfig, where, "crawl", _table(where, data.get("crawl"), "crawl"))
    _check_crawl(where, crawl)
    if warc_remote is not None and crawl.warc_max_size > MAX_S3_WARC_SIZE:
        # One PUT carries at most 5 GB; a file may pass warc_max_size by one record.
        raise ConfigError(
            f"{where}: key 'crawl.warc_max_size' must be at most {MAX_S3_WARC_SIZE} with"
            f" WARC files on S3 (one upload carries at most 5 GB), got {crawl.warc_max_size}"
        )
    schedule = _schedule(where, _table(where, data.get("schedule"), "schedule"))
    retention = _dataclass_from(
        RetentionConfig, where, "retention", _table(where, data.get("retention"), "retention")
    )
    targets = _url_entries(where, data.get("targets"), "targets")
    return Config(
        path=source,
        store=store,
        catalog=catalog,
        seeds=tuple(seeds),
        seed_urls=tuple(seed_urls),
        targets=tuple(url for url, _ in targets),
        feeds=_url_list(where, data.get("feeds"), "feeds"),
        crawl=crawl,
        schedule=schedule,
        retention=retention,
        ignore=_ignore_rules(where, data.get("ignore")) + _aliases(where, data.get("aliases")),
        target_render=tuple((url, mode) for url, mode in targets if mode is not None),
        warc_remote=warc_remote,
        notify=_notify_entries(where, data.get("notify")),
        serve_url=_serve_url(where, data.get("serve")),
    )


_NOTIFY_KEYS = {f.name for f in fields(NotifyEntry)}
# An Apprise URL: a scheme, "://", and anything (each service reads the rest its own
# way; archiver.notify.send checks it with Apprise itself before a crawl sends).
_APPRISE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")


def _notify_entries(where: str, raw: Any) -> tuple[NotifyEntry, ...]:
    """``[[notify]]`` tables. The URL's form and its ``${VAR}`` references are checked
    here; whether Apprise knows the service is checked by the commands that send."""
    entries: list[NotifyEntry] = []
    for table in _tables(where, raw, "notify"):
        if "url" not in table:
            raise ConfigError(f"{where}: a [[notify]] needs 'url' (an Apprise URL)")
        url = table["url"]
        _check_type(where, "notify.url", url, str)
        url = url.strip()
        if not _APPRISE_URL.fullmatch(url) or _CONTROL.search(url):
            # not quoted: the URL may hold a password
            raise ConfigError(
                f"{where}: key 'notify.url' must be an Apprise URL like"
                ' "mailto://user@example.org" or "json://host/path"'
            )
        for name in _ENV_REF.findall(url):
            if name not in os.environ:
                raise ConfigError(
                    f"{where}: key 'notify.url' uses ${{{name}}}, which is not set in the"
                    " environment"
                )
        rest = {k: v for k, v in table.items() if k not in ("url", "min_relevance")}
        entry: NotifyEntry = _dataclass_from(NotifyEntry, where, "notify", rest, url=url)
        if "min_relevance" in table:  # no default: its type is checked here
            relevance = table["min_relevance"]
            _check_type(where, "notify.min_relevance", relevance, (int, float))
            _check_number(where, "notify.min_relevance", relevance)
            entry = replace(entry, min_relevance=float(relevance))
        for event in entry.on:
            if event not in NOTIFY_EVENTS:
                raise ConfigError(
                    f"{where}: key 'notify.on' takes {', '.join(NOTIFY_EVENTS)};"
                    f" got {_shown(event)}"
                )
        if not entry.on:
            raise ConfigError(f"{where}: key 'notify.on' must name at least one event")
        if entry.url_prefix is not None:
            entry = replace(
                entry,
                url_prefix=_canonical_prefix(
                    _http_url(where, "notify.url_prefix", entry.url_prefix, prefix=True)
                ),
            )
        if any(e.url == entry.url for e in entries):
            # the URL names the entry in the catalog: one message per run and entry
            raise ConfigError(
                f"{where}: two [[notify]] entries have the same 'url'; give one entry all"
                " its events in 'on'"
            )
        entries.append(entry)
    return tuple(entries)


def _canonical_prefix(url: str) -> str:
    """Page URLs are canonical: scheme and host lower-case."""
    scheme, rest = url.split("://", 1)
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def _serve_url(where: str, raw: Any) -> str | None:
    """``[serve] public_url``: the address people reach `archiver serve` at (behind a
    proxy, say), for links in notifications."""
    table = _table(where, raw, "serve")
    unknown = set(table) - {"public_url"}
    if unknown:
        raise ConfigError(f"{where}: unknown key 'serve.{sorted(unknown)[0]}'")
    url = table.get("public_url")
    if url is None:
        return None
    _check_type(where, "serve.public_url", url, str)
    return _http_url(where, "serve.public_url", url).rstrip("/")


MAX_S3_WARC_SIZE = 4_000_000_000
# S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens (what every
# S3-compatible server accepts).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9-]{1,40}")


def _warc_remote(where: str, table: dict[str, Any]) -> RemoteWarc | None:
    """``[store] warc`` ("local", the default, or "s3://bucket/prefix"), with
    ``warc_endpoint`` and ``warc_region``. Credentials are refused here: they come from
    the environment only, so that no secret ever sits in a config file."""
    for key in ("warc", "warc_endpoint", "warc_region"):
        if key in table:
            _check_type(where, f"store.{key}", table[key], str)
    location = table.get("warc", "local").strip()
    endpoint, region = table.get("warc_endpoint"), table.get("warc_region")
    if location == "local":
        for key in ("warc_endpoint", "warc_region"):
            if key in table:
                raise ConfigError(f"{where}: key 'store.{key}' needs 'store.warc = \"s3://…\"'")
        return None
    if not location.startswith("s3://"):
        raise ConfigError(
            f'{where}: key \'store.warc\' must be "local" or "s3://bucket/prefix",'
            f" got {_shown(location)}"
        )
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ConfigError(
            f"{where}: key 'store.warc': {_shown(bucket)} is not an S3 bucket name"
            " (3 to 63 lower-case letters, digits, dots and hyphens)"
        )
    prefix = prefix.strip("/")
    if _CONTROL.search(prefix) or "//" in prefix:
        raise ConfigError(f"{where}: key 'store.warc': bad key prefix {_shown(prefix)}")
    if endpoint is not None:
        if "@" in endpoint:
            # Never a secret in the config, not even a user:password in a URL (and never
            # echoed back in the message).
            raise ConfigError(
                f"{where}: key 'store.warc_endpoint' must not hold credentials; set"
                " AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
            )
        endpoint = _http_url(where, "store.warc_endpoint", endpoint)
    if region is not None and not _REGION.fullmatch(region):
        raise ConfigError(
            f"{where}: key 'store.warc_region' must be a region name like"
            f' "us-east-1", got {_shown(region)}'
        )
    return RemoteWarc(
        bucket=bucket,
        prefix=f"{prefix}/" if prefix else "",
        endpoint=endpoint,
        region=region or "us-east-1",
    )


CATALOG_ENV = "ARCHIVER_CATALOG"


def catalog_setting(what: str, value: object, *, env: bool = True) -> str | None:
    """The cluster catalog's DSN: ``$ARCHIVER_CATALOG`` when set (so that no password
    sits in a file), else the config's ``store.catalog``; None for the embedded SQLite
    catalog. The value is never quoted in an error: it may hold a password."""
    given = os.environ.get(CATALOG_ENV, "").strip() if env else ""
    if given:
        what, value = f"${CATALOG_ENV}", given
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{what} must be a postgresql:// URL (the cluster catalog)")
    return value


def _resolved(what: str, base: Path, text: str) -> Path:
    """``base / text`` made absolute, or a ConfigError beginning with ``what`` (the file
    and key): a NUL, an empty path, a loop of symbolic links, a file where a folder
    should be on the way."""
    if "\x00" in text:
        raise ConfigError(f"{what} contains a NUL character: {_shown(text)}")
    if not text.strip():
        raise ConfigError(f"{what} must not be empty")
    path = (base / text).absolute()
    try:
        resolved = path.resolve()
        with contextlib.suppress(FileNotFoundError, PermissionError):  # created later,
            os.stat(resolved)  # or refused when used
    except RuntimeError as exc:  # Path.resolve() on a loop (Python < 3.13)
        raise ConfigError(f"{what}: {path}: too many levels of symbolic links") from exc
    except NotADirectoryError as exc:
        blocker = next((p for p in [*reversed(path.parents), path] if p.is_file()), path)
        raise ConfigError(f"{what}: {blocker} is a file, not a folder") from exc
    except OSError as exc:  # ELOOP, ENAMETOOLONG ...
        reason = (exc.strerror or str(exc)).lower()
        raise ConfigError(f"{what}: {path}: {reason}") from exc
    return resolved


def _store_folder(what: str, base: Path, text: str) -> Path:
    """The store's root: like :func:`_resolved`, and a folder if it exists."""
    path = _resolved(what, base, text)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what}: store path {path} is a file, not a folder")
    return path


def _check_crawl(where: str, crawl: CrawlConfig) -> None:
    """What the types alone do not say: the user agent is an HTTP header value, and
    follow_hosts are host names."""
    seconds = parse_duration(crawl.warc_max_age, key="crawl.warc_max_age", where=where)
    if seconds <= 0:
        raise ConfigError(f"{where}: key 'crawl.warc_max_age' must be more than 0")
    agent, key = crawl.user_agent, "crawl.user_agent"
    if not agent.strip():
        raise ConfigError(f"{where}: key '{key}' must not be empty")
    if _CONTROL.search(agent):
        raise ConfigError(
            f"{where}: key '{key}' must not contain a control character (CR, LF, NUL, tab):"
            f" it is sent as an HTTP header, got {_shown(agent)}"
        )
    if not agent.isascii():
        # Refused rather than encoded: servers read header bytes as ASCII (or Latin-1),
        # so 아카이버 would reach them as mojibake.
        raise ConfigError(
            f"{where}: key '{key}' must be ASCII (it is sent as an HTTP header; write the"
            f" name in Latin letters), got {_shown(agent)}"
        )
    _check_render(where, "crawl.render", crawl.render)
    if not 0 < crawl.render_timeout <= 600:
        raise ConfigError(
            f"{where}: key 'crawl.render_timeout' must be between 0 and 600 seconds,"
            f" got {crawl.render_timeout:g}"
        )
    for host in crawl.follow_hosts:
        if not host.strip() or _CONTROL.search(host) or any(c in host for c in " /?#@\\"):
            raise ConfigError(
                f"{where}: key 'crawl.follow_hosts' takes host names (like"
                f' "slownews.kr"), got {_shown(host)}'
            )
