"""What a comparison leaves out: `[[ignore]]` rules (patterns, whitespace-only edits)
and `[[aliases]]` (several spellings of one name), and the comparison keys built from them.
The texts shown to a user are never changed; only the keys compared are."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class IgnoreRule:
    """A change that does not count: text matching ``pattern`` or whitespace-only edits,
    for pages whose URL starts with ``url`` (every page when it is None)."""

    pattern: re.Pattern[str] | None = None
    whitespace: bool = False
    url: str | None = None
    # Names of one thing ("올트먼", "알트만", "Sam Altman"): the seed alignment and the
    # follow-up relevance treat them as the same word; version diffs still show them.
    aliases: tuple[str, ...] = ()

    def applies_to(self, page_url: str) -> bool:
        return self.url is None or page_url.startswith(self.url)


def alias_pattern(names: Sequence[str]) -> re.Pattern[str]:
    """One regex matching any of ``names`` (longest first, case-insensitive; spaces in a
    name match any run of spaces, so "샘 올트먼" also finds "샘  올트먼")."""
    ordered = sorted(names, key=len, reverse=True)
    return re.compile(
        "|".join(r"\s*".join(map(re.escape, n.split())) for n in ordered), re.IGNORECASE
    )


class ComparisonKeys:
    """Comparison keys: text with ignored patterns removed and whitespace folded."""

    def __init__(self, rules: Sequence[IgnoreRule] = ()) -> None:
        self.patterns = [r.pattern for r in rules if r.pattern is not None]
        self.whitespace = any(r.whitespace for r in rules)
        self.names = [(alias_pattern(r.aliases), r.aliases[0]) for r in rules if r.aliases]

    def canon(self, text: str) -> str:
        """``text`` with every alias replaced by the first name of its group."""
        for pattern, name in self.names:
            text = pattern.sub(name, text)
        return text

    def key(self, text: str) -> str:
        for pattern in self.patterns:
            text = pattern.sub("", text)
        if self.whitespace:
            return _WHITESPACE.sub("", text)
        return " ".join(text.split())

    def strip(self, text: str) -> str:
        """``text`` without the ignored patterns (spacing and lines kept, for display)."""
        for pattern in self.patterns:
            text = pattern.sub("", text)
        return text
