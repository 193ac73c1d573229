"""Decode fetched HTML bytes into text, the way a careful browser would.

Order of evidence: the charset parameter of the HTTP ``Content-Type`` header, a byte-order
mark, a ``<meta charset>`` / ``<meta http-equiv="Content-Type">`` declaration in the first
4 KB, strict UTF-8, statistical detection (charset-normalizer), and finally UTF-8 with
replacement characters. A declared charset that does not decode the body strictly is
passed over at first (pages often lie) but still wins over detection when only a few
bytes are bad (a truncated or spliced page). The Korean legacy labels (euc-kr,
ks_c_5601-1987, ...) decode as CP949, the superset every browser actually uses, while the
reported name stays ``euc-kr``.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["decode_html", "looks_binary", "normalise_charset"]

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: same first two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BINARY_TYPES = ("image/", "audio/", "video/", "font/")
_BINARY_TYPE_NAMES = ("application/pdf", "application/zip", "application/octet-stream")
# File signatures of formats that are never a page or a post.
_MAGIC = (b"%PDF-", b"\x89PNG", b"GIF8", b"PK\x03\x04", b"\xff\xd8\xff", b"\x1f\x8b", b"\x7fELF")
# Python codec names (after codecs.lookup) that browsers decode as CP949.
_KOREAN = {"euc_kr", "cp949"}
_KOREAN_LABELS = {
    "ks_c_5601-1987",
    "ks_c_5601_1987",
    "ksc5601",
    "ksc_5601",
    "korean",
    "euc-kr",
    "euckr",
    "euc_kr",
    "csksc56011987",
    "iso-ir-149",
    "ks_c_5601-1989",
}
_LATIN1 = {"latin_1", "iso8859_1", "cp1252", "ascii"}
_DETECT_LIMIT = 1_000_000  # bytes handed to charset-normalizer
_ASCII_BYTES = bytes(range(128))


def looks_binary(data: bytes, content_type: str | None = None) -> bool:
    """Whether bytes are a file rather than text, whatever their label: a binary media
    type, a known file signature, or a NUL byte in the first 1 KB (no text encoding a
    page or post uses has one, but UTF-16 and UTF-32, which start with a byte-order mark)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind.startswith(_BINARY_TYPES) or kind in _BINARY_TYPE_NAMES:
        return True
    head = data[:1024]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
        return False
    return head.startswith(_MAGIC) or b"\x00" in head


def normalise_charset(label: str | None) -> str | None:
    """Return a canonical lower-case name for a charset label, or None if unknown.

    ``EUC-KR``, ``ks_c_5601-1987`` and ``euc_kr`` all become ``euc-kr``; ``cp949`` stays
    ``cp949``; other names follow Python's codec registry with hyphens (``utf-8``,
    ``iso8859-1``, ``shift-jis``).
    """
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in ("windows-949", "x-windows-949", "cp949", "ms949", "uhc"):
        return "cp949"
    if name in _KOREAN_LABELS:
        return "euc-kr"
    if name in ("utf8mb4", "utf8mb3"):
        name = "utf-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if codec == "euc_kr":
        return "euc-kr"
    return codec.replace("_", "-")


def _codec_for(charset: str) -> str:
    """The codec actually used to decode a normalised charset name."""
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return charset
    return "cp949" if name in _KOREAN else name


def _try_decode(body: bytes, charset: str) -> str | None:
    codec = _codec_for(charset)
    try:
        if codecs.lookup(codec).name in _LATIN1 and _is_utf8_with_non_ascii(body):
            # A Latin-1 label on a body that is valid UTF-8 with non-ASCII bytes is almost
            # always a server default that was never true for this page.
            return None
        return body.decode(codec)
    except (UnicodeError, LookupError):
        return None


def _decode_mostly(body: bytes, charset: str) -> str | None:
    """``body`` decoded with replacement characters, unless there are too many of them."""
    try:
        text = body.decode(_codec_for(charset), errors="replace")
    except LookupError:
        return None
    # in a page of another charset nearly every non-ASCII byte fails; allow one in ten
    bad = text.count("\ufffd")
    return text if bad * 10 <= len(body.translate(None, _ASCII_BYTES)) else None


def _is_utf8_with_non_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _declared_in_header(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalise_charset(match.group(1)) if match else None


def _declared_in_meta(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    if not match:
        return None
    name = normalise_charset(match.group(1).decode("ascii", "replace"))
    # A <meta> that says UTF-16 in an ASCII-compatible document is wrong by definition.
    if name and name.startswith("utf-16"):
        return "utf-8"
    return name


def _detect(body: bytes) -> tuple[str, str] | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body[:_DETECT_LIMIT]).best()
    except Exception:  # detection is best effort and must never raise
        return None
    if best is None or not best.encoding:
        return None
    name = normalise_charset(best.encoding) or best.encoding
    text = _try_decode(body, name)
    if text is None:
        return None
    return text, name


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Return (text, charset_used). Never raises.

    Order: charset in the Content-Type header, then a BOM, then ``<meta charset>`` /
    ``<meta http-equiv content-type>`` in the first 4 KB, then strict UTF-8, then a declared
    charset with a few undecodable bytes (replaced), then charset-normalizer detection,
    then UTF-8 with ``errors='replace'``. A declared charset that fails to decode
    strictly falls through to the next source of evidence first.
    """
    if not body:
        return "", _declared_in_header(content_type) or "utf-8"
    declared = _declared_in_header(content_type)
    if declared:
        text = _try_decode(body, declared)
        if text is not None:
            return text, declared
    for bom, name in _BOMS:
        if body.startswith(bom):
            try:
                return body[len(bom) :].decode(name), name.removesuffix("-le").removesuffix("-be")
            except UnicodeDecodeError:
                break
    meta = _declared_in_meta(body)
    if meta and meta != declared:
        text = _try_decode(body, meta)
        if text is not None:
            return text, meta
    if body.isascii():
        return body.decode("ascii"), meta or declared or "utf-8"
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for name in dict.fromkeys(filter(None, (declared, meta))):
        # A declared charset with a few bad bytes (a truncated or spliced page) is still
        # the page's charset: browsers decode it with replacement characters.
        text = _decode_mostly(body, name)
        if text is not None:
            return text, name
    detected = _detect(body)
    if detected is not None:
        return detected
    return body.decode("utf-8", errors="replace"), "utf-8"
