"""Undo a body's Content-Encoding (gzip, deflate) without ever producing more than a
limit of bytes: the decompression-bomb guard of every fetched or imported body."""

from __future__ import annotations

import zlib

from archiver.errors import FetchError

GZIP_MAGIC = b"\x1f\x8b"


def decode_content(raw: bytes, encoding: str | None, limit: int) -> tuple[bytes, bool]:
    """Undo Content-Encoding within ``limit`` bytes; return (body, truncated)."""
    enc = (encoding or "identity").strip().lower()
    if enc in ("identity", ""):
        return raw[:limit], len(raw) > limit
    if enc not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"unsupported Content-Encoding {enc!r}")
    wbits = 47 if enc != "deflate" else zlib.MAX_WBITS  # 47: gzip or zlib header
    try:
        decoder = zlib.decompressobj(wbits)
        # max_length bounds the output: the decompression-bomb guard.
        body = decoder.decompress(raw, limit)
        truncated = bool(decoder.unconsumed_tail)
    except zlib.error:
        if enc != "deflate":
            raise FetchError("corrupt gzip body") from None
        try:  # raw deflate without zlib header, as some servers send
            decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            body = decoder.decompress(raw, limit)
            truncated = bool(decoder.unconsumed_tail)
        except zlib.error as exc:
            raise FetchError("corrupt deflate body") from exc
    return body, truncated


def gunzip_if_gzipped(data: bytes, limit: int) -> bytes:
    """``data`` itself, or its gzip content (at most ``limit`` bytes; b"" if corrupt)."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return decode_content(data, "gzip", limit)[0]
    except FetchError:
        return b""
