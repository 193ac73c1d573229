"""The network edge: URL canonical forms (``urls``), the exchange records (``exchange``),
the HTTP fetcher (``fetch``, the only module that imports httpx) and robots.txt
(``robots``). Importing this package imports no HTTP client; only ``fetch`` does.
"""
