"""Storage faults: a full disk, a read-only store, no permission, a corrupt catalog, a
clock that jumps back. Each gives a one-line error and loses nothing stored earlier."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Self

import pytest
from click.testing import Result

from .helpers import ARCHIVER, FixtureSite, Route, cli, write_config


def one_line(result: Result | subprocess.CompletedProcess[str]) -> str:
    stderr = result.stderr
    errors = [line for line in stderr.splitlines() if line.startswith("archiver: error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 700 KB tmpfs (root only): a disk that fills up, and can be made read-only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def store_on(config: Path, mount: Path) -> None:
    config.write_text(config.read_text().replace('path = "store"', f'path = "{mount}/store"'))


def assert_first_crawl_intact(config: Path, site: FixtureSite) -> None:
    history = cli(config, "history", site.url("/99663"), "--json")
    assert history.exit_code == 0, history.output
    assert [v["version"] for v in json.loads(history.stdout)] == [1]
    verify = json.loads(cli(config, "verify", "--json").stdout)
    assert verify["problems"] == []
    shown = json.loads(cli(config, "show", site.url("/99663"), "--json").stdout)
    assert "올트먼" in shown["text"]


def test_disk_full(config_dir: Path, site: FixtureSite, tmpfs: Path) -> None:
    config = write_config(config_dir, site)
    store_on(config, tmpfs)
    assert cli(config, "crawl").exit_code == 0
    noise = os.urandom(200_000).hex().encode()  # incompressible: fills the disk
    for path in ("/big1", "/big2"):
        site.routes[path] = Route(body=b"<html><body><p>" + noise + b"</p></body></html>")
    write_config(config_dir, site, targets=["/big1", "/big2"])
    store_on(config, tmpfs)
    result = cli(config, "crawl")
    assert result.exit_code == 1
    assert "full" in one_line(result) or "No space" in one_line(result)
    assert_first_crawl_intact(config, site)


def test_read_only_store(config_dir: Path, site: FixtureSite, tmpfs: Path) -> None:
    config = write_config(config_dir, site)
    store_on(config, tmpfs)
    assert cli(config, "crawl").exit_code == 0
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    result = cli(config, "crawl")
    assert result.exit_code == 1
    assert "read-only" in one_line(result).lower()
    # Reading a read-only archive still works: search, show, history, verify.
    hits = cli(config, "search", "올트먼", "--json")
    assert hits.exit_code == 0, hits.output
    assert site.url("/99663") in {h["url"] for h in json.loads(hits.stdout)}
    assert_first_crawl_intact(config, site)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_permission_denied(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site)
    assert cli(config, "crawl").exit_code == 0
    config_dir.chmod(0o755)
    for parent in config_dir.parents:  # let the unprivileged user reach the config
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            ARCHIVER,
            "--config",
            str(config),
            "crawl",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": "/tmp"},
    )
    assert result.returncode in (1, 2), result.stderr
    assert "ermission denied" in one_line(result) or "readonly" in one_line(result)
    assert_first_crawl_intact(config, site)


def test_corrupt_catalog(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site)
    assert cli(config, "crawl").exit_code == 0
    catalog = config_dir / "store" / "catalog.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(str(catalog) + suffix).unlink(missing_ok=True)
    catalog.write_bytes(b"this is not a database" * 100)
    for args in (["crawl"], ["search", "올트먼"], ["history", site.url("/99663")], ["verify"]):
        result = cli(config, *args)
        assert result.exit_code == 1, args
        assert "catalog" in one_line(result)
    assert (config_dir / "store" / "warc").is_dir()  # the WARC evidence is untouched


def test_clock_jumping_back_keeps_version_order(
    config_dir: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(config_dir, site)
    assert cli(config, "crawl").exit_code == 0
    from archiver.text import dates

    class Past(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Self:
            return cls(2001, 1, 1, tzinfo=UTC)

    monkeypatch.setattr(dates, "datetime", Past)  # every recorded time comes from now_iso
    site.serve("/99663", "slownews/99663.v2.html")
    assert cli(config, "crawl").exit_code == 0
    versions = json.loads(cli(config, "history", site.url("/99663"), "--json").stdout)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["fetched_at"].startswith("2001-01-01")  # recorded as the clock said
    diff = json.loads(cli(config, "diff", site.url("/99663"), "--format", "json").stdout)
    assert (diff["from"], diff["to"]) == (1, 2)  # order comes from version numbers
    latest = json.loads(cli(config, "show", site.url("/99663"), "--json").stdout)
    assert latest["version"] == 2
