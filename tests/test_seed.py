"""Tests of the seed-post parser (archiver.seed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver.errors import SeedError, UsageError
from archiver.extractor.seed import Reference, SeedPost, parse_seed_bytes, parse_seed_file

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEED = ROOT / "config" / "seeds" / "careerly-altman-tigris.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "seeds"

CHROME = ["다음 내용이 궁금하다면?", "이미 회원이신가요?", "더 보기", "조회 662", "참고기사:"]
TEASER_SENTENCES = [
    "우리가 하는 ‘회사 일’은 대부분 사람으로부터 배우게 된다.",
    "1. 과거에는 해결해야 할 문제가 해결책의 양을 크게 웃돌았습니다.",
    "그러니 교육에 투자해야 한다.",
]


@pytest.fixture(scope="module")
def seed() -> SeedPost:
    return parse_seed_file(DEFAULT_SEED)


# --- the real default seed -------------------------------------------------------------


def test_default_seed_metadata(seed: SeedPost) -> None:
    assert seed.title == "세계 최고 인공지능 회사 CEO가 잘렸다, 이게 무슨 의미일까."
    assert seed.source_label == "슬로우뉴스"
    assert seed.posted_at == "2023-11-20T02:21:00+09:00"
    assert seed.format == "careerly"
    assert seed.name == "careerly-altman-tigris"
    assert seed.sha256 == hashlib.sha256(DEFAULT_SEED.read_bytes()).hexdigest()


def test_default_seed_has_exactly_one_reference(seed: SeedPost) -> None:
    assert seed.references == [
        Reference(
            url="https://slownews.kr/99663",
            label="슬로우뉴스 - 세계 최고 인공지능 회사 CEO가 잘렸다, 이게 무슨 의미일까",
        )
    ]


def test_default_seed_body_is_the_post_only(seed: SeedPost) -> None:
    assert "티그리스(Tigris)" in seed.body
    assert "코드명" in seed.body
    assert seed.body[0].startswith("한마디로, 이사회에서 샘 올트먼이")
    assert seed.body[-1].startswith("어째튼..지금도 여러 얘기가 나오는데")
    assert seed.title not in seed.body
    assert "슬로우뉴스" not in seed.body
    for chunk in (seed.text, *seed.body):
        for chrome in CHROME:
            assert chrome not in chunk
        for sentence in TEASER_SENTENCES:
            assert sentence not in chunk
        assert "2023년 11월 20일" not in chunk
        assert "https://slownews.kr/99663" not in chunk


def test_default_seed_text_is_title_and_body(seed: SeedPost) -> None:
    assert seed.text == seed.title + "\n" + "\n".join(seed.body)
    assert "샘 올트먼이" in seed.text


def test_default_seed_teasers_kept_apart(seed: SeedPost) -> None:
    assert len(seed.teasers) == 2
    assert seed.teasers[0].startswith(TEASER_SENTENCES[0])
    assert TEASER_SENTENCES[1] in seed.teasers[1]
    assert TEASER_SENTENCES[2] in seed.teasers[1]
    for teaser in seed.teasers:
        for chrome in ("더 보기", "조회", "이미 회원이신가요?"):
            assert chrome not in teaser


def test_default_seed_bytes_and_file_agree(seed: SeedPost) -> None:
    again = parse_seed_bytes(DEFAULT_SEED.read_bytes(), name="careerly-altman-tigris")
    assert again == seed


# --- Korean post times -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2023년 11월 20일 오전 2:21", "2023-11-20T02:21:00+09:00"),
        ("2024년 3월 9일 오후 3:05", "2024-03-09T15:05:00+09:00"),
        ("2024년 3월 9일 오전 12:10", "2024-03-09T00:10:00+09:00"),
        ("2024년 3월 9일 오후 12:10", "2024-03-09T12:10:00+09:00"),
        ("2024년 12월 31일 오후 11:59", "2024-12-31T23:59:00+09:00"),
        ("2024년 3월 9일 18:40", "2024-03-09T18:40:00+09:00"),
    ],
)
def test_korean_post_time(when: str, expected: str) -> None:
    post = parse_seed_bytes(f"제목\n본문 한 줄.\n{when}\n다른 글 맛보기\n".encode())
    assert post.format == "careerly"
    assert post.posted_at == expected
    assert post.body == ["본문 한 줄."]
    assert post.teasers == ["다른 글 맛보기"]


def test_impossible_korean_date_is_not_a_post_time() -> None:
    post = parse_seed_bytes("제목\n본문\n2023년 2월 30일 오후 3:05\n".encode())
    assert post.posted_at is None
    assert post.format == "text"


def test_careerly_fixture() -> None:
    post = parse_seed_file(FIXTURES / "careerly-short.txt")
    assert post.format == "careerly"
    assert post.title == "새 칩 회사가 투자 유치에 나섰다"
    assert post.source_label == "예시뉴스"
    assert post.posted_at == "2024-01-05T12:10:00+09:00"
    assert post.body == [
        "첫 문단: 한 창업자가 새 칩 회사를 준비하고 있다.",
        "둘째 문단, 출처 표기 아래.",
    ]
    assert post.references == [
        Reference("https://news.example.com/articles/1", "예시뉴스 - 칩 회사 준비 소식")
    ]
    assert post.teasers == ["다른 사람의 글 맛보기 문장이다.", "또 다른 글의 맛보기 문장."]


def test_references_never_come_from_teasers() -> None:
    data = "제목\n본문 https://a.example.com/x.\n2023년 1월 2일 오전 9:00\n맛보기 https://b.example.com/y\n"
    post = parse_seed_bytes(data.encode())
    assert [ref.url for ref in post.references] == ["https://a.example.com/x"]
    assert post.teasers == ["맛보기 https://b.example.com/y"]


# --- Markdown, plain text, HTML -------------------------------------------------------------


def test_markdown_seed() -> None:
    post = parse_seed_file(FIXTURES / "markdown-post.md")
    assert post.format == "markdown"
    assert post.title == "반도체 스타트업 투자 경쟁, 무엇이 달라졌나"
    assert post.source_label == "예시뉴스"
    assert post.references == [
        Reference("https://news.example.com/articles/42", "예시뉴스 - 칩 투자 해설"),
        Reference("https://data.example.org/report.pdf", None),
        Reference("https://blog.example.net/post/7", None),
    ]
    joined = (
        "작은 칩 회사들이 대형 투자자를 찾아 나섰다. 이 문단은 두 줄로 나뉘어 있지만 한 단락이다."
    )
    assert joined in post.body  # a hard-wrapped Markdown paragraph is one body item
    assert "배경" in post.body
    assert "첫째, 비용이 낮아졌다." in post.body
    assert any("예시뉴스 - 칩 투자 해설에서 볼 수 있고" in line for line in post.body)
    assert not any("](" in line or line.startswith("#") for line in post.body)
    assert not any("blog.example.net" in line or "조회" in line for line in post.body)


def test_plain_text_seed_with_iso_date_and_trailing_punctuation() -> None:
    data = (
        "그냥 제목\n"
        "2023-11-21T10:00:00+09:00\n"
        "링크는 (https://example.com/a_(b)) 그리고 「https://example.com/c」, https://example.com/d’.\n"
        "원문: 예시 기사 (https://example.com/e)\n"
        "같은 링크 https://example.com/d 다시.\n"
    )
    post = parse_seed_bytes(data.encode(), name="plain")
    assert post.format == "text"
    assert post.name == "plain"
    assert post.title == "그냥 제목"
    assert post.posted_at == "2023-11-21T10:00:00+09:00"
    assert [ref.url for ref in post.references] == [
        "https://example.com/a_(b)",
        "https://example.com/c",
        "https://example.com/d",
        "https://example.com/e",
    ]
    assert post.references[3].label == "예시 기사"
    assert len(post.body) == 2
    assert not any("원문:" in line for line in post.body)


def test_html_seed() -> None:
    post = parse_seed_file(FIXTURES / "html-post.html")
    assert post.format == "html"
    assert post.title == "칩 벤처 이야기: 투자자들이 몰린 이유"
    assert post.source_label == "예시블로그"
    assert post.posted_at == "2023-11-21T09:30:00+09:00"
    assert post.references == [Reference("https://news.example.com/articles/99", "예시뉴스 기사")]
    assert post.body == [
        "여러 투자자가 새로운 칩회사에 관심을 보였다.",
        "무엇이 다른가",
        "전력 효율",
        "낮은 단가",
        "인용된 한 문장이다.",
        "원문은 예시뉴스 기사를 참고. 상대 링크 여기는 참고가 아니다.",
    ]
    assert "tracker" not in post.text and "메뉴" not in post.text and "공유하기" not in post.text


def test_html_fragment_with_time_element() -> None:
    html = '<div><h1>짧은 글</h1><p>첫 줄</p><time datetime="2023-11-20 02:21">어제</time></div>'
    post = parse_seed_bytes(("<p>" + html + "</p>").encode())
    assert post.format == "html"
    assert post.title == "짧은 글"
    assert post.posted_at == "2023-11-20T02:21:00+09:00"


# --- encodings and errors -------------------------------------------------------------


def test_cp949_text_seed(tmp_path: Path) -> None:
    path = tmp_path / "euckr-post.txt"
    path.write_bytes("씨피구사구 제목\n똠방각하 본문입니다.\n".encode("cp949"))
    post = parse_seed_file(path)
    assert post.title == "씨피구사구 제목"
    assert post.body == ["똠방각하 본문입니다."]
    assert post.name == "euckr-post"
    assert post.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_utf8_bom_and_crlf() -> None:
    post = parse_seed_bytes("\ufeff제목\r\n본문\r\n".encode())
    assert (post.title, post.body, post.format) == ("제목", ["본문"], "text")


def _assert_one_line(exc: pytest.ExceptionInfo[SeedError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert isinstance(exc.value, UsageError)
    return message


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n", "\ufeff \u3000\n".encode()])
def test_empty_seed(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(SeedError) as exc:
        parse_seed_file(path)
    message = _assert_one_line(exc)
    assert str(path) in message and message.endswith("empty")


def test_binary_seed() -> None:
    with pytest.raises(SeedError) as exc:
        parse_seed_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64, name="pic")
    message = _assert_one_line(exc)
    assert message == "seed pic: binary content, not a text, Markdown or HTML post"


def test_binary_seed_without_nul() -> None:
    with pytest.raises(SeedError, match="binary content"):
        parse_seed_bytes(bytes(range(1, 32)) * 20)


def test_missing_seed(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(SeedError) as exc:
        parse_seed_file(path)
    message = _assert_one_line(exc)
    assert str(path) in message and "No such file or directory" in message
    assert isinstance(exc.value.__cause__, OSError)


def test_directory_seed(tmp_path: Path) -> None:
    with pytest.raises(SeedError) as exc:
        parse_seed_file(tmp_path)
    message = _assert_one_line(exc)
    assert str(tmp_path) in message and "directory" in message.lower()


def test_only_chrome_is_an_error() -> None:
    with pytest.raises(SeedError):
        parse_seed_bytes("다음 내용이 궁금하다면?\n조회 5\n... 더 보기\n".encode())


# --- properties -----------------------------------------------------------------------


def _check(data: bytes) -> None:
    try:
        post = parse_seed_bytes(data, name="fuzz")
    except SeedError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(post, SeedPost)
    assert post.title and post.format in {"careerly", "text", "markdown", "html"}
    assert post.sha256 == hashlib.sha256(data).hexdigest()
    assert len({ref.url for ref in post.references}) == len(post.references)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_seed_error(data: bytes) -> None:
    _check(data)


# fmt: off
_PIECES = st.sampled_from([
    "제목", "본문 한 줄", "\n", " ", "2023년 11월 20일 오전 2:21", "오후 12:", "... 더 보기•",
    "조회 662", "다음 내용이 궁금하다면?", "참고기사: 라벨 (", "https://slownews.kr/99663", ")",
    "[라벨](", "# ", "<p>", "</p>", '<a href="', '">', "</a>", "<!doctype html>", "출처:",
    "2023-11-20T02:21:00+09:00", "「", "」", "’", ".", ",", "(", "\t", "\ufeff", "\x1a",
])
# fmt: on


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=40))
def test_seed_like_text_parse_or_seed_error(pieces: list[str]) -> None:
    data = "".join(pieces).encode("utf-8", "surrogatepass")
    _check(data)
