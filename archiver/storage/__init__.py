"""The archive on disk: the store root (``store``), the SQLite catalog (``catalog``,
``rows``, ``sqlite``, ``schema.sql``), the WARC files (``warc``) and their check
(``verify``). The catalog and the WARC files are the source of truth; the store never
opens the search index (the crawl wires them).
"""
