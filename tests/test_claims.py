"""Claims a source contradicts (issue 16): the same claim with another value.

Two hand-written sets of sentence pairs (a seed sentence, then the source's sentence):
rewordings, which must never be reported as conflicts, and changed values, which must
all be. Each pair goes through the whole alignment, as `diff --against-seed` runs it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from archiver.changes.align import align_seed
from archiver.changes.claims import conflicts
from archiver.text.ignore import IgnoreRule
from archiver.text.quantities import quantities

from .helpers import FixtureSite, cli, cli_json, write_config

REWORDED = [
    ("매출은 1,200억 원으로 70% 이상 늘었다.", "매출이 1200억원에 이르며 70% 넘게 늘었다."),
    ("매출은 1,200억 원을 기록했다.", "매출은 1천2백억 원을 기록했다고 밝혔다."),
    ("매출은 1,200억 원을 기록했다.", "회사는 매출 천이백억 원을 기록했다."),
    ("투자 규모는 1,200억 원이다.", "투자 규모는 0.12조 원에 이른다."),
    ("기업가치는 860억 달러로 평가됐다.", "기업가치는 860억 달러 수준으로 평가받았다."),
    ("직원 700명 가운데 650명이 서명했다.", "직원 700명 중 650명이 연판장에 서명했다."),
    (
        "이사회는 17일(현지시간) 올트먼을 해임했다.",
        "이사회는 현지시간 17일 올트먼을 전격 해임했다.",
    ),
    ("이사회는 11월 17일 올트먼을 해임했다.", "이사회는 2023년 11월 17일 올트먼을 해임했다."),
    ("발표는 오후 3시에 나왔다.", "발표는 15:00에 나왔다."),
    ("회의는 30분이 채 걸리지 않았다.", "회의는 30분도 걸리지 않았다고 한다."),
    ("이사회는 샘 올트먼 CEO를 해임했다.", "이사회는 올트먼 CEO를 전격 해임했다."),
    ("임시 CEO로 미라 무라티가 지명됐다.", "미라 무라티 최고기술책임자가 임시 CEO로 지명됐다."),
    ("알트만 CEO는 회사를 떠났다.", "올트먼 CEO는 회사를 떠났다."),  # aliases
    ("점유율은 3.5%p 떨어졌다.", "점유율은 3.5%포인트 떨어졌다."),
    ("지원자는 3만 명을 넘었다.", "지원자는 30,000명을 넘었다."),
    ("지분 49%를 보유하고 있다.", "지분 49%를 갖고 있다고 알려졌다."),
    ("오픈AI는 2015년에 설립됐다.", "오픈AI는 2015년 설립된 회사다."),
    ("손실은 5억 4천만 달러였다.", "손실은 5억4000만 달러로 집계됐다."),
    ("이사회는 6명으로 구성돼 있다.", "이사회는 모두 6명으로 이뤄져 있다."),
    ("3분기 매출이 늘었다.", "3분기에 매출이 증가했다."),
    ("그는 38세에 최고경영자가 됐다.", "그는 38세 때 최고경영자가 됐다."),
    ("약 100억 달러를 투자했다.", "100억 달러가량을 투자한 것으로 알려졌다."),
]

CHANGED = [
    ("매출은 1,200억 원으로 70% 이상 늘었다.", "매출은 1,500억 원으로 60% 늘었다.",
     [("1,200억 원", "1,500억 원", "amount"), ("70%", "60%", "percent")]),
    ("매출은 1,200억 원을 기록했다.", "매출은 1,300억 원을 기록했다.",
     [("1,200억 원", "1,300억 원", "amount")]),
    ("투자 규모는 1,200억 원이다.", "투자 규모는 0.15조 원이다.",
     [("1,200억 원", "0.15조 원", "amount")]),
    ("기업가치는 860억 달러로 평가됐다.", "기업가치는 800억 달러로 평가됐다.",
     [("860억 달러", "800억 달러", "amount")]),
    ("직원 700명 가운데 650명이 서명했다.", "직원 770명 가운데 745명이 서명했다.",
     [("700명", "770명", "count"), ("650명", "745명", "count")]),
    ("이사회는 17일(현지시간) 올트먼을 해임했다.", "이사회는 18일(현지시간) 올트먼을 해임했다.",
     [("17일", "18일", "date")]),
    ("이사회는 11월 17일 올트먼을 해임했다.", "이사회는 11월 16일 올트먼을 해임했다.",
     [("11월 17일", "11월 16일", "date")]),
    ("발표는 오후 3시에 나왔다.", "발표는 오후 4시에 나왔다.", [("오후 3시", "오후 4시", "time")]),
    ("회의는 30분이 채 걸리지 않았다.", "회의는 20분이 채 걸리지 않았다.",
     [("30분", "20분", "count")]),
    ("이사회는 샘 올트먼 CEO를 해임했다.", "이사회는 그렉 브록먼 CEO를 해임했다.",
     [("샘 올트먼", "그렉 브록먼", "name")]),
    ("임시 CEO에는 미라 무라티가 올랐다.", "임시 CEO에는 에밋 시어가 올랐다.",
     [("미라 무라티", "에밋 시어", "name")]),
    ("점유율은 3.5%p 떨어졌다.", "점유율은 2.5%p 떨어졌다.", [("3.5%p", "2.5%p", "percent")]),
    ("지원자는 3만 명을 넘었다.", "지원자는 2만 명을 넘었다.", [("3만 명", "2만 명", "count")]),
    ("지분 49%를 보유하고 있다.", "지분 51%를 보유하고 있다.", [("49%", "51%", "percent")]),
    ("오픈AI는 2015년에 설립됐다.", "오픈AI는 2016년에 설립됐다.", [("2015년", "2016년", "count")]),
    ("손실은 5억 4천만 달러였다.", "손실은 4억 5천만 달러였다.",
     [("5억 4천만 달러", "4억 5천만 달러", "amount")]),
    ("이사회는 6명으로 구성돼 있다.", "이사회는 4명으로 구성돼 있다.", [("6명", "4명", "count")]),
    ("3분기 매출이 늘었다.", "4분기 매출이 늘었다.", [("3분기", "4분기", "count")]),
    ("그는 38세에 최고경영자가 됐다.", "그는 39세에 최고경영자가 됐다.",
     [("38세", "39세", "count")]),
    ("약 100억 달러를 투자했다.", "약 130억 달러를 투자했다.",
     [("100억 달러", "130억 달러", "amount")]),
    ("투표 결과 찬성 5표, 반대 1표였다.", "투표 결과 찬성 4표, 반대 2표였다.",
     [("5표", "4표", "count"), ("1표", "2표", "count")]),
]  # fmt: skip

ALIASES = [IgnoreRule(aliases=("올트먼", "알트만", "샘 올트먼"))]


@pytest.mark.parametrize(("seed", "page"), REWORDED)
def test_a_rewording_is_never_a_conflict(seed: str, page: str) -> None:
    [sentence] = align_seed(seed, page, ALIASES).sentences
    assert sentence.status in ("present", "paraphrased"), sentence
    assert sentence.conflicts == ()


@pytest.mark.parametrize(("seed", "page", "expected"), CHANGED)
def test_a_changed_value_is_a_conflict_naming_both(
    seed: str, page: str, expected: list[tuple[str, str, str]]
) -> None:
    [sentence] = align_seed(seed, page, ALIASES).sentences
    assert sentence.status == "contradicted", sentence
    assert [(c.seed, c.source, c.kind) for c in sentence.conflicts] == expected


def test_the_sets_are_as_large_as_the_issue_asks() -> None:
    assert len(REWORDED) + len(CHANGED) >= 30 and len(REWORDED) >= 15 and len(CHANGED) >= 15


def test_the_issue_s_example_as_json() -> None:
    [sentence] = align_seed(*CHANGED[0][:2]).sentences
    assert sentence.as_json()["conflicts"] == [
        {"seed": "1,200억 원", "source": "1,500억 원", "kind": "amount"},
        {"seed": "70%", "source": "60%", "kind": "percent"},
    ]


def test_a_value_the_source_leaves_out_is_not_a_conflict() -> None:
    assert conflicts("매출은 1,200억 원으로 70% 늘었다.", "매출은 크게 늘었다.") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,200억 원", Decimal("120000000000")),
        ("1200억원", Decimal("120000000000")),
        ("1천2백억 원", Decimal("120000000000")),
        ("천이백억 원", Decimal("120000000000")),
        ("0.12조 원", Decimal("120000000000")),
        ("1조 2,000억 원", Decimal("1200000000000")),
        ("5억 4천만 달러", Decimal("540000000")),
        ("$86 billion", Decimal("86000000000")),
    ],
)
def test_korean_number_forms_read_as_one_value(text: str, value: Decimal) -> None:
    [quantity] = quantities(text)
    assert quantity.kind == "amount" and quantity.value == (value,)


def test_words_that_look_like_numerals_are_not_values() -> None:
    # 이사회 (이 = 2, 사 = 4) and 일부 (일 = 1) are words; 5시즌 is no time of day
    found = quantities("이사회는 일부 자료를 3시간 동안 검토했고 5시즌 연속 우승했다")
    assert [(q.kind, q.unit, q.text) for q in found] == [("count", "시간", "3시간")]


CLAIM = (
    "회의는 시작부터 끝까지 20분이 채 걸리지 않았고, "
    "올트먼은 회의 직전까지도 아무런 낌새를 알아채지 못했다고 한다."
)


def test_diff_against_seed_shows_the_conflict_in_every_format(
    config_dir: Path, site: FixtureSite
) -> None:
    config = write_config(config_dir, site)
    seed = config_dir / "seeds" / "careerly-altman-tigris.txt"
    text = seed.read_text(encoding="utf-8").replace("해임 사유\n", f"해임 사유\n{CLAIM}\n", 1)
    assert CLAIM in text
    seed.write_text(text, encoding="utf-8")
    cli_json(config, "crawl")
    url = site.url("/99663")
    result = cli(config, "diff", url, "--against-seed", "--format", "json")
    data = json.loads(result.stdout)
    [claim] = [s for s in data["seed_sentences"] if s["text"] == CLAIM]
    assert claim["status"] == "contradicted"
    assert claim["conflicts"] == [{"seed": "20분", "source": "30분", "kind": "count"}]
    assert data["contradicted"] == [CLAIM] and data["counts"]["contradicted"] == 1
    # every other sentence of the real seed keeps its status: no false conflict
    assert [s["text"] for s in data["seed_sentences"] if s["conflicts"]] == [CLAIM]
    text = cli(config, "diff", url, "--against-seed", "--format", "text").stdout
    assert f"! [contradicted] {CLAIM}\n    ! count: seed 20분, source 30분" in text
    html = cli(config, "diff", url, "--against-seed", "--format", "html").stdout
    assert '<span class="conflict">count: 20분 → 30분</span>' in html
