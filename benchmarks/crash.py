"""Crash test: SIGKILL `archiver crawl` at random moments and check the archive each time.

    .venv/bin/python benchmarks/crash.py --kills 50

A local site of generated Korean articles is served on 127.0.0.1 (slowly enough that
kills land mid-run). N times: start a crawl as a subprocess, SIGKILL it after a random
delay, then check: `archiver verify` finds no
problem (no catalog row points at a missing or partial WARC record; torn tails are
counted), and every page the catalog has a version of is either searchable or added
back by `archiver reindex`. Finally one undisturbed crawl completes the archive, which
must equal that of an undisturbed crawl into a fresh store (same pages, same number of
versions, same content hashes). Prints the counts; the last line is
`kills=N checked=N verify_clean=N torn_tails=N reindex_needed=N archives_equal=true|false`
(checked: kills after the store existed; with ``--after-store`` each kill's delay counts
from the store's creation, so that a loaded machine's slow start-up does not make every
kill land before it). Exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ARCHIVER = str(Path(sys.executable).with_name("archiver"))
WORDS = (
    "오픈AI",
    "이사회",
    "올트먼이",
    "반도체",
    "투자자들은",
    "티그리스",
    "해임",
    "발표했다",
    "마이크로소프트",
    "기자회견",
    "직원들은",
    "복귀를",
    "요구했다",
    "엔비디아",
    "칩",
)


def article(n: int) -> bytes:
    rng = random.Random(n)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + ".</p>" for _ in range(12)
    )
    return (
        f"<!doctype html><html lang='ko'><head><meta charset='utf-8'>"
        f"<title>기사 {n}</title></head><body><article><h1>기사 {n}</h1>{paragraphs}"
        f"</article></body></html>"
    ).encode()


def serve(pages: int, delay: float) -> tuple[ThreadingHTTPServer, str]:
    bodies = {f"/a/{n}": article(n) for n in range(pages)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = bodies.get(self.path)
            time.sleep(delay)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            # the crawler may be killed mid-response: that is the point
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body or b"")

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            # a killed crawler resets its connections: expected here, not worth a traceback
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def write_config(root: Path, base: str, pages: int) -> Path:
    lines = ["[store]", 'path = "store"', ""]
    for n in range(pages):
        lines += ["[[targets]]", f'url = "{base}/a/{n}"', ""]
    lines += [
        "[crawl]",
        "allow_private_networks = true",
        "per_host_delay = 0",
        "concurrency = 4",
        "per_host_concurrency = 4",
        "retries = 1",
        "timeout = 10",
        "respect_robots = false",
    ]
    root.mkdir(parents=True, exist_ok=True)
    path = root / "archiver.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ARCHIVER, "-q", *args], capture_output=True, text=True, timeout=300)


def archive_of(store: Path) -> dict[str, list[str]]:
    """url -> content hashes of its versions, in order."""
    db = sqlite3.connect(store / "catalog.sqlite3")
    rows = db.execute(
        "SELECT t.url, v.content_hash FROM versions v JOIN targets t"
        " ON t.id = v.target_id ORDER BY t.url, v.version"
    ).fetchall()
    db.close()
    archive: dict[str, list[str]] = {}
    for url, digest in rows:
        archive.setdefault(url, []).append(digest)
    return archive


def index_complete(config: Path, store: Path) -> bool:
    """Whether every version in the catalog is in the index (search warns otherwise)."""
    result = run("--config", str(config), "search", "반도체", "--limit", "1", "--json")
    return "index is behind" not in result.stderr and result.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--pages", type=int, default=80)
    parser.add_argument("--delay", type=float, default=0.02, help="server delay per page (s)")
    parser.add_argument("--max-wait", type=float, default=3.0, help="latest kill time (s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--after-store",
        action="store_true",
        help="time each kill from the moment the crawl created the store (a loaded machine"
        " may take longer than --max-wait just to start)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    server, base = serve(args.pages, args.delay)
    failures: list[str] = []
    counts = {"kills": 0, "checked": 0, "verify_clean": 0, "torn_tails": 0, "reindex_needed": 0}
    with tempfile.TemporaryDirectory(prefix="archiver-crash-") as tmp:
        config = write_config(Path(tmp) / "crashed", base, args.pages)
        store = config.parent / "store"
        for i in range(args.kills):
            proc = subprocess.Popen(
                [ARCHIVER, "-q", "--config", str(config), "crawl"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if args.after_store:
                started = time.monotonic()
                while not (store / "catalog.sqlite3").exists() and proc.poll() is None:
                    if time.monotonic() - started > 60:
                        break
                    time.sleep(0.01)
            time.sleep(rng.uniform(0.1, args.max_wait))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            counts["kills"] += 1
            if not (store / "catalog.sqlite3").exists():
                continue  # killed before the store existed: nothing to check
            counts["checked"] += 1
            verify = run("--config", str(config), "verify", "--json")
            try:
                report = json.loads(verify.stdout)
            except json.JSONDecodeError:
                failures.append(f"kill {i}: verify failed: {verify.stderr.strip()}")
                continue
            if verify.returncode == 0 and not report["problems"]:
                counts["verify_clean"] += 1
            else:
                failures.append(f"kill {i}: verify: {report['problems'][:3]}")
            counts["torn_tails"] += len(report["torn_tails"])
            if not index_complete(config, store):
                counts["reindex_needed"] += 1
                if run("--config", str(config), "reindex").returncode != 0 or not index_complete(
                    config, store
                ):
                    failures.append(f"kill {i}: reindex did not complete the index")
        final = run("--config", str(config), "crawl")
        if final.returncode != 0:
            failures.append(f"final crawl failed: {final.stderr.strip()}")
        reference = write_config(Path(tmp) / "reference", base, args.pages)
        if run("--config", str(reference), "crawl").returncode != 0:
            failures.append("reference crawl failed")
        crashed_archive = archive_of(store)
        equal = crashed_archive == archive_of(reference.parent / "store")
        if not equal:
            failures.append("the archive after crashes differs from an undisturbed one")
        print(
            f"pages per crawl: {args.pages}; pages archived after all kills: {len(crashed_archive)}"
        )
    server.shutdown()
    for failure in failures:
        print("FAIL", failure)
    print(" ".join(f"{k}={v}" for k, v in counts.items()) + f" archives_equal={str(equal).lower()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
