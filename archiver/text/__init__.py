"""Text units, Korean-aware, shared by every stage: stems (``korean``), dates and times
(``dates``), charsets (``charset``), paragraphs/sentences/words (``sentences``), bigram
similarity (``similarity``) and the ignore rules and aliases of comparisons (``ignore``).

The lowest layer: it imports nothing else from archiver but ``errors``.
"""
