"""Claims a source now contradicts: the same claim, stated with another value.

A seed sentence and its best match in a page (archiver.changes.align) may agree in words
and still disagree in fact: "매출은 1,200억 원" against "매출은 1,500억 원". For each value the
seed sentence states (archiver.text.quantities: amounts, percentages, counts, dates,
times), the match is searched for values of the same kind and unit; when it states some
and none equals the seed's, that is a conflict, named with both values as written. A
person named in a role ("샘 올트먼 CEO", "CEO인 샘 올트먼") is compared with the person the
match names in the same role; aliases ([[aliases]]) count as one name, and a shorter form
of the same name ("올트먼") is no conflict. A value or a name the match leaves out is
omitted, not contradicted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archiver.text.ignore import ComparisonKeys
from archiver.text.quantities import Quantity, quantities, same_value

__all__ = ["Conflict", "conflicts"]

_ROLES = (
    "최고경영자|최고기술책임자|최고운영책임자|최고재무책임자|CEO|CTO|COO|CFO|이사회\\s?의장|의장|"
    "대표이사|대표|회장|부회장|사장|부사장|이사|창업자|공동창업자|대통령|총리|장관|차관|의원|"
    "위원장|청장|시장|지사|총장|감독|코치|위원"
)
# A name: up to three capitalised Latin words, or one or two Hangul words ("샘 올트먼"); a
# first word ending in a particle ("이사회는") belongs to the sentence, not to a name.
_NAME = (
    r"(?<!\w)(?:[A-Z][\w.'-]+(?:\s[A-Z][\w.'-]+){0,2}"
    r"|(?:[가-힣]{0,2}[가-힣](?<![은는을를의에도])\s)?[가-힣]{2,5})"
)
# A role ends where a particle or a space follows ("CEO를"), not inside a word ("이사회").
_ROLE_END = r"(?=[이가을를은는의과와도에로인께]|\s|$|[,.)])"
_NAME_ROLE = re.compile(
    rf"(?P<name>{_NAME})\s(?:(?:임시|전|현|신임|공동)\s?)?(?P<role>{_ROLES}){_ROLE_END}"
)
_ROLE_NAME = re.compile(
    rf"(?P<role>{_ROLES})(?:인|으로|로|에는|에|은|는|엔)\s(?P<name>{_NAME})"
    r"(?=[이가을를은는의과와도]|\s|$)"
)
_NOT_NAMES = frozenset(("임시", "전임", "신임", "차기", "공동", "현직", "전직", "새", "당시"))
_PARTICLE = re.compile(r"(?:이|가|을|를|은|는|의|과|와|도|에게|께서)$")


@dataclass(frozen=True)
class Conflict:
    seed: str  # the value (or name) as the seed writes it
    source: str  # as the page writes it
    kind: str  # "amount", "percent", "count", "date", "time", "name"

    def as_json(self) -> dict[str, str]:
        return {"seed": self.seed, "source": self.source, "kind": self.kind}


def conflicts(seed: str, match: str, keys: ComparisonKeys | None = None) -> list[Conflict]:
    """What ``match`` states otherwise than ``seed`` (see the module doc); [] if nothing."""
    found = _value_conflicts(quantities(seed), quantities(match))
    found += _name_conflicts(seed, match, keys or ComparisonKeys())
    return found


def _compatible(a: Quantity, b: Quantity) -> bool:
    if a.kind != b.kind:
        return False
    # "1,200억" with its currency left to the sentence compares with any amount
    return a.unit == b.unit or (a.kind == "amount" and "" in (a.unit, b.unit))


def _value_conflicts(seed: list[Quantity], page: list[Quantity]) -> list[Conflict]:
    out: list[Conflict] = []
    for index, value in enumerate(seed):
        candidates = [q for q in page if _compatible(value, q)]
        if not candidates or any(same_value(value, q) for q in candidates):
            continue
        # the same place among the values of its kind: the first amount with the first
        ordinal = sum(1 for q in seed[:index] if _compatible(value, q))
        other = candidates[min(ordinal, len(candidates) - 1)]
        out.append(Conflict(value.text, other.text, value.kind))
    return out


def _roles(sentence: str) -> dict[str, str]:
    """Role → the name the sentence gives it (the first one)."""
    named: dict[str, str] = {}
    for pattern in (_NAME_ROLE, _ROLE_NAME):
        for found in pattern.finditer(sentence):
            role = re.sub(r"\s", "", found.group("role"))
            name = _PARTICLE.sub("", found.group("name"))
            if name not in _NOT_NAMES:
                named.setdefault(role, name)
    return named


def _same_name(a: str, b: str, keys: ComparisonKeys) -> bool:
    a, b = (keys.canon(n).replace(" ", "").lower() for n in (a, b))
    return a in b or b in a


def _name_conflicts(seed: str, match: str, keys: ComparisonKeys) -> list[Conflict]:
    theirs = _roles(match)
    out: list[Conflict] = []
    for role, name in _roles(seed).items():
        other = theirs.get(role)
        if other is not None and not _same_name(name, other, keys) and other not in seed:
            out.append(Conflict(name, other, "name"))
    return out
