"""Sentence diffs and the seed alignment."""

from __future__ import annotations

from archiver.diff import align_seed, diff_texts, split_sentences


def test_split_sentences_keeps_decimals_and_splits_korean_sentences() -> None:
    text = "투자 규모는 3.5배로 늘었다. 이사회는 침묵했다! 왜일까?\n다음 문단이다"
    assert split_sentences(text) == [
        "투자 규모는 3.5배로 늘었다.", "이사회는 침묵했다!", "왜일까?", "다음 문단이다",
    ]


def test_diff_lists_exactly_the_edited_and_added_sentences() -> None:
    old = "첫 문장이다. 둘째 문장은 10억 달러라고 했다.\n셋째 문단이다."
    new = "첫 문장이다. 둘째 문장은 20억 달러라고 했다.\n셋째 문단이다.\n[정정] 금액을 바로잡았다."
    result = diff_texts(old, new)
    assert result.removed == ["둘째 문장은 10억 달러라고 했다."]
    assert result.added == ["둘째 문장은 20억 달러라고 했다.", "[정정] 금액을 바로잡았다."]
    assert result.changed
    assert 0.5 < result.similarity < 1.0


def test_identical_texts_do_not_differ() -> None:
    result = diff_texts("같은 글이다.", "같은 글이다.")
    assert not result.changed
    assert result.similarity == 1.0


def test_seed_alignment_classifies_present_paraphrased_absent() -> None:
    page = (
        "오픈AI 이사회는 샘 올트먼을 해임했다. 올트먼은 새로운 반도체 회사를 세우려고 "
        "투자자들을 만나 왔다.\n회사의 다음 행보는 알려지지 않았다."
    )
    seed = (
        "오픈AI 이사회는 샘 올트먼을 해임했다.\n"
        "올트먼은 새 반도체 회사를 세우려고 투자자를 만났다.\n"
        "화성에 도시를 짓는 계획이 발표되었다."
    )
    alignment = align_seed(seed, page)
    statuses = [s.status for s in alignment.sentences]
    assert statuses == ["present", "paraphrased", "absent"]
    assert alignment.sentences[0].match == "오픈AI 이사회는 샘 올트먼을 해임했다."
    assert alignment.sentences[2].match is None
    assert 0.0 < alignment.similarity < 1.0
    assert "회사의 다음 행보는 알려지지 않았다." in alignment.page_only
