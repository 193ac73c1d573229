"""Articles that live in script payloads: JSON-LD, ``__NEXT_DATA__``, Next.js flight data
(``self.__next_f.push``), ``window.__NUXT__`` and other JSON state blobs.

Used only when the DOM holds no article. The method is the same for every framework: the
string literals of the page's scripts are read in order (JSON and JavaScript quote them
alike), strings holding markup are read as paragraphs, and the longest run of
sentence-like strings whose words match the page's title or description is the article.
Short strings between paragraphs (``"$"``, ``"p"``, ``"children"``) neither break a run
nor join it; a long string that is not prose (a URL, a class list, code) ends it.

Bounded whatever the payload: at most :data:`MAX_PAYLOAD` characters of script are read,
with linear regular expressions; a malformed literal is skipped, never raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .bounds import plain_text

__all__ = ["MAX_PAYLOAD", "PayloadArticle", "payload_article"]

MAX_PAYLOAD = 12_000_000  # characters of script text read per page
MIN_ARTICLE = 80  # characters (Korean prose is dense: two sentences hold about 100)
_MIN_TEXT = 25  # a shorter string is a token, not a paragraph
_MAX_STRINGS = 200_000  # long strings decoded per page
# A quoted literal, double or single (JavaScript); possessive, so never backtracking.
_LITERAL = re.compile(r'"(?:[^"\\\n]++|\\.)*+"|\'(?:[^\'\\\n]++|\\.)*+\'', re.DOTALL)
_FLIGHT = re.compile(r"self\.__next_f\.push\(\[\s*1\s*,\s*")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_WORD = re.compile(r"[\w\uac00-\ud7a3]{2,}")
_NOT_PROSE = re.compile(
    r"^(?:https?:|/|\$|[\w.-]+\.(?:js|css|png|jpe?g|gif|svg|webp)\b)|[{}]|=>|;\s*\w"
)
_SENTENCE_END = re.compile(r"[.!?…。다요죠음함됨임\"'”’)]\s*$")
# The publication time as state blobs name it; read only from the payload that held the
# article (a page's payloads also date its related stories).
_PUBLISHED = re.compile(
    r'"(?:datePublished|publishedAt|publishDate|published_at|firstPublishedAt|pubDate|'
    r'createdAt|created_at|regDate|regDt|insertDate)"\s*:\s*"(\d{4}[-./]\d{2}[-./]\d{2}[^"]{0,24})"'
)
_JS_ESCAPES = {"\\'": "'", "\\x": "\\u00"}


@dataclass(frozen=True)
class PayloadArticle:
    paragraphs: list[str]
    source: str  # "json-ld", "next-flight", "script" (which payload held it)
    after: str  # the string that ended the run (often the byline), or ""
    published_at: str | None = None  # as the payload states it (no offset: the caller's)


def payload_article(
    scripts: Iterable[str], title: str | None, description: str | None
) -> PayloadArticle | None:
    """The article held in ``scripts`` (their texts, in page order), or None.

    A run qualifies only when it matches the title or the description (half of their
    words appear in it) and holds :data:`MIN_ARTICLE` characters or more.
    """
    keys = _key_words(title) | _key_words(description)
    if not keys:
        return None
    best: PayloadArticle | None = None
    size = MIN_ARTICLE - 1
    for source, payload, strings in _payloads(scripts):
        for run, after in _runs(strings):
            length = sum(map(len, run))
            if length > size and _matches(run, keys):
                size = length
                best = PayloadArticle(run, source, after, _published(payload))
    return best


def _published(payload: str) -> str | None:
    found = _PUBLISHED.search(payload)
    return found.group(1) if found else None


def _key_words(text: str | None) -> set[str]:
    # the first two syllables of a Korean word ignore its particle (올트먼이, 올트먼은)
    return {word[:2] if _HANGUL.match(word) else word.lower() for word in _WORD.findall(text or "")}


def _matches(run: list[str], keys: set[str]) -> bool:
    head = " ".join(run)[:3000]
    words = {w[:2] if _HANGUL.match(w) else w.lower() for w in _WORD.findall(head)}
    return len(keys & words) * 2 >= len(keys)


def _payloads(scripts: Iterable[str]) -> Iterator[tuple[str, str, list[str]]]:
    """(source, payload, its strings in order): the flight chunks joined into one stream
    first, since Next.js splits its payload across many pushes."""
    budget = MAX_PAYLOAD
    flight: list[str] = []
    others: list[str] = []
    for script in scripts:
        if budget <= 0:
            break
        script = script[:budget]
        budget -= len(script)
        if _FLIGHT.search(script, 0, 200):
            flight.extend(_decoded(_pushed_chunks(script)))
        else:
            others.append(script)
    if flight:
        stream = "".join(flight)
        yield "next-flight", stream, _strings(stream)
    for script in others:
        source = "json-ld" if '"@context"' in script[:2000] else "script"
        yield source, script, _strings(script)


def _pushed_chunks(script: str) -> Iterator[str]:
    for found in _FLIGHT.finditer(script):
        literal = _LITERAL.match(script, found.end())
        if literal:
            yield literal.group()


def _decoded(literals: Iterable[str]) -> Iterator[str]:
    for literal in literals:
        text = _decode(literal)
        if text is not None:
            yield text


def _decode(literal: str) -> str | None:
    """A JSON or JavaScript string literal's value; None when it is malformed."""
    if literal[0] == "'":
        literal = '"' + literal[1:-1].replace('"', '\\"') + '"'
        for escape, replacement in _JS_ESCAPES.items():
            literal = literal.replace(escape, replacement)
    try:
        value = json.loads(literal)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _strings(payload: str) -> list[str]:
    """The payload's string values in order: long ones decoded and split into
    paragraphs (markup read as text), short ones kept as "" placeholders."""
    out: list[str] = []
    decoded = 0
    for found in _LITERAL.finditer(payload):
        raw = found.group()
        if len(raw) < _MIN_TEXT + 2:
            out.append("")
            continue
        decoded += 1
        if decoded > _MAX_STRINGS:
            break
        text = _decode(raw)
        if text is None:
            out.append("\0")  # not prose: ends a run
            continue
        out.extend(_paragraphs(text))
    return out


def _paragraphs(text: str) -> list[str]:
    if "<" in text and ">" in text:
        return plain_text(text)[1] or ["\0"]
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return [line for line in lines if line] or [""]


_PROSE, _NEUTRAL, _BREAK = 0, 1, 2
_CODE_LIKE = re.compile(r"^[\x21-\x7e ]*$")  # ASCII with no sentence: class lists, ids, keys


def _kind(text: str) -> int:
    if text == "\0":
        return _BREAK
    if len(text) < _MIN_TEXT:
        return _NEUTRAL
    if not _NOT_PROSE.search(text):
        letters = sum(ch.isalpha() for ch in text)
        sentence = len(text) >= 80 or _SENTENCE_END.search(text) is not None
        if letters >= 0.5 * len(text) and " " in text and sentence:
            return _PROSE
    if _CODE_LIKE.match(text) and not _SENTENCE_END.search(text):
        return _NEUTRAL
    return _BREAK


def _runs(strings: list[str]) -> Iterator[tuple[list[str], str]]:
    """Runs of prose strings, each with the string that ended it ("" at the end).

    Short tokens and code-like strings (class lists) are skipped; anything else that is
    not prose (a byline, a related story's headline, a malformed literal) ends a run. A
    string repeated within a run counts once."""
    run: list[str] = []
    seen: set[str] = set()
    for text in strings:
        kind = _kind(text) if text else _NEUTRAL
        if kind == _NEUTRAL:
            continue
        if kind == _PROSE:
            if text not in seen:
                seen.add(text)
                run.append(text)
            continue
        if run:
            yield run, text.strip("\0")[:200]
        run, seen = [], set()
    if run:
        yield run, ""
