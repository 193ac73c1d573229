"""WACZ export speed and memory (issue 17): `archiver export --wacz` against `wacz create`
(Webrecorder's py-wacz) on the same WARC files, in one run.

Builds the crawl benchmark's store (``benchmarks/crawl.py``'s generated Korean site, served
by its own nginx, crawled by the full pipeline), twice: with ``--pages`` pages and with a
quarter of them. On each store, in child processes (each reports its own peak RSS, VmHWM):

1. ``export_wacz`` of the whole store, timed inside the child (the export alone, not the
   interpreter's start-up; its CPU time, all threads and the pages worker process, is
   printed beside the wall time: on a shared machine it tells load from work; its peak
   RSS is the larger of the export process's and its worker's);
2. ``wacz create -o … store/warc/*.warc.gz`` (py-wacz: index, pages, package), timed the
   same way around its ``main``.

Speeds are MB (10^6 bytes) of WARC data exported per second: the store's ``warc/`` files,
which both tools read. Peak RSS for the small and the full store is printed: streaming
means the two are about the same. Usage (from the repo root)::

    PYTHONPATH=. .venv/bin/python benchmarks/export.py [--pages 2000] [--runs 3] [--keep]
    PYTHONPATH=. .venv/bin/python benchmarks/export.py --reuse DIR   # the stores --keep kept

The last line is ``wacz_mb_per_s=X peak_rss_mb=Y pywacz_mb_per_s=Z`` (medians over
``--runs``; peak RSS of the full store's export). Needs nginx and the dev extra (wacz).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import crawl  # noqa: E402  (the site generator and nginx runner of the crawl benchmark)

# VmHWM, the peak resident set of this process image (getrusage's ru_maxrss would also
# count the benchmark process a child was forked from).
PEAK_RSS = """
def peak_rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

EXPORT_CHILD = (
    PEAK_RSS
    + """
import json, resource, sys, time
from pathlib import Path
from archiver.crawler.selection import Selection
from archiver.crawler.wacz_export import export_wacz
from archiver.storage.store import Store
store = Store(Path(sys.argv[1]))
def children_cpu():
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime
start, cpu, worker = time.perf_counter(), time.process_time(), children_cpu()
result = export_wacz(store, Selection(), Path(sys.argv[2]))
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
cpu += children_cpu() - worker  # the pages worker process, when there was one
# The pages worker's peak too (a fork: it counts the pages it shares with this process).
rss = max(peak_rss_mb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
print(json.dumps({"seconds": seconds, "cpu": cpu, "records": result.records, "rss_mb": rss}))
"""
)

PYWACZ_CHILD = (
    PEAK_RSS
    + """
import contextlib, io, json, sys, time
from wacz.main import main
start, cpu = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["create", "-o", sys.argv[2], *sys.argv[3:]])
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "code": code, "rss_mb": peak_rss_mb()}))
"""
)


def child(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` in a child Python; the JSON line it prints last."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"export.py: child failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.splitlines()[-1]))


def build_store(work: Path, nginx: crawl.Nginx, paths: list[str], name: str) -> Path:
    store = work / name
    config = crawl.write_config(
        work / f"{name}.toml", store, [nginx.base + p for p in paths], "archiver-export-bench"
    )
    secs, states = crawl.run_pipeline(config)
    if states.get("new", 0) != len(paths):
        sys.exit(f"export.py: the crawl did not store every page: {states}")
    print(f"{name}: {len(paths)} pages crawled in {secs:.1f} s", flush=True)
    return store


def measure(store: Path, work: Path, tag: str) -> tuple[float, float, float, float]:
    """(archiver MB/s, archiver peak RSS MB, py-wacz MB/s, py-wacz peak RSS MB)."""
    warcs = sorted(str(p) for p in (store / "warc").glob("*.warc.gz"))
    size = sum(Path(p).stat().st_size for p in warcs) / 1e6
    ours = child(EXPORT_CHILD, str(store), str(work / f"{tag}-archiver.wacz"))
    theirs = child(PYWACZ_CHILD, str(store), str(work / f"{tag}-pywacz.wacz"), *warcs)
    our_rss, their_rss = ours["rss_mb"], theirs["rss_mb"]
    with zipfile.ZipFile(work / f"{tag}-archiver.wacz") as archive:
        text = archive.getinfo("pages/pages.jsonl").file_size / 1e6
    ours_rate, theirs_rate = size / ours["seconds"], size / theirs["seconds"]
    print(
        f"{tag}: {size:.1f} MB of WARC, {text:.1f} MB of pages text;"
        f" archiver {ours['seconds']:.3f} s (CPU {ours['cpu']:.3f} s) = {ours_rate:.1f} MB/s,"
        f" peak RSS {our_rss:.0f} MB ({ours['records']:.0f} records);"
        f" wacz create {theirs['seconds']:.3f} s (CPU {theirs['cpu']:.3f} s)"
        f" = {theirs_rate:.1f} MB/s,"
        f" peak RSS {their_rss:.0f} MB",
        flush=True,
    )
    for path in work.glob(f"{tag}-*.wacz"):
        path.unlink()
    return ours_rate, our_rss, theirs_rate, their_rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="article pages (default 2000)")
    parser.add_argument("--runs", type=int, default=3, help="runs; figures are medians")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--reuse", type=Path, help="a directory --keep kept: measure its stores, crawl nothing"
    )
    args = parser.parse_args()
    if args.reuse is not None:
        small, full = args.reuse / "store-quarter", args.reuse / "store-full"
        quarter = [measure(small, args.reuse, f"quarter run {n}") for n in range(1, args.runs + 1)]
        results = [measure(full, args.reuse, f"full run {n}") for n in range(1, args.runs + 1)]
        summary(quarter, results)
        return
    if args.pages < 4 or args.runs < 1:
        parser.error("--pages must be at least 4 and --runs at least 1")
    crawl.find_nginx()
    work = Path(tempfile.mkdtemp(prefix="archiver-export-bench-"))
    work.chmod(0o755)  # nginx started as root serves as "nobody"
    nginx: crawl.Nginx | None = None
    try:
        paths, total, _digest = crawl.generate_site(work / "site", args.pages)
        print(f"site: {len(paths)} articles, {total / 1e6:.1f} MB", flush=True)
        nginx = crawl.Nginx(work, work / "site", gzip=True)
        small = build_store(work, nginx, paths[: len(paths) // 4], "store-quarter")
        full = build_store(work, nginx, paths, "store-full")
        nginx.stop()
        nginx = None
        quarter = [measure(small, work, f"quarter run {n}") for n in range(1, args.runs + 1)]
        results = [measure(full, work, f"full run {n}") for n in range(1, args.runs + 1)]
    finally:
        if nginx is not None:
            nginx.stop()
        if args.keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)

    summary(quarter, results)


def summary(
    quarter: list[tuple[float, float, float, float]],
    results: list[tuple[float, float, float, float]],
) -> None:
    def med(rows: list[tuple[float, float, float, float]], i: int) -> float:
        return float(statistics.median(r[i] for r in rows))

    print(
        f"peak RSS MB: quarter store {med(quarter, 1):.0f} (wacz create {med(quarter, 3):.0f}),"
        f" full store {med(results, 1):.0f} (wacz create {med(results, 3):.0f})",
        flush=True,
    )
    print(
        f"wacz_mb_per_s={med(results, 0):.1f} peak_rss_mb={med(results, 1):.0f}"
        f" pywacz_mb_per_s={med(results, 2):.1f}"
    )


if __name__ == "__main__":
    main()
