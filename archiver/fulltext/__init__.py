"""The Korean-aware full-text index: analysis (``analysis``), the query language
(``query``), scoring over Whoosh's postings (``engine``, the only module that reads
whoosh-reloaded internals), matching and snippets, the ``Index`` itself, its parallel
writer (``mpwriter``), the streaming feed of a crawl (``feed``) and the rebuild from the
catalog (``rebuild``). The index is derived data: ``reindex`` rebuilds it at any time.
"""
