"""WARC import from other tools, verify, and the SSRF guard."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archiver.cli import main
from archiver.errors import BlockedError
from archiver.net.fetch import check_address

from .conftest import FixtureSite, Route, write_config


def cli(store: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--store", str(store), *args])


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not installed")
def test_import_a_wget_warc(tmp_path: Path, site: FixtureSite) -> None:
    subprocess.run(
        [
            "wget",
            "-q",
            f"--warc-file={tmp_path / 'wget'}",
            "-O",
            "/dev/null",
            site.url("/99663"),
            site.url("/files/report.pdf"),
            site.url("/euckr"),
        ],
        check=True,
        timeout=60,
    )
    store = tmp_path / "store"
    result = cli(store, "import", str(tmp_path / "wget.warc.gz"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    states = {t["url"]: t["state"] for t in summary["targets"]}
    assert states == {
        site.url("/99663"): "new",
        site.url("/files/report.pdf"): "archived",
        site.url("/euckr"): "new",
    }
    # As a crawl would: searchable, showable, verifiable, with the EUC-KR page decoded.
    hits = json.loads(cli(store, "search", "올트먼", "--json").stdout)
    assert [h["url"] for h in hits] == [site.url("/99663")]
    shown = json.loads(cli(store, "show", site.url("/euckr"), "--json").stdout)
    assert "반도체" in shown["text"]
    verify = json.loads(cli(store, "verify", "--json").stdout)
    assert verify == {"checked": 3, "problems": [], "torn_tails": []}
    # The original file is kept byte for byte; a second import is recognised.
    [copy] = (store / "warc").glob("import-*.warc.gz")
    assert copy.read_bytes() == (tmp_path / "wget.warc.gz").read_bytes()
    again = json.loads(cli(store, "import", str(tmp_path / "wget.warc.gz"), "--json").stdout)
    assert again["files"][0]["skipped"] == "already imported"
    assert [len(json.loads(cli(store, "history", site.url("/99663"), "--json").stdout))] == [1]


@pytest.mark.parametrize("content", [b"", b"hello, not a warc\n", b"\x1f\x8b\x08garbage"])
def test_import_rejects_non_warc_files(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(content)
    result = cli(tmp_path / "store", "import", str(bad))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "archiver: error:" in result.stderr
    assert not (tmp_path / "store" / "warc").exists()


def test_verify_detects_a_damaged_record(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site)
    assert CliRunner().invoke(main, ["--config", str(config), "crawl"]).exit_code == 0
    store = config_dir / "store"
    assert cli(store, "verify").exit_code == 0
    [warc] = (store / "warc").glob("*.warc.gz")
    data = bytearray(warc.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte inside the response record
    warc.write_bytes(bytes(data))
    result = cli(store, "verify", "--json")
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)["problems"]) == 1


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "10.0.0.8",
        "192.168.1.1",
        "172.16.5.4",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "100.64.0.1",
    ],
)
def test_ssrf_guard_refuses_non_public_addresses(host: str) -> None:
    with pytest.raises(BlockedError, match="non-public address"):
        check_address(host, allow_private=False)


def test_ssrf_guard_allows_when_configured() -> None:
    check_address("127.0.0.1", allow_private=True)  # no exception


def test_every_redirect_hop_is_checked(
    config_dir: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public page redirecting to a private address: the hop is refused, not fetched.

    The fixture server is on loopback, so here 127.0.0.1 plays the public host and the
    name "localhost" the private one."""
    from archiver.net import fetch

    def guard(host: str, allow_private: bool) -> None:
        if host == "localhost":
            raise BlockedError(f"refused: {host} resolves to non-public address 127.0.0.1")

    monkeypatch.setattr(fetch, "check_address", guard)
    port = site.base.rsplit(":", 1)[1]
    site.routes["/to-private"] = Route(
        status=302, body=b"", headers={"Location": f"http://localhost:{port}/99700"}
    )
    config = write_config(
        config_dir,
        site,
        targets=["/to-private"],
        seed=False,
        extra="allow_private_networks = false",
    )
    result = CliRunner().invoke(main, ["--config", str(config), "crawl", "--json"])
    summary = json.loads(result.stdout)
    [error] = summary["errors"]
    assert error["url"] == site.url("/to-private") and "non-public address" in error["error"]
    assert site.hits("/99700") == 0


def test_verify_reports_a_torn_tail_as_a_note(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site)
    assert CliRunner().invoke(main, ["--config", str(config), "crawl"]).exit_code == 0
    store = config_dir / "store"
    [warc] = (store / "warc").glob("*.warc.gz")
    whole = warc.stat().st_size
    with open(warc, "ab") as fh:  # a record cut short, as a kill mid-write leaves it
        noise = random.Random(1).randbytes(4000)  # incompressible, so 300 bytes is a part
        fh.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + noise)[:300])
    result = cli(store, "verify", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["problems"] == []
    assert report["torn_tails"] == [{"file": warc.name, "complete_bytes": whole, "torn_bytes": 300}]
    assert "torn record" in cli(store, "verify").stdout


def test_unresolvable_host_is_one_try_and_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that does not resolve (simulated: tests never query real DNS) fails at
    once, without retries; a temporary resolver failure may be retried."""
    import socket

    from archiver.errors import FetchError

    def no_such_name(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    with pytest.raises(FetchError) as info:
        check_address("no-such-host.example", allow_private=False)
    assert "cannot resolve host 'no-such-host.example'" in str(info.value)
    assert info.value.retryable is False

    def try_again(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", try_again)
    with pytest.raises(FetchError) as info:
        check_address("flaky.example", allow_private=False)
    assert info.value.retryable is True
