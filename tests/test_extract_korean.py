"""Korean news pages the DOM walk alone gets wrong (issue 13): articles that live only in
script payloads, <br><br> paragraphs, boilerplate at the edges of the body, bylines at
its end, publication names given as authors, site and section suffixes in titles.

The script-payload pages are in tests/fixtures/site/news/scripts/ (written for the
project, modelled on Next.js and Nuxt sites); the smaller cases are inline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archiver.extractor.edges import trim_edges
from archiver.extractor.page import Document, extract

SCRIPTS = Path(__file__).parent / "fixtures" / "site" / "news" / "scripts"
URL = "https://news.example/article/1"


def fixture(name: str) -> Document:
    return extract((SCRIPTS / name).read_bytes(), URL)


def page(body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8">'
        f"{head}</head><body>{body}</body></html>"
    )


# --------------------------------------------------------------------------- script payloads


def test_next_flight_payload_gives_the_article_with_metadata() -> None:
    doc = fixture("nextjs-flight.html")
    assert (
        doc.title == '오픈AI, 샘 올트먼 해임… 이사회 "소통에 솔직하지 않았다"'
    )  # no "-정치ㅣ한국일보"
    assert len(doc.paragraphs) == 4
    assert doc.paragraphs[0].startswith("오픈AI 이사회가 샘 올트먼 최고경영자를 해임했다고")
    assert doc.paragraphs[-1].endswith("여러 해석을 내놓고 있다.")
    assert doc.authors == ["김민지"]  # from the byline after the body, not "한국일보"
    assert doc.published_at == "2023-11-18T09:12:00+09:00"  # no offset: Korea time
    for chrome in ("불러오는 중", "MS, 올트먼 영입", "무라티 임시 CEO는", "editor-p", "minji@"):
        assert chrome not in doc.text, chrome


def test_next_data_blob_gives_the_article() -> None:
    doc = fixture("nextdata.html")
    assert doc.title == "서울 아침 영하 5도… 올겨울 첫 한파특보"
    assert [p[:12] for p in doc.paragraphs] == [
        "화요일인 21일은 전국",
        "기상청은 이날 오후 9",
        "바람도 강하게 불어 체",
    ]
    assert doc.authors == ["박서준"]
    assert doc.published_at == "2023-11-20T17:30:00+09:00"
    assert "img.weather.example" not in doc.text


def test_nuxt_state_written_as_javascript_gives_the_article() -> None:
    doc = fixture("nuxt.html")
    assert doc.title == "부산 시내버스 요금 200원 인상"
    assert len(doc.paragraphs) == 2
    assert doc.paragraphs[1].endswith("교통비 지원을 함께 늘리겠다고 밝혔다.")


def test_json_ld_article_body_when_the_dom_has_none() -> None:
    body = "\n".join([
        "국회는 30일 본회의를 열어 내년도 예산안을 처리했다. "
        "여야는 막판까지 쟁점 예산을 두고 협상을 이어갔다.",
        "예산안은 정부안보다 4조 원 줄어든 규모로 확정됐다. 연구개발 예산 일부는 다시 늘었다.",
    ])  # fmt: skip
    ld = {"@context": "https://schema.org", "@type": "NewsArticle",
          "headline": "내년 예산안 국회 통과", "articleBody": body}  # fmt: skip
    html = page(
        '<div id="root"></div>',
        f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>',
    )
    doc = extract(html, URL)
    assert doc.title == "내년 예산안 국회 통과"
    assert doc.paragraphs == body.split("\n")


def test_a_page_with_its_article_in_the_dom_ignores_its_payloads() -> None:
    article = "".join(
        f"<p>{'시의회는 조례안을 두고 오랜 논의를 거쳐 결론을 냈다. ' * 4}{i}</p>" for i in range(4)
    )
    state = {"teaser": "다른 기사의 요약문입니다. " * 30}
    html = page(
        f"<article>{article}</article><script>window.__STATE__={json.dumps(state)}</script>",
        "<title>시의회 조례안 통과</title>",
    )
    doc = extract(html, URL)
    assert len(doc.paragraphs) == 4
    assert "다른 기사의 요약문" not in doc.text


def test_payload_that_does_not_match_the_title_is_not_taken() -> None:
    notice = "이 사이트는 쿠키를 사용합니다. 계속 이용하면 쿠키 사용에 동의하는 것으로 봅니다. "
    state = json.dumps({"notice": notice * 5}, ensure_ascii=False)
    html = page(
        f"<div id=app></div><script>window.__STATE__={state}</script>",
        "<title>지방선거 투표율 역대 최고</title>",
    )
    assert extract(html, URL).paragraphs == []


@pytest.mark.parametrize(
    "payload",
    [
        'self.__next_f.push([1,"' + "가나다라 마바사 " * 700_000,  # 10 MB, never closed
        'window.__NUXT__={"a":"' + "\\u12" * 2_500_000 + '"}',  # broken escapes
        "x=" + "'" * 5_000_000,  # five million empty literals
        "self.__next_f.push([1," * 200_000,
    ],
    ids=["unterminated", "bad-escapes", "quotes", "pushes"],
)
def test_huge_or_malformed_payloads_never_raise(payload: str) -> None:
    html = page(f"<h1>큰 스크립트</h1><p>본문 한 줄.</p><script>{payload}</script>")
    doc = extract(html, URL)
    assert doc.paragraphs == ["본문 한 줄."]


# --------------------------------------------------------------------------- <br> paragraphs


def test_br_br_separates_paragraphs_inside_a_paragraph_element() -> None:
    html = page(
        "<h1>제목</h1><td id=body><p>첫 문단은 여기서 시작해<br>한 줄 넘겨 끝난다.<br><br>"
        "두 번째 문단이다.<br> <br>\n세 번째 문단이다.</p></td>"
    )
    doc = extract(html, URL)
    assert doc.paragraphs == [
        "첫 문단은 여기서 시작해 한 줄 넘겨 끝난다.",
        "두 번째 문단이다.",
        "세 번째 문단이다.",
    ]


# --------------------------------------------------------------------------- edges

STORY = [
    "[앵커]",
    "오픈AI 이사회가 샘 올트먼을 해임했습니다. 그 배경을 홍길동 기자가 전합니다.",
    "[기자]",
    "이사회는 올트먼이 소통에 솔직하지 않았다고 밝혔습니다. "
    "문의는 press@openai.example로 받았다고 덧붙였습니다.",
    "사진=연합뉴스",
    "마이크로소프트는 협력 관계에 변함이 없다고 밝혔습니다.",
]


@pytest.mark.parametrize(
    "tail",
    [
        ["연합뉴스TV 홍길동입니다. (hong@yna.example)"],
        ["홍길동 기자 hong@yna.example"],
        ["홍길동·김철수 기자"],
        ["(끝)"],
        ["<저작권자(c) 연합뉴스, 무단 전재-재배포, AI 학습 및 활용 금지>"],
        ["ⓒ 한국방송 All rights reserved"],
        ["#오픈AI #올트먼 #해임"],
        ["기사문의 및 제보 : 카카오톡 okjebo"],
        ["▶ 네이버에서 뉴스 구독하기", "☞ 제보하기"],
        ["관련뉴스", "MS, 올트먼 영입", "무라티는 누구인가",
         "해당 언론사에서 선정하며 언론사 페이지로 이동해 볼 수 있습니다."],
        ["※ 우울감 등 말하기 어려운 고민이 있거나 주변에 이런 어려움을 겪는 "
         "가족·지인이 있을 경우 자살예방 상담전화 ☎109 또는 자살예방 SNS 상담 "
         "'마들랜'에서 24시간 전문가의 상담을 받을 수 있습니다."],
        ["샘 올트먼 오픈AI 최고경영자. /AFP=연합뉴스"],
    ],
)  # fmt: skip
def test_tail_boilerplate_goes_and_the_story_stays(tail: list[str]) -> None:
    trimmed = trim_edges([*STORY, *tail], "올트먼 해임")
    assert trimmed.paragraphs == STORY  # markers, the quoted e-mail, the mid-story caption kept
    assert trimmed.removed == tail


def test_head_boilerplate_and_a_repeated_headline_go() -> None:
    head = [
        "오픈AI, 올트먼 해임",
        "입력 2023.11.18 09:12 수정 2023.11.18 10:40",
        "[사진 제공=오픈AI]",
    ]
    trimmed = trim_edges([*head, *STORY[1:]], "오픈AI, 올트먼 해임")
    assert trimmed.paragraphs == STORY[1:]


def test_a_sign_off_closing_the_last_paragraph_is_cut_from_it() -> None:
    last = "업계의 해석은 엇갈립니다. YTN 홍길동입니다. (hong@ytn.example)"
    trimmed = trim_edges([*STORY, last], None)
    assert trimmed.paragraphs[-1] == "업계의 해석은 엇갈립니다."
    last = "회사는 조사 결과를 발표하겠다고 밝혔다. (끝)"
    assert trim_edges([last], None).paragraphs == ["회사는 조사 결과를 발표하겠다고 밝혔다."]


def test_boilerplate_in_the_middle_is_text() -> None:
    middle = [STORY[1], "#해시태그처럼 보이는 줄", "▶ 화살표로 시작하는 인용", STORY[3]]
    assert trim_edges(middle, None).paragraphs == middle


# --------------------------------------------------------------------------- metadata


def test_trailing_byline_names_the_authors_and_leaves_the_body() -> None:
    html = page(
        "<h1>집값 상승세 둔화</h1><div class=article>"
        + "<p>서울 아파트값 상승세가 석 달째 둔화했다. "
        "한국부동산원은 거래량 감소를 원인으로 꼽았다.</p>"
        * 3
        + "<p>김경희·이수민 기자 amator@joongang.example</p></div>",
        '<meta property="og:site_name" content="중앙일보"><meta name="author" content="중앙일보">',
    )
    doc = extract(html, URL)
    assert doc.authors == ["김경희", "이수민"]
    assert doc.author == "김경희, 이수민"
    assert "amator@" not in doc.text


def test_publication_is_not_an_author() -> None:
    head = (
        '<meta name="author" content="한국일보"><meta property="og:site_name" content="한국일보">'
    )
    html = page(
        "<h1>제목</h1><article>"
        + "<p>본문 문장이 여기에 길게 이어진다고 가정한다.</p>" * 5
        + "</article>",
        head,
    )
    assert extract(html, URL).authors == []


@pytest.mark.parametrize(
    ("og_title", "h1", "expected"),
    [
        ("집값 상승세 둔화-경제ㅣ한국일보", None, "집값 상승세 둔화"),
        ("집값 상승세 둔화 | 경제 | 한국일보", None, "집값 상승세 둔화"),
        ("집값 상승세 둔화 - 한국일보", None, "집값 상승세 둔화"),
        ("한-일 정상 회담 열려", None, "한-일 정상 회담 열려"),  # no site name: nothing cut
        ("서울 집값 석 달째 둔화 :: 부동산 브리핑", "서울 집값 석 달째 둔화",
         "서울 집값 석 달째 둔화"),
    ],
)  # fmt: skip
def test_title_loses_its_site_and_section_suffix(
    og_title: str, h1: str | None, expected: str
) -> None:
    head = f'<meta property="og:title" content="{og_title}">'
    head += '<meta property="og:site_name" content="한국일보">'
    body = (
        f"<h1>{h1}</h1>" if h1 else ""
    ) + "<p>본문 문장이 여기에 길게 이어진다고 가정한다.</p>" * 5
    assert extract(page(body, head), URL).title == expected


@pytest.mark.parametrize(
    ("first", "kept"),
    [
        ("[부산=스포츠조선 선수민 기자] 롯데가 연장 끝에 이겼다.", "롯데가 연장 끝에 이겼다."),
        ("(서울=연합뉴스) 홍길동 기자 = 정부가 대책을 내놨다.", "정부가 대책을 내놨다."),
        ("[앵커] 오늘의 소식입니다.", "[앵커] 오늘의 소식입니다."),  # a marker, not a dateline
    ],
)
def test_a_dateline_opening_the_body_goes(first: str, kept: str) -> None:
    assert trim_edges([first, STORY[1]], None).paragraphs[0] == kept


def test_a_sign_off_glued_to_the_last_sentence_goes() -> None:
    last = "경기는 연장 끝에 끝났다.부산=선수민 기자 sunsoo@sports.example"
    assert trim_edges([last], None).paragraphs == ["경기는 연장 끝에 끝났다."]


def test_portal_metadata_exact_time_outlet_prefix_and_publication_names() -> None:
    head = (
        '<meta property="og:title" content="대전일보 모바일 :: 성금 기탁 줄 잇는다">'
        '<meta property="og:site_name" content="대전일보">'
        '<meta name="dable:author" content="스포츠조선=선수민 기자">'
    )
    body = (
        '<span class="_ARTICLE_DATE_TIME" data-date-time="2023-11-02 20:06:13">오후 8:06</span>'
        '<span class="_ARTICLE_MODIFY_DATE_TIME" data-date-time="2023-11-03 09:00:00">9:00</span>'
        + "<p>코로나19 극복을 위한 특별모금이 이어지고 있다는 소식이 전해졌다.</p>"
        * 4
    )
    doc = extract(page(body, head), URL)
    assert doc.title == "성금 기탁 줄 잇는다"  # the site's name and "모바일 ::" before it
    assert doc.authors == ["선수민"]  # not "스포츠조선=선수민"
    assert (doc.published_at, doc.modified_at) == (
        "2023-11-02T20:06:13+09:00",
        "2023-11-03T09:00:00+09:00",
    )
    byline = page("<p>뉴스타파 webmaster@newstapa.example</p>" + body.split("</span>", 2)[2])
    assert extract(byline, URL).authors == []  # an outlet with an e-mail is no author


def test_an_unlabelled_date_in_a_head_byline_is_the_publication_time() -> None:
    body = (
        "<h2>성금 기탁 줄 잇는다</h2><div>이용민 기자 | 2020-03-04 16:52:59</div>"
        + "<div class=m_cont>"
        + "코로나19 극복을 위한 특별모금이 이어지고 있다는 소식이 전해졌다.<BR><BR>" * 4
        + "이용민 기자<BR><BR>&lt;저작권자ⓒ대전일보사. 무단전재-재배포 금지&gt;</div>"
    )
    head = "<title>대전일보 모바일 :: 성금 기탁 줄 잇는다</title>"
    head += '<meta name="application-name" content="대전일보">'
    doc = extract(page(body, head), URL)
    assert doc.title == "성금 기탁 줄 잇는다"
    assert doc.published_at == "2020-03-04T16:52:59+09:00"
    assert doc.authors == ["이용민"]
    assert len(doc.paragraphs) == 4 and "무단전재" not in doc.text
