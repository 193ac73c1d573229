"""Cold CLI time: `archiver search`, `history` and `show` as new processes, page cache warm.

What a user waits for at the terminal: each command starts a fresh Python process, imports
what it needs, opens the store and answers. The store is the one benchmarks/serve.py
builds (N generated Korean articles written to the catalog as versions, plus the default
seed post and its Slownews article with two versions, then `reindex`). Each command runs
once to warm the page cache and Python's bytecode cache (``__pycache__``, as on any
user's machine after the first run: the children run without ``PYTHONDONTWRITEBYTECODE``
even when this shell sets it), then ``--runs`` times; the figure is the median wall time.
The reference in the same run is the interpreter alone (``python -c pass``): what no
Python CLI can go below.

Last line:

    search_ms=… history_ms=… show_ms=… python_ms=… docs=…

Target: each of search, history and show ≤ 250 ms.
Usage: python benchmarks/cli_cold.py [--docs 20000] [--runs 9] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import ARCHIVER, build  # noqa: E402  (the serve benchmark's store)

from archiver.storage.store import Store  # noqa: E402


def wall_ms(argv: list[str], runs: int) -> float:
    """Median wall time of ``argv`` in ms, after one warm-up run; exits on a failure."""
    times = []
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for attempt in range(runs + 1):
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env)
        elapsed = (time.perf_counter() - started) * 1000
        if proc.returncode != 0:
            sys.exit(f"cli_cold.py: {' '.join(argv[1:])} failed: {proc.stderr.strip()[-500:]}")
        if attempt:
            times.append(elapsed)
    return float(statistics.median(times))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--keep", type=Path, default=None, help="build the store here; reuse it")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="archiver-cli-cold-"))
    root = workdir / "store"
    try:
        samples = build(root, args.docs)
        with Store(root) as store:
            [seed] = store.catalog.seeds()
            url = seed.data["references"][0]["url"]  # the Slownews article: two versions
        query = " ".join(samples[0][:2])
        base = [ARCHIVER, "--store", str(root)]
        figures = {
            "search": wall_ms([*base, "search", query], args.runs),
            "history": wall_ms([*base, "history", url], args.runs),
            "show": wall_ms([*base, "show", url], args.runs),
            "python": wall_ms([sys.executable, "-c", "pass"], args.runs),
        }
        for name, ms in figures.items():
            print(f"{name:8} {ms:7.1f} ms (median of {args.runs})", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(" ".join(f"{name}_ms={ms:.0f}" for name, ms in figures.items()) + f" docs={args.docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
