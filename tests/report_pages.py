"""Pages for the report tests: a hostile article whose title and text carry markup.

The markup is written as entities, so the extracted title and text contain the literal
characters "<script>" and "onerror=": the report must show them as text, never as markup.
Version 2 edits one sentence, changes the title and moves one paragraph.
"""

from __future__ import annotations

PWN_SCRIPT = "<script>document.body.setAttribute('data-pwned','script')</script>"
PWN_IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"

_PARAGRAPHS_V1 = [
    "첫 문단은 평범한 문장으로 시작한다. 기자는 이 페이지가 보고서를 깨뜨리는지 시험한다.",
    f"둘째 문단에는 {PWN_IMG} 같은 태그가 글자로 들어 있다. 보고서는 이것을 글자로만 보여야 한다.",
    "셋째 문단은 자리를 옮길 문단이다. 다음 판에서는 이 문단이 글의 맨 끝으로 내려간다.",
    f"넷째 문단은 {PWN_SCRIPT} 스크립트 태그를 품고 있다. 브라우저가 이것을 실행하면 안 된다.",
    "다섯째 문단은 조회수와 시각을 적는다. 이 문단은 두 판에서 똑같이 남는다.",
]
_PARAGRAPHS_V2 = [
    _PARAGRAPHS_V1[0],
    f"둘째 문단에는 {PWN_IMG} 같은 태그가 여전히 글자로 남아 있다. "
    "보고서는 이것을 글자로만 보여야 한다.",
    _PARAGRAPHS_V1[3],
    _PARAGRAPHS_V1[4],
    _PARAGRAPHS_V1[2],
]
TITLE_V1 = f"{PWN_SCRIPT} 위험한 제목의 기사"
TITLE_V2 = f"{PWN_IMG} 위험한 제목의 기사 (수정)"
EDITED_OLD = f"둘째 문단에는 {PWN_IMG} 같은 태그가 글자로 들어 있다."
EDITED_NEW = f"둘째 문단에는 {PWN_IMG} 같은 태그가 여전히 글자로 남아 있다."
MOVED = _PARAGRAPHS_V1[2]


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def hostile_page(version: int) -> bytes:
    title = TITLE_V1 if version == 1 else TITLE_V2
    paragraphs = _PARAGRAPHS_V1 if version == 1 else _PARAGRAPHS_V2
    body = "\n".join(f"<p>{_escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8">
<title>{_escape(title)}</title>
<meta name="author" content="{_escape(PWN_IMG)} 기자">
<script>document.title = "this page's own script, never archived as text";</script>
</head><body>
<article>
<h1>{_escape(title)}</h1>
{body}
</article>
</body></html>""".encode()
