"""The README documents every command, option and config key, and CI runs its test command."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import click

from archiver.cli import main
from archiver.config import CrawlConfig, NotifyEntry, ScheduleConfig

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
        else:
            found.append((f"{prefix}{name}", command))
    return found


def test_every_command_and_option_is_in_the_readme() -> None:
    for name, command in _commands(main):
        assert f"`{name}" in README, f"command {name!r} missing from README"
        for param in command.params:
            if isinstance(param, click.Option):
                assert any(opt in README for opt in param.opts), (
                    f"option {param.opts} of {name!r} missing from README"
                )


def test_every_config_key_is_in_the_readme() -> None:
    for section, cls in (("crawl", CrawlConfig), ("schedule", ScheduleConfig)):
        for field in fields(cls):
            assert f"`{section}.{field.name}`" in README or f"{section}.{field.name}`" in README, (
                f"config key {section}.{field.name} missing from README"
            )


def test_notify_keys_are_in_the_readme() -> None:
    for field in fields(NotifyEntry):
        assert f"`[[notify]] {field.name}`" in README, f"[[notify]] {field.name} missing"
    for word in ("`serve.public_url`", "## Notifications", "`notify test --json`"):
        assert word in README, f"{word} missing from README"


def test_store_keys_and_the_catalog_variable_are_in_the_readme() -> None:
    for key in ("`store.path`", "`store.catalog`", "`ARCHIVER_CATALOG`", "## Cluster mode"):
        assert key in README, f"{key} missing from README"


def test_readme_starts_with_install_and_test_commands_that_ci_runs() -> None:
    blocks = re.findall(r"```sh\n(.+?)\n```", README, flags=re.S)
    install, test = blocks[0], blocks[1]
    assert "pip install -e" in install and "archiver crawl" in install
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test.strip() in ci.splitlines()
    assert README.index(install) < README.index("## ")


def test_store_format_is_documented() -> None:
    store_readme = (ROOT / "store" / "README.md").read_text(encoding="utf-8")
    for word in ("catalog.sqlite3", "warc/", "index/", "reports/", "revisit"):
        assert word in store_readme
