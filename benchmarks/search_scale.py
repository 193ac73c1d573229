"""Index build and query speed at scale, on generated Korean news articles.

Generates N articles (default 20,000) of about 3,000 bytes of UTF-8 each (~1,100
characters) from a fixed random seed: sentences of nouns with particles and verb
endings, with a Zipf-distributed vocabulary (a few hundred real words, names, Latin
terms and numbers such as GPT-4 or 1,200억, and ~8,000 generated words), titles,
sites and dates. Builds the index through ``Index.rebuild`` (the `archiver reindex`
path: one writer per process, both cores) and reports build docs/s and index size;
then runs 1-, 2- and 5-word queries (words drawn like a reader would: frequent words
often) through ``Index.search`` (default AND mode, 10 hits with snippets), and 5-word
``--any`` queries, and reports p50/p95 per kind (and this process's CPU time p95, less
disturbed by other load on a shared machine). Last line:

    docs=… docs_per_s=… text_mb=… size_mb=… segments=… p95_1w_ms=… p95_2w_ms=… p95_5w_ms=…
    p95_5w_any_ms=…

``--peer tantivy`` also builds the same articles in tantivy-py (a 2-gram tokenizer on
title and text, frequencies only: no positions, no snippets, no stems, so not the same
work), runs the same queries (AND of each word's bigrams; ``--any``: OR), prints its row
and the last line gains ``peer_…`` figures and ratios (archiver over tantivy).

``--runs R`` builds the index by R successive commits instead of one rebuild (a store
growing run by run) and adds the segment count and the build rate of the first and last
runs to the last line.

Usage: python benchmarks/search_scale.py [--docs 20000] [--queries 300] [--peer tantivy]
       [--runs R]
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from archiver.fulltext.analysis import tokens
from archiver.fulltext.feed import PARALLEL_INDEX_DOCS
from archiver.fulltext.index import Index, IndexDoc


def _words(text: str) -> list[str]:
    return text.split()


REAL_NOUNS = _words("""
정부 대통령 국회 경제 반도체 인공지능 이사회 투자 시장 기업 주가 금리 물가 수출 환율 은행 증시 예산
선거 여당 야당 장관 총리 법원 검찰 경찰 사건 재판 기자 언론 방송 신문 발표 회의 협상 합의 계약
공장 생산 기술 연구 개발 특허 스타트업 플랫폼 서비스 사용자 데이터 보안 해킹 클라우드 서버 전력
칩 모델 학습 규제 법안 위원회 조사 보고서 전망 위기 성장 둔화 회복 실적 매출 영업이익 손실 주주
대표 창업자 최고경영자 임원 직원 노조 파업 채용 해고 복귀 사임 해임 교체 인수 합병 지분 펀드
중동 미국 중국 일본 유럽 한국 서울 부산 워싱턴 실리콘밸리 샌프란시스코 베이징 도쿄 런던
올트먼 나델라 브록먼 머스크 수츠케버 티그리스 마이크로소프트 오픈AI 구글 엔비디아 애플 삼성전자
""")
LATIN = ["AI", "GPT-4", "OpenAI", "CEO", "GPU", "LLM", "API", "ChatGPT", "IPO", "M&A"]
NUMBERS = ["860억", "1,200억", "2023년", "11월", "30분", "10%", "3분기", "5조", "100만", "20일"]
VERBS = _words("""
발표했다 밝혔다 전했다 말했다 설명했다 강조했다 덧붙였다 보도했다 예정이다 전망이다 보인다 늘었다
줄었다 나섰다 결정했다 합의했다 반대했다 요구했다 지적했다 확인했다 부인했다 공개했다 추진한다
검토했다 논의했다 마쳤다 시작했다 이어졌다 알려졌다 평가했다
""")
SYLLABLES = (
    "가나다라마바사아자차카타파하고노도로모보소오조초코토포호"
    "구누두루무부수우주추기니디리미비시이지치한국정대통령경제"
    "회문화업장선거의원당법안개발연구교육산전력금융투식격물인"
    "상신성현민영준서진혜윤석범철호용태희순옥"
)


def _has_final(word: str) -> bool:
    last = word[-1]
    return "\uac00" <= last <= "\ud7a3" and (ord(last) - 0xAC00) % 28 != 0


def particle(word: str, rng: random.Random) -> str:
    final = _has_final(word)
    choices = ["이", "은", "을", "과", "으로"] if final else ["가", "는", "를", "와", "로"]
    return rng.choice(choices + ["의", "에", "에서", "도", ""])


class Corpus:
    """A reproducible generator of Korean news articles and reader queries."""

    def __init__(self, seed: int = 7, generated_words: int = 8000) -> None:
        self.rng = random.Random(seed)
        made = {
            "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.choice((2, 2, 3, 3, 4))))
            for _ in range(generated_words)
        }
        vocabulary = REAL_NOUNS + LATIN + NUMBERS + sorted(made - set(REAL_NOUNS))
        self.rng.shuffle(vocabulary)
        self.words = vocabulary
        self.cum_weights = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(vocabulary))))

    def noun(self) -> str:
        return self.rng.choices(self.words, cum_weights=self.cum_weights)[0]

    def sentence(self) -> tuple[str, list[str]]:
        nouns = [self.noun() for _ in range(self.rng.randint(3, 8))]
        eojeols = [n + particle(n, self.rng) if "\uac00" <= n[-1] <= "\ud7a3" else n for n in nouns]
        return " ".join(eojeols) + " " + self.rng.choice(VERBS) + ".", nouns

    def article(self, number: int, size: int = 3000) -> tuple[IndexDoc, list[str]]:
        parts: list[str] = []
        nouns: list[str] = []
        length = 0
        while length < size:
            text, used = self.sentence()
            parts.append(text)
            nouns.extend(used)
            length += len(text.encode()) + 1
            if self.rng.random() < 0.15:
                parts.append("\n")
        title = " ".join(self.noun() for _ in range(self.rng.randint(4, 7)))
        day = 1 + number % 28
        doc = IndexDoc(
            doc_id=f"doc{number}",
            url=f"https://news{number % 50}.example.kr/{number}",
            kind="page",
            version=1,
            latest=True,
            title=title,
            text=" ".join(parts).strip(),
            author=f"기자{number % 300}",
            site=f"news{number % 50}.example.kr",
            published_at=f"2023-{1 + number % 12:02d}-{day:02d}T09:00:00+09:00",
            fetched_at="2024-01-01T00:00:00+09:00",
        )
        return doc, nouns


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * len(ordered))) - 1)]


Kinds = dict[str, list[str]]


def run_queries(
    search: Callable[[str, bool], int],
    kinds: Kinds,
    label: str,
    reset: Callable[[], None] | None = None,
) -> dict[str, float]:
    """p95 per kind of ``search(query, any_words)`` (it returns the number of hits);
    ``reset`` runs before each kind."""
    p95: dict[str, float] = {}
    for kind, queries in kinds.items():
        if reset is not None:
            reset()
        latencies: list[float] = []
        cpu: list[float] = []  # this process's CPU time: less disturbed by other load
        found = 0
        for query in queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            found += bool(search(query, kind.endswith("any")))
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        p95[kind] = percentile(latencies, 0.95)
        print(
            f"{label}{kind:>6}: p50 {statistics.median(latencies):6.2f} ms  p95 {p95[kind]:6.2f} ms"
            f"  max {max(latencies):6.1f} ms  cpu p95 {percentile(cpu, 0.95):6.2f} ms"
            f"  ({found}/{len(queries)} with hits, e.g. {queries[0]!r})"
        )
    return p95


def tantivy_peer(
    docs: Iterable[IndexDoc], workdir: Path, kinds: Kinds
) -> tuple[float, int, dict[str, float]]:
    """Build the articles in tantivy-py with a 2-gram tokenizer; (docs/s, bytes, p95s)."""
    import tantivy  # a benchmark dependency only (the `bench` extra)

    builder = tantivy.SchemaBuilder()
    for name in ("title", "text"):
        builder.add_text_field(name, tokenizer_name="bigram", index_option="freq")
    builder.add_text_field("url", stored=True, tokenizer_name="raw")
    schema = builder.build()
    path = workdir / "tantivy"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    index = tantivy.Index(schema, path=str(path))
    bigrams = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(2, 2)).build()
    index.register_tokenizer("bigram", bigrams)
    started = time.perf_counter()
    writer = index.writer(heap_size=256_000_000, num_threads=2)
    count = 0
    for doc in docs:
        writer.add_document(tantivy.Document(title=doc.title, text=doc.text, url=doc.url))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    build_s = time.perf_counter() - started
    index.reload()
    searcher = index.searcher()
    must, should = tantivy.Occur.Must, tantivy.Occur.Should

    def word_query(word: str) -> Any:
        # The same tokens archiver's bigram fields hold, so both answer the same words.
        grams = [span.text for span in tokens(word)] or [word]
        per_field = [
            tantivy.Query.boolean_query(
                [(must, tantivy.Query.term_query(schema, field, gram)) for gram in grams]
            )
            for field in ("title", "text")
        ]
        return tantivy.Query.boolean_query([(should, q) for q in per_field])

    def search(query: str, any_words: bool) -> int:
        occur = should if any_words else must
        combined = tantivy.Query.boolean_query(
            [(occur, word_query(word)) for word in query.split()]
        )
        return len(searcher.search(combined, 10, count=False).hits)

    p95 = run_queries(search, kinds, "tantivy ")
    return count / build_s, directory_size(path), p95


def grow(index: Index, docs: Iterator[IndexDoc], total: int, runs: int) -> tuple[int, str]:
    """Index ``docs`` in ``runs`` successive commits, as a store grows run by run (two
    writer processes for a run of PARALLEL_INDEX_DOCS or more, as a crawl does); return
    the count and last-line figures: segments at the end, and the build rate of the
    first and last tenth of the runs (does it fall as the index grows?)."""
    per = max(1, -(-total // runs))
    timed: list[tuple[int, float]] = []  # (articles, seconds) per run
    most = 0
    count = 0
    for _ in range(runs):
        batch = list(itertools.islice(docs, per))
        if not batch:
            break
        started = time.perf_counter()
        count += index.add(batch, procs=2 if len(batch) >= PARALLEL_INDEX_DOCS else 1)
        timed.append((len(batch), time.perf_counter() - started))
        most = max(most, len(index.segments()))
    tenth = max(1, len(timed) // 10)

    def rate(part: list[tuple[int, float]]) -> float:
        return sum(n for n, _ in part) / max(1e-9, sum(s for _, s in part))

    first, last = rate(timed[:tenth]), rate(timed[-tenth:])
    print(
        f"{len(timed)} runs of {per} articles: {first:.0f} docs/s in the first tenth,"
        f" {last:.0f} in the last; at most {most} segments"
    )
    return count, (
        f" runs={len(timed)} first_runs_docs_per_s={first:.0f} last_runs_docs_per_s={last:.0f}"
        f" max_segments={most}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=300, help="per kind of query")
    parser.add_argument(
        "--procs", type=int, default=None, help="writer processes (default: Index.rebuild's choice)"
    )
    parser.add_argument("--peer", choices=["tantivy"], default=None, help="also measure a peer")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="build by this many successive runs (commits), as a store grows, not one rebuild",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build the index in this folder and keep it; reuse it if present",
    )
    args = parser.parse_args()
    corpus = Corpus()
    samples: list[list[str]] = []  # the nouns of every 20th article, for 2/5-word queries
    text_bytes = 0

    def documents() -> Iterator[IndexDoc]:
        nonlocal text_bytes
        for number in range(args.docs):
            doc, nouns = corpus.article(number)
            text_bytes += len(doc.text.encode())
            if number % 20 == 0:
                samples.append(nouns)
            yield doc

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="archiver-scale-"))
    try:
        index = Index(workdir / "index")
        started = time.perf_counter()
        growth = ""
        if args.keep and index.exists() and index.doc_count() == args.docs:
            count = sum(1 for _ in documents())  # the same articles, for the query samples
            print("reusing the index in", workdir)
        elif args.runs > 1:
            count, growth = grow(index, documents(), args.docs, args.runs)
        else:
            count = index.rebuild(documents(), procs=args.procs)
        build_s = time.perf_counter() - started
        size = directory_size(workdir / "index")
        # (getattr: the script also times older archiver code, without Index.segments)
        segments = len(getattr(index, "segments", list)())
        print(
            f"indexed {count} articles ({text_bytes / count:.0f} bytes of text each) in "
            f"{build_s:.1f} s: {count / build_s:.0f} docs/s; index {size / 1e6:.0f} MB"
            f" in {segments} segments"
        )
        rng = random.Random(11)
        kinds = {
            "1w": [corpus.noun() for _ in range(args.queries)],
            "2w": [" ".join(rng.sample(rng.choice(samples), 2)) for _ in range(args.queries)],
            "5w": [" ".join(rng.sample(rng.choice(samples), 5)) for _ in range(args.queries)],
        }
        kinds["5w_any"] = [
            " ".join(rng.sample(rng.choice(samples), 5)) for _ in range(args.queries)
        ]

        def search(query: str, any_words: bool) -> int:
            return len(index.search(query, limit=10, any_words=any_words))

        def reset() -> None:
            index.close()  # each kind starts without the postings cached by the others
            index.search("정부")  # open the searcher once

        p95 = run_queries(search, kinds, "", reset)
        peer = ""
        if args.peer == "tantivy":
            again = Corpus()
            peer_rate, peer_size, peer_p95 = tantivy_peer(
                (again.article(n)[0] for n in range(args.docs)), workdir, kinds
            )
            print(
                f"tantivy: {peer_rate:.0f} docs/s; index {peer_size / 1e6:.0f} MB"
                " (2-gram title and text, frequencies only)"
            )
            peer = (
                f" peer=tantivy peer_docs_per_s={peer_rate:.0f} peer_size_mb={peer_size / 1e6:.0f} "
                + " ".join(f"peer_p95_{k}_ms={v:.1f}" for k, v in peer_p95.items())
                + " "
                + " ".join(f"ratio_{k}={p95[k] / max(v, 1e-3):.1f}" for k, v in peer_p95.items())
            )
        index.close()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"docs={count} docs_per_s={count / build_s:.0f} text_mb={text_bytes / 1e6:.0f} "
        f"size_mb={size / 1e6:.0f} segments={segments}{growth} "
        f"p95_1w_ms={p95['1w']:.1f} p95_2w_ms={p95['2w']:.1f} p95_5w_ms={p95['5w']:.1f} "
        f"p95_5w_any_ms={p95['5w_any']:.1f}{peer}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
