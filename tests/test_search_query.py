"""The query language: phrases, AND/OR/NOT, parentheses, field prefixes, ranking modes."""

from __future__ import annotations

import pytest

from archiver.errors import QueryError
from archiver.fulltext.index import Hit, Index, IndexDoc
from archiver.fulltext.query import And, Leaf, Not, Or, Site, parse


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    ix = Index(tmp_path_factory.mktemp("search") / "index")
    ix.add(
        [
            IndexDoc(
                "1",
                "http://news.kr/1",
                "page",
                1,
                True,
                "이사회, 올트먼 해임",
                "오픈AI 이사회는 샘 올트먼을 해임했다고 발표했다. 그렉 브록먼도 물러났다.",
                author="김기자",
                site="news.kr",
            ),
            IndexDoc(
                "2",
                "http://news.kr/2",
                "page",
                1,
                True,
                "마이크로소프트의 선택",
                "마이크로소프트는 올트먼 샘을 영입했다. 사티아 나델라가 직접 밝혔다.",
                author="이기자",
                site="www.news.kr",
            ),
            IndexDoc(
                "3",
                "http://blog.example.com/3",
                "page",
                1,
                True,
                "칩 스타트업 티그리스",
                "올트먼은 중동 투자자에게서 칩 공장 자금을 모으려 했다. 이사회는 몰랐다.",
                author="박기자",
                site="blog.example.com",
            ),
            IndexDoc(
                "4",
                "http://other.org/4",
                "page",
                1,
                True,
                "날씨",
                "내일은 맑고 오후에 비가 온다.",
                author="김기자",
                site="other.org",
            ),
        ]
    )
    return ix


def urls(hits: list[Hit]) -> set[str]:
    return {h.url for h in hits}


def test_words_are_anded(index: Index) -> None:
    assert urls(index.search("올트먼 이사회")) == {"http://news.kr/1", "http://blog.example.com/3"}
    assert urls(index.search("올트먼 AND 이사회")) == urls(index.search("올트먼 이사회"))
    assert urls(index.search("올트먼 나델라")) == {"http://news.kr/2"}


def test_phrase_order_matters(index: Index) -> None:
    assert urls(index.search('"샘 올트먼"')) == {"http://news.kr/1"}
    assert urls(index.search('"올트먼 샘"')) == {"http://news.kr/2"}
    assert urls(index.search('"이사회는 샘"')) == {"http://news.kr/1"}


def test_or_not_minus_and_parentheses(index: Index) -> None:
    assert urls(index.search("나델라 OR 티그리스")) == {
        "http://news.kr/2",
        "http://blog.example.com/3",
    }
    assert urls(index.search("올트먼 NOT 이사회")) == {"http://news.kr/2"}
    assert urls(index.search("올트먼 -이사회")) == {"http://news.kr/2"}
    assert urls(index.search("(나델라 OR 브록먼) 올트먼")) == {
        "http://news.kr/1",
        "http://news.kr/2",
    }
    assert urls(index.search("올트먼 NOT (나델라 OR 브록먼)")) == {"http://blog.example.com/3"}
    assert urls(index.search("or 비가")) == set()  # lower-case "or" is a word to find


def test_field_prefixes(index: Index) -> None:
    assert urls(index.search("title:올트먼")) == {"http://news.kr/1"}
    assert urls(index.search('title:"칩 스타트업"')) == {"http://blog.example.com/3"}
    assert urls(index.search("author:김기자")) == {"http://news.kr/1", "http://other.org/4"}
    assert urls(index.search("김기자")) == set()  # plain words search title and text
    assert urls(index.search("올트먼 site:news.kr")) == {"http://news.kr/1", "http://news.kr/2"}
    assert urls(index.search("올트먼 site:example.com")) == {"http://blog.example.com/3"}
    assert urls(index.search("올트먼 NOT site:news.kr")) == {"http://blog.example.com/3"}


def test_title_matches_rank_above_text_matches(index: Index) -> None:
    hits = index.search("티그리스 OR 나델라")
    assert hits[0].url == "http://blog.example.com/3"  # the word is in its title


def test_any_words_ranks_partial_matches(index: Index) -> None:
    assert index.search("올트먼 비가") == []  # AND: no page has both
    hits = index.search("올트먼 비가", any_words=True)
    assert urls(hits) == {
        "http://news.kr/1",
        "http://news.kr/2",
        "http://blog.example.com/3",
        "http://other.org/4",
    }
    best = index.search("올트먼 해임 발표", any_words=True)[0]
    assert best.url == "http://news.kr/1"
    # Other parts of the query still apply.
    assert urls(index.search("올트먼 비가 -이사회", any_words=True)) == {
        "http://news.kr/2",
        "http://other.org/4",
    }


def test_stems_rank_inflected_forms_in_any_mode(index: Index) -> None:
    hit = index.search("해임한 이사회", any_words=True)[0]
    assert hit.url == "http://news.kr/1"
    assert "해임" in [hit.snippet[s:e] for s, e in hit.highlights]


def test_syntax_off_reads_everything_as_words(index: Index) -> None:
    hits = index.search('이사회가 "해임 (OR NOT', any_words=True, syntax=False)
    assert hits and hits[0].url == "http://news.kr/1"
    with pytest.raises(QueryError):
        index.search('이사회가 "해임')


def test_parse_tree() -> None:
    node = parse('올트먼 (이사회 OR title:"칩 공장") -나델라 site:www.News.kr')
    assert isinstance(node, And)
    word, group, negated, site = node.children
    assert isinstance(word, Leaf) and word.bigrams == ("올트", "트먼")
    assert isinstance(group, Or) and isinstance(group.children[1], Leaf)
    assert group.children[1].field == "title" and group.children[1].phrase
    assert isinstance(negated, Not)
    assert site == Site("news.kr")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"샘 올트먼', "quotation mark"),
        ("(올트먼", "not closed"),
        ("올트먼)", "unexpected '\\)'"),
        ("올트먼 AND", "AND needs"),
        ("올트먼 OR", "OR needs"),
        ("NOT", "NOT needs"),
        ("()", "nothing between"),
        ("author:", "needs a word"),
        ("?!", "no searchable words"),
        ("NOT 올트먼", "only excludes"),
    ],
)
def test_parse_errors_explain_themselves(index: Index, query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        index.search(query)
