"""`archiver serve` under load: the search page's latency and the home page's first byte.

Builds a store of N generated Korean articles (default 20,000: the search-scale corpus of
benchmarks/search_scale.py, same generator and seed) written to the catalog as versions,
plus the default seed post and its Slownews article (two versions, from the fixture site),
then indexes it all with `archiver.api.reindex`. Starts `archiver serve` as a real
process and measures, over HTTP on loopback:

- the search page (`/search?q=…`, 20 hits with snippets) for 1- and 2-word reader queries,
  first from one client (what one reader waits: `search_p95_ms`), then from 20 concurrent
  clients sending queries back to back with no pause (`clients_p95_ms`, errors);
- the home page's time to first byte (sequential requests, after one warm-up);
- the same queries through `archiver.api.search` in-process (the library, no HTTP), as the
  reference the page's overhead is a ratio of.

Last line:

    search_p95_ms=… home_ttfb_ms=… clients=20 errors=N clients_p95_ms=… docs=…
    api_search_p95_ms=… ratio=…   (one line; ratio: search_p95_ms / api_search_p95_ms)

Usage: python benchmarks/serve.py [--docs 20000] [--requests 600] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_scale import Corpus, percentile  # noqa: E402  (the search-scale corpus)

import archiver  # noqa: E402
from archiver import api  # noqa: E402
from archiver.storage.store import Store  # noqa: E402

SEED = ROOT / "config" / "seeds" / "careerly-altman-tigris.txt"
ARTICLE = ROOT / "tests" / "fixtures" / "site" / "slownews"
CLIENTS = 20
ARCHIVER = str(Path(sys.executable).with_name("archiver"))


def build(root: Path, docs: int) -> list[list[str]]:
    """The store (unless kept from an earlier run); returns nouns of sample articles."""
    corpus = Corpus()
    samples: list[list[str]] = []
    store = Store(root)
    # A store is reused only once a build finished: a killed build leaves a catalog and
    # an index that look whole but hold a fraction of the documents.
    done = root / "BUILT"
    if store.exists() and not done.is_file():
        raise SystemExit(f"serve.py: {root} is an unfinished build; delete it and run again")
    fresh = not store.exists()
    with store:
        if fresh:
            seed, _ = archiver.register_seed(store, SEED)
            reference = seed.data["references"][0]["url"]
            target = store.catalog.upsert_target(reference, via=seed.url, seed_id=seed.id)
            for name in ("99663.html", "99663.v2.html"):
                page = archiver.extract((ARTICLE / name).read_bytes(), reference)
                _add(store, target.id, reference, page.title, page.text, page.published_at)
        with store.catalog.transaction():
            for number in range(docs):
                doc, nouns = corpus.article(number)
                if number % 20 == 0:
                    samples.append(nouns)
                if fresh:
                    target = store.catalog.upsert_target(doc.url, via="target")
                    _add(store, target.id, doc.url, doc.title, doc.text, doc.published_at)
        if fresh:
            started = time.perf_counter()
            count = api.reindex(store)
            print(f"indexed {count} documents in {time.perf_counter() - started:.1f} s")
            done.write_text(f"{docs}\n", encoding="utf-8")
    return samples


def _add(
    store: Store, target_id: int, url: str, title: str | None, text: str, published: str | None
) -> None:
    fetched = "2024-01-01T00:00:00+09:00"
    capture = store.catalog.add_capture(
        target_id=target_id, run_id=None, url=url, fetched_at=fetched, status=200
    )
    store.catalog.add_version(
        target_id=target_id,
        capture_id=capture,
        fetched_at=fetched,
        status=200,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        title=title,
        author=None,
        published_at=published,
        modified_at=None,
        text=text,
        links=[],
        meta={},
    )


def get(host: str, port: int, path: str) -> tuple[int, float, float]:
    """(status, seconds to the first byte of the response, seconds to its end)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()  # returns once the status line and headers are in
        first = time.perf_counter() - started
        response.read()
        return response.status, first, time.perf_counter() - started
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=600, help="search pages, all clients")
    parser.add_argument("--keep", type=Path, default=None, help="build the store here; reuse it")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="archiver-serve-"))
    root = workdir / "store"
    try:
        samples = build(root, args.docs)
        rng = random.Random(11)
        corpus = Corpus(seed=3)
        queries = [
            corpus.noun() if i % 2 else " ".join(rng.sample(rng.choice(samples), 2))
            for i in range(args.requests)
        ]
        server = subprocess.Popen(
            [ARCHIVER, "--store", str(root), "serve", "--port", "0",
             "--json"],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            base = urlsplit(json.loads(server.stdout.readline())["url"])
            host, port = base.hostname or "127.0.0.1", base.port or 80
            get(host, port, "/")  # warm-up: the first request pays for imports and caches
            get(host, port, "/search?q=" + quote(queries[0]))
            ttfb = [get(host, port, "/")[1] * 1000 for _ in range(50)]
            alone = [
                get(host, port, "/search?q=" + quote(query))[2] * 1000 for query in queries[:200]
            ]

            latencies: list[float] = []
            errors = 0
            lock = threading.Lock()

            def client(mine: list[str]) -> None:
                nonlocal errors
                for query in mine:
                    try:
                        status, _, total = get(host, port, "/search?q=" + quote(query))
                    except OSError:
                        status, total = 0, 0.0
                    with lock:
                        latencies.append(total * 1000)
                        errors += status != 200

            threads = [
                threading.Thread(target=client, args=(queries[i::CLIENTS],)) for i in range(CLIENTS)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

        in_process: list[float] = []
        with Store(root) as store:
            api.search(store, queries[0], limit=21)
            for query in queries[:200]:
                started = time.perf_counter()
                api.search(store, query, limit=21)
                in_process.append((time.perf_counter() - started) * 1000)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    p95 = percentile(alone, 0.95)
    loaded_p95 = percentile(latencies, 0.95)
    api_p95 = percentile(in_process, 0.95)
    print(f"search page, one client: p50 {statistics.median(alone):.1f} ms, p95 {p95:.1f} ms")
    print(
        f"search page, {CLIENTS} clients: {len(latencies)} requests in {wall:.1f} s "
        f"({len(latencies) / wall:.0f}/s), p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {loaded_p95:.1f} ms, {errors} errors"
    )
    print(f"home page first byte: p50 {statistics.median(ttfb):.1f} ms, p95 "
          f"{percentile(ttfb, 0.95):.1f} ms")  # fmt: skip
    median = statistics.median(in_process)
    print(f"api.search in-process: p50 {median:.1f} ms, p95 {api_p95:.1f} ms")
    print(
        f"search_p95_ms={p95:.1f} home_ttfb_ms={statistics.median(ttfb):.1f} clients={CLIENTS} "
        f"errors={errors} clients_p95_ms={loaded_p95:.1f} docs={args.docs} "
        f"api_search_p95_ms={api_p95:.1f} "
        f"ratio={p95 / api_p95:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
