"""Load and validate ``archiver.toml``.

Every key is checked against a known schema so that a typo is a one-line error naming
the key and the file, never a silent default. Relative paths resolve against the
folder of the config file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

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
    max_redirects: int = 10
    warc_max_size: int = 1_000_000_000


@dataclass(frozen=True)
class ScheduleConfig:
    every: str | None = "6h"
    cron: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path | None
    store: Path
    seeds: tuple[Path, ...] = ()
    targets: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)


_TOP_KEYS = {"store", "seeds", "targets", "feeds", "crawl", "schedule"}


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

    crawl = _dataclass_from(
        CrawlConfig, where, "crawl", _table(where, data.get("crawl"), "crawl")
    )
    schedule = _dataclass_from(
        ScheduleConfig, where, "schedule", _table(where, data.get("schedule"), "schedule")
    )
    return Config(
        path=source,
        store=store.resolve(),
        seeds=tuple(p.resolve() for p in seeds),
        targets=_url_list(where, data.get("targets"), "targets"),
        feeds=_url_list(where, data.get("feeds"), "feeds"),
        crawl=crawl,
        schedule=schedule,
    )
