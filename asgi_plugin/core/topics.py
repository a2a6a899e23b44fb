"""Topic names and subscription patterns: `workflow:etl` exactly, or `workflow:*` by prefix."""

from __future__ import annotations

__all__ = ["WILDCARD", "default_topic", "is_pattern", "matches", "pattern_prefix", "validate_topic"]

WILDCARD = "*"


def default_topic(workflow_id: str) -> str:
    """The topic a workflow's events go to unless the publisher names another."""
    return f"workflow:{workflow_id}"


def is_pattern(topic: str) -> bool:
    return topic.endswith(WILDCARD)


def pattern_prefix(pattern: str) -> str:
    """`workflow:*` → `workflow:`; `*` → `` (every topic)."""
    return pattern[: -len(WILDCARD)]


def matches(pattern_or_topic: str, topic: str) -> bool:
    """Whether a subscription (exact topic or `prefix*` pattern) covers `topic`."""
    if is_pattern(pattern_or_topic):
        return topic.startswith(pattern_prefix(pattern_or_topic))
    return pattern_or_topic == topic


def validate_topic(topic: str) -> str | None:
    """Why a subscription topic is malformed, or None when it is fine."""
    if WILDCARD in topic[:-1]:
        return f"`*` may only end a topic pattern, as in `workflow:*`: got {topic!r}"
    if any(ord(c) < 0x20 for c in topic):
        return "a topic may not contain control characters"
    return None
