"""The extractor against the fixture pages (read from disk), plus robustness and fuzzing."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver.extractor import meta
from archiver.extractor import page as extract_module
from archiver.extractor.page import Document, Link, extract
from archiver.text import dates
from archiver.text.charset import decode_html, normalise_charset

from .helpers import EXTRACTOR_LOGGER, extraction_failures, no_extraction_failure

SITE = Path(__file__).parent / "fixtures" / "site"
SLOWNEWS_URL = "https://slownews.kr/99663"
LOCAL = "http://127.0.0.1:8765"

EDITED_OLD = (
    "회의는 시작부터 끝까지 30분이 채 걸리지 않았고, 올트먼은 회의 직전까지도 "
    "아무런 낌새를 알아채지 못했다고 한다."
)
EDITED_NEW = (
    "회의는 시작부터 끝까지 10분 남짓 걸렸고, 올트먼은 회의 직전까지도 "
    "아무런 낌새를 알아채지 못했다고 한다."
)
CORRECTION = (
    "[정정] 이 기사의 처음 버전은 해임 통보 회의가 30분 가까이 이어졌다는 취지로 썼으나, "
    "실제 회의 시간은 10분 남짓이었기에 바로잡습니다. (2023년 11월 19일 오전 8시 30분 수정)"
)

SLOWNEWS_BOILERPLATE = [
    "천천히, 깊게 읽는 뉴스", "전체 메뉴 열기", "본문 바로가기", "구독하기",  # header, nav
    "하위 메뉴 펼치기",  # inline script
    "이 글 공유하기", "페이스북 공유", "트위터 공유", "링크 복사",  # share bar
    "슬로우뉴스 뉴스레터를 구독하세요", "매주 금요일 아침, 느린 뉴스를 편지함으로 보내 드립니다",
    "무료로 구독",  # subscribe box
    "함께 읽으면 좋은 글", "생성형 AI 저작권 소송, 어디까지 왔나",
    "엔비디아 독주는 언제까지 이어질까",  # related posts
    "댓글 남기기", "이메일 주소는 공개되지 않습니다",  # comments
    "회사소개", "개인정보처리방침", "이용약관", "모든 권리 보유",
    "서울특별시 종로구 느린길 12",  # footer
]  # fmt: skip
ONLY_99663_BOILERPLATE = [
    "사진: 슬로우뉴스 자료사진 (CC BY 2.0)",  # figcaption
    "광고 문의는 슬로우뉴스 제휴팀으로",  # ad slot
    "#테크",  # tag links
    "느린독자", "정리가 깔끔해서 이해가 잘 됐습니다. 후속 기사도 부탁드려요.",  # a comment
]  # fmt: skip
PLAIN_BOILERPLATE = [
    "전체기사", "기자수첩", "로그인", "회원가입", "IT·과학",  # nav, breadcrumb
    "김하늘 기자", "입력 2023.11.20 02:21",  # byline
    "카카오톡으로 보내기", "페이스북으로 보내기", "기사 주소 복사하기",  # share buttons
    "사진=한국테크일보 DB",  # figcaption
    "무단전재 및 재배포 금지",  # copyright box inside the content
    "많이 본 뉴스", "중고폰 시세, 연말에 가장 낮아지는 이유",
    "공유 킥보드 규제, 지자체마다 제각각", "데이터센터 전력난, 해법은 어디에",  # most read
    "테크 컨퍼런스 사전등록 안내", "오늘의 특가 광고 배너",  # banner, script
    "청소년보호책임자", "개인정보처리방침", "All rights reserved",  # footer
]  # fmt: skip
EUCKR_BOILERPLATE = [
    "한빛경제 홈", "정보통신", "기사입력", "많이 본 기사",
    "겨울 난방비 고지서, 올해는 얼마나 오를까", "수출 회복세, 연말까지 이어질까",
    "무단 전재 및 재배포 금지", "All rights reserved", "검색어를 입력하세요",
]  # fmt: skip


def page(name: str) -> bytes:
    return (SITE / name).read_bytes()


def visible(name: str, encoding: str = "utf-8") -> str:
    """The page source with tags removed and whitespace collapsed (phrases span tags)."""
    return meta.collapse(re.sub(r"<[^>]+>", "", page(name).decode(encoding)))


@pytest.fixture(scope="module")
def v1() -> Document:
    return extract(page("slownews/99663.html"), SLOWNEWS_URL)


@pytest.fixture(scope="module")
def v2() -> Document:
    return extract(page("slownews/99663.v2.html"), SLOWNEWS_URL)


@pytest.fixture(scope="module")
def follow_up() -> Document:
    return extract(page("slownews/99700.html"), f"{LOCAL}/99700")


@pytest.fixture(scope="module")
def euckr() -> Document:
    return extract(page("euckr/article.html"), f"{LOCAL}/euckr", content_type="text/html")


@pytest.fixture(scope="module")
def plain() -> Document:
    return extract(page("plain/article.html"), f"{LOCAL}/plain", content_type="text/html")


# --------------------------------------------------------------------------- Slownews


def test_slownews_metadata(v1: Document) -> None:
    assert v1.title == "오픈AI 이사회는 왜 샘 올트먼을 내보냈나"
    assert v1.author == "한서윤"
    assert v1.published_at == "2023-11-18T09:12:00+09:00"
    assert v1.modified_at == "2023-11-18T10:05:00+09:00"
    assert v1.site_name == "슬로우뉴스"
    assert v1.language == "ko-KR"
    assert v1.canonical_url == "https://slownews.kr/99663"
    assert v1.charset == "utf-8"
    assert v1.description and "티그리스" in v1.description


def test_slownews_body(v1: Document) -> None:
    first = v1.paragraphs[0]
    assert first.startswith(
        "지난 17일(현지시간) 오픈AI 이사회가 최고경영자 샘 올트먼을 전격 해임했다."
    )
    assert EDITED_OLD in v1.text
    assert "칩 회사 ‘티그리스’라는 변수" in v1.paragraphs  # the <h2>, its own entry
    assert "티그리스 투자 유치가 계속될지 여부" in v1.paragraphs  # a list item
    assert v1.paragraphs[-1].endswith("확인된 사실을 중심으로 후속 보도를 이어갈 예정이다.")
    for needle in (
        "오픈AI의",
        "GPT-4",
        "860억 달러",
        "올트먼이",
        "올트먼은",
        "올트먼의",
        "올트먼을",
    ):
        assert needle in v1.text
    # a link inside a paragraph keeps the paragraph whole
    assert "오픈AI의 공식 블로그에 올라온 발표문은 네 문단에 불과했다." in v1.text
    assert len(v1.paragraphs) == 14
    assert all(p and p == meta.collapse(p) for p in v1.paragraphs)


def test_bare_altman_never_appears_in_fixture_text() -> None:
    for name in ("slownews/99663.html", "slownews/99663.v2.html", "slownews/99700.html"):
        assert not re.search(r"올트먼(?![이은의을])", page(name).decode()), name


@pytest.mark.parametrize("fixture", ["v1", "v2"])
def test_slownews_boilerplate_absent(fixture: str, request: pytest.FixtureRequest) -> None:
    doc: Document = request.getfixturevalue(fixture)
    name = "slownews/99663.html" if fixture == "v1" else "slownews/99663.v2.html"
    source = visible(name)
    for phrase in SLOWNEWS_BOILERPLATE + ONLY_99663_BOILERPLATE:
        assert phrase in source, f"fixture lost its boilerplate phrase {phrase!r}"
        assert phrase not in doc.text, phrase


def test_slownews_links(v1: Document, follow_up: Document) -> None:
    assert v1.links == [
        Link("https://openai.com/blog/openai-announces-leadership-transition", "발표문"),
        Link("https://x.com/sama/status/1725600000000000000", "짧은 소감"),  # fragment gone
    ]
    # relative in-site links resolve against the URL the page was fetched from
    assert follow_up.links == [Link(f"{LOCAL}/99663", "앞선 기사")]
    for link in v1.links + follow_up.links:
        assert link.url.startswith(("http://", "https://")) and "#" not in link.url


def test_v2_differs_by_one_sentence_and_the_correction(v1: Document, v2: Document) -> None:
    assert v2.title == v1.title and v2.author == v1.author
    assert v2.published_at == v1.published_at
    assert v2.modified_at == "2023-11-19T08:30:00+09:00"
    assert v2.paragraphs[-1] == CORRECTION
    body = v2.paragraphs[:-1]
    assert len(body) == len(v1.paragraphs)
    changed = [
        i for i, (old, new) in enumerate(zip(v1.paragraphs, body, strict=True)) if old != new
    ]
    assert len(changed) == 1
    old, new = v1.paragraphs[changed[0]], body[changed[0]]
    assert EDITED_OLD in old and EDITED_NEW in new
    assert old.replace(EDITED_OLD, EDITED_NEW) == new
    assert EDITED_OLD not in v2.text


def test_follow_up_article(follow_up: Document) -> None:
    assert follow_up.title == "올트먼은 돌아왔고, 이사회는 바뀌었다"
    assert follow_up.author == "정우진"
    assert follow_up.published_at == "2023-11-22T08:40:00+09:00"
    assert follow_up.modified_at == "2023-11-22T09:15:00+09:00"
    assert "마이크로소프트" in follow_up.text and "올트먼은" in follow_up.text
    assert "남은 질문들" in follow_up.paragraphs
    for phrase in SLOWNEWS_BOILERPLATE:
        assert phrase in visible("slownews/99700.html"), phrase
        assert phrase not in follow_up.text, phrase


# --------------------------------------------------------------------------- other pages


def test_euckr_page_decodes(euckr: Document) -> None:
    assert euckr.charset == "euc-kr"
    assert euckr.title == "반도체 업계, 오픈AI 이사회 결정에 촉각"
    assert euckr.author == "박민수"
    assert euckr.published_at == "2023-11-21T10:15:00+09:00"
    assert euckr.modified_at is None
    # <br><br>-separated text without <p> still comes out as three paragraphs
    assert len(euckr.paragraphs) == 3
    assert euckr.paragraphs[0].startswith(
        "오픈AI 이사회가 최고경영자를 해임한 뒤 국내 반도체 업계도"
    )
    assert "\ufffd" not in euckr.text
    source = visible("euckr/article.html", "cp949")
    for phrase in EUCKR_BOILERPLATE:
        assert phrase in source, phrase
        assert phrase not in euckr.text, phrase


def test_euckr_bytes_are_not_utf8() -> None:
    raw = page("euckr/article.html")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b'<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">' in raw


def test_plain_news_page(plain: Document) -> None:
    assert plain.title == "오픈AI 직원 다수, 이사회 사퇴 요구 연판장에 서명"
    assert plain.author == "김하늘"
    assert plain.published_at == "2023-11-20T02:21:00+09:00"
    assert plain.modified_at == "2023-11-20T09:40:00+09:00"
    assert plain.language == "ko"
    assert plain.paragraphs[-1] == "이사회는 아직 공식 입장을 내놓지 않았다."
    assert len(plain.paragraphs) == 5
    assert plain.links == [Link("https://www.microsoft.com/ko-kr/", "마이크로소프트")]
    for phrase in PLAIN_BOILERPLATE:
        assert phrase in visible("plain/article.html"), phrase
        assert phrase not in plain.text, phrase


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("slownews/99663.html", SLOWNEWS_URL),
        ("slownews/99663.v2.html", SLOWNEWS_URL),
        ("slownews/99700.html", f"{LOCAL}/99700"),
        ("plain/article.html", f"{LOCAL}/plain"),
    ],
)
def test_generic_fallback_matches_site_rules(name: str, url: str) -> None:
    """With no site rule at all, the generic scorer finds the same text and links."""
    text, charset = decode_html(page(name), None)
    generic = extract_module._extract_document(text, url, charset, ())
    assert generic == extract(page(name), url)


def test_generic_fallback_without_rule_on_unknown_layout() -> None:
    html = (
        "<html><body><div class='menu'><a href='/a'>메뉴 하나</a> <a href='/b'>메뉴 둘</a></div>"
        "<div class='story'><p>첫 문단은 충분히 길어서 본문으로 뽑혀야 하는 문장입니다.</p>"
        "<p>둘째 문단도 마찬가지로 <a href='/c#x'>링크</a>를 하나 품고 있는 긴 문장입니다.</p>"
        "</div>"
        "<div class='sidebar'><ul><li><a href='/d'>다른 기사 제목 하나</a></li>"
        "<li><a href='/e'>다른 기사 제목 둘</a></li></ul></div></body></html>"
    )
    doc = extract(html, "https://example.com/news/1")
    assert doc.paragraphs == [
        "첫 문단은 충분히 길어서 본문으로 뽑혀야 하는 문장입니다.",
        "둘째 문단도 마찬가지로 링크를 하나 품고 있는 긴 문장입니다.",
    ]
    assert doc.links == [Link("https://example.com/c", "링크")]
    assert doc.charset is None


# --------------------------------------------------------------------------- news/ pages

PORTAL_URL = "https://n.news.baram.example/mnews/article/015/0004912345"
LOCAL_URL = "http://www.purunriver.example/news/view.php?no=4521"
LEDGER_URL = "https://ledger.example/local/2023/11/20/night-bus-pilot/"
PORTAL_BOILERPLATE = [
    "바람뉴스 홈", "IT/과학", "본문 바로가기", "요약봇",  # header, skip link, button
    "항구 부두에 수출용 컨테이너가 쌓여 있다", "사진=바람뉴스 DB",  # photo caption
    "숨겨 둔 문장은 본문이 아니다", "AD",  # display:none text, an ad slot
    "무단 전재 및 재배포 금지", "기사 섹션 분류 안내", "관련기사 더보기",
    "메모리 가격, 다음 분기에도 오를까", "많이 본 뉴스", "주말 날씨, 전국에 첫눈 소식",
    "반도체개미", "드디어 바닥을 찍은 것 같네요", "청소년 보호 정책", "스크립트 안의 가짜 제목",
]  # fmt: skip
LOCAL_BOILERPLATE = [
    "로그인", "회원가입", "사람들", "입력 2023-11-20", "카카오스토리", "주소복사",
    "사진=푸른강일보", "관련기사", "강변 산책로 자전거 도로 분리 공사 마무리",
    "무단전재 및 재배포 금지", "독자 의견", "다리 밑 구간이 정말 무서웠는데",
    "많이 본 기사", "시내버스 노선 개편안 공개", "지역 특산물 장터 안내", "청소년보호책임자",
]  # fmt: skip
LEDGER_BOILERPLATE = [
    "We use cookies", "Accept all", "Subscribe for $1", "Business", "Share on Facebook",
    "Share on X", "Email", "By Maya Ortiz", "November 20, 2023", "A test bus at the depot",
    "Photo: Ledger staff", "Advertisement", "Get the morning briefing", "free newsletter",
    "Related stories", "Bus fares to stay flat", "3 comments", "nightshift_nurse",
    "paying for a taxi home", "All rights reserved", "Privacy",
]  # fmt: skip


@pytest.fixture(scope="module")
def portal() -> Document:
    return extract(page("news/portal.html"), PORTAL_URL, content_type="text/html; charset=utf-8")


@pytest.fixture(scope="module")
def local() -> Document:
    return extract(page("news/local.html"), LOCAL_URL)


@pytest.fixture(scope="module")
def ledger() -> Document:
    return extract(page("news/english.html"), LEDGER_URL)


def test_portal_page_with_br_separated_body(portal: Document) -> None:
    assert portal.title == "반도체 수출, 넉 달 연속 늘었다"
    assert (portal.author, portal.authors) == ("이서연", ["이서연"])
    assert portal.published_at == "2023-11-20T02:21:00+09:00"  # "입력 2023.11.20. 오전 2:21"
    assert portal.modified_at == "2023-11-20T15:05:00+09:00"  # "수정 2023.11.20. 오후 3:05"
    assert (portal.site_name, portal.section) == ("바람뉴스", "경제")
    assert portal.tags == ["반도체", "수출", "무역수지"]
    assert portal.canonical_url == "https://n.news.baram.example/article/015/0004912345"
    # the summary's two lines, four <br><br>-separated paragraphs; the reporter's sign-off
    # closes the body and goes (issue 13), but still names the author
    assert portal.paragraphs[:2] == [
        "반도체 수출이 넉 달 연속 늘었다",
        "메모리 가격 회복이 흐름을 이끌어",
    ]
    assert portal.paragraphs[2].startswith("반도체 수출이 넉 달 연속 늘어난 것으로 나타났다.")
    assert portal.paragraphs[-1].startswith("정부는 이번 흐름이 연말까지 이어질 것으로")
    assert "seoyeon@baram.example" not in portal.text
    assert len(portal.paragraphs) == 6
    source = visible("news/portal.html")
    for phrase in PORTAL_BOILERPLATE:
        assert phrase in source or phrase in page("news/portal.html").decode(), phrase
        assert phrase not in portal.text, phrase


def test_unknown_korean_layout_uses_the_generic_method(local: Document) -> None:
    text, _ = decode_html(page("news/local.html"), None)
    assert extract_module._extract_document(text, LOCAL_URL, "utf-8", ()) == local  # no rule
    assert local.title == "강변 산책로 야간 조명, 이달 말까지 모두 바뀐다"  # <h1>, not <title>
    assert local.author == "최도윤"
    assert local.published_at == "2023-11-20T02:21:00+09:00"  # 입력 2023-11-20 오전 2:21
    assert local.modified_at == "2023-11-20T15:05:00+09:00"  # 수정 2023-11-20 오후 3:05
    # the headline is not repeated; the standfirst under it is the article's own text
    assert local.paragraphs[0] == "에너지 효율 높은 조명으로… 어두웠던 구간 세 곳도 손본다"
    assert local.paragraphs[1].startswith("강변 산책로의 낡은 야간 조명이")
    assert local.paragraphs[-1].endswith('"공사가 늦어지지 않았으면 좋겠다"고 말했다.')
    assert "doyun@purunriver.example" not in local.text  # the byline closing the body
    assert len(local.paragraphs) == 5
    for phrase in LOCAL_BOILERPLATE:
        assert phrase in visible("news/local.html"), phrase
        assert phrase not in local.text, phrase
    # outlinks and the canonical URL are canonicalised: no utm_*, no fragment
    assert local.links == [
        Link("http://www.purunriver.example/notice/detail.php?id=77", "우회로 안내")
    ]
    assert local.canonical_url == "http://www.purunriver.example/news/view.php?no=4521"


def test_english_article_metadata(ledger: Document) -> None:
    assert ledger.title == "City council approves night-bus pilot"
    assert ledger.authors == ["Maya Ortiz", "Sam Okafor"]
    assert ledger.author == "Maya Ortiz, Sam Okafor"
    assert ledger.published_at == "2023-11-20T07:30:00-05:00"
    assert ledger.modified_at == "2023-11-20T09:10:00-05:00"
    assert (ledger.site_name, ledger.language, ledger.section) == (
        "The Riverside Ledger", "en-US", "Local"
    )  # fmt: skip
    assert ledger.tags == ["transport", "night buses", "city council"]
    assert ledger.description == "A six-month trial of overnight bus routes starts in January."


def test_english_article_body(ledger: Document) -> None:
    assert ledger.paragraphs[0].startswith("The city council voted 7 to 2 on Monday night")
    assert "Who pays for it" in ledger.paragraphs  # the <h2>, a line of its own
    assert ledger.paragraphs[-4:] == [
        "Route N1: hospital district to central station",
        "Route N2: university campus to riverside warehouses",
        "Route N3: airport road to the old town",
        "The first buses are scheduled to run on January 8.",
    ]
    assert len(ledger.paragraphs) == 9
    for phrase in LEDGER_BOILERPLATE:
        assert phrase in visible("news/english.html"), phrase
        assert phrase not in ledger.text, phrase
    assert ledger.links == [Link("https://transit.example.gov/grants/2023", "late-night mobility")]


def test_frameset_page_links_its_frames() -> None:
    html = (
        "<html><head><title>옛날 신문 첫 화면</title></head><frameset cols='20%,80%'>"
        "<frame src='/menu.html' name='menu'><frame src='news/main.html?utm_source=x'>"
        "</frameset></html>"
    )
    doc = extract(html, "http://old.example/paper/")
    assert doc.paragraphs == []
    assert doc.title == "옛날 신문 첫 화면"
    assert doc.links == [
        Link("http://old.example/menu.html", "menu"),
        Link("http://old.example/paper/news/main.html", ""),
    ]


def test_table_rows_are_lines_and_link_lists_are_dropped() -> None:
    html = (
        "<article><p>올해 리그 최종 순위는 다음과 같다. 상위 세 팀이 결선에 오른다.</p>"
        "<table><tr><th>순위</th><th>팀</th><th>승점</th></tr>"
        "<tr><td>1</td><td><a href='/t/1'>푸른강 FC</a></td><td>71</td></tr>"
        "<tr><td>2</td><td><a href='/t/2'>바람 유나이티드</a></td><td>68</td></tr></table>"
        "<p>결선은 다음 달 첫째 주말에 열린다. 입장권은 이번 주부터 판매한다.</p>"
        "<ul><li><a href='/a'>지난 시즌 결선 다시 보기</a></li>"
        "<li><a href='/b'>감독 인터뷰 모음</a></li></ul></article>"
    )
    doc = extract(html, "https://sports.example/kr/league")
    assert doc.paragraphs == [
        "올해 리그 최종 순위는 다음과 같다. 상위 세 팀이 결선에 오른다.",
        "순위 팀 승점",
        "1 푸른강 FC 71",
        "2 바람 유나이티드 68",
        "결선은 다음 달 첫째 주말에 열린다. 입장권은 이번 주부터 판매한다.",
    ]


def test_embedded_post_kept_share_links_dropped() -> None:
    html = (
        "<div class='entry'>"
        "<p>장관은 회견 직후 자신의 계정에 짧은 글을 올려 입장을 다시 밝혔다.</p>"
        "<div class='social-media-embed'><blockquote class='twitter-tweet'><p>오늘 발표는 "
        "시작일 뿐입니다. 다음 주에 세부 계획을 공개하겠습니다.</p>— 장관 (@minister)</blockquote>"
        "</div><p>야당은 구체적인 예산 규모부터 밝히라고 요구했다. <span class='share-link'>"
        "<a href='/share'>공유</a></span>논쟁은 당분간 이어질 전망이다.</p></div>"
    )
    doc = extract(html, "https://example.kr/news/1")
    assert "오늘 발표는 시작일 뿐입니다. 다음 주에 세부 계획을 공개하겠습니다." in doc.text
    assert "공유" not in doc.text
    assert "야당은 구체적인 예산 규모부터 밝히라고 요구했다. 논쟁은 당분간 이어질 전망이다." in (
        doc.paragraphs
    )


def test_mislabelled_wrapper_is_not_dropped() -> None:
    """A boilerplate-sounding wrapper around the whole article is the article."""
    body = "".join(
        f"<p>{i}번째 문단은 기사 본문에 속하는 충분히 긴 문장으로 되어 있습니다.</p>"
        for i in range(6)
    )
    html = (
        f"<div class='menu'><a href='/'>홈</a></div><div class='content with-sidebar-ads'>{body}"
        "<div class='share'><a href='/s'>공유하기</a></div></div>"
    )
    doc = extract(html, "https://example.kr/news/2")
    assert len(doc.paragraphs) == 6 and "공유하기" not in doc.text


# --------------------------------------------------------------------------- metadata units


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-11-18T09:12:00+09:00", "2023-11-18T09:12:00+09:00"),
        ("2023-11-18T00:12:00Z", "2023-11-18T00:12:00+00:00"),
        ("2023.11.20 02:21", "2023-11-20T02:21:00+09:00"),
        ("2023-11-20 오전 2:21", "2023-11-20T02:21:00+09:00"),
        ("2023-11-20 오후 2:21", "2023-11-20T14:21:00+09:00"),
        ("2023년 11월 20일 오전 2:21", "2023-11-20T02:21:00+09:00"),
        ("2023년 11월 20일 (월) 오후 12시 5분", "2023-11-20T12:05:00+09:00"),
        ("2023/11/20", "2023-11-20T00:00:00+09:00"),
        ("Sat, 18 Nov 2023 00:12:00 +0000", "2023-11-18T00:12:00+00:00"),
        ("어제", None),
        ("2023-13-45 99:99", None),
        ("", None),
    ],
)
def test_parse_date(raw: str, expected: str | None) -> None:
    assert dates.parse_date(raw, dates.KST) == expected


def test_byline_dates_and_author() -> None:
    text = "김하늘 기자 입력 2023.11.20 02:21 수정 2023.11.20 09:40"
    assert dates.byline_dates(text, dates.KST) == (
        "2023-11-20T02:21:00+09:00",
        "2023-11-20T09:40:00+09:00",
    )
    assert meta.byline_author(text) == "김하늘"
    assert meta.byline_author("취재 기자 여럿이 기자회견장에 모였다") is None


def test_json_ld_author_list_and_title_suffix() -> None:
    html = (
        '<html lang="en"><head><title>Story | Example Times</title>'
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Story",'
        ' "author": [{"@type": "Person", "name": "Ann Lee"}, {"name": "Bo Kim"}],'
        ' "datePublished": "2023-11-18T09:12:00"}</script></head><body><p>Text.</p></body></html>'
    )
    doc = extract(html, "https://example.com/story")
    assert doc.title == "Story"
    assert doc.author == "Ann Lee, Bo Kim"
    assert doc.published_at == "2023-11-18T09:12:00+00:00"  # no offset, not Korean: UTC
    assert meta.strip_site_suffix("제목 - 슬로우뉴스", "슬로우뉴스") == "제목"
    guessed = meta.strip_site_suffix("The board fired its CEO | Example Times", None, guess=True)
    assert guessed == "The board fired its CEO"
    # too risky to guess when the "suffix" is longer than the rest
    assert meta.strip_site_suffix("Q&A - What the board said", None, guess=True) == (
        "Q&A - What the board said"
    )


def test_rule_selectors_match_the_node_itself() -> None:
    from selectolax.lexbor import LexborHTMLParser

    from archiver.extractor.rules import matches

    tree = LexborHTMLParser(
        "<article class='post single-entry'><div class='entry-content'>"
        "<div id='pavo_contents' itemprop='articleBody'><p>본문</p></div></div></article>"
    )
    inner = tree.css_first("#pavo_contents")
    outer = tree.css_first(".entry-content")
    assert inner is not None and outer is not None
    assert matches(inner, "#pavo_contents") and not matches(outer, "#pavo_contents")
    assert matches(inner, "article.single-entry #pavo_contents")
    assert matches(outer, "article.post .entry-content")
    assert not matches(outer, "section .entry-content")
    assert matches(inner, "[itemprop=articleBody]") and matches(
        inner, "div[itemprop='articleBody']"
    )


# --------------------------------------------------------------------------- charset


def test_decode_html_order() -> None:
    korean = "<p>반도체 이사회</p>".encode("euc-kr")
    meta_kr = b'<meta charset="ks_c_5601-1987">' + korean
    assert decode_html(korean, "text/html; charset=EUC-KR") == ("<p>반도체 이사회</p>", "euc-kr")
    assert decode_html(meta_kr, None)[1] == "euc-kr"
    assert decode_html(meta_kr, None)[0].endswith("<p>반도체 이사회</p>")
    # a header that lies (utf-8) falls through to the <meta> declaration
    assert decode_html(meta_kr, "text/html; charset=utf-8")[1] == "euc-kr"
    # a BOM beats a <meta> that disagrees
    bom = b"\xef\xbb\xbf" + '<meta charset="euc-kr"><p>한글</p>'.encode()
    assert decode_html(bom, None) == ('<meta charset="euc-kr"><p>한글</p>', "utf-8")
    # CP949-only syllables (outside EUC-KR) decode too
    assert decode_html("똠방각하".encode("cp949"), "text/html; charset=euc-kr")[0] == "똠방각하"
    # nothing declared: detection, then utf-8 with replacement; never raises
    assert decode_html("그냥 UTF-8 문장".encode(), None) == ("그냥 UTF-8 문장", "utf-8")
    assert decode_html(b"", None)[0] == ""
    text, _ = decode_html(b"\x00\xff" * 1000, None)
    assert isinstance(text, str)


def test_normalise_charset() -> None:
    assert normalise_charset("EUC-KR") == "euc-kr"
    assert normalise_charset("ks_c_5601-1987") == "euc-kr"
    assert normalise_charset("UTF8") == "utf-8"
    assert normalise_charset("x-unknown-thing") is None


# --------------------------------------------------------------------------- robustness

SAMPLE = page("slownews/99663.html")
ROBUST_INPUTS: dict[str, str | bytes] = {
    "empty bytes": b"",
    "empty str": "",
    "binary": b"\x00\xff" * 1000,
    "first half": SAMPLE[: len(SAMPLE) // 2],
    "second half": SAMPLE[len(SAMPLE) // 2 :],
    "cut mid-syllable": SAMPLE[:7001],
    "no <p>": "<html><body><div>본문만 있고<br>문단 태그는 없다</div></body></html>",
    "script only": "<script>var a = '<p>가짜 문단</p>';</script>",
    "unclosed tags": "<div><p><b><i>열린 태그만" * 50,
    "deep nesting": "<div>" * 5000 + "깊은 곳의 문장" + "</div>" * 5000,
    "bad json-ld": '<script type="application/ld+json">{"@graph": [</script><p>본문</p>',
    "weird links": '<p><a href="http://[::1">깨진</a> <a href="javascript:x()">js</a></p>',
    "pdf": page("files/report.pdf"),
    "invalid bytes": b"<p>\xea\xb0\x80\xea\xb0 \xff\xfe\xc3\x28 \xed\xa0\x80 text</p>" * 20,
    "frames only": "<frameset><frame src='/a.html'><frame src='javascript:x'></frameset>",
    "labels everywhere": "<div class='share related comments'>" * 300 + "본문?" + "</div>" * 300,
    "table soup": "<table><tr><td>" * 400 + "셀 안의 글" + "</td></tr></table>" * 400,
}


@pytest.mark.parametrize("name", list(ROBUST_INPUTS))
def test_robust_inputs(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=EXTRACTOR_LOGGER)
    doc = extract(ROBUST_INPUTS[name], SLOWNEWS_URL)
    # extract() never raises: a bug inside it shows only as its "extraction failed" warning.
    assert extraction_failures(caplog.records) == []
    assert all(p.strip() and p == meta.collapse(p) for p in doc.paragraphs)


def test_robust_inputs_details() -> None:
    assert extract(b"", SLOWNEWS_URL).paragraphs == []
    assert extract(ROBUST_INPUTS["script only"], SLOWNEWS_URL).paragraphs == []
    assert extract(ROBUST_INPUTS["no <p>"], SLOWNEWS_URL).paragraphs == [
        "본문만 있고",
        "문단 태그는 없다",
    ]
    assert "깊은 곳의 문장" in extract(ROBUST_INPUTS["deep nesting"], SLOWNEWS_URL).text
    half = extract(ROBUST_INPUTS["first half"], SLOWNEWS_URL)
    assert half.title == "오픈AI 이사회는 왜 샘 올트먼을 내보냈나"
    assert extract(page("files/report.pdf"), "http://x/r.pdf", content_type="application/pdf") == (
        Document(None, None, None, None, [], [])
    )


def test_invalid_bytes_and_truncation_keep_what_can_be_read() -> None:
    cut = page("news/portal.html")[:5200]  # truncated inside the article body
    doc = extract(cut, PORTAL_URL)
    assert doc.title == "반도체 수출, 넉 달 연속 늘었다"
    assert doc.published_at == "2023-11-20T02:21:00+09:00"
    assert any(p.startswith("반도체 수출이 넉 달 연속 늘어난") for p in doc.paragraphs)
    # two stray bytes in a UTF-8 page: still UTF-8 (not a detector's guess), two U+FFFD
    sentence = "시는 새 조명이 기존보다"
    broken = page("news/local.html").replace(sentence.encode(), b"\xff\xfe" + sentence.encode())
    doc = extract(broken, LOCAL_URL)
    assert doc.charset == "utf-8" and "\ufffd\ufffd" + sentence in doc.text
    assert doc.author == "최도윤"


def test_five_megabyte_page_without_paragraph_tags() -> None:
    lines = "<br>".join(
        f"{i}번째 줄은 문단 태그 없이 이어지는 한국어 문장입니다." for i in range(90000)
    )
    html = f"<html><body><div id='txt'>{lines}</div></body></html>".encode()
    assert len(html) > 5_000_000
    doc = extract(html, "https://example.kr/big")
    assert len(doc.paragraphs) == 90000 and doc.paragraphs[-1].startswith("89999번째 줄")


def test_five_megabyte_page() -> None:
    filler = "".join(
        f"<p>채우기 문단 {i}번, 길게 이어지는 한국어 문장입니다.</p>" for i in range(65000)
    )
    html = f"<html><body><article>{filler}</article></body></html>".encode()
    assert len(html) > 5_000_000
    doc = extract(html, SLOWNEWS_URL)
    assert len(doc.paragraphs) == 65000


def test_internal_pipeline_does_not_hit_the_safety_net(caplog: pytest.LogCaptureFixture) -> None:
    """extract() logs a warning when its last-resort guard fires; the fixtures never do."""
    caplog.set_level(logging.DEBUG, logger=EXTRACTOR_LOGGER)
    for name in ("slownews/99663.html", "euckr/article.html", "plain/article.html"):
        extract(page(name), SLOWNEWS_URL)
    for value in ROBUST_INPUTS.values():
        extract(value, SLOWNEWS_URL)
    assert not [r for r in caplog.records if r.name == "archiver.extractor.page"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=4000),
        st.text(max_size=4000),
        st.lists(
            st.sampled_from(
                ["<p>", "</p>", "<div class='share'>", "</div>", "<a href='/x#y'>", "</a>",
                 "<br>", "<script>", "</script>", "<h2>", "올트먼은 ", "2023.11.20 02:21",
                 "입력 ", "기자 ", "<meta charset='euc-kr'>", "<!--", "-->", "&amp;", "\x00",
                 "<time datetime='2023-11-18T09:12:00+09:00'>", "<title>", "</title>",
                 "<span class='byline'>", "</span>", "<nav>", "<header>", "<article>",
                 "<table><tr><td>", "</td><td>", "<li>", "<frameset><frame src='/f'>",
                 "<div style='display:none'>", "<h1>", "</h1>", "<div id='dic_area'>",
                 "<div itemprop='articleBody'>", "긴 문장이 여기에 충분히 길게 이어지고 있습니다. ",
                 '<script type="application/ld+json">{"@type":"NewsArticle","author":',
                 "<meta property='article:tag' content='a,b'>", "\ufeff", "\u200b"]
            ),
            max_size=200,
        ).map("".join),
    ),
    st.one_of(st.none(), st.sampled_from(["text/html", "text/html; charset=euc-kr",
                                          "text/html; charset=bogus", "text/plain"])),
)  # fmt: skip
def test_fuzz_never_raises(data: str | bytes, content_type: str | None) -> None:
    with no_extraction_failure():
        doc = extract(data, "https://example.kr/a", content_type=content_type)
    assert all(p and p == meta.collapse(p) for p in doc.paragraphs)
    assert all(link.url.startswith(("http://", "https://")) for link in doc.links)
    text = data if isinstance(data, str) else decode_html(data, content_type)[0]
    # the inner pipeline itself (without extract()'s safety net) must not raise either
    extract_module._extract_document(text, "https://example.kr/a", None, extract_module.RULES)
