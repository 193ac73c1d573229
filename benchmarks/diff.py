"""Diff and seed-alignment speed on generated Korean documents.

    .venv/bin/python benchmarks/diff.py [--size 100000] [--page 50000] [--repeat 5] [--kiwi]

Two documents of --size characters of Korean prose (generated from a fixed random seed,
written for this project) where 5% of the sentences are edited and one paragraph is
moved; then a seed post of 30 sentences (a third copied, a third paraphrased, a third
absent) aligned with a --page-character page. Prints the median of --repeat runs; the last
line is exactly ``diff_ms=… align_ms=…`` (targets: diff ≤ 100 ms, alignment ≤ 200 ms).
--kiwi also compares the regex sentence splitter with kiwipiepy's on the fixture pages.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archiver.changes.align import align_seed  # noqa: E402
from archiver.changes.diff import diff_texts  # noqa: E402
from archiver.text.sentences import split_sentences  # noqa: E402

SUBJECTS = [
    "이사회는",
    "투자자들은",
    "직원들은",
    "연구진은",
    "경영진은",
    "대변인은",
    "기자는",
    "규제 당국은",
    "주주들은",
    "공동 창업자는",
    "임시 대표는",
    "외부 자문단은",
    "협력사들은",
    "시장 분석가들은",
    "노동조합은",
    "고객사들은",
]
OBJECTS = [
    "새 반도체 회사 설립 계획을",
    "해임 결정의 배경을",
    "다음 분기 실적 전망을",
    "안전성 검토 보고서를",
    "투자 유치 조건을",
    "칩 설계 일정을",
    "이사회 회의록을",
    "내부 서한의 내용을",
    "데이터센터 증설 방안을",
    "복귀 협상의 조건을",
    "연구 조직 개편안을",
    "공개 서한의 요구 사항을",
    "지분 구조 변경안을",
    "모델 출시 일정을",
    "전력 조달 계획을",
    "윤리 위원회 권고안을",
]
VERBS = [
    "검토했다",
    "공개했다",
    "비판했다",
    "지지했다",
    "재검토하기로 했다",
    "보류했다",
    "설명했다",
    "문제 삼았다",
    "확인해 주지 않았다",
    "서둘러 발표했다",
    "다시 논의했다",
    "받아들이지 않았다",
    "부인했다",
    "자세히 따져 보았다",
]
ADVERBS = [
    "금요일 오후",
    "주말 사이",
    "지난달",
    "회의 직전",
    "발표 직후",
    "몇 시간 뒤",
    "이번 주 초",
    "새벽 세 시 무렵",
    "예정보다 일찍",
    "오랜 논의 끝에",
]
EDIT_WORDS = ["다시", "결국", "조용히", "공식적으로", "뒤늦게", "처음으로"]


def sentence(rng: random.Random) -> str:
    amount = rng.choice(
        [
            f"{rng.randint(2, 990)}억 달러",
            f"{rng.randint(2, 95)}%",
            f"{rng.randint(2, 60)}분",
            f"{rng.randint(2, 30)}명",
        ]
    )
    return (
        f"{rng.choice(ADVERBS)} {rng.choice(SUBJECTS)} {amount} 규모의 "
        f"{rng.choice(OBJECTS)} {rng.choice(VERBS)}."
    )


def document(rng: random.Random, size: int) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    length = 0
    while length < size:
        paragraph = [sentence(rng) for _ in range(rng.randint(3, 8))]
        paragraphs.append(paragraph)
        length += sum(len(s) + 1 for s in paragraph)
    return paragraphs


def edit(rng: random.Random, paragraphs: list[list[str]], share: float) -> tuple[str, int]:
    """Edit ``share`` of the sentences (a word inserted or a number changed) and move one
    paragraph; return the new text and the number of edited sentences."""
    new = [list(p) for p in paragraphs]
    places = [(i, j) for i, p in enumerate(new) for j in range(len(p))]
    chosen = rng.sample(places, round(len(places) * share))
    for i, j in chosen:
        words = new[i][j].split(" ")
        if rng.random() < 0.5:
            words.insert(1, rng.choice(EDIT_WORDS))
        else:
            words[2] = "약 " + words[2]
        new[i][j] = " ".join(words)
    moved = new.pop(len(new) // 4)
    new.insert(3 * len(new) // 4, moved)
    return "\n".join(" ".join(p) for p in new), len(chosen)


def seed_post(rng: random.Random, page: list[list[str]]) -> str:
    sentences = [s for p in page for s in p]
    picked = rng.sample(sentences, 20)
    copied = picked[:10]
    # Paraphrased: the time and the amount dropped, the ending reworded.
    paraphrased = [
        s.split(" 규모의 ")[1].replace("했다.", "했다고 전해진다.") for s in picked[10:20]
    ]
    absent = ["화성에 첫 연구 기지를 세운다는 소문이 돌았다고 한다." + "!" * k for k in range(10)]
    return "\n".join(copied + paraphrased + absent)


def median_ms(func: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def compare_kiwi() -> None:
    from archiver.extractor.page import extract

    site = ROOT / "tests" / "fixtures" / "site"
    texts = [
        extract((site / f).read_bytes(), "http://fixture/").text
        for f in (
            "slownews/99663.html",
            "slownews/99700.html",
            "plain/article.html",
            "euckr/article.html",
        )
    ]
    texts.append((ROOT / "config" / "seeds" / "careerly-altman-tigris.txt").read_text("utf-8"))
    text = "\n".join(texts)
    start = time.perf_counter()
    from kiwipiepy import Kiwi

    kiwi = Kiwi()
    load = time.perf_counter() - start
    start = time.perf_counter()
    regex = split_sentences(text)
    regex_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    kiwi_sents = [
        s.text
        for line in text.split("\n")
        if line.strip()
        for s in kiwi.split_into_sents(" ".join(line.split()))
    ]
    kiwi_ms = (time.perf_counter() - start) * 1000
    same = len(set(regex) & set(kiwi_sents))
    print(
        f"splitter on {len(text)} chars of fixture text: regex {len(regex)} sentences in "
        f"{regex_ms:.1f} ms; kiwi {len(kiwi_sents)} sentences in {kiwi_ms:.0f} ms "
        f"(+{load:.1f} s model load); identical sentences {same}"
    )
    for s in sorted(set(kiwi_sents) - set(regex)):
        print(f"  kiwi only : {s}")
    for s in sorted(set(regex) - set(kiwi_sents)):
        print(f"  regex only: {s}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="characters per document")
    parser.add_argument("--page", type=int, default=50_000, help="characters of the page")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kiwi", action="store_true", help="compare with kiwi's splitter")
    args = parser.parse_args()
    if args.kiwi:
        compare_kiwi()
    rng = random.Random(6)
    paragraphs = document(rng, args.size)
    old = "\n".join(" ".join(p) for p in paragraphs)
    new, edited = edit(rng, paragraphs, 0.05)
    result = diff_texts(old, new)
    words = sum(1 for h in result.hunks if h.granularity == "word")
    print(
        f"documents: {len(old)} / {len(new)} chars ({len(old.encode()) // 1000} KB UTF-8), "
        f"{sum(len(p) for p in paragraphs)} sentences in {len(paragraphs)} paragraphs; "
        f"{edited} edited, 1 moved -> {words} word hunks, {len(result.moved)} moves, "
        f"{len(result.hunks) - words - len(result.moved)} other hunks"
    )
    diff_ms = median_ms(lambda: diff_texts(old, new), args.repeat)

    page_paragraphs = document(random.Random(7), args.page)
    page = "\n".join(" ".join(p) for p in page_paragraphs)
    seed = seed_post(random.Random(8), page_paragraphs)
    alignment = align_seed(seed, page)
    print(
        f"alignment: {len(alignment.sentences)} seed sentences against {len(page)} chars "
        f"-> {alignment.counts()}, coverage {alignment.coverage}"
    )
    align_ms = median_ms(lambda: align_seed(seed, page), args.repeat)
    print(f"diff_ms={diff_ms:.1f} align_ms={align_ms:.1f}")


if __name__ == "__main__":
    main()
