"""Seed posts: the post a crawl starts from (a Careerly scrape, plain text, Markdown or HTML).

A Careerly scrape is the title, the source label, the post body, a reference line
("참고기사: LABEL (URL)"), platform chrome ("다음 내용이 궁금하다면?"), the post time
("2023년 11월 20일 오전 2:21", Korea time) and then teasers of *other* posts. The parser
keeps the post (title, body, references, time) apart from the chrome and the teasers.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from archiver.errors import SeedError
from archiver.text.charset import looks_binary
from archiver.text.dates import KST, parse_date

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

__all__ = [
    "Reference",
    "SeedPost",
    "assemble_post",
    "block_lines",
    "parse_seed_bytes",
    "parse_seed_file",
]

MAX_SEED_BYTES = 50_000_000

_KO_DATE = re.compile(
    r"(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일(?:\s*\(?[월화수목금토일]요?일?\)?)?"
    r"\s*(?:(오전|오후|AM|PM|am|pm)\s*)?(\d{1,2})\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?"
)
_ISO_LINE = re.compile(
    r"(?i)(?:(?:date|posted|published|날짜|작성일|게시일)\s*(?:[:：]\s*)?)?"
    r"(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?)"
)
# No two unbounded quantifiers below may share characters: the backtracking engine would go
# quadratic or cubic on long whitespace runs (found by timing hostile inputs).
_URL = re.compile(r"https?://[^\s<>\"'`{}|\\^\[\]「」『』【】《》〈〉]+", re.I)
_URL_TRAIL = set(".,;:!?)]}>»」』】》〉’”'\"…·•。、")
_MD_LINK = re.compile(
    r'(!?)\[([^\]\n]{0,300})\]\(((?:[^\s()]|\([^\s()]{0,200}\)){1,2000})(?: "[^"\n]{0,300}")?\)'
)
_MD_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.M)
_MD_PREFIX = re.compile(r"^(?:#{1,6}\s+|>\s?|[-*+]\s+)")
_MD_BLOCK = re.compile(r"^(?:#{1,6}\s|>|[-*+]\s|\d+[.)]\s|\||```)")
_REF_PREFIX = re.compile(
    r"(?i)^(?:[-*•·]\s*)?(참고\s*기사|참고\s*자료|참고\s*링크|참고|출처|원문\s*기사|원문"
    r"|관련\s*기사|source|via)\s*[:：]\s*"
)
_CHROME = re.compile(
    r"다음 내용이 궁금하다면\s*\??|이미 회원이신가요\s*\??|공유하기|팔로우|팔로잉|\+\s*팔로우"
    r"|(?:조회|조회수|좋아요|댓글|공유|리포스트|스크랩|북마크)\s*[\d.,]+\s*[천만kKmM]?"
)
_CHROME_ANCHORS = ("다음 내용이 궁금하다면", "이미 회원이신가요")
_ODD = ("Cc", "Cs", "Co", "Cn")
_LABEL_STRIP = " \t()[]<>-–—:|,;/·•"


@dataclass(frozen=True)
class Reference:
    """A page the seed post cites."""

    url: str
    label: str | None  # "슬로우뉴스 - 기사 제목"; None for a bare URL


@dataclass
class SeedPost:
    """A parsed seed post: the post itself, kept apart from platform chrome and teasers."""

    title: str
    source_label: str | None
    body: list[str]
    posted_at: str | None
    references: list[Reference]
    teasers: list[str]
    format: str
    sha256: str
    name: str
    author: str | None = None  # a post page's author (a seed file names none)

    @property
    def text(self) -> str:
        """Title and body, one paragraph a line: the text that gets indexed and compared."""
        return "\n".join([self.title, *self.body])


# title, source label, body, posted_at, references, teasers
_Parts = tuple[str | None, str | None, list[str], str | None, list[Reference], list[str]]


def _add_ref(refs: dict[str, Reference], ref: Reference) -> None:
    """Deduplicate by URL in order of appearance; a later label fills in a bare URL's."""
    old = refs.get(ref.url)
    if old is None or (old.label is None and ref.label):
        refs[ref.url] = ref


def _one_line(value: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value)


def _collapse(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def _clean_url(raw: str, trim: bool = True) -> str | None:
    """Strip trailing punctuation (keeping balanced parentheses); None unless absolute http(s)."""
    url = raw.strip()
    end, opened, closed = len(url), url.count("("), url.count(")")
    while trim and end and url[end - 1] in _URL_TRAIL:
        if url[end - 1] == ")":
            if opened >= closed:
                break
            closed -= 1
        end -= 1
    url = url[:end]
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not re.search(r"\w", parts.hostname or ""):
        return None
    return url


def _date_line(line: str) -> str | None:
    """posted_at of a line that is only a date (Korean or ISO), else None."""
    # The shape of the line decides; archiver.dates does the converting, as for pages.
    if _KO_DATE.fullmatch(line):
        return parse_date(line, KST)
    iso = _ISO_LINE.fullmatch(line)
    return parse_date(iso.group(1), KST) if iso else None


def _strip_more(line: str) -> tuple[str, bool]:
    """Drop a trailing "... 더 보기•" marker: (the text before it, whether there was one)."""
    core = line.rstrip().removesuffix("•").rstrip()
    if not core.endswith("보기") or not core[:-2].rstrip().endswith("더"):
        return line.strip(), False
    return core[:-2].rstrip()[:-1].rstrip().rstrip(".…").rstrip(), True


def _is_chrome(line: str) -> bool:
    parts = [p.strip() for p in re.split(r"[•·|]", line) if p.strip()]
    return bool(parts) and all(_CHROME.fullmatch(p) for p in parts)


def _line_refs(line: str) -> tuple[str, list[Reference], bool]:
    """(display text, references, whether the line holds nothing but references)."""
    refs: list[Reference] = []
    if prefix := _REF_PREFIX.match(line):  # "LABEL (URL)" / "LABEL URL", several allowed
        start = prefix.end()
        for match in _URL.finditer(line, start):
            if url := _clean_url(match.group()):
                label = line[start : match.start()].strip(_LABEL_STRIP)
                refs.append(Reference(url, label or None))
                start = match.start() + len(url)
        if refs:
            return "", refs, True
    for match in _MD_LINK.finditer(line):
        url = _clean_url(match.group(3), trim=False)
        if url and not match.group(1):
            refs.append(Reference(url, _collapse(match.group(2)) or None))
    display = _MD_LINK.sub(lambda m: m.group(2), line)
    for match in _URL.finditer(display):
        if url := _clean_url(match.group()):
            refs.append(Reference(url, None))
    residue = _URL.sub("", _MD_LINK.sub("", line))
    return display, refs, bool(refs) and not re.sub(r"[\W_]+", "", residue)


def _careerly_date_index(lines: list[str]) -> int | None:
    """Index of the post's own date line: the first one after the platform chrome, if any."""
    first = next((i for i, line in enumerate(lines) if line), 0)  # never the title line
    dates = [
        i for i, ln in enumerate(lines) if i > first and _KO_DATE.fullmatch(ln) and _date_line(ln)
    ]
    anchor = next((i for i, ln in enumerate(lines) if ln.startswith(_CHROME_ANCHORS)), -1)
    return next((i for i in dates if i > anchor), dates[0] if dates else None)


def _detect_format(text: str, lines: list[str]) -> str:
    if re.search(r"(?i)\A\s*<(?:!doctype|html)|<body[\s>]", text) or (
        re.search(r"(?i)<p[\s>]", text) and re.search(r"(?i)</p\s*>", text)
    ):
        return "html"
    if _MD_HEADING.search(text) or _MD_LINK.search(text):
        return "markdown"
    if any(_KO_DATE.fullmatch(line) and _date_line(line) for line in lines):
        return "careerly"
    return "text"


def _teasers(lines: list[str]) -> list[str]:
    """Other posts' teasers after the date line: chrome dropped, split at "더 보기"/chrome."""
    teasers: list[str] = []
    current: list[str] = []
    for raw in lines:
        if not raw:
            continue
        text, more = _strip_more(raw)
        chrome = not text or _is_chrome(text) or bool(_KO_DATE.fullmatch(text))
        if not chrome:
            current.append(text)
        if (more or chrome) and current:
            teasers.append("\n".join(current))
            current = []
    if current:
        teasers.append("\n".join(current))
    return teasers


def _looks_like_source(candidate: str, fmt: str, refs: list[Reference]) -> bool:
    """A short second line naming the outlet (Careerly puts one under the title)."""
    if len(candidate) > 30 or len(candidate.split()) > 4 or candidate[-1] in ".?!…:":
        return False
    if any(ref.label and ref.label.startswith(candidate) for ref in refs):
        return True
    return fmt == "careerly" and bool(refs)


def _parse_lines(text: str, fmt: str) -> _Parts:
    lines = [line.strip() for line in text.splitlines()]
    title: str | None = None
    posted: str | None = None
    teaser_lines: list[str] = []
    if fmt == "careerly":
        index = _careerly_date_index(lines)
        if index is not None:
            posted = _date_line(lines[index])
            lines, teaser_lines = lines[:index], lines[index + 1 :]
    refs: dict[str, Reference] = {}
    body: list[str] = []
    explicit_source: str | None = None
    joinable = gap = False
    for raw in lines:
        if not raw:
            gap = True
            continue
        line, _ = _strip_more(raw)
        if not line or _is_chrome(line):
            continue
        if posted is None and (when := _date_line(line)):
            posted = when
            continue
        if fmt == "markdown":
            line = _MD_PREFIX.sub("", line, count=1).strip() or line
        display, line_refs, ref_only = _line_refs(line)
        for ref in line_refs:
            _add_ref(refs, ref)
        prefix = _REF_PREFIX.match(line)
        if prefix and prefix.group(1) == "출처" and not line_refs and len(line) < 40:
            explicit_source = explicit_source or line[prefix.end() :].strip() or None
            continue
        if ref_only or not display.strip():
            continue
        if title is None:
            title, gap, joinable = display.strip(), False, False
            continue
        if fmt == "markdown" and joinable and not gap and not _MD_BLOCK.match(raw):
            body[-1] = f"{body[-1]} {display.strip()}"
        else:
            body.append(display.strip())
        joinable = fmt == "markdown" and not raw.startswith("#")
        gap = False
    ref_list = list(refs.values())
    source = explicit_source
    if source is None and body and _looks_like_source(body[0], fmt, ref_list) and len(body) > 1:
        source = body.pop(0)
    return title, source, body, posted, ref_list, _teasers(teaser_lines)


def block_lines(root: LexborNode) -> list[str]:
    """The text of the outermost blocks under ``root`` (paragraphs, items, headings), or
    its lines when it has no block."""
    blocks = ("p", "li", "h2", "h3", "h4", "blockquote", "pre", "figcaption")
    nested = {
        node.mem_id for node in root.css(", ".join(f"{a} {b}" for a in blocks for b in blocks))
    }
    lines = [
        _collapse(node.text(separator=""))
        for node in root.css(", ".join(blocks))
        if node.mem_id not in nested  # the outermost blocks hold the text of the inner ones
    ]
    if not lines:
        lines = [_collapse(line) for line in root.text(separator="\n").splitlines()]
    return lines


def _parse_html(text: str) -> _Parts:
    from selectolax.lexbor import LexborHTMLParser  # selectolax >= 1.0 dropped the modest parser

    tree = LexborHTMLParser(text)

    def meta(*names: str) -> str | None:
        for name in names:
            node = tree.css_first(f'meta[property="{name}"], meta[name="{name}"]')
            content = node.attributes.get("content") if node is not None else None
            if content and content.strip():
                return _collapse(content)
        return None

    def node_text(selector: str) -> str | None:
        node = tree.css_first(selector)
        return (_collapse(node.text(separator=" ")) or None) if node is not None else None

    title = meta("og:title", "twitter:title") or node_text("title") or node_text("h1")
    source = meta("og:site_name")
    time_node = tree.css_first("time[datetime]")
    posted = parse_date(meta("article:published_time"), KST) or parse_date(
        time_node.attributes.get("datetime") if time_node is not None else None, KST
    )
    for node in reversed(
        tree.css("script, style, noscript, template, nav, aside, form, footer, iframe, svg, button")
    ):
        node.decompose()
    for node in tree.css("br"):
        node.replace_with("\n")
    root = tree.css_first("article") or tree.css_first("main") or tree.body or tree.root
    if root is None:
        return title, source, [], posted, [], []
    lines = block_lines(root)
    refs: dict[str, Reference] = {}
    for anchor in root.css("a[href]"):
        url = _clean_url(anchor.attributes.get("href") or "", trim=False)
        if url:
            label = _collapse(anchor.text(separator=" "))
            _add_ref(refs, Reference(url, label if label and label != url else None))
    body: list[str] = []
    for raw in lines:
        line, _ = _strip_more(raw)
        if not line or _is_chrome(line) or (not body and line == title):
            continue
        body.append(line)
        for match in _URL.finditer(line):
            if url := _clean_url(match.group()):
                _add_ref(refs, Reference(url, None))
    return title, source, body, posted, list(refs.values()), []


def assemble_post(
    *,
    title: str | None,
    source_label: str | None,
    lines: list[str],
    posted_at: str | None,
    links: list[Reference],
    teasers: list[str],
    fmt: str,
    name: str,
) -> SeedPost | None:
    """A post from parts a page parser found (:mod:`archiver.extractor.seedpage`): chrome
    lines and "더 보기" markers dropped, reference lines ("참고기사: LABEL (URL)") and bare
    URLs in the text read as references after the body's links. None without any text.

    ``sha256`` is that of the post's text and references: the same post, re-fetched with
    other platform chrome around it, hashes the same.
    """
    refs: dict[str, Reference] = {}
    for ref in links:
        _add_ref(refs, ref)
    body: list[str] = []
    for raw in lines:
        line, _ = _strip_more(_collapse(raw))
        if not line or _is_chrome(line) or (not body and line == title):
            continue
        display, line_refs, ref_only = _line_refs(line)
        for ref in line_refs:
            _add_ref(refs, ref)
        if not ref_only and display.strip():
            body.append(display.strip())
    if not title and body:
        title, body = body[0], body[1:]
    if not title:
        return None
    ref_list = list(refs.values())
    hashed = "\n".join([title, *body, *(r.url for r in ref_list)])
    digest = hashlib.sha256(hashed.encode("utf-8")).hexdigest()
    return SeedPost(title, source_label, body, posted_at, ref_list, teasers, fmt, digest, name)


def _decode(data: bytes, label: str) -> str:
    binary = SeedError(f"seed {label}: binary content, not a text, Markdown or HTML post")
    if looks_binary(data):
        raise binary
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        controls = sum(1 for byte in data if byte < 0x20 and byte not in b"\t\n\r\f\x1b")
        if controls > 0.05 * len(data):
            raise binary
        raise SeedError(f"seed {label}: cannot decode the post as UTF-8 or CP949 text")
    sample = text[:100_000]
    odd = sum(unicodedata.category(ch) in _ODD and ch not in "\t\n\r\f\v" for ch in sample)
    if odd > 0.1 * len(sample):
        raise binary
    return text


def _parse(data: bytes, name: str, label: str) -> SeedPost:
    text = _decode(data, label)
    text = unicodedata.normalize("NFC", text.replace("\ufeff", "").replace("\u200b", ""))
    if not text.strip():
        raise SeedError(f"seed {label}: empty")
    lines = [line.strip() for line in text.splitlines()]
    fmt = _detect_format(text, lines)
    parsed = _parse_html(text) if fmt == "html" else _parse_lines(text, fmt)
    title, source, body, posted, refs, teasers = parsed
    if not title and body:
        title, body = body[0], body[1:]
    if not title:
        raise SeedError(f"seed {label}: no post text (only markup, links or platform chrome)")
    digest = hashlib.sha256(data).hexdigest()
    return SeedPost(title, source, body, posted, refs, teasers, fmt, digest, name)


def parse_seed_bytes(data: bytes, name: str = "seed") -> SeedPost:
    """Parse a seed post from raw bytes; raises SeedError for empty, binary or undecodable input."""
    return _parse(data, name, _one_line(name))


def parse_seed_file(path: str | os.PathLike[str]) -> SeedPost:
    """Parse a seed post file; its name is the file stem. Raises SeedError if it cannot be read."""
    file = Path(path)
    label = _one_line(os.fspath(file))
    try:
        if (size := file.stat().st_size) > MAX_SEED_BYTES:
            raise SeedError(f"seed {label}: too large for a post ({size} bytes)")
        data = file.read_bytes()
    except OSError as exc:
        raise SeedError(f"seed {label}: cannot read: {exc.strerror or exc}") from exc
    return _parse(data, file.stem, label)
