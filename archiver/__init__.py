"""archiver: archive a news story and its sources from a seed post.

The public library API, loaded lazily (PEP 562) so that ``import archiver`` and a cold
CLI stay fast: nothing below is imported until it is first used.

    import archiver

    config = archiver.load_config("config/archiver.toml")
    with archiver.Store.from_config(config) as store:
        summary = archiver.crawl(config, store)          # CrawlSummary
        hits = archiver.search(store, "올트먼")           # list[Hit]
        change = archiver.diff(store, "https://slownews.kr/99663")
    doc = archiver.extract(html_bytes, "https://slownews.kr/99663")  # never raises

Every error raised on purpose is an :class:`ArchiverError`.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from archiver._version import __version__

# A library stays silent unless the application configures logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS = {
    "crawl": "archiver.crawler.pipeline",
    "register_seed": "archiver.crawler.pipeline",
    "add_seed_url": "archiver.crawler.seedpages",
    "search": "archiver.api",
    "history": "archiver.api",
    "show": "archiver.api",
    "diff": "archiver.api",
    "diff_against_seed": "archiver.api",
    "report": "archiver.api",
    "reindex": "archiver.api",
    "verify": "archiver.api",
    "extract": "archiver.extractor.page",
    "load_config": "archiver.config",
    "Config": "archiver.config",
    "Store": "archiver.storage.store",
    "ArchiverError": "archiver.errors",
}

__all__ = [
    "ArchiverError",
    "Config",
    "Store",
    "__version__",
    "add_seed_url",
    "crawl",
    "diff",
    "diff_against_seed",
    "extract",
    "history",
    "load_config",
    "register_seed",
    "reindex",
    "report",
    "search",
    "show",
    "verify",
]

if TYPE_CHECKING:
    from archiver.api import diff, diff_against_seed, history, reindex, report, search, show, verify
    from archiver.config import Config, load_config
    from archiver.crawler.pipeline import crawl, register_seed
    from archiver.crawler.seedpages import add_seed_url
    from archiver.errors import ArchiverError
    from archiver.extractor.page import extract
    from archiver.storage.store import Store


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archiver' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
