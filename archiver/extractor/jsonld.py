"""JSON-LD (schema.org) on a page: the article node, its authors, keywords, the site name.

Pages embed one or more ``<script type="application/ld+json">`` bodies, often as an
``@graph`` whose nodes point at each other by ``@id``. Nothing here raises on bad JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

__all__ = ["article_node", "author_names", "json_ld_nodes", "keywords", "site_name", "text_value"]

_ARTICLE_TYPES = {
    "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "techarticle",
    "scholarlyarticle", "report", "liveblogposting", "socialmediaposting", "posting",
}  # fmt: skip
_PAGE_TYPES = {"webpage", "itempage", "collectionpage"}


def _tidy(value: str) -> str:
    return " ".join(value.split())


MAX_NODES = 1_000  # objects kept from a page's JSON-LD (a real page has a few dozen)


def json_ld_nodes(scripts: Iterable[str]) -> list[dict[str, Any]]:
    """JSON objects found in JSON-LD script bodies, @graph members flattened (the first
    MAX_NODES of them)."""
    nodes: list[dict[str, Any]] = []
    for raw in scripts:
        if len(nodes) >= MAX_NODES:
            break
        raw = raw.strip().removeprefix("<!--").removesuffix("-->").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        nodes.extend(islice(_walk(data, 0), MAX_NODES - len(nodes)))
    return nodes


def _walk(value: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 8:
        return
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)
    elif isinstance(value, dict):
        yield value
        graph = value.get("@graph")
        if graph is not None:
            yield from _walk(graph, depth + 1)


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {v.lower().rsplit("/", 1)[-1] for v in values if isinstance(v, str)}


def article_node(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first Article-like node, else the first WebPage node, else None."""
    for wanted in (_ARTICLE_TYPES, _PAGE_TYPES):
        for node in nodes:
            if _types(node) & wanted:
                return node
    return None


def site_name(nodes: list[dict[str, Any]]) -> str | None:
    for wanted in ({"website"}, {"organization", "newsmediaorganization"}):
        for node in nodes:
            if _types(node) & wanted and isinstance(node.get("name"), str):
                return _tidy(node["name"]) or None
    return None


def author_names(node: dict[str, Any], nodes: list[dict[str, Any]]) -> list[str]:
    """Raw author names of an article node; ``{"@id": ...}`` references resolved."""
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    raw = node.get("author") or node.get("creator")
    items = raw if isinstance(raw, list) else [raw]
    names: list[str] = []
    for item in items:
        name: Any = item
        if isinstance(item, dict):
            name = item.get("name")
            if not name and isinstance(item.get("@id"), str):
                name = by_id.get(item["@id"], {}).get("name")
        if isinstance(name, list):
            name = " ".join(str(n) for n in name)
        if isinstance(name, str) and _tidy(name):
            names.append(_tidy(name))
    return names


def text_value(node: dict[str, Any] | None, key: str) -> str | None:
    if not node:
        return None
    value = node.get(key)
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return _tidy(value) or None if isinstance(value, str) else None


def keywords(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [_tidy(str(item)) for item in items if _tidy(str(item))]
