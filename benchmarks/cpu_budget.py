"""CPU per page of each crawl stage, on the site ``benchmarks/crawl.py`` generates.

Answers "where does a page's CPU go" for issue 3's throughput target: at R pages/s on C
cores the whole pipeline may spend C × 1000 / R ms of CPU per page. Measures with
``time.process_time`` (this process only; nginx runs in its own):

1. fetch+WARC: ``Fetcher`` and ``WarcWriter`` over nginx, as crawl.py's first phase;
2. extraction: ``archiver.extractor.page`` on the same pages' HTML, read from disk;
3. analysis: ``bigram_terms`` + ``stem_terms`` of each extracted text;
4. indexing: ``Index.add`` with one process (analysis included).

Usage (from the repo root; needs nginx)::

    .venv/bin/python benchmarks/cpu_budget.py [--pages 1000] [--rate 622.6] [--cores 2]

The last line is
``pages=N fetch_warc_ms=A extract_ms=B analysis_ms=C index_ms=D sum_ms=E budget_ms=F``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import crawl  # noqa: E402  (the site generator and nginx runner of the crawl benchmark)

from archiver.extractor.page import extract  # noqa: E402
from archiver.fulltext.analysis import bigram_terms, stem_terms  # noqa: E402
from archiver.fulltext.index import Index, IndexDoc  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="article pages (default 1000)")
    parser.add_argument(
        "--rate",
        type=float,
        default=622.6,
        help="pages/s to budget for (default: Scrapy's in benchmarks/README.md)",
    )
    parser.add_argument("--cores", type=int, default=2, help="cores to budget for")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="archiver-cpu-budget-"))
    work.chmod(0o755)  # nginx started as root serves as "nobody"
    nginx: crawl.Nginx | None = None
    try:
        paths, _total, _digest = crawl.generate_site(work / "site", args.pages)
        nginx = crawl.Nginx(work, work / "site", gzip=True)
        config = crawl.write_config(
            work / "fetch.toml",
            work / "unused",
            [nginx.base + p for p in paths],
            "archiver-cpu-budget",
        )
        started = time.process_time()
        _secs, ok = crawl.run_fetch_warc(config, work / "warc")
        fetch = time.process_time() - started
        if ok != len(paths):
            sys.exit(f"cpu_budget.py: fetched {ok} of {len(paths)} pages")

        bodies = [(work / "site" / f"{p.strip('/')}.html").read_bytes() for p in paths]
        started = time.process_time()
        docs = [
            extract(body, "http://bench.invalid/", content_type="text/html; charset=utf-8")
            for body in bodies
        ]
        extracting = time.process_time() - started

        started = time.process_time()
        for doc in docs:
            bigram_terms(doc.text)
            stem_terms(doc.text)
        analysing = time.process_time() - started

        index_docs = [
            IndexDoc(
                f"d{i}",
                f"http://bench.invalid/{i}",
                "page",
                1,
                True,
                doc.title or "",
                doc.text,
                author=doc.author or "",
                site="bench.invalid",
            )
            for i, doc in enumerate(docs)
        ]
        started = time.process_time()
        Index(work / "index").add(index_docs, procs=1)
        indexing = time.process_time() - started
    finally:
        if nginx is not None:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    n = len(paths)
    per = {
        name: seconds * 1000 / n
        for name, seconds in (
            ("fetch_warc", fetch),
            ("extract", extracting),
            ("analysis", analysing),
            ("index", indexing),
        )
    }
    total = per["fetch_warc"] + per["extract"] + per["index"]  # index includes analysis
    budget = args.cores * 1000 / args.rate
    text_chars = sum(len(d.text) for d in docs) / n
    print(
        f"{n} pages, {text_chars:.0f} characters of text each; CPU ms per page: "
        f"fetch+WARC {per['fetch_warc']:.2f}, extraction {per['extract']:.2f}, "
        f"analysis {per['analysis']:.2f}, indexing (with analysis) {per['index']:.2f}; "
        f"budget at {args.rate} pages/s on {args.cores} cores {budget:.2f}"
    )
    print(
        f"pages={n} fetch_warc_ms={per['fetch_warc']:.2f} extract_ms={per['extract']:.2f} "
        f"analysis_ms={per['analysis']:.2f} index_ms={per['index']:.2f} "
        f"sum_ms={total:.2f} budget_ms={budget:.2f}"
    )


if __name__ == "__main__":
    main()
