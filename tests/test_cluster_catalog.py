"""The cluster catalog through the CLI: a crawl on PostgreSQL archives what SQLite
does, `migrate --to` copies an embedded store losing nothing, bad DSNs and passwords
are one line without the password, and a server restart mid-crawl is survived."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from archiver.errors import StoreLockedError
from archiver.storage.catalog import Catalog
from archiver.storage.store import Store

from .helpers import ARCHIVER, FixtureSite, Route, cli, cli_json, write_config
from .postgres import PASSWORD, PASSWORD_ROLE, PgCluster
from .test_retention import FLOWERS, make_config
from .test_retention import page as orchard_page
from .test_seed_urls import POST, serve_post

PAGES = ("/99663", "/99700", "/99710")


def with_catalog(config: Path, dsn: str) -> Path:
    """The config with `[store] catalog` set to ``dsn``."""
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('path = "store"', f'path = "store"\ncatalog = "{dsn}"'))
    return config


def archive_view(config: Path, site: FixtureSite) -> dict[str, Any]:
    """What a user sees of an archive: histories, search hits, runs and verify."""
    histories = {p: cli_json(config, "history", site.url(p)) for p in PAGES}
    hits = [
        (h["url"], h["version"], h["title"], h["snippet"])
        for h in cli_json(config, "search", "올트먼", "--limit", "50")
    ]
    runs = [
        {k: v for k, v in r.items() if k not in ("started_at", "finished_at")}
        for r in cli_json(config, "runs")
    ]
    for history in histories.values():
        for version in history:
            version.pop("fetched_at")
    return {"histories": histories, "hits": hits, "runs": runs, "verify": verify(config)}


def verify(config: Path) -> dict[str, Any]:
    result = cli(config, "verify", "--json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["problems"] == [] and report["checked"] > 0
    return report


def crawl_twice(config: Path, site: FixtureSite) -> None:
    assert cli_json(config, "crawl")["new_versions"] == 3
    site.serve("/99663", "slownews/99663.v2.html")  # one page changes
    assert cli_json(config, "crawl")["new_versions"] == 1


def test_a_crawl_on_postgresql_archives_what_sqlite_does(tmp_path: Path, pg_dsn: str) -> None:
    views = []
    for name, dsn in (("embedded", None), ("cluster", pg_dsn)):
        site = FixtureSite()
        site.thread.start()
        try:
            config = write_config(tmp_path / name, site, targets=["/99700", "/99710"])
            if dsn is not None:
                with_catalog(config, dsn)
            crawl_twice(config, site)
            # Each run has its own fixture site port: compare with it taken out.
            views.append(json.dumps(archive_view(config, site)).replace(site.base, "SITE"))
        finally:
            site.server.shutdown()
            site.server.server_close()
    embedded, cluster = views
    assert not (tmp_path / "cluster" / "store" / "catalog.sqlite3").exists()
    assert cluster == embedded
    view = json.loads(cluster)
    assert [len(h) for h in view["histories"].values()] == [2, 1, 1]
    assert {url for url, *_ in view["hits"]} >= {"SITE/99663", "seed:1"}


def _rows(catalog: Catalog) -> dict[str, Any]:
    targets = catalog.targets()
    return {
        "seeds": catalog.seeds(),
        "runs": catalog.runs(),
        "targets": targets,
        "captures": catalog.captures(),
        "versions": [catalog.versions(t.id) for t in targets],
        "warc_files": catalog.warc_files(),
        "notifications": catalog.notifications(),
        "seed_versions": [v for s in catalog.seeds() for v in catalog.seed_versions(s.id)],
    }


def test_migrate_copies_an_embedded_store_losing_nothing(
    config_dir: Path, site: FixtureSite, pg_cluster: PgCluster, pg_dsn: str
) -> None:
    config = write_config(config_dir, site, targets=["/99700", "/99710"])
    crawl_twice(config, site)
    serve_post(site, "post.html")  # a seed by URL too: its version is copied
    assert cli(config, "seeds", "add", site.url(POST)).exit_code == 0
    embedded = Catalog(config_dir / "store" / "catalog.sqlite3")
    before = _rows(embedded)
    embedded.close()

    copied = cli_json(config, "migrate", "--to", pg_dsn)
    assert copied["already_migrated"] is False
    assert copied["rows"]["seed_versions"] == 1
    assert copied["rows"] == {k: len(v) for k, v in before.items() if k != "versions"} | {
        "versions": sum(len(v) for v in before["versions"])
    }
    cluster = Catalog(pg_dsn)
    assert _rows(cluster) == before  # ids, numbers, positions, runs, seeds: all equal
    cluster.close()

    # A rerun finds its copy there and copies nothing; another archive is refused.
    again = cli_json(config, "migrate", "--to", pg_dsn)
    assert again["already_migrated"] is True and again["rows"] == copied["rows"]
    other = write_config(config_dir.parent / "other", site, targets=["/99720"])
    assert cli_json(other, "crawl")["new_versions"] >= 1
    refused = cli(other, "migrate", "--to", pg_dsn)
    assert refused.exit_code == 2
    assert "already holds an archive" in refused.stderr and "Traceback" not in refused.stderr

    # The store on the cluster catalog: verify is clean, the next crawl goes on from it.
    with_catalog(config, pg_dsn)
    assert verify(config)["checked"] == len(before["captures"])
    site.serve("/99700", "slownews/99720.html")
    assert cli_json(config, "crawl")["new_versions"] == 1
    history = cli_json(config, "history", site.url("/99700"))
    assert [v["version"] for v in history] == [1, 2]
    cluster = Catalog(pg_dsn)
    newest = cluster.captures()[-1]
    assert newest.id > max(c.id for c in before["captures"])  # ids go on after the copy
    cluster.close()


def _run(args: list[str], env_extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVER_CATALOG", "PGPASSWORD")}
    return subprocess.run(
        [ARCHIVER, "-v", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env | env_extra,
        cwd=cwd,
    )


def assert_one_line_without_password(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    errors = [line for line in result.stderr.splitlines() if line.startswith("archiver: error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in output
    assert PASSWORD not in output and "wrong-" not in output  # in no message, no log line
    return errors[0]


@pytest.mark.parametrize("via", ["config", "env"])
def test_bad_cluster_catalogs_are_one_line_without_the_password(
    config_dir: Path, site: FixtureSite, pg_cluster: PgCluster, pg_dsn: str, via: str
) -> None:
    database = pg_dsn.split("@/")[1].split("?")[0]
    wrong = pg_cluster.dsn(database, user=PASSWORD_ROLE, password="wrong-" + PASSWORD)
    unreachable = f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@/archive?host={config_dir}"
    malformed = f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@/archive?host=/tmp&sslmod=on"
    refused = f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@127.0.0.1:1/archive"
    cases = {
        wrong: "password authentication failed",
        unreachable: "No such file or directory",
        malformed: "invalid URI query parameter",
        refused: "Connection refused",
    }
    config = write_config(config_dir, site, targets=["/99700"])
    plain = config.read_text(encoding="utf-8")
    for dsn, reason in cases.items():
        config.write_text(plain)
        env = {"ARCHIVER_CATALOG": dsn} if via == "env" else {}
        if via == "config":
            with_catalog(config, dsn)
        for command in (["crawl"], ["search", "올트먼"], ["verify", "--json"]):
            line = assert_one_line_without_password(
                _run(["--config", str(config), *command], env, config_dir)
            )
            assert "cannot open the catalog at postgresql://" in line and reason in line, line
    # The right password works, and the log does not show it either.
    right = pg_cluster.dsn(database, user=PASSWORD_ROLE, password=PASSWORD)
    config.write_text(plain)
    env = {"ARCHIVER_CATALOG": right} if via == "env" else {}
    if via == "config":
        with_catalog(config, right)
    done = _run(["--config", str(config), "crawl", "--json"], env, config_dir)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr


def test_a_catalog_setting_that_is_not_a_postgresql_url_is_refused_unquoted(
    config_dir: Path, site: FixtureSite
) -> None:
    config = write_config(config_dir, site)
    for env, line in (
        ({"ARCHIVER_CATALOG": f"mysql://root:{PASSWORD}@db/archive"}, "$ARCHIVER_CATALOG"),
        ({}, "key 'store.catalog'"),
    ):
        if not env:
            with_catalog(config, f"sqlite://root:{PASSWORD}@here")
        error = assert_one_line_without_password(
            _run(["--config", str(config), "runs"], env, config_dir)
        )
        assert line in error and "must be a postgresql:// URL" in error
    plain = write_config(config_dir, site)
    migrate = _run(["--config", str(plain), "migrate", "--to", "sqlite:///x"], {}, config_dir)
    assert "--to must be a postgresql:// URL" in assert_one_line_without_password(migrate)
    nowhere = _run(["--config", str(plain), "migrate"], {}, config_dir)
    assert "migrate needs a cluster catalog" in assert_one_line_without_password(nowhere)


def test_migrate_with_a_wrong_password_is_one_line(
    config_dir: Path, site: FixtureSite, pg_cluster: PgCluster, pg_dsn: str
) -> None:
    config = write_config(config_dir, site, targets=["/99700"])
    assert cli_json(config, "crawl")["new_versions"] >= 1
    database = pg_dsn.split("@/")[1].split("?")[0]
    wrong = pg_cluster.dsn(database, user=PASSWORD_ROLE, password="wrong-" + PASSWORD)
    result = _run(["--config", str(config), "migrate", "--to", wrong], {}, config_dir)
    assert "password authentication failed" in assert_one_line_without_password(result)


def test_a_crawl_survives_a_postgresql_restart(
    config_dir: Path, site: FixtureSite, pg_cluster: PgCluster, pg_dsn: str
) -> None:
    """The server restarts while a page is being fetched: the page's transaction then
    starts on a new connection, and every page of the run is recorded."""
    config = with_catalog(
        write_config(
            config_dir,
            site,
            targets=["/99700", "/99710", "/99720"],
            # The restart holds the page's response: on a busy machine it takes seconds.
            extra="concurrency = 1\ntimeout = 120",
        ),
        pg_dsn,
    )
    restarts: list[int] = []

    def restart() -> None:
        if not restarts:
            restarts.append(1)
            pg_cluster.restart()

    site.routes["/99710"] = Route("slownews/99710.html", before=restart)
    result = _run(["--config", str(config), "crawl", "--json"], {}, config_dir)
    assert result.returncode == 0, result.stderr
    assert restarts == [1] and "reconnected to the catalog" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["errors"] == [] and summary["new_versions"] == 4  # 3 targets + the seed's
    for page in ("/99700", "/99710", "/99720"):
        assert len(cli_json(config, "history", site.url(page))) == 1
    verify(config)


_PROBE = (
    "import sys\n"
    "{block}"
    "from archiver.cli import main\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    print('exit', exc.code, 'psycopg' in sys.modules)\n"
)


def _probe(config: Path, block: str, env: dict[str, str], *args: str) -> tuple[str, str]:
    code = _PROBE.format(block=block)
    done = subprocess.run(
        [sys.executable, "-c", code, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "ARCHIVER_CATALOG"} | env,
    )
    return done.stdout.strip().splitlines()[-1], done.stderr


def test_the_embedded_mode_never_loads_psycopg(config_dir: Path, site: FixtureSite) -> None:
    config = write_config(config_dir, site, targets=["/99700"])
    assert cli_json(config, "crawl")["new_versions"] >= 1
    for command in (["search", "올트먼"], ["runs"], ["verify"]):
        last, stderr = _probe(config, "", {}, *command)
        assert last == "exit 0 False", stderr


def test_a_cluster_catalog_without_psycopg_installed_is_one_line(
    config_dir: Path, site: FixtureSite
) -> None:
    config = write_config(config_dir, site)
    block = "sys.modules['psycopg'] = None  # as if it were not installed\n"
    env = {"ARCHIVER_CATALOG": f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@/archive"}
    for command in (["runs"], ["verify"]):
        last, stderr = _probe(config, block, env, *command)
        assert last.startswith("exit 2 ") and "Traceback" not in stderr, stderr
        assert "pip install 'archiver[cluster]'" in stderr and PASSWORD not in stderr


def test_one_writer_per_cluster_catalog_across_store_folders(tmp_path: Path, pg_dsn: str) -> None:
    """Two machines (two store folders) on one catalog: the second crawl is refused
    while the first writes, and may write once it is done."""
    first = Store(tmp_path / "a", pg_dsn)
    second = Store(tmp_path / "b", pg_dsn)
    first.lock()
    with pytest.raises(StoreLockedError, match="writing to the catalog at postgresql://"):
        second.lock()
    first.unlock()
    second.lock()  # released: the other machine's turn
    second.close()
    first.close()


@pytest.mark.parametrize(
    ("dsn", "secret"),
    [
        ("postgresql://u:p%40ss%3Aw%2Frd@db.example:5433/archive", "p@ss:w/rd"),
        ("postgresql://u:plain-secret@/archive?host=/run/pg", "plain-secret"),
        ("postgres://u:s3cret@db.example/archive?sslmod=bad", "s3cret"),  # unparseable
        ("postgresql://u@db.example/archive?password=qs-secret", "qs-secret"),
    ],
)
def test_a_dsn_is_shown_without_its_password_in_any_spelling(dsn: str, secret: str) -> None:
    from archiver.storage.postgres import redact, scrub

    shown = redact(dsn)
    assert shown.startswith("postgresql://u@") or shown.startswith("postgres://u@"), shown
    message = f"bad {dsn} and {secret} and {quote(secret, safe='')}"
    for text in (shown, scrub(message, dsn)):
        assert secret not in text and "secret" not in text and "p%40ss" not in text, text


def test_a_page_whose_transaction_a_restart_cut_is_recorded_again_once(
    config_dir: Path,
    site: FixtureSite,
    pg_cluster: PgCluster,
    pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server restarts in the middle of a page's transaction (after its target row,
    before its capture): the server rolled the page back, it is recorded again, once."""
    config = with_catalog(write_config(config_dir, site, targets=["/99700"], seed=False), pg_dsn)
    original = Catalog.add_capture
    cut: list[str] = []

    def add_capture(self: Catalog, **fields: Any) -> int:
        if not cut:
            cut.append(fields["url"])
            pg_cluster.restart()
        return original(self, **fields)

    monkeypatch.setattr(Catalog, "add_capture", add_capture)
    summary = cli_json(config, "crawl")
    assert cut == [site.url("/99700")]
    assert summary["errors"] == [] and summary["new_versions"] == 1
    catalog = Catalog(pg_dsn)
    [target] = catalog.targets()
    assert len(catalog.captures(target.id)) == 1 and len(catalog.versions(target.id)) == 1
    catalog.close()
    verify(config)


def test_gc_and_reindex_work_on_a_cluster_catalog(
    config_dir: Path, site: FixtureSite, pg_dsn: str
) -> None:
    config = with_catalog(make_config(config_dir, site, "keep_last = 1"), pg_dsn)
    for flower in FLOWERS[:4]:
        site.routes["/orchard"] = Route(body=orchard_page(flower))
        assert cli_json(config, "crawl")["new_versions"] == 1
    shutil.rmtree(config_dir / "store" / "reports")  # reports would pin what they cite
    gone = cli_json(config, "gc")
    assert [v["version"] for v in gone["versions"]] == [2, 3] and gone["warc_files"]
    assert [v["version"] for v in cli_json(config, "history", site.url("/orchard"))] == [1, 4]
    assert cli(config, "reindex").exit_code == 0
    for flower, found in zip(FLOWERS[:4], ([1], [], [], [4]), strict=True):
        hits = cli_json(config, "search", flower, "--all-versions")
        assert [h["version"] for h in hits] == found
    verify(config)
