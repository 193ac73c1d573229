"""The search query language: words, "phrases", AND/OR/NOT, ( ), field prefixes.

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          words side by side are ANDed
    unary    := ("NOT" | "-") unary | primary
    primary  := "(" or_expr ")" | [field ":"] (WORD | "PHRASE")
    field    := title | author | site

Operators are upper case (``and`` is a word). A word matches with its particles
(올트먼 finds 올트먼이); a phrase matches its words in that order. ``site:HOST`` filters
by host (``www.`` and sub-domains included); alone, it lists that site's pages (the
index orders them newest first, as there are no words to rank by). Anything that cannot
be parsed raises :class:`QueryError` with a one-line explanation.

The parser is bounded, whatever it is given: at most :data:`MAX_DEPTH` levels of
parentheses and NOT (or ``-``) inside each other, and at most :data:`MAX_TERMS` words
(phrases count their words) and operators; beyond either, a QueryError names the limit.
So neither parsing nor evaluating a query can run out of stack or time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archiver.errors import QueryError
from archiver.text.korean import PARTICLE_STARTS

from .analysis import Span, is_hangul_word, normalize, stem_tokens, tokens

FIELDS = ("title", "author", "site")
MAX_DEPTH = 20  # levels of ( ) and NOT / - inside each other
MAX_TERMS = 100  # words (a phrase counts its words) and operators
_LEX = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<quote>"[^"]*"?)|(?P<word>[^\s()"]+))')
_FIELD = re.compile(r"^(title|author|site):(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Leaf:
    """A word or phrase, in the title and text (``field`` None), or in one field."""

    text: str
    phrase: bool
    field: str | None
    bigrams: tuple[str, ...]
    stems: tuple[str, ...]
    match: tuple[tuple[str, ...], ...]  # accepted bigram-field tokens, position by position


@dataclass(frozen=True)
class Site:
    host: str


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Leaf | Site | And | Or | Not


def _texts(spans: list[Span]) -> tuple[str, ...]:
    return tuple(s.text for s in spans)


def make_leaf(text: str, phrase: bool, field: str | None) -> Leaf | None:
    """A leaf for ``text``, or None when it holds nothing searchable ("?!")."""
    bigrams = _texts(tokens(text))
    if not bigrams:
        return None
    match: list[tuple[str, ...]] = [(t,) for t in bigrams]
    last = bigrams[-1]
    if len(last) == 1 and is_hangul_word(last):
        # A one-syllable word has no bigram of its own: 칩 must find 칩을 and 칩이 (the
        # bigram of the syllable and a particle), not 칩셋.
        match[-1] = (last, *(last + p for p in sorted(PARTICLE_STARTS)))
    return Leaf(text, phrase, field, bigrams, _texts(stem_tokens(text)), tuple(match))


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.items: list[tuple[str, str]] = []
        pos = 0
        terms = 0
        text = query.rstrip()
        while pos < len(text):
            match = _LEX.match(text, pos)
            if match is None:  # pragma: no cover - the pattern accepts any non-space
                raise QueryError(f"cannot read the query at {text[pos : pos + 10]!r}")
            kind = match.lastgroup or ""
            value = match.group(kind)
            if kind == "quote" and (len(value) < 2 or not value.endswith('"')):
                raise QueryError('a quotation mark is not closed: phrases look like "샘 올트먼"')
            terms += len(value.split()) if kind == "quote" else int(kind == "word")
            if terms > MAX_TERMS:
                raise QueryError(f"the query is too long: at most {MAX_TERMS} words and operators")
            self.items.append((kind, value))
            pos = match.end()
        self.i = 0
        self.depth = 0

    def deeper(self) -> None:
        """Enter a ( ) or a NOT; the caller leaves with ``self.depth -= 1``."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"the query nests too deep: at most {MAX_DEPTH} levels of ( ) and NOT")

    def peek(self) -> tuple[str, str] | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def take(self) -> tuple[str, str]:
        item = self.items[self.i]
        self.i += 1
        return item

    def is_op(self, name: str) -> bool:
        item = self.peek()
        return item is not None and item == ("word", name)

    def parse(self) -> Node | None:
        if not self.items:
            raise QueryError("empty search query")
        node = self.or_expr()
        if self.peek() is not None:
            raise QueryError("unexpected ')' in the query: parentheses do not match")
        return node

    def or_expr(self) -> Node | None:
        parts = [self.and_expr()]
        while self.is_op("OR"):
            self.take()
            parts.append(self.and_expr())
        kept = [p for p in parts if p is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def and_expr(self) -> Node | None:
        parts: list[Node | None] = []
        while True:
            item = self.peek()
            if item is None or item[0] == "rp" or self.is_op("OR"):
                break
            if self.is_op("AND"):
                self.take()
                if not parts:
                    raise QueryError("AND needs a word on each side")
                nxt = self.peek()
                if nxt is None or nxt[0] == "rp" or self.is_op("OR") or self.is_op("AND"):
                    raise QueryError("AND needs a word on each side")
                continue
            parts.append(self.unary())
        if not parts:
            item = self.peek()
            previous = self.items[self.i - 1] if self.i else None
            if item is not None and item[0] == "rp" and previous == ("lp", "("):
                raise QueryError("nothing between '(' and ')'")
            raise QueryError("OR needs a word on each side")
        kept = [p for p in parts if p is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else And(tuple(kept))

    def unary(self) -> Node | None:
        item = self.peek()
        assert item is not None
        if self.is_op("NOT") or (
            item[0] == "word" and item[1].startswith("-") and len(item[1]) > 1
        ):
            self.deeper()
            if self.is_op("NOT"):
                self.take()
                nxt = self.peek()
                if nxt is None or nxt[0] == "rp" or self.is_op("OR") or self.is_op("AND"):
                    raise QueryError("NOT needs a word after it")
                child = self.unary()
            else:
                kind, value = self.take()
                self.items.insert(self.i, (kind, value[1:]))
                child = self.unary()
            self.depth -= 1
            return Not(child) if child is not None else None
        return self.primary()

    def primary(self) -> Node | None:
        kind, value = self.take()
        if kind == "lp":
            if self.peek() is None:
                raise QueryError("'(' is not closed: parentheses do not match")
            self.deeper()
            node = self.or_expr()
            if self.peek() is None or self.peek() != ("rp", ")"):
                raise QueryError("'(' is not closed: parentheses do not match")
            self.take()
            self.depth -= 1
            return node
        if kind == "rp":
            raise QueryError("unexpected ')' in the query: parentheses do not match")
        if kind == "quote":
            return make_leaf(value[1:-1], True, None)
        field_match = _FIELD.match(value)
        if field_match is None:
            return make_leaf(value, False, None)
        field, rest = field_match.group(1).lower(), field_match.group(2)
        if not rest:
            nxt = self.peek()
            if nxt is None or nxt[0] != "quote":
                raise QueryError(f'{field}: needs a word or a "phrase" right after it')
            rest = self.take()[1]
            if field != "site":
                return make_leaf(rest[1:-1], True, field)
        if field == "site":
            host = rest.strip('"').strip().lower().removeprefix("www.")
            if not host:
                raise QueryError("site: needs a host name, as in site:slownews.kr")
            return Site(host)
        return make_leaf(rest, False, field)


def parse(query: str, *, syntax: bool = True) -> Node:
    """The syntax tree of ``query``; QueryError when it cannot be used.

    With ``syntax`` False every whitespace-separated word is a plain word (quotes,
    parentheses, operators and prefixes mean nothing): for natural-language text.
    """
    node: Node | None
    if syntax:
        node = _Parser(normalize(query)).parse()
    else:
        leaves = [
            leaf
            for word in normalize(query).split()
            if (leaf := make_leaf(word, False, None)) is not None
        ]
        node = None if not leaves else leaves[0] if len(leaves) == 1 else And(tuple(leaves))
    if node is None:
        raise QueryError(f"query {query.strip()!r} has no searchable words")
    return node


def positive_leaves(node: Node) -> list[Leaf]:
    """The leaves that count for ranking (not under NOT), in query order."""
    if isinstance(node, Leaf):
        return [node]
    if isinstance(node, And | Or):
        return [leaf for child in node.children for leaf in positive_leaves(child)]
    return []


def has_positive(node: Node) -> bool:
    """Whether ``node`` can match by itself: a word, or a site (whose pages it lists);
    NOT alone only excludes."""
    if isinstance(node, Leaf | Site):
        return True
    if isinstance(node, And):
        return any(has_positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(has_positive(c) for c in node.children)
    return False
