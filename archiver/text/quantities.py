"""Values stated in Korean (and mixed-script) news sentences: amounts, percentages, counts,
dates and times, each read into a number that two spellings of one value share.

"1,200억 원", "1200억원", "1천2백억 원", "천이백억 원" and "0.12조 원" are all 1.2 × 10¹¹
won; "70% 이상" is 70 percent whatever the qualifier. :func:`quantities` finds them in a
sentence, left to right; :func:`same_value` compares two of one kind. Nothing here raises:
text that is not a value is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["Quantity", "quantities", "same_value"]

_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NATIVE = "일이삼사오육칠팔구십백천"  # the Sino-Korean numerals
_NATIVE_DIGIT = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_SMALL_UNIT = {"십": 10, "백": 100, "천": 1000}
_SCALE = {"thousand": Decimal(10) ** 3, "million": Decimal(10) ** 6,
          "billion": Decimal(10) ** 9, "trillion": Decimal(10) ** 12}  # fmt: skip
_BIG_UNIT = {"만": Decimal(10) ** 4, "억": Decimal(10) ** 8, "조": Decimal(10) ** 12}
# A number: digits, or digits and small units mixed ("1천2백"), or Sino-Korean numerals
# ("천이백"), each optionally followed by a big unit, repeated ("1조 2,000억").
# Sino-Korean numerals only with a unit in them ("천이백", "삼십"): "이", "사", "일" alone
# are words far more often than numbers.
_NATIVE_PART = (
    "[일이삼사오육칠팔구]?[십백천](?:[일이삼사오육칠팔구]?[십백천])*[일이삼사오육칠팔구]?"
)
_PART = rf"(?:(?:{_DIGITS})[십백천]?(?:\s?(?:{_DIGITS})?[십백천])*|{_NATIVE_PART})"
_NUMBER = rf"{_PART}\s?[만억조]?(?:\s?{_PART}\s?[만억조])*"
_CURRENCY = r"원|달러|엔|유로|위안|파운드|루블|페소"
_COUNTER = (
    r"명|개국|개사|개|건|곳|대|채|마리|차례|번째|번|회|표|석|가구|세대|곳|척|기|편|권|부|병|톤|"
    r"세|살|km|㎞|m|kg|㎏|t|분기|분|초|시간|개월|주|년"
)
_VALUE = re.compile(
    rf"(?<![\w.,])(?=[\dU$₩{_NATIVE}])(?:(?P<dollar>US\$|\$|₩)\s?)?(?P<number>{_NUMBER})"
    r"(?:\s?(?P<scale>trillion|billion|million|thousand)\b)?\s?(?:여\s?)?"  # "700여 명"
    rf"(?:(?P<currency>{_CURRENCY})|(?P<percent>%p|%포인트|퍼센트포인트|%|퍼센트|프로)"
    rf"|(?P<counter>{_COUNTER})(?![가-힣]*(?:씩|쯤))|(?P<bare>))"
)
_DATE = re.compile(  # (?=\d): fail at once where no digit starts, the common case
    r"(?=\d)(?:(?:(?P<year>\d{4})\s?년\s?)?(?P<month>\d{1,2})\s?월\s?(?P<day>\d{1,2})\s?일"
    r"|(?P<y>\d{4})[.\-/]\s?(?P<m>\d{1,2})[.\-/]\s?(?P<d>\d{1,2})"
    r"|(?<![\d.,])(?P<lone>\d{1,2})\s?일(?![가-힣]))"  # "17일" (the month implied)
)
_TIME = re.compile(
    r"(?=[\d오새밤저아])(?:(?P<half>오전|오후|새벽|밤|저녁|아침)?\s?(?P<hour>\d{1,2})\s?시"
    r"(?:\s?(?P<minute>\d{1,2})\s?분|(?=께|쯤|경|부터|까지|에|반|\s|$|[,.)]))"  # not 시간, 시즌
    r"|(?P<h>\d{1,2}):(?P<mi>\d{2})(?!\d))"
)


@dataclass(frozen=True)
class Quantity:
    kind: str  # "amount", "percent", "count", "date", "time"
    unit: str  # the currency, "%", "%p", the counter word, "" for a bare number or a date
    value: tuple[Decimal, ...]  # one number; (year, month, day) for a date, 0 if unstated
    text: str  # as written in the sentence

    def as_json(self) -> str:
        return self.text


def quantities(sentence: str) -> list[Quantity]:
    """The values stated in ``sentence``, left to right (dates and times first claimed)."""
    found: list[tuple[int, Quantity]] = []
    taken: list[tuple[int, int]] = []
    for match in _DATE.finditer(sentence):
        if match.group("month"):
            year, month, day = match.group("year"), match.group("month"), match.group("day")
        elif match.group("y"):
            year, month, day = match.group("y"), match.group("m"), match.group("d")
        else:
            year, month, day = None, None, match.group("lone")
        value = tuple(Decimal(int(part)) if part else Decimal(0) for part in (year, month, day))
        found.append((match.start(), Quantity("date", "", value, match.group().strip())))
        taken.append(match.span())
    for match in _TIME.finditer(sentence):
        if _overlaps(match.span(), taken):
            continue
        hour = int(match.group("hour") or match.group("h"))
        minute = int(match.group("minute") or match.group("mi") or 0)
        if match.group("half") in ("오후", "저녁", "밤") and hour < 12:
            hour += 12
        if hour > 24 or minute > 59:
            continue
        value = (Decimal(hour), Decimal(minute))
        found.append((match.start(), Quantity("time", "", value, match.group().strip())))
        taken.append(match.span())
    for match in _VALUE.finditer(sentence):
        if _overlaps(match.span(), taken) or not match.group("number").strip():
            continue
        number = _number(match.group("number"))
        if number is None:
            continue
        if match.group("scale"):
            number = (number * _SCALE[match.group("scale")]).normalize()
        quantity = _classify(match, number)
        if quantity is not None:
            found.append((match.start(), quantity))
    return [quantity for _, quantity in sorted(found, key=lambda pair: pair[0])]


def same_value(a: Quantity, b: Quantity) -> bool:
    """Whether two quantities of one kind and unit state the same value. A date missing
    its year or month matches any year or month (the sentence left it implied)."""
    if a.kind == "date":
        return all(x == y or x == 0 or y == 0 for x, y in zip(a.value, b.value, strict=True))
    return a.value == b.value


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _classify(match: re.Match[str], number: Decimal) -> Quantity | None:
    text = match.group().strip()
    raw = match.group("number")
    if match.group("currency") or match.group("dollar"):
        unit = match.group("currency") or ("원" if match.group("dollar") == "₩" else "달러")
        return Quantity("amount", unit, (number,), text)
    if match.group("percent"):
        point = match.group("percent") in ("%p", "%포인트", "퍼센트포인트")
        return Quantity("percent", "%p" if point else "%", (number,), text)
    if match.group("counter"):
        return Quantity("count", match.group("counter"), (number,), text)
    if re.search("[만억조]", raw):  # "1,200억" with its unit implied by the sentence
        return Quantity("amount", "", (number,), text)
    return None  # a bare small number: a list position, a model name, not a claim


def _number(text: str) -> Decimal | None:
    """The value of a Korean-written number: "1,200억" → 1.2e11, "1조 2,000억", "천이백"."""
    total = Decimal(0)
    section = Decimal(0)
    pending: Decimal | None = None  # digits not yet multiplied by a small unit
    seen = False
    try:
        for token in re.findall(rf"{_DIGITS}|[{_NATIVE}만억조]", text.replace(" ", "")):
            if token in _BIG_UNIT:
                section += pending if pending is not None else Decimal(0)
                total += (section or Decimal(1)) * _BIG_UNIT[token]
                section, pending = Decimal(0), None
            elif token in _SMALL_UNIT:
                section += (pending if pending is not None else Decimal(1)) * _SMALL_UNIT[token]
                pending = None
            elif token in _NATIVE_DIGIT:
                pending = Decimal(_NATIVE_DIGIT[token])
            else:
                pending = Decimal(token.replace(",", ""))
            seen = True
    except InvalidOperation:
        return None
    if not seen:
        return None
    return (total + section + (pending or Decimal(0))).normalize()
