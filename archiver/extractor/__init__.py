"""From bytes to a document: the entry point (``page.extract``), the main-text walker
(``walk``), site rules (``rules``), metadata (``meta``, ``jsonld``) and the seed-post
parser (``seed``). Extraction never raises on bad markup; it returns what it can.
"""
