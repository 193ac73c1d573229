"""Load and validate ``archiver.toml``.

Every key is checked against a known schema so that a typo is a one-line error naming
the key and the file, never a silent default. Relative paths resolve against the
folder of the config file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

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
class Config:
    path: Path | None
    store: Path
    seeds: tuple[Path, ...] = ()
    targets: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    ignore: tuple[IgnoreRule, ...] = ()  # changes that do not count in diffs (issue 6)


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
}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, *, key: str = "duration", where: str = "<config>") -> float:
    """Seconds in "30s", "5m", "6h", "1.5d"; a ConfigError naming ``key`` otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ConfigError(
            f"{where}: key '{key}' must be a number with an s, m, h or d"
            f' suffix (like "6h"), got {text!r}'
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


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
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: 'ignore' must be an array of tables ([[ignore]])")
    rules = []
    for item in raw:
        entry = _table(where, item, "ignore")
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
            if not url.startswith(("http://", "https://")):
                raise ConfigError(
                    f"{where}: 'ignore.url' must be an http(s) URL prefix, got {url!r}"
                )
        rules.append(IgnoreRule(compiled, whitespace, url))
    return tuple(rules)


def _aliases(where: str, raw: Any) -> tuple[IgnoreRule, ...]:
    """``[[aliases]]`` tables: ``names``, two or more spellings of one name (the first is
    the one shown), as comparison rules that apply to every page."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: 'aliases' must be an array of tables ([[aliases]])")
    rules = []
    for item in raw:
        entry = _table(where, item, "aliases")
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


def _table(where: str, raw: Any, name: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: '{name}' must be a table")
    return raw


def _dataclass_from(cls: type, where: str, section: str, raw: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key '{section}.{key}'")
        default = getattr(cls(), key)
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
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"{where}: key '{dotted}' must not be negative")
        values[key] = value
    return cls(**values)


def _url_list(where: str, raw: Any, name: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: '{name}' must be an array of tables ([[{name}]])")
    urls: list[str] = []
    for item in raw:
        entry = _table(where, item, name)
        unknown = set(entry) - {"url"}
        if unknown:
            raise ConfigError(f"{where}: unknown key '{name}.{sorted(unknown)[0]}'")
        url = entry.get("url")
        _check_type(where, f"{name}.url", url, str)
        if not str(url).startswith(("http://", "https://")):
            raise ConfigError(f"{where}: '{name}.url' must be an http(s) URL, got {url!r}")
        urls.append(str(url))
    return tuple(urls)


def load_config(path: str | Path, *, store_override: str | Path | None = None) -> Config:
    """Read and validate a TOML config file; raise ConfigError with a one-line reason."""
    path = Path(path)
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{where}: config file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read config: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from exc
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
    unknown = set(store_table) - {"path"}
    if unknown:
        raise ConfigError(f"{where}: unknown key 'store.{sorted(unknown)[0]}'")
    store_path = store_table.get("path", "store")
    _check_type(where, "store.path", store_path, str)
    store = Path(store_override) if store_override is not None else base / store_path

    seeds_raw = data.get("seeds") or []
    if not isinstance(seeds_raw, list):
        raise ConfigError(f"{where}: 'seeds' must be an array of tables ([[seeds]])")
    seeds: list[Path] = []
    for item in seeds_raw:
        entry = _table(where, item, "seeds")
        unknown = set(entry) - {"path"}
        if unknown:
            raise ConfigError(f"{where}: unknown key 'seeds.{sorted(unknown)[0]}'")
        seed_path = entry.get("path")
        _check_type(where, "seeds.path", seed_path, str)
        seeds.append(base / str(seed_path))

    crawl = _dataclass_from(CrawlConfig, where, "crawl", _table(where, data.get("crawl"), "crawl"))
    schedule = _schedule(where, _table(where, data.get("schedule"), "schedule"))
    retention = _dataclass_from(
        RetentionConfig, where, "retention", _table(where, data.get("retention"), "retention")
    )
    return Config(
        path=source,
        store=store.resolve(),
        seeds=tuple(p.resolve() for p in seeds),
        targets=_url_list(where, data.get("targets"), "targets"),
        feeds=_url_list(where, data.get("feeds"), "feeds"),
        crawl=crawl,
        schedule=schedule,
        retention=retention,
        ignore=_ignore_rules(where, data.get("ignore")) + _aliases(where, data.get("aliases")),
    )
