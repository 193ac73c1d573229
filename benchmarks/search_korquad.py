"""Search quality and speed on KorQuAD 1.0 dev, through archiver's own index and search API.

Every unique context is a document; every question is a query (its words OR-ed, no stop
list: ``Index.search(question, any_words=True, syntax=False)``); the relevant document is
the context the question was written from. Prints recall@1/5/10, MRR@10, index build docs/s and
size, query latency p50/p95 (each search returns 10 hits with snippets), and last:

    R@1=… R@5=… R@10=… MRR@10=… docs_per_s=… p50_ms=… p95_ms=…

Usage: python benchmarks/search_korquad.py --data ../shared/bench/korquad
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from archiver.fulltext.index import Index, IndexDoc


def load(data: Path) -> tuple[list[str], list[tuple[str, int]]]:
    raw = json.loads((data / "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))
    contexts: dict[str, int] = {}
    questions: list[tuple[str, int]] = []
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            number = contexts.setdefault(paragraph["context"], len(contexts))
            questions.extend((qa["question"], number) for qa in paragraph["qas"])
    return list(contexts), questions


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of KorQuAD_v1.0_dev.json")
    parser.add_argument("--questions", type=int, default=0, help="only the first N (0: all)")
    args = parser.parse_args()
    contexts, questions = load(args.data)
    if args.questions:
        questions = questions[: args.questions]
    workdir = Path(tempfile.mkdtemp(prefix="archiver-korquad-"))
    try:
        index = Index(workdir / "index")
        docs = [
            IndexDoc(
                doc_id=f"ctx{i}",
                url=f"korquad:{i}",
                kind="page",
                version=1,
                latest=True,
                title="",
                text=text,
            )
            for i, text in enumerate(contexts)
        ]
        started = time.perf_counter()
        index.rebuild(docs)  # the bulk path `archiver reindex` uses
        build_s = time.perf_counter() - started
        size = directory_size(workdir / "index")
        docs_per_s = len(docs) / build_s
        print(
            f"indexed {len(docs)} contexts in {build_s:.2f} s ({docs_per_s:.0f} docs/s), "
            f"index {size / 1e6:.1f} MB"
        )
        index.search(questions[0][0], any_words=True, syntax=False)  # open the searcher once
        ranks: list[int | None] = []
        latencies: list[float] = []
        for question, gold in questions:
            started = time.perf_counter()
            hits = index.search(question, limit=10, any_words=True, syntax=False)
            latencies.append((time.perf_counter() - started) * 1000)
            found = [int(h.url.split(":")[1]) for h in hits]
            ranks.append(found.index(gold) + 1 if gold in found else None)
        index.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    n = len(questions)
    recall = {k: sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 5, 10)}
    mrr = sum(1 / r for r in ranks if r is not None) / n
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[min(n - 1, int(round(0.95 * n)) - 1)]
    print(
        f"{n} questions, {os.cpu_count()} cores; p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
        f"max {latencies[-1]:.1f} ms"
    )
    print(
        f"R@1={recall[1]:.4f} R@5={recall[5]:.4f} R@10={recall[10]:.4f} MRR@10={mrr:.4f} "
        f"docs_per_s={docs_per_s:.0f} p50_ms={p50:.2f} p95_ms={p95:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
