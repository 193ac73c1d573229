"""Work bounds for one page's markup: what a hostile page may cost before it is parsed.

:func:`bounded_markup` returns the markup made safe to parse (usually unchanged) or None,
and :func:`plain_text` reads a page too big or too hostile for a tree by regular
expressions only. Both are linear in the page's size; the reasoning is below.
"""

from __future__ import annotations

import bisect
import html as html_lib
import logging
import re
from collections.abc import Iterator
from itertools import islice

from .meta import collapse

__all__ = ["MAX_ATTRIBUTES", "MAX_DEPTH", "MAX_LINKS", "MAX_NODES", "MAX_TAGS", "bounded_markup",
           "plain_text"]  # fmt: skip

log = logging.getLogger(__name__)

#
# What a hostile page may cost, whatever its shape (issue 18). lexbor's tree builder is
# quadratic in nesting depth (a start tag looks down the stack of open elements: 200,000
# nested <div>s took 4 minutes) and in one element's attributes (each is compared with
# those before it: 100,000 took 20 s), and it copies every formatting element (<b>,
# <font>, ...) left open into each later paragraph (3,000 tags made a million nodes and
# 360 MB). The walk costs microseconds a node. So the markup is read before it is parsed:
#
# - more than MAX_TAGS "<": no parse; the page is read as plain text (regexes, linear);
# - more than _CHECK_TAGS, every tag is read (_bound_tags, as the HTML tokenizer and,
#   roughly, the tree builder would): start tags that would land deeper than MAX_DEPTH
#   are dropped with their end tags (never their text), attributes past MAX_ATTRIBUTES
#   cut, formatting elements made <span>s; a page over _CHECK_CHARS gets the attribute
#   part of that reading;
# - otherwise stretches without ">" are looked for every _RUN_STEP characters and long
#   tags in them cut to MAX_ATTRIBUTES, and past _CHECK_FORMATTING_TAGS the formatting
#   elements with attributes are counted (made spans past _MAX_FORMATTING): below these
#   sizes no shape costs more than a fraction of a second;
# - the walk stops past MAX_NODES elements (a tree the parser inflated): plain text.
#
# Each bound that acts logs a warning naming the page. Every bound is a count, never a
# clock, so a page extracts the same whatever the machine's load (a clock would make a
# re-crawl find "changes" that are only timing). Ordinary pages pay the counting: about
# 0.2 ms of 2 ms. Known gap: below _CHECK_CHARS and _CHECK_TAGS, a tag whose attributes
# hide a quoted ">" every 2 KB escapes the cheap look (seconds to minutes for a page of
# several hundred kilobytes); only a parser-side limit or a separate process closes it.

MAX_TAGS = 150_000  # "<" in the page; more: plain text (the benchmark pages: 3,229 at most)
MAX_DEPTH = 256  # open elements (the benchmark pages: 51 at most)
MAX_ATTRIBUTES = 128  # per element (the benchmark pages: 64 at most)
MAX_NODES = 150_000  # elements walked into
MAX_LINKS = 5_000  # outlinks kept per page
_CHECK_TAGS = 10_000  # more "<" (or characters than _CHECK_CHARS): every tag is read
_CHECK_CHARS = 1_000_000  # before parsing (depth, attributes, formatting elements)
_CHECK_FORMATTING_TAGS = 2_000  # more "<": formatting elements are counted
_MAX_FORMATTING = 64  # formatting start tags with attributes, past which they become spans
_LONG_TAG_CHARS = 512  # a tag this long may hold many attributes: they are counted
_SMALL_PAGE = 32_000  # characters; no tag in a smaller page holds attributes enough to matter

_RUN_STEP = 2_048  # characters between looks for a long tag
# What the HTML tokenizer sees at a "<": a start or end tag (its name), a comment, or a
# bogus comment ("<!DOCTYPE", "<?xml", "</3") that runs to the next ">".
_MARKUP = re.compile(r"<(?:(/?)([a-zA-Z][^\s/>]*)|(!--)|[!?]|/(?![>a-zA-Z]))")
_TAG_START = re.compile(r"<[a-zA-Z][^\s/>]*")
# In a <script>: "<!--" escapes, "<script" inside that escapes twice, "-->" ends both.
_SCRIPT_TOKEN = re.compile(r"<!--|-->|<(/?)script(?=[\s/>])", re.IGNORECASE)
# The rest of a tag after its name, up to its ">", read as the HTML tokenizer reads it:
# attributes split by spaces or "/", a name may start with "=", and a quote opens a
# value only after "=" (so a quoted ">" does not end the tag).
_TAG_REST = re.compile(
    r"""(?:[\s/]++|[^\s/>][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>]*+))?+)*+"""
)
# The rest of a comment after "<!--": "<!-->" and "<!--->" are empty, "--!>" ends one too.
_COMMENT_REST = re.compile(r"-?>|.*?--!?>", re.DOTALL)
# MAX_ATTRIBUTES attributes (values quoted or not, "/" or spaces between, as the HTML
# tokenizer reads them), when one more follows: matched in C, never backtracking.
_MANY_ATTRIBUTES = re.compile(
    r"""(?>[\s/]*+[^\s/>][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>]*+))?+)"""
    rf"{{{MAX_ATTRIBUTES}}}(?=[\s/]*+[^\s/>])"
)
_FORMATTING_NAMES = "b|big|code|em|font|i|nobr|s|small|strike|strong|tt|u"
_FORMATTING = frozenset(_FORMATTING_NAMES.split("|"))
_FORMATTING_TAG = re.compile(rf"<(/?)(?:{_FORMATTING_NAMES})(?=[\s/>])", re.IGNORECASE)
# A formatting start tag with an attribute (the lookahead makes ordinary tags cheap).
_FORMATTING_WITH_ATTRIBUTE = re.compile(
    r"<(?=[bBcCeEfFiInNsStTuU])(?:[bB](?:[iI][gG])?|[cC][oO][dD][eE]|[eE][mM]|[fF][oO][nN][tT]"
    r"|[iI]|[nN][oO][bB][rR]|[sS](?:[mM][aA][lL][lL]|[tT][rR](?:[iI][kK][eE]|[oO][nN][gG]))?"
    r"|[tT][tT]|[uU])[\s/]+[^\s/>]"
)
_RAW_TEXT = frozenset(
    ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
)
_RAW_TEXT_START = re.compile(
    r"<(?=[sStTxXiInN])(script|style|textarea|title|xmp|iframe|noembed|noframes)\b",
    re.IGNORECASE,
)
_raw_ends: dict[str, re.Pattern[str]] = {}
_VOID = frozenset((
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image",
    "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
    "html", "head", "body",  # merged into the ones already open
))  # fmt: skip
_UNSURE_CONTEXT = frozenset(("svg", "math", "select", "frameset"))  # see raw_text()
_BREAKOUT_VOID = frozenset(("br", "embed", "hr", "img", "meta"))  # leave <svg>, never open
_HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
# Start tags that close an open <p> (in button scope).
_CLOSES_P = frozenset((
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div",
    "dl", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr",
    "main", "menu", "nav", "ol", "p", "pre", "listing", "section", "summary", "table", "ul",
    "li", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "search",
))  # fmt: skip
_SCOPE = frozenset((
    "applet", "caption", "html", "table", "td", "th", "marquee", "object", "template", "button",
))  # fmt: skip
# Special elements other than address, div and p: a <li> (<dd>, <dt>) closes an open one
# only when none of these is open inside it.
_SPECIAL_BLOCKS = frozenset(("address", "div", "p"))
_LIST_STOP = frozenset((
    "applet", "area", "article", "aside", "base", "basefont", "bgsound", "blockquote", "body",
    "br", "button", "caption", "center", "col", "colgroup", "dd", "details", "dir", "dl",
    "dt", "embed", "fieldset", "figcaption", "figure", "footer", "form", "frame", "frameset",
    "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "iframe",
    "img", "input", "keygen", "li", "link", "listing", "main", "marquee", "menu", "meta",
    "nav", "noembed", "noframes", "noscript", "object", "ol", "param", "plaintext", "pre",
    "script", "search", "section", "select", "source", "style", "summary", "table", "tbody",
    "td", "template", "textarea", "tfoot", "th", "thead", "title", "tr", "track", "ul", "wbr",
    "xmp",
))  # fmt: skip


def bounded_markup(text: str, url: str) -> str | None:
    """``text`` made safe to parse (usually unchanged), or None: read it as plain text.

    Each bound that acts is logged as a warning naming the page."""
    tags = text.count("<")
    if tags > MAX_TAGS:
        log.warning("%s: %d tags (more than %d); extracted as plain text", url, tags, MAX_TAGS)
        return None
    dropped = cut = 0
    if tags > _CHECK_TAGS:
        text, dropped, cut = _bound_tags(text)
    elif len(text) > _CHECK_CHARS:  # tag by tag: a quoted ">" cannot hide attributes
        text, _, cut = _bound_tags(text, structure=False)
    elif len(text) > _SMALL_PAGE:  # a look at its long stretches without ">"
        text, cut = _cut_long_tags(text)
    if dropped:
        log.warning("%s: nested deeper than %d elements; %d start tags dropped (their text "
                    "kept)", url, MAX_DEPTH, dropped)  # fmt: skip
    if cut:
        log.warning("%s: %d elements with more than %d attributes; the rest dropped",
                    url, cut, MAX_ATTRIBUTES)  # fmt: skip
    if _CHECK_FORMATTING_TAGS < tags <= _CHECK_TAGS:  # (above, _bound_tags made them spans)
        found = islice(_FORMATTING_WITH_ATTRIBUTE.finditer(text), _MAX_FORMATTING + 1)
        if sum(1 for _ in found) > _MAX_FORMATTING:
            log.warning("%s: more than %d formatting elements (<b>, <font>, ...) with "
                        "attributes; read as plain <span>s", url, _MAX_FORMATTING)  # fmt: skip
            text = _FORMATTING_TAG.sub(r"<\1span", text)
    return text


def _tag_end(text: str, pos: int) -> int:
    """Where the tag whose name ends at ``pos`` ends (its ">", or the end of ``text``)."""
    found = _TAG_REST.match(text, pos)
    return found.end() if found else pos


def _cut_attributes(text: str, name_end: int) -> int | None:
    """Where the tag whose name ends at ``name_end`` must be cut to keep MAX_ATTRIBUTES
    attributes, or None when it has no more (looking at MAX_ATTRIBUTES + 1 at most)."""
    found = _MANY_ATTRIBUTES.match(text, name_end)
    return found.end() if found else None


def _raw_end(name: str) -> re.Pattern[str]:
    ending = _raw_ends.get(name)
    if ending is None:
        ending = _raw_ends[name] = re.compile(rf"</{name}[\s/>]", re.IGNORECASE)
    return ending


def _script_end(text: str, pos: int) -> int | None:
    """Where the <script> whose text starts at ``pos`` ends (its "</script"), as the HTML
    tokenizer finds it: not inside "<!--<script>...</script>", for one. None: never."""
    first = _raw_end("script").search(text, pos)
    if first is None or text.find("<!--", pos, first.start()) < 0:
        return first.start() if first else None  # no "<!--" before it: nothing escaped
    escaped = double = False
    while (token := _SCRIPT_TOKEN.search(text, pos)) is not None:
        pos = token.end()
        found = token.group()
        if found == "<!--":
            escaped = escaped or not double
            pos = token.start() + 2  # its dashes may end it at once: "<!-->"
        elif found == "-->":
            escaped = double = False
        elif token.group(1):  # </script
            if not double:
                return token.start()
            double = False
        elif escaped and not double:  # <script inside "<!--"
            double = True
    return None


def _raw_end_at(name: str, text: str, pos: int) -> int | None:
    """Where the text of a raw-text element (<script>, <title>, ...) that starts at
    ``pos`` ends: its end tag's "<", or None when it has none."""
    if name == "script":
        return _script_end(text, pos)
    found = _raw_end(name).search(text, pos)
    return found.start() if found else None


def _raw_text(text: str) -> list[tuple[int, int]]:
    """Spans of the script, style, title, ... elements: their text is no markup."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (found := _RAW_TEXT_START.search(text, pos)) is not None:
        close = _raw_end_at(found.group(1).lower(), text, found.end())
        pos = len(text) if close is None else close + 2
        spans.append((found.start(), pos))
    return spans


def _long_runs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of stretches without a ">": every one 2 * _RUN_STEP characters long
    or more (and some shorter), found by looking every _RUN_STEP characters, so the cost
    is a few microseconds a page. A tag with many attributes makes such a stretch."""
    size = len(text)
    pos = 0
    while pos < size:
        close = text.find(">", pos)
        close = size if close < 0 else close
        if close - pos >= _RUN_STEP:
            yield text.rfind(">", 0, pos) + 1, close
            pos = close + 1
        else:
            pos += _RUN_STEP


def _first_tag(text: str, start: int, end: int) -> re.Match[str] | None:
    """The first tag (a "<" and a letter) between ``start`` and ``end``: "<" is looked
    for in C, most stretches (text, script) have few or none."""
    while (start := text.find("<", start, end)) >= 0:
        found = _TAG_START.match(text, start, end)
        if found is not None:
            return found
        start += 1
    return None


def _cut_long_tags(text: str) -> tuple[str, int]:
    """``text`` with its long tags cut to MAX_ATTRIBUTES attributes; how many were cut.

    A tag is looked at when it makes a long stretch without ">" (a shorter one holds too
    few attributes to matter on a page this size). A ">" quoted in an attribute value
    hides the rest of a tag from this cheap look; pages big enough for that to matter
    much are read tag by tag instead (:func:`_bound_tags`)."""
    pieces: list[str] = []
    last = 0
    raw: list[tuple[int, int]] | None = None
    for run_start, run_end in _long_runs(text):
        # the first tag to start in the stretch runs to its end; any later "<" is inside
        tag = _first_tag(text, max(run_start, last), run_end)
        if tag is None:  # (or inside the tag cut before: its quoted values held a ">")
            continue
        start = tag.start()
        cut = _cut_attributes(text, tag.end())
        if cut is None:
            continue
        if raw is None:  # script text is no tag, whatever it looks like
            raw = _raw_text(text)
        inside = bisect.bisect_right(raw, (start, len(text))) - 1
        if inside >= 0 and raw[inside][0] < start < raw[inside][1]:
            continue
        end = _tag_end(text, cut)
        pieces += (text[last:cut], ">" if end < len(text) else "")
        last = end + 1
    if not pieces:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), len(pieces) // 2


class _OpenElements:
    """The parser's stack of open elements, roughly: enough to know how deep a start tag
    lands (implied end tags of p, li, dd/dt, option, table parts and headings included)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.at: dict[str, list[int]] = {}
        self.scope: list[int] = []  # open elements that end a scope (table, td, button, ...)
        self.stops: list[int] = []  # special elements that a <li> does not close
        self.specials: list[int] = []  # special elements: an end tag of another is ignored
        self.tables: list[int] = []

    def push(self, name: str) -> None:
        depth = len(self.names)
        self.names.append(name)
        self.at.setdefault(name, []).append(depth)
        if name in _SCOPE:
            self.scope.append(depth)
        if name in _LIST_STOP:
            self.stops.append(depth)
        if name in _LIST_STOP or name in _SPECIAL_BLOCKS:
            self.specials.append(depth)
        if name == "table":
            self.tables.append(depth)

    def pop_to(self, depth: int) -> None:
        names = self.names
        while len(names) > depth:
            name = names.pop()
            self.at[name].pop()
            top = len(names)
            for marks in (self.scope, self.stops, self.specials, self.tables):
                if marks and marks[-1] == top:
                    marks.pop()

    def close(self, name: str, bounds: list[int]) -> None:
        """Close the innermost open ``name`` unless one of ``bounds`` is open inside it."""
        where = self.at.get(name)
        if where and (not bounds or bounds[-1] <= where[-1]):
            self.pop_to(where[-1])

    def start(self, name: str) -> None:
        """The implied end tags of a start tag (none inside <svg> or <math>)."""
        names = self.names
        if self.foreign() or self.at.get("frameset"):  # (a frameset ignores the rest)
            return
        if name in _CLOSES_P:
            where = self.at.get("p")
            if where and (not self.scope or self.scope[-1] < where[-1]):
                self.pop_to(where[-1])
        if name == "li":
            self.close("li", self.stops)
        elif name in ("dd", "dt"):
            self.close("dd", self.stops)
            self.close("dt", self.stops)
        elif name in ("option", "optgroup"):
            if names and names[-1] == "option":
                self.pop_to(len(names) - 1)
            if name == "optgroup" and names and names[-1] == "optgroup":
                self.pop_to(len(names) - 1)
        elif name in ("tr", "td", "th", "tbody", "thead", "tfoot") and self.tables:
            for part in ("td", "th") if name in ("td", "th") else ("tr", "td", "th"):
                self.close(part, self.tables)
            if name in ("tbody", "thead", "tfoot"):
                for part in ("tbody", "thead", "tfoot"):
                    self.close(part, self.tables)
        elif name in _HEADING_TAGS and names and names[-1] in _HEADING_TAGS:
            self.pop_to(len(names) - 1)
        elif name == "a":  # an <a> ends an open one, unless a block is open inside it
            self.close("a", self.specials)

    def end(self, name: str) -> None:
        """An end tag closes its element if in scope; one of an ordinary (not special)
        element is ignored when a special element is open inside it."""
        where = self.at.get(name)
        special = name in _LIST_STOP or name in _SPECIAL_BLOCKS
        bounds = self.scope if special else self.specials
        if where and (not bounds or bounds[-1] <= where[-1]):
            self.pop_to(where[-1])

    def foreign(self) -> bool:
        return bool(self.at.get("svg") or self.at.get("math"))

    def raw_text(self) -> bool:
        """Whether a <script>, <style>, <title> ... here holds text, not markup (not in
        <svg> or <math>, where they are elements, nor in a <frameset> or a <select>,
        which may ignore them and read on as markup)."""
        return not (self.foreign() or self.at.get("frameset") or self.at.get("select"))


def _bound_tags(text: str, structure: bool = True) -> tuple[str, int, int]:
    """Read every tag of ``text``: attributes past MAX_ATTRIBUTES are cut and, with
    ``structure``, start tags that would land deeper than MAX_DEPTH dropped with their
    end tags and formatting elements made spans. Returns the markup, the start tags
    dropped and the elements cut."""
    pieces: list[str] = []
    last = 0
    stack = _OpenElements()
    dropped: dict[str, int] = {}
    n_dropped = n_cut = 0
    size = len(text)
    search = _MARKUP.search
    pos = 0
    contexts = dict.fromkeys(_UNSURE_CONTEXT, 0)  # open ones (when not ``structure``)
    # A <script>, <title>, ... read as markup (in <svg>, say): if the parser reads its
    # text as text after all, what looks like a comment or another <script> up to where
    # that text would end is no such thing, so nothing is skipped before there.
    unsure_until = 0
    while (match := search(text, pos)) is not None:
        start, name_end = match.span()
        raw_name = match.group(2)
        if raw_name is None:  # a comment (or a bogus one, to the next ">")
            if start < unsure_until:  # perhaps text to the parser: read on
                pos = name_end
                continue
            if match.group(3):
                comment = _COMMENT_REST.match(text, name_end)
                close = comment.end() if comment else -1
            else:
                close = text.find(">", name_end) + 1 or -1
            if close < 0:
                break  # it runs to the end of the page
            pos = close
            continue
        end = _tag_end(text, name_end)
        if end >= size:
            break  # a tag cut off by the end of the page: never an element
        pos = after = end + 1
        closing = bool(match.group(1))
        name = raw_name.lower()
        replacement: str | None = None
        if end - name_end > _LONG_TAG_CHARS and (cut := _cut_attributes(text, name_end)):
            replacement = text[start:cut] + ">"
            n_cut += 1
        if name in _UNSURE_CONTEXT and not structure:
            contexts[name] = max(contexts[name] - 1, 0) if closing else contexts[name] + 1
        skipped = False
        if not closing and (name in _RAW_TEXT or name == "plaintext"):
            found = _raw_end_at(name, text, pos) if name != "plaintext" else None
            known = stack.raw_text() if structure else not any(contexts.values())
            if found is not None and known and start >= unsure_until:
                pos = found  # its text is no markup: on to its end tag
                skipped = True
            else:  # (without an end tag the rest would be its text: reading it is safe)
                unsure_until = max(unsure_until, size if found is None else found)
        if structure and not skipped:
            if name in _FORMATTING:  # never copied into later paragraphs: a plain span
                attributes = (replacement or text[start:after])[name_end - start : -1]
                replacement = ("</span" if closing else "<span") + attributes + ">"
                name = "span"
            if closing:
                # (the end tag of a <script>, <title>, ... stays: the parser may need it
                # to end the text of one that was kept)
                if dropped.get(name) and name not in _RAW_TEXT:
                    dropped[name] -= 1
                    replacement = ""
                else:
                    stack.end(name)
            elif name not in (_BREAKOUT_VOID if stack.foreign() else _VOID):
                # (in <svg> or <math> an <input> opens an element; "/>" closes one there,
                # but the parser may not be in <svg> where this reading thinks it is)
                stack.start(name)
                if len(stack.names) >= MAX_DEPTH:
                    dropped[name] = dropped.get(name, 0) + 1
                    n_dropped += 1
                    replacement = ""
                else:
                    stack.push(name)
        if replacement is not None:
            pieces += (text[last:start], replacement)
            last = after
    if not pieces:
        return text, 0, 0
    pieces.append(text[last:])
    return "".join(pieces), n_dropped, n_cut


# --------------------------------------------------------------------------- plain text

_INVISIBLE = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|textarea|title|xmp|iframe|noembed|noframes|noscript"
    r"|template|svg|math)\b.*?(?:</\1\s*>|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_BREAK = re.compile(
    r"</?(?:p|div|br|li|h[1-6]|tr|table|thead|tbody|tfoot|caption|ul|ol|dl|dt|dd"
    r"|section|article|header|footer|nav|aside|main|blockquote|pre|figure|figcaption|form"
    r"|fieldset|legend|hr|address|details|summary|center|option)\b[^>]*>?",
    re.IGNORECASE,
)
_CELL = re.compile(r"</?t[dh]\b[^>]*>?", re.IGNORECASE)  # a table row stays one line
_TAG = re.compile(r"<[a-zA-Z/!?][^>]*>?")
_TITLE = re.compile(r"<title\b[^>]*>(.*?)(?:</title|\Z)", re.IGNORECASE | re.DOTALL)
_ODD_SPACE = re.compile(r"[^\S\n ]|[\u200b\u200c\u200d\u2060\ufeff]")  # spaces and ZWSPs
_SPACES = re.compile(r"  +")
_MAX_ENTITIES = 200_000  # past this many "&", only the common entities are decoded
_COMMON_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"),
                    ("&nbsp;", " "), ("&amp;", "&"))  # fmt: skip


def _unescape(text: str) -> str:
    if text.count("&") <= _MAX_ENTITIES:
        return html_lib.unescape(text)
    for entity, char in _COMMON_ENTITIES:
        text = text.replace(entity, char)
    return text


def plain_text(markup: str) -> tuple[str, list[str]]:
    """A page too big (or too hostile) to analyse: its title and all its text, one
    paragraph per block element, by regular expressions only (linear, no tree)."""
    found = _TITLE.search(markup)
    title = collapse(_unescape(found.group(1)[:2000])) if found else ""
    text = _INVISIBLE.sub(" ", markup.replace("\x00", ""))
    text = _TAG.sub("", _CELL.sub(" ", _BREAK.sub("\n", text)))
    text = _SPACES.sub(" ", _ODD_SPACE.sub(" ", _unescape(text)))
    return title, [line for line in (part.strip() for part in text.split("\n")) if line]
