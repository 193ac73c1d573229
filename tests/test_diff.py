"""The diff engine: Korean sentences, paragraph moves, word diffs, ignore rules, the seed."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.changes.align import align_seed, alignment_changes
from archiver.changes.diff import diff_texts, unified_diff
from archiver.changes.words import word_diff
from archiver.text.ignore import IgnoreRule
from archiver.text.sentences import can_cut, split_sentences


def test_split_sentences_keeps_decimals_and_splits_korean_sentences() -> None:
    text = "투자 규모는 3.5배로 늘었다. 이사회는 침묵했다! 왜일까?\n다음 문단이다"
    assert split_sentences(text) == [
        "투자 규모는 3.5배로 늘었다.",
        "이사회는 침묵했다!",
        "왜일까?",
        "다음 문단이다",
    ]


def test_split_sentences_handles_numbers_quotes_abbreviations_and_glued_endings() -> None:
    assert split_sentences("1. 과거에는 문제가 많았다. 2) 지금은 다르다.") == [
        "1. 과거에는 문제가 많았다.",
        "2) 지금은 다르다.",
    ]
    # The closing quote stays with its sentence; a parenthetical stays too.
    assert split_sentences("그는 “끝났다.” 라고 말했다. 다음이다. (11월 19일 수정)") == [
        "그는 “끝났다.” 라고 말했다.",
        "다음이다. (11월 19일 수정)",
    ]
    assert split_sentences("U.S. 정부와 Nvidia Corp. 모두 침묵했다.") == [
        "U.S. 정부와 Nvidia Corp. 모두 침묵했다."
    ]
    assert split_sentences("가능성이 높다고 본다.OpenAI에서 나온 말이다.") == [
        "가능성이 높다고 본다.",
        "OpenAI에서 나온 말이다.",
    ]
    assert split_sentences("어째튼..지금도 얘기가 나오는데..결론은 없다...") == [
        "어째튼..",
        "지금도 얘기가 나오는데..",
        "결론은 없다...",
    ]
    assert split_sentences("버전 2.0.1은 slownews.kr 에서 받는다.") == [
        "버전 2.0.1은 slownews.kr 에서 받는다."
    ]


def test_diff_lists_exactly_the_edited_and_added_sentences() -> None:
    old = "첫 문장이다. 둘째 문장은 10억 달러라고 했다.\n셋째 문단이다."
    new = "첫 문장이다. 둘째 문장은 20억 달러라고 했다.\n셋째 문단이다.\n[정정] 금액을 바로잡았다."
    result = diff_texts(old, new)
    assert result.removed == ["둘째 문장은 10억 달러라고 했다."]
    assert result.added == ["둘째 문장은 20억 달러라고 했다.", "[정정] 금액을 바로잡았다."]
    assert result.changed
    assert 0.5 < result.similarity < 1.0
    edited = next(h for h in result.hunks if h.granularity == "word")
    assert [(w.op, w.text) for w in edited.words if w.op != "equal"] == [
        ("delete", "10억"),
        ("insert", "20억"),
    ]
    assert [h.granularity for h in result.hunks] == ["word", "paragraph"]


def test_identical_texts_do_not_differ() -> None:
    result = diff_texts("같은 글이다.", "같은 글이다.")
    assert not result.changed
    assert result.similarity == 1.0


PARAS = [
    "이사회는 금요일 오후 화상 회의에서 해임을 통보했다. 통보는 짧았다.",
    "올트먼은 몇 시간 뒤 짧은 소감을 남겼고, 직원들은 술렁였다.",
    "투자자들은 주말 내내 이사회에 결정을 되돌리라고 요구했다.",
    "마이크로소프트는 올트먼을 영입하겠다고 밝혔다.",
]


def test_a_moved_paragraph_is_a_move_not_a_delete_and_insert() -> None:
    old = "\n".join(PARAS)
    new = "\n".join([PARAS[0], PARAS[2], PARAS[3], PARAS[1]])
    result = diff_texts(old, new)
    assert result.changed and result.added == [] and result.removed == []
    assert len(result.moved) == 1
    move = result.moved[0]
    assert move.granularity == "paragraph" and move.op == "move"
    # Which of two swapped neighbours "moved" is difflib's choice; the move is exact.
    assert move.new == move.old and move.old in PARAS
    assert (move.old_index, move.new_index) in ((1, 3), (2, 1), (3, 2))


def test_a_moved_and_edited_paragraph_shows_the_move_and_the_edit() -> None:
    edited = PARAS[1].replace("술렁였다", "크게 동요했다")
    old = "\n".join(PARAS)
    new = "\n".join([PARAS[0], PARAS[2], PARAS[3], edited])
    result = diff_texts(old, new)
    assert [h.op for h in result.hunks] == ["move", "replace"]
    assert result.removed == [PARAS[1]] and result.added == [edited]
    assert result.added_at("paragraph") == [edited]
    assert result.added_at("word") == ["크게 동요했다"]


def test_paragraph_replaced_whole_is_a_paragraph_delete_and_insert() -> None:
    result = diff_texts(
        "\n".join(PARAS), "\n".join([PARAS[0], "전혀 다른 이야기가 들어왔다.", *PARAS[2:]])
    )
    assert [(h.granularity, h.op) for h in result.hunks] == [
        ("paragraph", "delete"),
        ("paragraph", "insert"),
    ]
    assert result.removed_at("paragraph") == [PARAS[1]]


VIEW_COUNTER = IgnoreRule(re.compile(r"조회\s*[\d,]+"))
MINUTES_AGO = IgnoreRule(re.compile(r"\d+\s*(?:분|시간)\s*전"))


def test_ignore_rules_hide_counters_relative_times_and_spacing() -> None:
    old = "기사 본문이다. 조회 662\n3분 전\n할 수있다고 봤다."
    new = "기사 본문이다. 조회 1,024\n15분 전\n할 수 있다고 봤다."
    assert diff_texts(old, new).changed  # without rules all three differ
    quiet = diff_texts(old, new, [VIEW_COUNTER, MINUTES_AGO, IgnoreRule(whitespace=True)])
    assert not quiet.changed and quiet.similarity == 1.0
    spacing_only = diff_texts(old, new, [VIEW_COUNTER, MINUTES_AGO])
    assert spacing_only.removed == ["할 수있다고 봤다."]
    real = diff_texts(
        old,
        new.replace("본문", "새 본문"),
        [VIEW_COUNTER, MINUTES_AGO, IgnoreRule(whitespace=True)],
    )
    assert real.added == ["기사 새 본문이다."]  # "조회 1,024" alone is ignored whole
    text = unified_diff(
        old, new, "a", "b", [VIEW_COUNTER, MINUTES_AGO, IgnoreRule(whitespace=True)]
    )
    assert text == ""


def test_ignore_rule_applies_by_url_prefix() -> None:
    rule = IgnoreRule(re.compile("x"), url="https://slownews.kr/")
    assert rule.applies_to("https://slownews.kr/99663")
    assert not rule.applies_to("https://openai.com/blog")
    assert IgnoreRule(re.compile("x")).applies_to("https://openai.com/blog")


def test_word_diff_narrows_a_particle_change_to_the_syllable() -> None:
    ops = word_diff("올트먼은 말했다.", "올트먼이 말했다.")
    assert [(w.op, w.text) for w in ops] == [
        ("equal", "올트먼"),
        ("delete", "은"),
        ("insert", "이"),
        ("equal", " 말했다."),
    ]
    # The same text decomposed into jamo (NFD) gives the same syllable-level answer.
    nfd = word_diff(
        unicodedata.normalize("NFD", "올트먼은 말했다."),
        unicodedata.normalize("NFD", "올트먼이 말했다."),
    )
    assert nfd == ops


def test_word_diff_joins_a_replaced_phrase() -> None:
    ops = word_diff("회의는 30분이 채 걸리지 않았고, 그는", "회의는 10분 남짓 걸렸고, 그는")
    assert [(w.op, w.text) for w in ops] == [
        ("equal", "회의는 "),
        ("delete", "30분이 채 걸리지 않았고"),
        ("insert", "10분 남짓 걸렸고"),
        ("equal", ", 그는"),
    ]


_hangul = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
_text = st.lists(
    st.one_of(_hangul, st.sampled_from(list(" .,?!0123456789abcé\u0301"))), max_size=40
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_text, _text, st.booleans())
def test_word_diff_rebuilds_both_texts_and_never_cuts_a_syllable(
    old: str, new: str, nfd: bool
) -> None:
    if nfd:
        old, new = unicodedata.normalize("NFD", old), unicodedata.normalize("NFD", new)
    ops = word_diff(old, new)
    before = "".join(w.text for w in ops if w.op != "insert")
    after = "".join(w.text for w in ops if w.op != "delete")
    assert before == unicodedata.normalize("NFC", old)
    assert after == unicodedata.normalize("NFC", new)
    for side, kept in ((before, "insert"), (after, "delete")):
        at = 0
        for w in ops:
            if w.op == kept:
                continue
            assert can_cut(side, at), (side, at)
            at += len(w.text)


def test_seed_alignment_classifies_present_paraphrased_absent() -> None:
    page = (
        "오픈AI 이사회는 샘 올트먼을 해임했다. 올트먼은 새로운 반도체 회사를 세우려고 "
        "투자자들을 만나 왔다.\n회사의 다음 행보는 알려지지 않았다."
    )
    seed = (
        "오픈AI 이사회는 샘 올트먼을 해임했다.\n"
        "올트먼은 새 반도체 회사를 세우려고 투자자를 만났다.\n"
        "화성에 도시를 짓는 계획이 발표되었다.\n"
        "코드명"
    )
    alignment = align_seed(seed, page)
    statuses = [s.status for s in alignment.sentences]
    assert statuses == ["present", "paraphrased", "absent"]  # "코드명" is a label
    assert alignment.sentences[0].match == "오픈AI 이사회는 샘 올트먼을 해임했다."
    assert alignment.sentences[2].match is None
    assert 0.0 < alignment.similarity < 1.0
    assert alignment.coverage == round(2 / 3, 4)
    assert alignment.page_only == ["회사의 다음 행보는 알려지지 않았다."]
    assert alignment.counts() == {"present": 1, "paraphrased": 1, "contradicted": 0, "absent": 1}


def test_seed_alignment_change_between_versions() -> None:
    seed = "이사회는 금요일 오후 화상 회의에서 해임을 통보했다.\n회의는 30분이 채 걸리지 않았다."
    v1 = "이사회는 금요일 오후 화상 회의에서 해임을 통보했다. 회의는 30분이 채 걸리지 않았다."
    v2 = (
        "이사회는 금요일 오후 화상 회의에서 해임을 통보했다. 회의는 20분이 채 걸리지 않았다고 한다."
    )
    v3 = "이사회는 금요일 오후 화상 회의에서 해임을 통보했다."
    a1, a2, a3 = align_seed(seed, v1), align_seed(seed, v2), align_seed(seed, v3)
    assert [s.status for s in a1.sentences] == ["present", "present"]
    edited = alignment_changes(a1, a2, v2)
    # 30 minutes became 20: the same claim with another value (issue 16)
    assert [(c.text, c.change) for c in edited] == [
        ("회의는 30분이 채 걸리지 않았다.", "contradicted")
    ]
    assert edited[0].after.match == "회의는 20분이 채 걸리지 않았다고 한다."
    assert [c.as_json() for c in edited[0].after.conflicts] == [
        {"seed": "30분", "source": "20분", "kind": "count"}
    ]
    v2b = "이사회는 금요일 오후 화상 회의에서 해임을 통보했다. 회의는 30분도 걸리지 않았다고 한다."
    reworded = alignment_changes(a1, align_seed(seed, v2b), v2b)
    assert [(c.change, c.after.status) for c in reworded] == [("edited", "paraphrased")]
    removed = alignment_changes(a1, a3, v3)
    assert [(c.change, c.after.status) for c in removed] == [("removed", "absent")]
    assert a3.coverage == 0.5 and a1.coverage == 1.0
    assert alignment_changes(a1, align_seed(seed, v1), v1) == []


def test_aliases_let_the_seed_and_the_page_spell_names_differently() -> None:
    from archiver.changes.align import align_seed
    from archiver.text.ignore import IgnoreRule

    seed = "알트만은 OpenAI 이사회에서 해임됐고 새 칩 회사를 준비하고 있었다."
    page = "올트먼은 오픈AI 이사회에서 해임됐고 새 칩 회사를 준비하고 있었다."
    rules = [IgnoreRule(aliases=("올트먼", "알트만")), IgnoreRule(aliases=("오픈AI", "OpenAI"))]
    plain = align_seed(seed, page).sentences[0]
    named = align_seed(seed, page, rules).sentences[0]
    assert plain.status != "present" and named.status == "present"
    assert named.match == page  # the page's own words are shown, not the aliases
