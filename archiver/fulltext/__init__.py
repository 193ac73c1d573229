"""The Korean-aware full-text index: analysis (``analysis``), the query language
(``query``), scoring over Whoosh's postings (``engine``), matching and snippets, the
``Index`` itself, the streaming feed of a crawl (``feed``) and the rebuild from the
catalog (``rebuild``). Everything that reads whoosh-reloaded internals (posting blocks,
length columns, the parallel writer) is in ``whoosh_internals``. The index is derived
data: ``reindex`` rebuilds it at any time.
"""
