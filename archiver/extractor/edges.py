"""Korean news boilerplate at the edges of an article body.

News sites end (and sometimes start) the body with lines that are not the story: the
reporter's byline or sign-off with an e-mail, "(끝)", the copyright line, hashtags,
"기사문의 및 제보", "▶" promos, a 관련뉴스 box, the crisis-hotline notice appended to
suicide reports, photo captions and credits, the headline repeated. :func:`trim_edges`
removes such paragraphs from the two ends only, and stops at the first paragraph that is
not one of them: the same line in the middle of the story is the story's (a quoted
e-mail, a caption between paragraphs). Broadcast markers ([앵커], [기자]) are text.
The removed lines are returned, since a trailing byline is often the only place the
author is named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Trimmed", "trim_edges"]

_LINE = 220  # characters; a longer paragraph is never boilerplate on its own
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_NAME = r"[가-힣]{2,4}"
_ROLE = r"(?:선임|수석|객원|인턴|전문|대)?\s?(?:기자|특파원|앵커|논설위원|PD|피디)"
_EDGE = re.compile(
    "|".join(
        (
            rf"^[^.!?。]{{0,40}}{_EMAIL}[^.!?。]{{0,20}}$",  # a byline with an e-mail
            rf"^(?:글·사진|사진·글|글|취재|영상|촬영|편집)?\s*{_NAME}(?:\s*[·,/]\s*{_NAME})*\s*{_ROLE}"
            r"(?:\s*[=(/|].{0,40})?$",  # 홍길동 기자, 홍길동·김철수 기자 (…), 홍길동 기자 | 날짜
            rf"^(?:[A-Za-z0-9가-힣]+\s+){{1,3}}{_NAME}(?:\s?기자)?입니다\.?"  # YTN 홍길동입니다.
            rf"(?:\s*[(<\[]?\s*{_EMAIL}\s*[)>\]]?)?$",
            r"^\(끝\)$",
            r"^\[[^\]]{0,30}=[^\]]{0,30}(?:기자|특파원|통신원)\]$",  # [부산=스포츠조선 홍길동 기자]
            r"[ⓒ©]|copyright\b.{0,80}(?:reserved|\d{4})|무단\s*[전복]재|재배포\s*금지|"
            r"AI\s*학습.{0,12}금지|저작권자\s*[(\[]?[ⓒ©c]",
            r"^(?:#[^\s#]+\s*)+$",  # hashtag line
            r"기사\s*문의|제보\s*(?:하기|는|:|：|안내)|뉴스\s*제보|카카오톡\s*(?:에서)?\s*['‘]?\S*['’]?\s*(?:검색|제보)",
            r"^\s*[▶▷►☞➤■□◆◇※◎●○▲△]",  # promo and notice lines
            r"^관련\s*(?:뉴스|기사)|해당\s*언론사에서\s*선정",
            r"(?:우울|자살|고민).{0,160}(?:상담\s*전화|☎|1393|\b109\b|1577-0199)",  # crisis line
            r"^\[?(?:사진|그래픽|자료\s*사진|영상|이미지)\s*(?:제공)?\s*[=:：]",  # photo credit
            r"[/=]\s*(?:AFP|AP|EPA|UPI|로이터|Reuters|연합뉴스|뉴시스|뉴스1|게티이미지|신화)[\s\])]*$",
            r"^\[[^\]]{0,40}(?:사진|제공|캡처|자료)[^\]]{0,40}\]$",
            r"^(?:기사\s*)?(?:입력|수정|등록|승인|업데이트)\s*[:：]?\s*\d{4}[.\-/]",  # dateline
        )
    ),
    re.IGNORECASE,
)
# A sign-off closing the last paragraph: "… 전했습니다. 연합뉴스TV 홍길동입니다. (id@yna.co.kr)"
_TAIL = re.compile(
    rf"\s*(?:(?:[A-Za-z0-9가-힣]+\s+){{1,3}}{_NAME}(?:\s?기자)?입니다\.?|"
    rf"(?:[가-힣]{{1,6}}=)?{_NAME}\s?{_ROLE})?"
    rf"\s*[(<\[]?\s*{_EMAIL}\s*[)>\]]?\s*$|\s*\(끝\)\s*$"
)
# A dateline opening the first paragraph: "[부산=스포츠조선 홍길동 기자] …",
# "(서울=연합뉴스) 홍길동 기자 = …".
_HEAD = re.compile(
    rf"^\s*(?:\[[^\]]{{1,40}}(?:기자|특파원|통신원)\]|\([^)]{{1,20}}=[^)]{{1,20}}\)\s*"
    rf"(?:{_NAME}(?:\s*·\s*{_NAME})*\s?(?:기자|특파원)\s*=)?)\s*"
)
_MARKER = re.compile(r"^\[(?:앵커|기자|리포트|인터뷰|녹취|앵커\s*멘트|기자\s*멘트)\]")
_RELATED_BOX = re.compile(r"^관련\s*(?:뉴스|기사)")
_MAX_BOX = 12  # link lines after a 관련뉴스 heading


@dataclass
class Trimmed:
    paragraphs: list[str]
    removed: list[str] = field(default_factory=list)  # what was cut, head then tail


def _edge(text: str, title: str) -> bool:
    if len(text) > _LINE or _MARKER.match(text):
        return False
    return (title != "" and _norm(text) == title) or _EDGE.search(text) is not None


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def trim_edges(paragraphs: list[str], title: str | None) -> Trimmed:
    """``paragraphs`` without boilerplate at their two ends (see the module doc)."""
    key = _norm(title or "")
    start, end = 0, len(paragraphs)
    removed: list[str] = []
    while start < end and _edge(paragraphs[start], key):
        removed.append(paragraphs[start])
        start += 1
    tail: list[str] = []
    while end > start:
        last = paragraphs[end - 1]
        if _edge(last, key):
            tail.append(last)
            end -= 1
            continue
        box = _related_box(paragraphs, start, end)
        if box is None:
            break
        tail.extend(reversed(paragraphs[box:end]))
        end = box
    kept = paragraphs[start:end]
    if kept:
        lead = _HEAD.match(kept[0])
        if lead and lead.end() < len(kept[0]) and not _MARKER.match(kept[0]):
            removed.append(kept[0][: lead.end()].strip())
            kept[0] = kept[0][lead.end() :]
        cut = _TAIL.search(kept[-1])
        if cut and cut.start() > 0:
            tail.append(kept[-1][cut.start() :].strip())
            kept[-1] = kept[-1][: cut.start()].rstrip()
    removed.extend(reversed(tail))
    return Trimmed(kept, removed)


def _related_box(paragraphs: list[str], start: int, end: int) -> int | None:
    """Where a 관련뉴스 box begins when the paragraphs up to ``end`` are one: its heading,
    then short link lines."""
    for index in range(end - 1, max(start, end - _MAX_BOX) - 1, -1):
        text = paragraphs[index]
        if _RELATED_BOX.match(text) and len(text) <= _LINE:
            return index
        if len(text) > 120:
            return None
    return None
