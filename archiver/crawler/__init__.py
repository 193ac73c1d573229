"""One crawl run and what drives it: the frontier, follow-up discovery and relevance,
recording a fetch into WARC + catalog + index (``recorder``, ``outcome``), the run itself
(``pipeline``), WARC import (``importer``), the scheduler (``schedule``) and retention
(``retention``, the `gc` command).
"""
