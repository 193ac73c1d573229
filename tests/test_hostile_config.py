"""Issue 18, rows 14 and 19: hostile or nonsensical config values are one-line config
errors naming the key and the file, before anything is fetched; harmless spellings
(an upper-case URL scheme, a UTF-8 BOM) are accepted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.config import config_from_dict, load_config, parse_duration
from archiver.errors import ConfigError, StoreError
from archiver.storage.store import Store

from .helpers import FixtureSite, cli, write_config


def one_line_config_error(result: Result, config: Path, key: str) -> str:
    """Exit 2 and a single `archiver: error: …` line naming the file and the key."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("archiver: error: "), line
    assert "internal error" not in line and "Traceback" not in result.output, line
    assert str(config) in line, line
    assert key in line, line
    return line


def with_crawl_key(config_dir: Path, site: FixtureSite, key: str, toml_value: str) -> Path:
    return write_config(config_dir, site, targets=["/99700"], extra=f"{key} = {toml_value}")


def append(config: Path, text: str) -> Path:
    with config.open("a", encoding="utf-8") as fh:
        fh.write("\n" + text + "\n")
    return config


def set_store_path(config: Path, toml_string: str) -> Path:
    config.write_text(
        config.read_text(encoding="utf-8").replace('path = "store"', f"path = {toml_string}", 1),
        encoding="utf-8",
    )
    return config


# --- row 14: values that used to crash (ValueError, UnicodeEncodeError, OverflowError) ---


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("timeout", "nan", "finite"),
        ("timeout", "inf", "finite"),
        ("per_host_delay", "nan", "finite"),
        ("per_host_delay", "+inf", "finite"),
        ("follow_threshold", "nan", "finite"),
        ("timeout", "1e300", "at most"),
        ("concurrency", "99999999999999999999999", "at most"),
        ("user_agent", '"아카이버"', "ASCII"),
        ("user_agent", '"archiver/1.0 (é)"', "ASCII"),
    ],
)
def test_crawl_values_that_crashed_are_config_errors(
    config_dir: Path, site: FixtureSite, key: str, value: str, message: str
) -> None:
    config = with_crawl_key(config_dir, site, key, value)
    line = one_line_config_error(cli(config, "crawl"), config, f"crawl.{key}")
    assert message in line
    assert site.requests == []  # refused before any fetch


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("every", "99999999999999999999d"),
        ("every", "1" + "0" * 400 + "s"),
        ("jitter", "99999999999999999999d"),
        ("misfire_grace_time", "99999999999999999999d"),
        ("lock_wait", "999999999999999999h"),
    ],
)
def test_durations_that_overflow_are_config_errors(
    config_dir: Path, site: FixtureSite, key: str, value: str
) -> None:
    config = append(write_config(config_dir, site), f'[schedule]\n{key} = "{value}"')
    for command in (["crawl"], ["schedule", "--list"]):
        line = one_line_config_error(cli(config, *command), config, f"schedule.{key}")
        assert "at most" in line
    assert site.requests == []


def test_retention_days_that_overflow_are_config_errors(
    config_dir: Path, site: FixtureSite
) -> None:
    for value, message in (("inf", "finite"), ("nan", "finite"), ("1e12", "at most")):
        config = append(write_config(config_dir, site), f"[retention]\nkeep_days = {value}")
        line = one_line_config_error(cli(config, "gc", "--dry-run"), config, "retention.keep_days")
        assert message in line


@pytest.mark.parametrize(
    ("section", "toml"),
    [
        ("store.path", '[store]\npath = "st\\u0000ore"'),
        ("seeds.path", '[[seeds]]\npath = "seed\\u0000.txt"'),
    ],
)
def test_a_nul_in_a_path_is_a_config_error(tmp_path: Path, section: str, toml: str) -> None:
    config = tmp_path / "archiver.toml"
    config.write_text(toml + "\n", encoding="utf-8")
    line = one_line_config_error(cli(config, "crawl"), config, section)
    assert "NUL" in line


def test_a_store_path_that_is_a_symlink_loop_is_a_config_error(
    config_dir: Path, site: FixtureSite
) -> None:
    config = set_store_path(write_config(config_dir, site), '"loop-a/store"')
    os.symlink("loop-b", config_dir / "loop-a")
    os.symlink("loop-a", config_dir / "loop-b")
    for command in (["crawl"], ["runs"], ["search", "x"]):
        one_line_config_error(cli(config, *command), config, "store.path")
    config = set_store_path(write_config(config_dir, site), '"loop-a"')
    line = one_line_config_error(cli(config, "crawl"), config, "store.path")
    assert "symbolic links" in line
    assert site.requests == []


# --- row 19: accepted, then every fetch failed ---------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("timeout", "0", "more than 0"),
        ("timeout", "0.0", "more than 0"),
        ("timeout", "-0.0", "more than 0"),
        ("max_bytes", "0", "at least 1"),
        ("concurrency", "0", "at least 1"),
        ("per_host_concurrency", "0", "at least 1"),
        ("follow_threshold", "5.0", "between 0 and 1"),
        ("follow_threshold", "1.01", "between 0 and 1"),
        ("follow_threshold", "-0.5", "must not be negative"),
        ("user_agent", '"archiver\\r\\nX-Evil: 1"', "control character"),
        ("user_agent", '"archiver\\nX: 1"', "control character"),
        ("user_agent", '"archiver\\u0000"', "control character"),
        ("user_agent", '"a\\u007fb"', "control character"),
        ("user_agent", '""', "empty"),
        ("user_agent", '"   "', "empty"),
        ("follow_hosts", '["https://slownews.kr/"]', "host name"),
        ("follow_hosts", '[""]', "host name"),
    ],
)
def test_values_that_made_every_fetch_fail_are_config_errors(
    config_dir: Path, site: FixtureSite, key: str, value: str, message: str
) -> None:
    config = with_crawl_key(config_dir, site, key, value)
    line = one_line_config_error(cli(config, "crawl"), config, f"crawl.{key}")
    assert message in line
    assert site.requests == []
    assert not (config_dir / "store").exists()  # nothing written either


@pytest.mark.parametrize("value", ['""', '"   "'])
def test_an_empty_store_path_is_a_config_error(
    config_dir: Path, site: FixtureSite, value: str
) -> None:
    config = set_store_path(write_config(config_dir, site), value)
    line = one_line_config_error(cli(config, "crawl"), config, "store.path")
    assert "empty" in line
    assert not (config_dir / "catalog.sqlite3").exists()  # not the config folder as a store
    assert site.requests == []


@pytest.mark.parametrize("where", ["store", "store-file/store"])
def test_a_store_path_that_is_a_file_says_so(
    config_dir: Path, site: FixtureSite, where: str
) -> None:
    config = set_store_path(write_config(config_dir, site), f'"{where}"')
    (config_dir / where.split("/")[0]).write_text("not a folder\n", encoding="utf-8")
    for command in (["crawl"], ["runs"], ["seeds", "list"]):
        line = one_line_config_error(cli(config, *command), config, "store.path")
        assert "File exists" not in line
        assert "is a file, not a folder" in line


def test_a_store_opened_on_a_file_says_so(tmp_path: Path) -> None:
    """The library API (no config file on the way): the same plain reason."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    for root in (tmp_path / "file", tmp_path / "file" / "store"):
        store = Store(root)
        with pytest.raises(StoreError, match="is a file, not a folder"):
            store.lock()
        with pytest.raises(StoreError, match="is a file, not a folder"):
            store.catalog.runs()


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[[targets]]\nurl = "http://"', "targets.url"),
        ('[[targets]]\nurl = "http://exa mple.invalid/"', "targets.url"),
        ('[[targets]]\nurl = "http://example.invalid:99999/"', "targets.url"),
        ('[[feeds]]\nurl = "https://example.invalid/\\u0000feed"', "feeds.url"),
        ('[[ignore]]\npattern = "x"\nurl = "https://"', "ignore.url"),
    ],
)
def test_urls_without_a_host_or_with_bad_characters_are_config_errors(
    tmp_path: Path, toml: str, key: str
) -> None:
    config = tmp_path / "archiver.toml"
    config.write_text(toml + "\n", encoding="utf-8")
    one_line_config_error(cli(config, "crawl"), config, key)


@pytest.mark.parametrize("scheme", ["HTTP", "Http", "hTTp"])
def test_an_upper_case_url_scheme_is_accepted(
    config_dir: Path, site: FixtureSite, scheme: str
) -> None:
    url = site.url("/99700").replace("http", scheme, 1)
    config = write_config(config_dir, site, targets=[url], seed=False)
    append(config, f'[[ignore]]\npattern = "조회"\nurl = "{scheme}://127.0.0.1"')
    result = cli(config, "crawl", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [(t["url"], t["state"]) for t in summary["targets"]] == [(site.url("/99700"), "new")]
    [rule] = load_config(config).ignore
    assert rule.url == "http://127.0.0.1"  # matches the canonical (lower-case) page URLs


def test_a_utf8_bom_at_the_start_of_the_config_is_accepted(
    config_dir: Path, site: FixtureSite
) -> None:
    config = write_config(config_dir, site, targets=["/99700"], seed=False)
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    result = cli(config, "crawl", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new_versions"] == 1


def test_sane_edge_values_are_still_accepted(tmp_path: Path) -> None:
    config = tmp_path / "archiver.toml"
    config.write_text(
        "[crawl]\ntimeout = 0.3\nper_host_delay = 0\nfollow_threshold = 0\nretries = 0\n"
        'max_redirects = 0\nuser_agent = "my-bot/1.0 (+https://example.org/bot; a@b.c)"\n'
        'follow_hosts = ["Example.ORG", "127.0.0.1", "[::1]"]\n'
        "[retention]\nkeep_days = 36500\nkeep_last = 0\n"
        '[schedule]\nevery = "36500d"\njitter = "0s"\n',
        encoding="utf-8",
    )
    loaded = load_config(config)
    assert loaded.crawl.timeout == 0.3 and loaded.crawl.follow_threshold == 0.0
    assert loaded.retention.keep_days == 36500
    config.write_text("[crawl]\nfollow_threshold = 1\n", encoding="utf-8")
    assert load_config(config).crawl.follow_threshold == 1.0


# --- the class, beyond the examples: any value either loads or is a one-line ConfigError -

_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=12),
    st.booleans(),
)
_CRAWL_KEYS = [
    "timeout",
    "max_bytes",
    "concurrency",
    "per_host_concurrency",
    "per_host_delay",
    "retries",
    "follow_depth",
    "follow_threshold",
    "follow_budget",
    "max_redirects",
    "warc_max_size",
    "user_agent",
]


def _check_loads_or_one_line(data: dict[str, object], tmp: Path) -> None:
    try:
        config = config_from_dict(data, base=tmp, source=tmp / "archiver.toml")
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and str(tmp / "archiver.toml") in message
        return
    crawl = config.crawl
    assert 0 < crawl.timeout <= 86400 and crawl.max_bytes >= 1 and crawl.concurrency >= 1
    assert 0 <= crawl.follow_threshold <= 1 and 0 <= crawl.per_host_delay <= 86400
    crawl.user_agent.encode("ascii")
    assert "\r" not in crawl.user_agent and "\n" not in crawl.user_agent


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(_CRAWL_KEYS), value=_VALUES)
def test_any_crawl_value_loads_sanely_or_is_one_line(
    tmp_path_factory: pytest.TempPathFactory, key: str, value: object
) -> None:
    _check_loads_or_one_line({"crawl": {key: value}}, tmp_path_factory.mktemp("c"))


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=30))
def test_any_duration_is_seconds_or_one_line(text: str) -> None:
    try:
        seconds = parse_duration(text, key="schedule.every", where="f.toml")
    except ConfigError as exc:
        assert "\n" not in str(exc) and "schedule.every" in str(exc)
        return
    assert 0 <= seconds <= 36500 * 86400


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(
    section=st.sampled_from(["crawl", "retention", "schedule", "store"]),
    key=st.sampled_from(
        _CRAWL_KEYS + ["keep_days", "keep_last", "every", "jitter", "lock_wait", "path"]
    ),
    value=_VALUES,
)
def test_any_value_anywhere_loads_or_is_one_line_slow(
    tmp_path_factory: pytest.TempPathFactory, section: str, key: str, value: object
) -> None:
    _check_loads_or_one_line({section: {key: value}}, tmp_path_factory.mktemp("c"))
