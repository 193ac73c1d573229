"""Decode fetched HTML bytes into text, the way a careful browser would.

Order of evidence: a byte-order mark (it wins over any label, as in browsers), the
charset parameter of the HTTP ``Content-Type`` header, a ``<meta charset>`` /
``<meta http-equiv="Content-Type">`` declaration in the first 4 KB, strict UTF-8,
statistical detection (charset-normalizer), and finally UTF-8 with replacement
characters. A declared charset that does not decode the body strictly is passed over at
first (pages often lie) but still wins over detection when only a few bytes are bad (a
truncated or spliced page).

Only the labels of the WHATWG Encoding Standard (https://encoding.spec.whatwg.org/) name
a charset, each meaning what it means to a browser: ``latin1`` and ``us-ascii`` are
windows-1252, ``utf-16`` is UTF-16LE, ``gb2312`` is GBK. Python's own codec names
(``unicode_escape``, ``rot13``, ``cp037``, ``utf-7``, ...) are no labels and are ignored,
as are the "replacement" labels (``iso-2022-kr``, ``hz-gb-2312``). Kept besides, because
Korean and MySQL-made pages use them: ``cp949``/``ms949``/``uhc``, ``euckr``/``euc_kr``
and ``utf8mb4``/``utf8mb3``. The Korean labels (euc-kr, ks_c_5601-1987, ...) decode as
CP949, the superset every browser actually uses, while the reported name stays
``euc-kr``. A page labelled UTF-16 (by its header or a byte-order mark) is text, though
it is full of NUL bytes.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["decode_html", "looks_binary", "normalise_charset", "whatwg_encoding"]

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
# The WHATWG encodings (lower-cased names) and their labels, with the Python codec that
# decodes each as browsers do (GBK with the GB18030 decoder, Big5 with HKSCS, Shift_JIS
# as Windows-31J, EUC-KR as CP949).
_WHATWG: dict[str, tuple[str, str]] = {
    "utf-8": ("utf-8", "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8"),
    "ibm866": ("cp866", "866 cp866 csibm866 ibm866"),
    "iso-8859-2": (
        "iso8859_2",
        "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2",
    ),
    "iso-8859-3": (
        "iso8859_3",
        "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 latin3",
    ),
    "iso-8859-4": (
        "iso8859_4",
        "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 latin4",
    ),
    "iso-8859-5": (
        "iso8859_5",
        "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5"
        " iso_8859-5:1988",
    ),
    "iso-8859-6": (
        "iso8859_6",
        "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6"
        " iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987",
    ),
    "iso-8859-7": (
        "iso8859_7",
        "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7"
        " iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek",
    ),
    "iso-8859-8": (
        "iso8859_8",
        "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8"
        " iso88598 iso_8859-8 iso_8859-8:1988 visual",
    ),
    "iso-8859-8-i": ("iso8859_8", "csiso88598i iso-8859-8-i logical"),
    "iso-8859-10": (
        "iso8859_10",
        "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    ),
    "iso-8859-13": ("iso8859_13", "iso-8859-13 iso8859-13 iso885913"),
    "iso-8859-14": ("iso8859_14", "iso-8859-14 iso8859-14 iso885914"),
    "iso-8859-15": (
        "iso8859_15",
        "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    ),
    "iso-8859-16": ("iso8859_16", "iso-8859-16"),
    "koi8-r": ("koi8_r", "cskoi8r koi koi8 koi8-r koi8_r"),
    "koi8-u": ("koi8_u", "koi8-ru koi8-u"),
    "macintosh": ("mac_roman", "csmacintosh mac macintosh x-mac-roman"),
    "windows-874": (
        "cp874",
        "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
    ),
    "windows-1250": ("cp1250", "cp1250 windows-1250 x-cp1250"),
    "windows-1251": ("cp1251", "cp1251 windows-1251 x-cp1251"),
    "windows-1252": (
        "cp1252",
        "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1"
        " iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252",
    ),
    "windows-1253": ("cp1253", "cp1253 windows-1253 x-cp1253"),
    "windows-1254": (
        "cp1254",
        "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9"
        " iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254",
    ),
    "windows-1255": ("cp1255", "cp1255 windows-1255 x-cp1255"),
    "windows-1256": ("cp1256", "cp1256 windows-1256 x-cp1256"),
    "windows-1257": ("cp1257", "cp1257 windows-1257 x-cp1257"),
    "windows-1258": ("cp1258", "cp1258 windows-1258 x-cp1258"),
    "x-mac-cyrillic": ("mac_cyrillic", "x-mac-cyrillic x-mac-ukrainian"),
    "gbk": (
        "gb18030",
        "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk",
    ),
    "gb18030": ("gb18030", "gb18030"),
    "big5": ("big5hkscs", "big5 big5-hkscs cn-big5 csbig5 x-x-big5"),
    "euc-jp": ("euc_jp", "cseucpkdfmtjapanese euc-jp x-euc-jp"),
    "iso-2022-jp": ("iso2022_jp", "csiso2022jp iso-2022-jp"),
    "shift_jis": (
        "cp932",
        "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    ),
    "euc-kr": (
        "cp949",
        "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601"
        " ksc_5601 windows-949",
    ),
    "utf-16be": ("utf-16-be", "unicodefffe utf-16be"),
    "utf-16le": (
        "utf-16-le",
        "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
    ),
    # Not WHATWG labels, but what Korean and MySQL-made pages say (see the docstring).
    "cp949": ("cp949", "cp949 ms949 uhc x-windows-949"),
}
_LABELS: dict[str, str] = {
    label: name for name, (_, labels) in _WHATWG.items() for label in labels.split()
}
_LABELS.update({"euckr": "euc-kr", "euc_kr": "euc-kr", "ks_c_5601_1987": "euc-kr"})
_LABELS.update({"utf8mb4": "utf-8", "utf8mb3": "utf-8"})
_CODECS = {name: codec for name, (codec, _) in _WHATWG.items()}
# What a detected Python codec is called among the encodings above.
_DETECTED = {codecs.lookup(codec).name: name for name, codec in _CODECS.items()}
_DETECTED.update(
    {
        "cp949": "cp949",
        "euc_kr": "euc-kr",
        "iso8859-1": "windows-1252",
        "ascii": "windows-1252",
        "gb2312": "gbk",
        "gbk": "gbk",
        "big5": "big5",
        "shift_jis": "shift_jis",
        "tis-620": "windows-874",
        "iso8859-11": "windows-874",
        "iso8859-9": "windows-1254",
        "iso8859-8": "iso-8859-8",
        "utf-8": "utf-8",
    }
)
_WINDOWS_1252_ERRORS = "archiver-windows-1252"


def _c1_controls(error: UnicodeError) -> tuple[str, int]:
    """windows-1252 as browsers decode it: the five bytes CP1252 leaves unassigned
    (0x81, 0x8D, 0x8F, 0x90, 0x9D) are the C1 controls of the same number."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error(_WINDOWS_1252_ERRORS, _c1_controls)

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
    if head.startswith(_MAGIC):
        return True
    # A page its header calls UTF-16 has a NUL in every other byte of ASCII text.
    return b"\x00" in head and _declared_in_header(content_type) not in ("utf-16le", "utf-16be")


def normalise_charset(label: str | None) -> str | None:
    """The WHATWG encoding a charset label names (lower-case), or None for anything else.

    ``EUC-KR``, ``ks_c_5601-1987`` and ``korean`` all become ``euc-kr``; ``latin1`` and
    ``ascii`` become ``windows-1252``; ``utf-16`` becomes ``utf-16le``; ``cp949`` stays
    ``cp949``. Python-only codec names (``unicode_escape``, ``cp037``) give None.
    """
    if not label:
        return None
    return _LABELS.get(label.strip().strip("\"'").strip().lower())


def whatwg_encoding(codec: str) -> str | None:
    """The WHATWG encoding a Python codec name decodes as, or None if it is none."""
    try:
        return _DETECTED.get(codecs.lookup(codec).name)
    except LookupError:
        return None


def _decode(body: bytes, charset: str, errors: str = "strict") -> str:
    """``body`` in a normalised charset (raises UnicodeError, or KeyError if unknown)."""
    if charset == "windows-1252" and errors == "strict":
        errors = _WINDOWS_1252_ERRORS
    return body.decode(_CODECS[charset], errors)


def _try_decode(body: bytes, charset: str) -> str | None:
    if charset == "windows-1252" and _is_utf8_with_non_ascii(body):
        # A Latin-1 label on a body that is valid UTF-8 with non-ASCII bytes is almost
        # always a server default that was never true for this page.
        return None
    try:
        return _decode(body, charset)
    except (UnicodeError, KeyError):
        return None


def _decode_mostly(body: bytes, charset: str) -> str | None:
    """``body`` decoded with replacement characters, unless there are too many of them."""
    try:
        text = _decode(body, charset, errors="replace")
    except KeyError:
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
    name = whatwg_encoding(best.encoding)  # an encoding no browser has does not count
    if name is None:
        return None
    text = _try_decode(body, name)
    if text is None:
        return None
    return text, name


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Return (text, charset_used). Never raises.

    Order: a BOM, then the charset in the Content-Type header, then ``<meta charset>`` /
    ``<meta http-equiv content-type>`` in the first 4 KB, then strict UTF-8, then a declared
    charset with a few undecodable bytes (replaced), then charset-normalizer detection,
    then UTF-8 with ``errors='replace'``. A declared charset that fails to decode
    strictly falls through to the next source of evidence first.
    """
    if not body:
        return "", _declared_in_header(content_type) or "utf-8"
    for bom, name in _BOMS:
        if body.startswith(bom):
            try:
                return body[len(bom) :].decode(name), name.removesuffix("-le").removesuffix("-be")
            except UnicodeDecodeError:
                break
    declared = _declared_in_header(content_type)
    if declared:
        text = _try_decode(body, declared)
        if text is not None:
            return text, declared
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
