"""Event-type filters of a subscription: `["node.*", "execution.completed"]`.

A pattern is an event type where `*` matches any run of characters (`node.*`,
`*.completed`, `*`). A filtered subscription gets only the events whose `type`
matches one of its patterns; seq stays per topic, so the seqs of the events it
leaves out are skipped: not a loss (the subscribe reply echoes the filter).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["TypeFilter", "validate_type_pattern"]

_PATTERN = re.compile(r"^[A-Za-z0-9_.:*-]+$")


def validate_type_pattern(pattern: str) -> str | None:
    """Why an event-type pattern is malformed, or None when it is fine."""
    if not _PATTERN.match(pattern):
        return f"an event-type pattern has letters, digits, `._:-` and `*`: got {pattern!r}"
    return None


class TypeFilter:
    """Which event types a subscription delivers; the match of each type is remembered
    (a server sees a handful of types), so the hot path is one dict lookup."""

    __slots__ = ("_known", "_regex", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(dict.fromkeys(patterns))
        alternatives = "|".join(
            ".*".join(re.escape(part) for part in p.split("*")) for p in self.patterns
        )
        self._regex = re.compile(f"(?:{alternatives})")
        self._known: dict[str, bool] = {}

    def accepts(self, event_type: str) -> bool:
        known = self._known.get(event_type)
        if known is None:
            if len(self._known) >= 1024:  # app events are few; bound it all the same
                self._known.clear()
            known = self._known[event_type] = self._regex.fullmatch(event_type) is not None
        return known

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TypeFilter) and other.patterns == self.patterns

    def __hash__(self) -> int:
        return hash(self.patterns)

    def __repr__(self) -> str:
        return f"TypeFilter({list(self.patterns)!r})"
