"""WARC import from other tools, verify, and the SSRF guard."""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archiver.errors import BlockedError
from archiver.net.fetch import check_address

from .helpers import FixtureSite, Route, cli, cli_store, write_config


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
    result = cli_store(store, "import", str(tmp_path / "wget.warc.gz"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    states = {t["url"]: t["state"] for t in summary["targets"]}
    assert states == {
        site.url("/99663"): "new",
        site.url("/files/report.pdf"): "archived",
        site.url("/euckr"): "new",
    }
    # As a crawl would: searchable, showable, verifiable, with the EUC-KR page decoded.
    hits = json.loads(cli_store(store, "search", "올트먼", "--json").stdout)
    assert [h["url"] for h in hits] == [site.url("/99663")]
    shown = json.loads(cli_store(store, "show", site.url("/euckr"), "--json").stdout)
    assert "반도체" in shown["text"]
    verify = json.loads(cli_store(store, "verify", "--json").stdout)
    assert verify == {"checked": 3, "problems": [], "torn_tails": []}
    # The original file is kept byte for byte; a second import is recognised.
    [copy] = (store / "warc").glob("import-*.warc.gz")
    assert copy.read_bytes() == (tmp_path / "wget.warc.gz").read_bytes()
    again = json.loads(cli_store(store, "import", str(tmp_path / "wget.warc.gz"), "--json").stdout)
    assert again["files"][0]["skipped"] == "already imported"
    history = json.loads(cli_store(store, "history", site.url("/99663"), "--json").stdout)
    assert [v["version"] for v in history] == [1]


@pytest.mark.parametrize("content", [b"", b"hello, not a warc\n", b"\x1f\x8b\x08garbage"])
def test_import_rejects_non_warc_files(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(content)
    result = cli_store(tmp_path / "store", "import", str(bad))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "archiver: error:" in result.stderr
    assert not (tmp_path / "store" / "warc").exists()


def test_verify_detects_a_damaged_record(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site)
    assert cli(config, "crawl").exit_code == 0
    store = config_dir / "store"
    assert cli_store(store, "verify").exit_code == 0
    [warc] = (store / "warc").glob("*.warc.gz")
    data = bytearray(warc.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte inside the response record
    warc.write_bytes(bytes(data))
    result = cli_store(store, "verify", "--json")
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


def test_allow_private_networks_is_what_lets_a_loopback_page_in(
    config_dir: Path, site: FixtureSite
) -> None:
    """The same loopback page, only the setting differs: refused and never requested
    with ``allow_private_networks = false``, fetched and archived with ``true``."""
    page = site.url("/99700")
    refused = write_config(
        config_dir, site, targets=["/99700"], seed=False, extra="allow_private_networks = false"
    )
    result = cli(refused, "crawl", "--json")
    assert result.exit_code == 1, result.output
    [error] = json.loads(result.stdout)["errors"]
    assert error["url"] == page and "non-public address" in error["error"]
    assert site.hits("/99700") == 0

    allowed = write_config(config_dir, site, targets=["/99700"], seed=False)
    assert "allow_private_networks = true" in allowed.read_text()
    result = cli(allowed, "crawl", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["errors"] == [] and summary["new_versions"] == 1
    assert site.hits("/99700") == 1
    history = cli(allowed, "history", page, "--json")
    assert [v["version"] for v in json.loads(history.stdout)] == [1]


def test_every_redirect_hop_is_checked(
    config_dir: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public page redirecting to a private address: the hop is refused, not fetched.

    The fixture server is on loopback, so here 127.0.0.1 plays the public host and the
    name "localhost" the private one."""
    from archiver.net import fetch
    from archiver.net.fetch import connection

    def guard(host: str, allow_private: bool) -> None:
        if host == "localhost":
            raise BlockedError(f"refused: {host} resolves to non-public address 127.0.0.1")

    monkeypatch.setattr(fetch, "check_address", guard)
    # The connection's peer (127.0.0.1) is checked too: here it plays a public address.
    monkeypatch.setattr(connection, "non_public", lambda address: None)
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
    result = cli(config, "crawl", "--json")
    summary = json.loads(result.stdout)
    [error] = summary["errors"]
    assert error["url"] == site.url("/to-private") and "non-public address" in error["error"]
    assert site.hits("/99700") == 0


def test_a_name_that_connects_to_a_private_address_is_refused(
    config_dir: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name that resolved to a public address when the guard looked
    and to a private one when the connection was made. The connected peer is checked
    too, and the request is never sent."""
    from archiver.net import fetch

    checked: list[str] = []
    # The resolver's first answer, for the guard: public.
    monkeypatch.setattr(fetch, "check_address", lambda host, allow: checked.append(host))
    port = site.base.rsplit(":", 1)[1]
    target = f"http://localhost:{port}/99700"
    config = write_config(
        config_dir, site, targets=[target], seed=False, extra="allow_private_networks = false"
    )
    result = cli(config, "crawl", "--json")
    assert result.exit_code == 1, result.output
    [error] = json.loads(result.stdout)["errors"]
    assert error["url"] == target and checked == ["localhost"]
    assert re.search(
        r"refused: localhost connected to non-public address (127\.0\.0\.1|::1)", error["error"]
    ), error
    assert site.hits("/99700") == 0


def test_verify_reports_a_torn_tail_as_a_note(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site)
    assert cli(config, "crawl").exit_code == 0
    store = config_dir / "store"
    [warc] = (store / "warc").glob("*.warc.gz")
    whole = warc.stat().st_size
    with open(warc, "ab") as fh:  # a record cut short, as a kill mid-write leaves it
        noise = random.Random(1).randbytes(4000)  # incompressible, so 300 bytes is a part
        fh.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + noise)[:300])
    result = cli_store(store, "verify", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["problems"] == []
    assert report["torn_tails"] == [{"file": warc.name, "complete_bytes": whole, "torn_bytes": 300}]
    assert "torn record" in cli_store(store, "verify").stdout


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
