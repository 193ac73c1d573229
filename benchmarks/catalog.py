"""The catalog on SQLite vs PostgreSQL, and what the choice costs the CLI's start-up.

    PYTHONPATH=. .venv/bin/python benchmarks/catalog.py [--pages 1000] [--sqlalchemy DIR]
        [--no-fsync]

Starts a throwaway PostgreSQL 15 cluster (``tests/postgres.py``: Debian's initdb and
pg_ctl as the postgres user, Unix socket; fsync on, as a real server, unless
``--no-fsync``: that separates the commits' disk flushes from the statements' cost). For
each engine, records ``--pages`` pages the way the crawl's recorder does, one transaction per page
(target upsert, the 304 and revisit look-ups, capture, version with 3 KB of Korean text,
target state), and reports pages/s. Then times cold CLI runs on the embedded store
(`archiver --help`, `archiver search` after `reindex`) and the same search on the
cluster catalog, plus the import time of psycopg and, with ``--sqlalchemy DIR`` (a
``pip install --target DIR sqlalchemy``), of SQLAlchemy: the cost a Core dialect layer
would add. The last line is
``sqlite_pages_per_s=… postgresql_pages_per_s=… ratio=… help_s=… search_s=…
search_pg_s=… import_psycopg_ms=… import_sqlalchemy_ms=…`` (ratio: PostgreSQL / SQLite).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archiver.storage.catalog import Catalog
from tests.postgres import PgCluster

ARCHIVER = str(Path(sys.executable).with_name("archiver"))
TEXT = ("오픈AI 이사회는 올트먼을 해임했다. 투자자들은 반발했다. " * 40).strip()


def record_pages(location: Path | str, pages: int) -> float:
    """Pages per second, recorded as the crawl records them."""
    catalog = Catalog(location)
    run = catalog.start_run("bench")
    start = time.perf_counter()
    for n in range(pages):
        url = f"https://news.example/{n}"
        with catalog.transaction():
            target = catalog.upsert_target(url, via="target")
            catalog.last_response(url)
            catalog.original_response(f"sha1:{n}", url)
            capture = catalog.add_capture(
                target_id=target.id,
                run_id=run,
                url=url,
                fetched_at="2024-01-01T00:00:00+00:00",
                status=200,
                payload_digest=f"sha1:{n}",
                record_type="response",
                warc_file="bench.warc.gz",
                warc_offset=n * 4096,
                warc_length=4096,
            )
            catalog.latest_version(target.id)
            catalog.add_version(
                target_id=target.id,
                capture_id=capture,
                fetched_at="2024-01-01T00:00:00+00:00",
                status=200,
                content_hash=f"h{n}",
                title=f"기사 {n}",
                author=None,
                published_at=None,
                modified_at=None,
                text=f"{TEXT} {n}",
                links=[],
                meta={},
            )
            catalog.set_target_state(target.id, "new")
    elapsed = time.perf_counter() - start
    catalog.finish_run(
        run, outcome="ok", fetched=pages, new_versions=pages, unchanged=0, not_modified=0, errors=[]
    )
    catalog.close()
    return pages / elapsed


def cold(args: list[str], env: dict[str, str], runs: int = 5) -> float:
    """Median wall time of a fresh `archiver` process."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([ARCHIVER, *args], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_ms(module: str, path: str = "", runs: int = 5) -> float:
    """Median cumulative import time of one module in a fresh interpreter (-X importtime)."""
    env = os.environ | ({"PYTHONPATH": path} if path else {})
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        line = [x for x in done.stderr.splitlines() if re.search(rf"\| {module}$", x)][-1]
        times.append(int(line.split("|")[1]) / 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--sqlalchemy", default="", help="a folder SQLAlchemy is installed in")
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL with fsync=off")
    args = parser.parse_args()
    cluster = PgCluster(fsync=not args.no_fsync)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Path(tmp) / "store"
            dsn = cluster.new_database()
            sqlite_rate = record_pages(store / "catalog.sqlite3", args.pages)
            pg_rate = record_pages(dsn, args.pages)
            env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_CATALOG"}
            subprocess.run([ARCHIVER, "--store", str(store), "reindex"], env=env, check=True)
            help_s = cold(["--help"], env)
            search_s = cold(["--store", str(store), "search", "올트먼"], env)
            pg_store = Path(tmp) / "pg-store"
            pg_env = env | {"ARCHIVER_CATALOG": dsn}
            subprocess.run([ARCHIVER, "--store", str(pg_store), "reindex"], env=pg_env, check=True)
            search_pg_s = cold(["--store", str(pg_store), "search", "올트먼"], pg_env)
    finally:
        cluster.stop()
    psycopg_ms = import_ms("psycopg")
    sqlalchemy_ms = import_ms("sqlalchemy", args.sqlalchemy) if args.sqlalchemy else float("nan")
    print(f"pages recorded per engine: {args.pages}")
    print(
        f"sqlite_pages_per_s={sqlite_rate:.0f} postgresql_pages_per_s={pg_rate:.0f}"
        f" ratio={pg_rate / sqlite_rate:.2f} help_s={help_s:.3f} search_s={search_s:.3f}"
        f" search_pg_s={search_pg_s:.3f} import_psycopg_ms={psycopg_ms:.0f}"
        f" import_sqlalchemy_ms={sqlalchemy_ms:.0f}"
    )


if __name__ == "__main__":
    main()
