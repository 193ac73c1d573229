"""Bad input and failing sites: a one-line error, a non-zero exit, nothing stored lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archiver.cli import main

from .helpers import FixtureSite, write_config


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_line_error(result: Result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("archiver: error: ")
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/status/404", "HTTP 404"),
        ("/status/500", "HTTP 500"),
        ("/loop/a", "redirect loop"),
    ],
)
def test_http_failures_are_recorded_per_url(
    config_dir: Path, site: FixtureSite, path: str, expected: str
) -> None:
    config = write_config(config_dir, site, targets=[path])
    result = run("--config", str(config), "crawl", "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["new_versions"] == 1  # the seed's reference still made it
    [error] = summary["errors"]
    assert error["url"] == site.url(path) and expected in error["error"]
    history = run("--config", str(config), "history", site.url(path))
    assert history.exit_code == 0 and expected in history.stderr


def test_unreachable_host_and_private_address_refusal(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site, targets=["http://127.0.0.1:9/closed"])
    summary = json.loads(run("--config", str(config), "crawl", "--json").stdout)
    [error] = summary["errors"]
    assert error["url"] == "http://127.0.0.1:9/closed" and "Connect" in error["error"]

    guarded = write_config(config_dir, site, extra="allow_private_networks = false")
    guarded.write_text(guarded.read_text().replace("allow_private_networks = true\n", ""))
    result = run("--config", str(guarded), "crawl", "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["fetched"] == 0
    assert "non-public address" in summary["errors"][0]["error"]


def test_offline_crawl_still_registers_and_indexes_the_seed(
    config_dir: Path, site: FixtureSite
) -> None:
    """As on a machine without network: every fetch fails, the seed is searchable."""
    config = write_config(config_dir, site)
    site.server.shutdown()
    site.server.server_close()  # connections are now refused
    result = run("--config", str(config), "crawl", "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["fetched"] == 0 and len(summary["errors"]) == 1
    hits = json.loads(run("--config", str(config), "search", "올트먼", "--json").stdout)
    assert [h["url"] for h in hits] == ["seed:1"]


def test_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "archiver.toml"
    config.write_text("[crawl]\ntimeout = 'x'\n")
    assert "crawl.timeout" in one_line_error(result := run("--config", str(config), "crawl"))
    assert result.exit_code == 2
    missing = run("--config", str(tmp_path / "none.toml"), "crawl")
    assert missing.exit_code == 2 and "not found" in one_line_error(missing)


@pytest.mark.parametrize("content", [b"", b"   \n\t", b"\x89PNG\r\n\x1a\n\x00\x00\x00" * 20])
def test_bad_seed_is_one_line_exit_2(config_dir: Path, site: FixtureSite, content: bytes) -> None:
    config = write_config(config_dir, site)
    (config_dir / "seeds" / "careerly-altman-tigris.txt").write_bytes(content)
    result = run("--config", str(config), "crawl")
    assert result.exit_code == 2
    assert "seed" in one_line_error(result)


def test_unknown_url_and_version(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site)
    assert run("--config", str(config), "crawl").exit_code == 0
    for args in (
        ["show", "https://example.com/nothing"],
        ["history", "https://example.com/nothing"],
        ["show", site.url("/99663"), "--version", "7"],
        ["show", "seed:42"],
    ):
        result = run("--config", str(config), *args)
        assert result.exit_code == 2, args
        one_line_error(result)
    trouble = run("--config", str(config), "diff", "https://example.com/nothing")
    assert trouble.exit_code == 2  # diff(1): 2 means trouble


def test_bad_search_queries(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site)
    run("--config", str(config), "crawl")
    for args in (["search", ""], ["search", "?!"], ["search", "올트먼", "--since", "yesterday"]):
        result = run("--config", str(config), *args)
        assert result.exit_code == 2, args
        one_line_error(result)


def test_missing_index_is_reported_and_reindex_rebuilds_it(
    config_dir: Path, site: FixtureSite
) -> None:
    config = write_config(config_dir, site)
    run("--config", str(config), "crawl")
    store = config_dir / "store"
    for path in sorted((store / "index").iterdir()):
        path.unlink()
    result = run("--config", str(config), "search", "올트먼")
    assert result.exit_code == 1 and "reindex" in one_line_error(result)
    rebuilt = run("--config", str(config), "reindex")
    assert rebuilt.exit_code == 0 and "indexed 2 documents" in rebuilt.output
    hits = json.loads(run("--config", str(config), "search", "올트먼", "--json").stdout)
    assert {h["url"] for h in hits} == {"seed:1", site.url("/99663")}
