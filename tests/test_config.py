"""Config loading: every mistake is a one-line error naming the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.config import load_config
from archiver.errors import ConfigError

ROOT = Path(__file__).parents[1]


def test_default_config_loads_with_the_default_seed() -> None:
    config = load_config(ROOT / "config" / "archiver.toml")
    assert config.store == (ROOT / "store").resolve()
    assert [p.name for p in config.seeds] == ["careerly-altman-tigris.txt"]
    assert config.seeds[0].is_file()
    assert config.crawl.allow_private_networks is False
    assert config.crawl.follow_hosts == ("slownews.kr",)
    assert "https://slownews.kr/feed" in config.feeds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[crawl]\ntimeout = 'soon'\n", "key 'crawl.timeout' must be int or float"),
        ("[crawl]\nretries = true\n", "key 'crawl.retries' must be int"),
        ("[crawl]\nspeed = 3\n", "unknown key 'crawl.speed'"),
        ("colour = 'blue'\n", "unknown key 'colour'"),
        ("[[targets]]\nurl = 'ftp://x'\n", "'targets.url' must be an http(s) URL"),
        ("[[targets]]\nhref = 'https://x'\n", "unknown key 'targets.href'"),
        ("[crawl]\nconcurrency = -1\n", "'crawl.concurrency' must not be negative"),
        ("[store\npath = 1\n", "invalid TOML"),
        ("[crawl]\nfollow_hosts = [1]\n", "key 'crawl.follow_hosts' must be str"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "archiver.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "a.toml"
    path.write_text('[store]\npath = "../data"\n[[seeds]]\npath = "s.txt"\n', encoding="utf-8")
    config = load_config(path)
    assert config.store == (tmp_path / "data").resolve()
    assert config.seeds == ((tmp_path / "conf" / "s.txt").resolve(),)


def test_aliases_become_comparison_rules(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[[aliases]]\nnames = ["올트먼", "알트만", "Sam  Altman"]\n', encoding="utf-8")
    [rule] = load_config(path).ignore
    assert rule.aliases == ("올트먼", "알트만", "Sam Altman") and rule.pattern is None
    for bad, message in (
        (' names = ["올트먼"]', "two or more names"),
        (' names = "올트먼"', "'aliases.names' must be list"),
        (' name = ["a", "b"]', "unknown key 'aliases.name'"),
    ):
        path.write_text("[[aliases]]\n" + bad + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_config(path)


def test_default_config_knows_the_story_s_name_variants() -> None:
    config = load_config(ROOT / "config" / "archiver.toml")
    groups = [rule.aliases for rule in config.ignore if rule.aliases]
    assert any({"올트먼", "알트만", "Sam Altman"} <= set(g) for g in groups)
    assert any({"오픈AI", "OpenAI"} <= set(g) for g in groups)
