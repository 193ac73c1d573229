"""Dates as pages write them, normalised to ISO 8601 with an offset.

:func:`parse_date` reads ISO 8601, RFC 2822, English month names and the Korean forms
(``2023.11.20 02:21``, ``2023-11-20 오전 2:21``, ``2023년 11월 20일 오후 2시 21분``);
:func:`byline_dates` finds the published and modified times in byline text such as
``입력 2023.11.20 02:21 수정 2023.11.20 09:40``. Nothing here raises on bad input.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

__all__ = ["KST", "byline_dates", "parse_date"]

KST = timezone(timedelta(hours=9), "KST")


def now_iso() -> str:
    """The current time, ISO 8601 with offset (UTC), to the second: every recorded time."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# 2023-11-20 02:21 / 2023.11.20. 02:21 / 2023년 11월 20일 (월) 오전 2:21 / 2023/11/20 오후 2시 21분
_AMPM = r"오전|오후|[AaPp]\.?[Mm]\.?"
_TIME = (
    rf"(?:[T\s,]*(?:at\s+)?(?P<ap>{_AMPM})?\s*(?P<H>\d{{1,2}})\s*(?::|시)\s*(?P<M>\d{{1,2}})?\s*분?"
    rf"(?:\s*:\s*(?P<S>\d{{2}}))?(?:\.\d+)?(?:\s*(?P<ap2>{_AMPM}))?)?"
    r"(?:\s*(?P<tz>Z(?![A-Za-z])|UTC|GMT|KST|[+-]\d{2}:?\d{2}))?"
)
_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[.\-/년]\s*(?P<m>\d{1,2})\s*[.\-/월]\s*(?P<d>\d{1,2})(?!\d)\s*일?\.?"
    r"(?:\s*\(\s*[^)\s]{1,3}\s*\))?" + _TIME
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# "November 20, 2019 2:21 PM" and "20 Nov 2019 14:21"
_EN_DATE = re.compile(
    r"(?:(?P<mon>[A-Za-z]{3})[a-z]*\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d{2})"
    r"|(?P<d2>\d{1,2})\s+(?P<mon2>[A-Za-z]{3})[a-z]*\.?,?\s+(?P<y2>(?:19|20)\d{2}))" + _TIME
)
_PUBLISHED_LABEL = r"기사\s*입력|입력|등록|게재|발행|작성|승인|송고|Published|Posted"
_MODIFIED_LABEL = r"최종\s*수정|기사\s*수정|수정|업데이트|갱신|Updated|Modified"
_LABELLED = re.compile(
    rf"(?P<label>{_MODIFIED_LABEL}|{_PUBLISHED_LABEL})\s*(?:일시|시간|일|on)?\s*[:：]?\s*"
    r"(?P<date>(?:19|20)\d{2}\s*[.\-/년]|[A-Za-z]{3,9}\.?\s+\d{1,2}|\d{1,2}\s+[A-Za-z]{3})",
    re.IGNORECASE,
)
_MODIFIED_RE = re.compile(_MODIFIED_LABEL, re.IGNORECASE)


def parse_date(value: str | None, default_tz: tzinfo = UTC) -> str | None:
    """Normalise a date string to ISO 8601 with an offset (seconds precision).

    A time without an offset is taken to be in ``default_tz``. Returns None when nothing
    parses.
    """
    text = " ".join((value or "").split())
    if not text or len(text) > 200:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None:
        parsed = _parse_loose(text)
    if parsed is None and re.match(r"[A-Za-z]{3},? ", text):
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        return None
    if not 1970 <= parsed.year <= 2100:  # 0001-01-01 and friends are placeholders
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    try:
        return parsed.replace(microsecond=0).isoformat()
    except (ValueError, OverflowError):
        return None


def _parse_loose(text: str) -> datetime | None:
    match = _DATE.search(text)
    if match:
        g = match.groupdict()
        year, month, day = int(g["y"]), int(g["m"]), int(g["d"])
    else:
        match = _EN_DATE.search(text)
        if not match:
            return None
        g = match.groupdict()
        month = _MONTHS.get((g["mon"] or g["mon2"] or "").lower(), 0)
        year, day = int(g["y"] or g["y2"]), int(g["d"] or g["d2"])
    try:
        hour = int(g["H"] or 0)
        ampm = (g["ap"] or g["ap2"] or "").lower().replace(".", "")
        if ampm in ("오후", "pm") and hour < 12:
            hour += 12
        elif ampm in ("오전", "am") and hour == 12:
            hour = 0
        day_start = datetime(year, month, day, tzinfo=_zone(g["tz"]))
        return day_start.replace(hour=hour, minute=int(g["M"] or 0), second=int(g["S"] or 0))
    except (ValueError, OverflowError):
        return None


def _zone(raw: str | None) -> tzinfo | None:
    if raw in ("Z", "UTC", "GMT"):
        return UTC
    if raw == "KST":
        return KST
    if not raw:
        return None
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def byline_dates(
    text: str, default_tz: tzinfo, *, unlabelled: bool = False
) -> tuple[str | None, str | None]:
    """(published, modified) from byline text such as ``입력 2023.11.20 02:21 수정 ...``.

    With ``unlabelled=True`` a bare first date counts as the publication date.
    """
    published: str | None = None
    modified: str | None = None
    for match in _LABELLED.finditer(text):
        when = parse_date(text[match.start("date") : match.start("date") + 60], default_tz)
        if when is None:
            continue
        if _MODIFIED_RE.fullmatch(match.group("label")):
            modified = modified or when
        else:
            published = published or when
    if published is None and unlabelled:
        found = _DATE.search(text) or _EN_DATE.search(text)
        if found:
            published = parse_date(found.group(0), default_tz)
    return published, modified
