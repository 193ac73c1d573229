"""WARC files on S3-compatible storage, against a real SeaweedFS started by the tests.

A crawl writes into the spool (``<store>/warc/``) and uploads each closed file; once
the spool is empty, show, diff and verify still work, verify reading every record back
with a range request. S3 down: the crawl succeeds, the files wait, verify says so; S3
back: `archiver upload` catches up. Bad endpoint, credentials or bucket: one line,
exit status 2, no secret anywhere.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archiver.config import load_config
from archiver.crawler import pipeline
from archiver.storage.store import Store

from .helpers import FixtureSite, Route, cli, cli_json, cli_store, write_config
from .seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedFS, require_weed


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS per xdist worker (a session there is one worker's)."""
    server = SeaweedFS(require_weed(), tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3(seaweed: SeaweedFS, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SeaweedFS:
    """The server, up, with the test key in the environment (and no other source of
    credentials: no profile files, no instance metadata)."""
    if seaweed.process is None:  # a test that stopped it failed before starting it again
        seaweed.start()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return seaweed


def s3_config(
    directory: Path,
    site: FixtureSite,
    server: SeaweedFS,
    *,
    prefix: str,
    endpoint: str = "",
    **options: Any,
) -> Path:
    """The fixture-site config (``options`` as for write_config), its WARC files on S3
    under ``prefix``."""
    config = write_config(directory, site, **options)
    text = config.read_text(encoding="utf-8").replace(
        'path = "store"\n',
        f'path = "store"\nwarc = "s3://{BUCKET}/{prefix}"\n'
        f'warc_endpoint = "{endpoint or server.endpoint}"\n',
        1,
    )
    config.write_text(text, encoding="utf-8")
    return config


def objects(server: SeaweedFS, prefix: str) -> dict[str, int]:
    """The bucket's objects under ``prefix``: name -> size (as `aws s3 ls` shows them)."""
    client: Any = server.client()
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return {o["Key"].removeprefix(prefix + "/"): o["Size"] for o in listed.get("Contents", [])}


def spool(config: Path) -> list[str]:
    return sorted(p.name for p in (config.parent / "store" / "warc").glob("*.warc*"))


def test_crawl_uploads_and_every_reader_works_from_s3(
    s3: SeaweedFS, site: FixtureSite, config_dir: Path
) -> None:
    config = s3_config(config_dir, site, s3, prefix="e2e")
    page = site.url("/99663")
    assert cli_json(config, "crawl")["new_versions"] == 1
    site.serve("/99663", "slownews/99663.v2.html")
    assert cli_json(config, "crawl")["new_versions"] == 1

    # Each run's file was uploaded, checked, and only then left the spool.
    assert spool(config) == []
    uploaded = objects(s3, "e2e")
    assert len(uploaded) == 2 and all(n.endswith(".warc.gz") for n in uploaded)

    # show, history and diff read the catalog; verify re-reads every record from S3.
    assert cli_json(config, "show", page)["version"] == 2
    assert [v["version"] for v in cli_json(config, "history", page)] == [1, 2]
    diff = cli(config, "diff", page, "--format", "json")
    assert diff.exit_code == 1 and json.loads(diff.stdout)["changed"] is True
    html = cli(config, "diff", page, "--format", "html")  # "archived WARC" links the objects
    assert all(f'href="{s3.endpoint}/{BUCKET}/e2e/{name}"' in html.stdout for name in uploaded)
    report = cli_json(config, "verify")
    assert report == {"checked": 2, "problems": [], "torn_tails": [], "waiting_upload": []}

    # An object that changed on the server, or vanished, is a problem verify names.
    client: Any = s3.client()
    first, second = sorted(uploaded)
    body = client.get_object(Bucket=BUCKET, Key=f"e2e/{first}")["Body"].read()
    client.put_object(Bucket=BUCKET, Key=f"e2e/{first}", Body=body[:-10] + b"0123456789")
    client.delete_object(Bucket=BUCKET, Key=f"e2e/{second}")
    result = cli(config, "verify", "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert any(first in p and "differs" in p for p in problems), problems
    assert any(second in p and "missing" in p for p in problems), problems


def test_s3_down_during_a_crawl_loses_nothing_and_catches_up(
    s3: SeaweedFS, site: FixtureSite, config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = s3_config(config_dir, site, s3, prefix="outage")
    loaded = load_config(config)

    def stop_s3(outcome: object) -> None:  # S3 goes down once the crawl is under way
        s3.stop()

    with caplog.at_level(logging.WARNING), Store.from_config(loaded) as store:
        summary = pipeline.crawl(loaded, store, progress=stop_s3)
    assert summary.count("new") == 1 and not summary.errors
    assert any("wait in the spool" in r.getMessage() for r in caplog.records)

    waiting = spool(config)
    assert len(waiting) == 1
    report = cli_json(config, "verify")  # the record is read from the spool
    assert report["problems"] == [] and report["checked"] == 1
    assert report["waiting_upload"] == waiting

    down = cli(config, "upload")  # asked for explicitly, S3 must answer
    assert down.exit_code == 2 and "cannot reach S3" in down.stderr
    assert spool(config) == waiting

    s3.start()
    assert cli_json(config, "upload")["uploaded"] == waiting
    assert spool(config) == [] and list(objects(s3, "outage")) == waiting
    report = cli_json(config, "verify")
    assert report["problems"] == [] and report["checked"] == 1
    assert report["waiting_upload"] == []
    assert cli_json(config, "show", site.url("/99663"))["version"] == 1

    s3.stop()  # verify needs S3 for what was uploaded: one line, exit 2 (the fixture restarts it)
    blind = cli(config, "verify")
    assert blind.exit_code == 2 and blind.stderr.count("\n") == 1
    assert blind.stderr.startswith("archiver: error: cannot reach S3")


@pytest.mark.parametrize(
    ("env", "config_extra", "command", "message"),
    [
        ({"AWS_SECRET_ACCESS_KEY": "wrong-secret-987"}, {}, "crawl", "refused the credentials"),
        ({"AWS_ACCESS_KEY_ID": "nobody-key-654"}, {}, "crawl", "refused the credentials"),
        ({}, {"bucket": "no-such-bucket"}, "crawl", "no bucket 'no-such-bucket'"),
        ({}, {"endpoint": "http://127.0.0.1:9"}, "upload", "cannot reach S3"),
        ({"AWS_ACCESS_KEY_ID": None}, {}, "upload", "no S3 credentials"),
    ],
)
def test_bad_s3_input_is_one_line_exit_2_without_secrets(
    s3: SeaweedFS,
    site: FixtureSite,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    env: dict[str, str | None],
    config_extra: dict[str, str],
    command: str,
    message: str,
) -> None:
    config = s3_config(
        config_dir, site, s3, prefix="bad", endpoint=config_extra.get("endpoint", "")
    )
    if "bucket" in config_extra:
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace(f"s3://{BUCKET}/", f"s3://{config_extra['bucket']}/"))
    if command == "upload":  # something to upload
        (config_dir / "store" / "warc").mkdir(parents=True)
        (config_dir / "store" / "warc" / "archiver-x.warc.gz").write_bytes(b"x")
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, value)
    with caplog.at_level(logging.DEBUG):
        result = cli(config, "--verbose", command)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("archiver: error")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output
    logged = "\n".join(r.getMessage() for r in caplog.records) + result.output
    for secret in (SECRET_KEY, "wrong-secret-987"):
        assert secret not in logged
    if command == "crawl":
        assert site.requests == []  # refused before anything was fetched
        assert not list((config_dir / "store" / "warc").glob("*.warc.gz"))


def test_credentials_in_the_config_are_refused(site: FixtureSite, config_dir: Path) -> None:
    config = write_config(config_dir, site)
    text = config.read_text(encoding="utf-8").replace(
        'path = "store"\n',
        'path = "store"\nwarc = "s3://archive/x"\n'
        'warc_endpoint = "http://key:topsecret@127.0.0.1:8333"\n',
        1,
    )
    config.write_text(text, encoding="utf-8")
    result = cli(config, "crawl")
    assert result.exit_code == 2
    assert "must not hold credentials" in result.stderr and "topsecret" not in result.output


def test_files_closed_by_age_upload_while_the_crawl_goes_on(
    s3: SeaweedFS, site: FixtureSite, config_dir: Path
) -> None:
    config = s3_config(
        config_dir,
        site,
        s3,
        prefix="aged",
        targets=["/99700", "/99710"],
        extra='warc_max_age = "0.5s"',
    )
    loaded = load_config(config)
    assert loaded.crawl.warc_max_age == "0.5s" and len(loaded.targets) == 2
    seen_during_run: list[int] = []

    def watch(outcome: object) -> None:
        # Pages that finish fetching together are recorded together, into one file; this
        # hook runs in the crawl's loop after each page, so the follow-up fetched later is
        # recorded more than warc_max_age after the first file opened, into a new file.
        # Once it is recorded, the first file was closed by age: the background thread
        # uploads it while the run goes on.
        time.sleep(0.6)
        seen_during_run.append(len(objects(s3, "aged")))
        if len(seen_during_run) == 3:
            deadline = time.monotonic() + 15
            while not objects(s3, "aged") and time.monotonic() < deadline:
                time.sleep(0.1)
            seen_during_run[-1] = len(objects(s3, "aged"))

    with Store.from_config(loaded) as store:
        summary = pipeline.crawl(loaded, store, progress=watch)
    assert summary.count("new") == 3
    assert seen_during_run[0] == 0 and seen_during_run[2] >= 1  # uploaded mid-run
    uploaded = objects(s3, "aged")
    with Store.from_config(loaded) as store:
        files = {c.warc_file for c in store.catalog.captures() if c.warc_file}
    # Every file the captures point at was uploaded, the spool is empty, and the pages
    # recorded apart went to files of their own (closed by age).
    assert len(uploaded) == len(files) >= 2 and spool(config) == []
    assert cli_json(config, "verify")["problems"] == []


def test_import_into_a_store_on_s3(
    s3: SeaweedFS, site: FixtureSite, config_dir: Path, tmp_path: Path
) -> None:
    local = write_config(tmp_path / "local", site)
    cli_json(local, "crawl")
    [warc] = (tmp_path / "local" / "store" / "warc").glob("*.warc.gz")

    config = s3_config(config_dir, site, s3, prefix="imported", seed=False)
    first = cli_json(config, "import", str(warc))
    assert first["new_versions"] == 1
    stored = first["files"][0]["stored_as"]
    assert spool(config) == [] and list(objects(s3, "imported")) == [stored]
    # The same file again: known from the catalog, though it left the spool.
    again = cli_json(config, "import", str(warc))
    assert again["files"][0]["skipped"] == "already imported"
    assert cli_json(config, "verify")["problems"] == []
    # Without the config, verify cannot know where the files are: it says so.
    blind = cli_store(config_dir / "store", "verify")
    assert blind.exit_code == 2 and "are on S3" in blind.stderr


@pytest.mark.parametrize(
    ("store_lines", "crawl_line", "message"),
    [
        ('warc = "ftp://archive/x"', "", 'must be "local" or "s3://bucket/prefix"'),
        ('warc = "s3://A_Bucket/x"', "", "is not an S3 bucket name"),
        ('warc_endpoint = "http://127.0.0.1:8333"', "", "needs 'store.warc"),
        ('warc = "s3://archive/x"\nwarc_endpoint = "127.0.0.1:8333"', "", "http(s) URL"),
        ('warc = "s3://archive/x"\nwarc_secret = "x"', "", "unknown key 'store.warc_secret'"),
        ("", 'warc_max_age = "0s"', "'crawl.warc_max_age' must be more than 0"),
        ("", 'warc_max_age = "soon"', "'crawl.warc_max_age' must be a number"),
        ('warc = "s3://archive/x"', "warc_max_size = 6000000000", "must be at most 4000000000"),
    ],
)
def test_bad_warc_location_keys_are_one_line_config_errors(
    site: FixtureSite, config_dir: Path, store_lines: str, crawl_line: str, message: str
) -> None:
    config = write_config(config_dir, site, extra=crawl_line)
    text = config.read_text(encoding="utf-8").replace(
        'path = "store"\n', f'path = "store"\n{store_lines}\n', 1
    )
    config.write_text(text, encoding="utf-8")
    result = cli(config, "verify")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_gc_deletes_objects_no_capture_needs(
    s3: SeaweedFS, site: FixtureSite, config_dir: Path
) -> None:
    from .test_retention import FLOWERS, page

    config = s3_config(config_dir, site, s3, prefix="gc", targets=["/orchard"], seed=False)
    with config.open("a", encoding="utf-8") as fh:
        fh.write("\n[retention]\nkeep_last = 1\n")
    made: list[set[str]] = []
    for flower in FLOWERS[:3]:  # v1 (first: always kept), v2, v3 (latest)
        site.routes["/orchard"] = Route(body=page(flower))
        before = set(objects(s3, "gc"))
        assert cli_json(config, "crawl")["new_versions"] == 1
        made.append(set(objects(s3, "gc")) - before)
    assert all(len(names) == 1 for names in made) and spool(config) == [], made
    [second] = made[1]

    planned = cli_json(config, "gc", "--dry-run")
    assert [f["file"] for f in planned["warc_files"]] == [second]
    assert second in objects(s3, "gc")  # a dry run deletes nothing
    done = cli_json(config, "gc")
    assert [v["version"] for v in done["versions"]] == [2]
    assert set(objects(s3, "gc")) == made[0] | made[2]  # v2's object is gone, no other
    report = cli_json(config, "verify")
    assert report["problems"] == [] and report["checked"] == 2


def test_next_run_uploads_what_a_run_left_in_the_spool(
    s3: SeaweedFS, site: FixtureSite, config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = s3_config(config_dir, site, s3, prefix="later")
    s3.stop()  # down before the run starts: the run still crawls, into the spool
    with caplog.at_level(logging.WARNING):
        first = cli(config, "crawl", "--json")
    assert first.exit_code == 0 and json.loads(first.stdout)["new_versions"] == 1
    warned = [r.getMessage() for r in caplog.records if "cannot reach S3" in r.getMessage()]
    assert len(warned) == 2  # at the start, and for the file left in the spool at the end
    [left] = spool(config)
    # As a kill in the middle of an upload leaves it.
    with sqlite3.connect(config_dir / "store" / "catalog.sqlite3") as db:
        db.execute("UPDATE warc_files SET state = 'uploading' WHERE name = ?", (left,))
    assert cli_json(config, "verify")["waiting_upload"] == [left]

    s3.start()
    site.serve("/99663", "slownews/99663.v2.html")
    assert cli_json(config, "crawl")["new_versions"] == 1
    uploaded = objects(s3, "later")
    assert left in uploaded and len(uploaded) == 2 and spool(config) == []
    report = cli_json(config, "verify")
    assert report["problems"] == [] and report["waiting_upload"] == [] and report["checked"] == 2


def test_s3_with_the_postgresql_catalog(
    s3: SeaweedFS, site: FixtureSite, config_dir: Path, tmp_path: Path, pg_dsn: str
) -> None:
    """The spool's upload state lives in the cluster catalog just as in SQLite: crawls,
    an ARC import and a recompressed whole-gzip import all end up on S3, checked."""
    from archiver.storage.catalog import Catalog

    from .archive_samples import ARC_GZ, WHOLE_WARC, write_samples
    from .test_cluster_catalog import with_catalog

    config = with_catalog(s3_config(config_dir, site, s3, prefix="pg"), pg_dsn)
    assert cli_json(config, "crawl")["new_versions"] == 1
    site.serve("/99663", "slownews/99663.v2.html")
    assert cli_json(config, "crawl")["new_versions"] == 1
    samples = write_samples(tmp_path / "samples")
    imported = cli_json(config, "import", str(samples / ARC_GZ), str(samples / WHOLE_WARC))
    stored = [f["stored_as"] for f in imported["files"]]
    assert len(stored) == 2 and stored[0].endswith(".arc.gz")

    assert not (config_dir / "store" / "catalog.sqlite3").exists()  # the catalog is PG's
    assert not any((config_dir / "store" / "warc").iterdir())  # the spool is empty
    uploaded = objects(s3, "pg")
    assert len(uploaded) == 4 and set(stored) <= set(uploaded)
    catalog = Catalog(pg_dsn)
    rows = {r.name: (r.state, r.size) for r in catalog.warc_files()}
    catalog.close()
    assert rows == {name: ("uploaded", size) for name, size in uploaded.items()}
    # The whole-gzip file's original stays local; verify compares it with the object.
    assert [p.name for p in (config_dir / "store" / "originals").iterdir()] == [stored[1]]
    report = cli_json(config, "verify")
    assert report["problems"] == [] and report["waiting_upload"] == []
    assert report["checked"] >= 4 and report["originals"] == 1


def test_export_a_wacz_from_s3(s3: SeaweedFS, site: FixtureSite, config_dir: Path) -> None:
    """`export --wacz` reads each record from its object (the spool is empty) and copies
    it byte for byte; the WACZ imports into a local store with the same versions."""
    import zipfile

    config = s3_config(config_dir, site, s3, prefix="wacz")
    page = site.url("/99663")
    assert cli_json(config, "crawl")["new_versions"] == 1
    site.serve("/99663", "slownews/99663.v2.html")
    assert cli_json(config, "crawl")["new_versions"] == 1
    assert spool(config) == []
    wacz = config_dir / "story.wacz"
    exported = cli_json(config, "export", "--wacz", str(wacz), "--seed", "1")
    assert exported["skipped"] == [] and exported["seeds"] == 1
    with zipfile.ZipFile(wacz) as archive:
        data = archive.read("archive/data.warc.gz")
    client: Any = s3.client()
    with sqlite3.connect(config_dir / "store" / "catalog.sqlite3") as db:
        rows = db.execute(
            "SELECT warc_file, warc_offset, warc_length FROM captures WHERE url = ?", (page,)
        ).fetchall()
    assert len(rows) == 2
    for name, offset, length in rows:
        body = client.get_object(Bucket=BUCKET, Key=f"wacz/{name}")["Body"].read()
        assert body[offset : offset + length] in data
    copy = config_dir / "copy"
    assert cli_store(copy, "import", str(wacz)).exit_code == 0
    ours = [(v["version"], v["content_hash"]) for v in cli_json(config, "history", page)]
    theirs = json.loads(cli_store(copy, "history", page, "--json").stdout)
    assert [(v["version"], v["content_hash"]) for v in theirs] == ours
    # pywb cannot read the bucket in place: replay says to export a WACZ instead.
    refused = cli(config, "replay")
    assert refused.exit_code == 2 and "export a WACZ" in refused.stderr, refused.output


def test_cluster_workers_spool_while_s3_is_down_and_catch_up(
    s3: SeaweedFS, site: FixtureSite, tmp_path: Path, pg_dsn: str
) -> None:
    """Two `archiver worker`s, each with its own spool, crawl while S3 is down: the pages
    are recorded, their WARC files wait; once S3 answers, a worker's next start uploads
    what it left, and a reader with no spool of its own verifies every record on S3."""
    from archiver.crawler.cluster import plan_now
    from archiver.storage.catalog import Catalog

    from .cluster import Worker, wait_for
    from .test_cluster_catalog import with_catalog

    paths = [f"/c{n}" for n in range(4)]
    for path in paths:
        site.routes[path] = Route("slownews/99700.html", delay=0.2)

    def config(name: str) -> Path:
        made = with_catalog(
            s3_config(tmp_path / name, site, s3, prefix="cluster", targets=paths, seed=False),
            pg_dsn,
        )
        made.write_text(made.read_text() + '\n[schedule]\ncron = "0 0 1 1 *"\n')
        return made

    configs = [config("w1"), config("w2")]
    reader = config("reader")
    loaded = load_config(reader)
    with Store.from_config(loaded) as store:
        plan = plan_now(loaded, store)
    assert plan is not None
    catalog = Catalog(pg_dsn)
    workers = [Worker(c, "--pages-per-job", "1") for c in configs]
    try:
        wait_for(lambda: catalog.count_versions() >= 1, 30, "a page recorded")
        s3.stop()
        wait_for(lambda: catalog.run(plan.run_id).finished_at is not None, 60, "the run")
        for worker in workers:
            assert worker.stop() == 0, worker.stderr
        # S3 down: each worker that wrote a file warned and kept it (under load one
        # worker may have done every page)
        waiting = [name for c in configs for name in spool(c)]
        assert waiting
        warned = [w for w in workers if "wait in the spool" in w.stderr]
        assert len(warned) == sum(1 for c in configs if spool(c))
        s3.start()
        again = [Worker(c) for c in configs]  # each uploads its spool as it starts
        workers += again
        wait_for(lambda: not any(spool(c) for c in configs), 60, "the spools to empty")
        for worker in again:
            assert worker.stop() == 0
    finally:
        catalog.close()
        for worker in workers:
            worker.close()
    assert set(waiting) <= set(objects(s3, "cluster"))
    report = cli_json(reader, "verify")
    assert report["problems"] == [] and report["waiting_upload"] == []
    assert report["checked"] == len(paths)
