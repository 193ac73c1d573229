"""Cluster mode benchmark (issue 14, item 7): `archiver worker`s on a real PostgreSQL.

    PYTHONPATH=. .venv/bin/python benchmarks/cluster.py --pages 300

Starts what it needs itself: a throwaway PostgreSQL 15 cluster (tests/postgres.py: as
root, Debian's initdb/pg_ctl as `postgres`, Unix socket, fsync on) and nginx serving
benchmarks/crawl.py's generated site on 127.0.0.1 … 127.0.0.8 (eight hosts to the
crawler's politeness; one port). WARC files stay local (a SeaweedFS spool only adds the
upload, which tests/test_s3.py covers). Each phase has a fresh database:

1. ``pages_per_s_1``: one worker (``--concurrency 8``, pinned to core 0 with taskset)
   crawls ``--pages`` pages spread over the eight hosts: pages / seconds from the plan
   to the run's end.
2. ``pages_per_s_2``: the same with two workers, pinned to cores 0 and 1.
3. ``min_host_gap_s``: a host at ``per_host_delay = host_delay_s`` (127.0.0.9), crawled
   by both workers (two pages per job, so its jobs move between them): the smallest gap
   between two requests to it in nginx's access log (robots.txt included).
4. ``recover_s``, ``lost``, ``duplicated``: a worker is SIGKILLed in the middle of the
   delayed host's job while another runs (``--stalled-after 10s``); the seconds from the
   kill to the host's next request in nginx's log, then, once the run ends, the pages
   with no version (lost) and the captures beyond one per page (duplicated).

The last line: ``pages_per_s_1=… pages_per_s_2=… ratio=… min_host_gap_s=… host_delay_s=…
recover_s=… lost=N duplicated=N``. Needs nginx (``apt-get install -y nginx``), root, and
the cluster extra.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from crawl import Nginx, generate_site, write_config  # noqa: E402  (benchmarks/crawl.py)

from archiver.storage.catalog import Catalog  # noqa: E402
from tests.cluster import plan, run_done, wait_for  # noqa: E402
from tests.postgres import PgCluster, available  # noqa: E402

ARCHIVER = str(Path(sys.executable).with_name("archiver"))
HOSTS = [f"127.0.0.{n}" for n in range(1, 9)]
DELAYED = "127.0.0.9"
STARTED: list[subprocess.Popen[bytes]] = []  # every worker, killed at the end if still up


def served(nginx: Nginx, address: str) -> list[float]:
    """Epoch times of the requests nginx served on ``address`` (its log: LOG below)."""
    time.sleep(0.2)  # nginx logs a request just after its last byte went out
    times = []
    for line in nginx.log.read_text().splitlines():
        stamp, where, _ = line.split(" ", 2)
        if where == address:
            times.append(float(stamp))
    return sorted(times)


LOG = "$msec $server_addr $status $request_uri"


def config(folder: Path, dsn: str, urls: list[str], delay: float) -> Path:
    """crawl.py's config, on the cluster catalog, with ``delay`` and no schedule tick."""
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder / "archiver.toml", folder / "store", urls, "archiver-cluster")
    text = path.read_text(encoding="utf-8")
    text = text.replace("\n\n", f'\ncatalog = "{dsn}"\n\n', 1)  # the [store] table's end
    text = text.replace("per_host_delay = 0\n", f"per_host_delay = {delay}\n")
    # no tick: the benchmark plans with plan_now
    path.write_text(text + '\n[schedule]\ncron = "0 0 1 1 *"\n', encoding="utf-8")
    return path


def worker(path: Path, core: int, *args: str) -> subprocess.Popen[bytes]:
    log = open(path.parent / f"worker-{core}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
    command = [ARCHIVER, "--config", str(path), "-q", "worker", *args]
    if shutil.which("taskset"):
        command = ["taskset", "-c", str(core % (os.cpu_count() or 1)), *command]
    STARTED.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log))
    return STARTED[-1]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_run(dsn: str, run_id: int, timeout: float = 900) -> None:
    wait_for(partial(run_done, dsn, run_id), timeout, f"run {run_id}", step=0.1)


def throughput(pg: PgCluster, tmp: Path, urls: list[str], workers: int) -> float:
    dsn = pg.new_database()
    path = config(tmp / f"tp{workers}", dsn, urls, 0)
    procs = [worker(path, core, "--concurrency", "8") for core in range(workers)]
    try:
        time.sleep(2.0)  # the workers import and connect before the clock starts
        started = time.monotonic()
        run_id = plan(path)
        wait_run(dsn, run_id)
        elapsed = time.monotonic() - started
    finally:
        stop(procs)
    return len(urls) / elapsed


def counts(dsn: str, urls: list[str]) -> tuple[int, int]:
    catalog = Catalog(dsn)
    try:
        lost = duplicated = 0
        for url in urls:
            target = catalog.target_by_url(url)
            if target is None or not catalog.versions(target.id):
                lost += 1
                continue
            duplicated += len(catalog.captures(target.id)) - 1
        return lost, duplicated
    finally:
        catalog.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--delay", type=float, default=0.5, help="the delayed host's delay")
    parser.add_argument("--delayed-pages", type=int, default=24)
    args = parser.parse_args()
    why_not = available()
    if why_not:
        sys.exit(f"cluster.py: {why_not}")
    tmp = Path(tempfile.mkdtemp(prefix="archiver-cluster-bench-"))
    pg = PgCluster(fsync=True)
    paths, _, _ = generate_site(tmp / "site", args.pages)
    tmp.chmod(0o755)  # nginx started as root serves as "nobody", which must read the site
    nginx = Nginx(tmp, tmp / "site", gzip=False, hosts=(*HOSTS, DELAYED), log_format=LOG)
    try:
        base = [f"http://{HOSTS[i % len(HOSTS)]}:{nginx.port}{p}" for i, p in enumerate(paths)]
        rate_1 = throughput(pg, tmp, base, 1)
        print(f"1 worker: {rate_1:.1f} pages/s", flush=True)
        rate_2 = throughput(pg, tmp, base, 2)
        print(f"2 workers: {rate_2:.1f} pages/s ({rate_2 / rate_1:.2f} x)", flush=True)

        # Politeness: both workers take turns at the delayed host.
        delayed = [f"http://{DELAYED}:{nginx.port}{p}" for p in paths[: args.delayed_pages]]
        dsn = pg.new_database()
        path = config(tmp / "polite", dsn, delayed, args.delay)
        procs = [worker(path, core, "--pages-per-job", "2") for core in (0, 1)]
        try:
            time.sleep(2.0)
            wait_run(dsn, plan(path))
        finally:
            stop(procs)
        times = served(nginx, DELAYED)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        print(f"delayed host: {len(times)} requests, smallest gap {min(gaps):.3f} s", flush=True)

        # A kill: the worker holding the host's job is SIGKILLed while another runs.
        dsn = pg.new_database()
        path = config(tmp / "kill", dsn, delayed, args.delay)
        victim = worker(path, 0, "--stalled-after", "10s")
        time.sleep(2.0)
        run_id = plan(path)
        catalog = Catalog(dsn)
        try:
            while len(catalog.captures()) < 3:
                time.sleep(0.05)
        finally:
            catalog.close()
        other = worker(path, 1, "--stalled-after", "10s")
        time.sleep(2.0)  # it runs, and waits: the host's lock is the victim's
        killed_at = time.time()
        victim.kill()
        victim.wait()
        wait_run(dsn, run_id)
        stop([other])
        after = [t for t in served(nginx, DELAYED) if t > killed_at]
        recover = after[0] - killed_at if after else float("nan")
        lost, duplicated = counts(dsn, delayed)
        print(f"killed: the host's next request {recover:.1f} s later", flush=True)
    finally:
        for proc in STARTED:
            if proc.poll() is None:
                proc.kill()
        nginx.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"pages_per_s_1={rate_1:.1f} pages_per_s_2={rate_2:.1f} ratio={rate_2 / rate_1:.2f}"
        f" min_host_gap_s={min(gaps):.3f} host_delay_s={args.delay} recover_s={recover:.1f}"
        f" lost={lost} duplicated={duplicated}"
    )


if __name__ == "__main__":
    main()
