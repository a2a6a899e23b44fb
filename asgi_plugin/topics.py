"""Topic names and subscription patterns: `workflow:etl` exactly, or `workflow:*` by prefix."""

from __future__ import annotations

__all__ = ["WILDCARD", "is_pattern", "pattern_prefix", "validate_topic"]

WILDCARD = "*"


def is_pattern(topic: str) -> bool:
    return topic.endswith(WILDCARD)


def pattern_prefix(pattern: str) -> str:
    """`workflow:*` → `workflow:`; `*` → `` (every topic)."""
    return pattern[: -len(WILDCARD)]


def validate_topic(topic: str) -> str | None:
    """Why a subscription topic is malformed, or None when it is fine."""
    if WILDCARD in topic[:-1]:
        return f"`*` may only end a topic pattern, as in `workflow:*`: got {topic!r}"
    if any(ord(c) < 0x20 for c in topic):
        return "a topic may not contain control characters"
    return None
