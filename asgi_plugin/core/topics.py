"""Topic names and subscription patterns: `workflow:etl` exactly, or `workflow:*` by prefix."""

from __future__ import annotations

__all__ = [
    "ALL_TOPIC",
    "PRIVATE",
    "PRIVATE_TOPICS",
    "WILDCARD",
    "connection_topic",
    "default_topic",
    "is_pattern",
    "is_private",
    "matches",
    "pattern_prefix",
    "principal_topic",
    "validate_topic",
]

WILDCARD = "*"

PRIVATE = "@"
"""Topics starting with it are delivered to their connections only: every connection has
`@connection:{connection_id}`, each connection of a known principal `@principal:{id}`,
and every connection `@all`, without subscribing. No pattern matches them, and a
client may subscribe (to resume one) only to its own."""

ALL_TOPIC = "@all"

PRIVATE_TOPICS = PRIVATE + WILDCARD
"""What a process watches on its broker to get every private topic (the hub, not a
pattern subscription, picks their connections)."""


def default_topic(workflow_id: str) -> str:
    """The topic a workflow's events go to unless the publisher names another."""
    return f"workflow:{workflow_id}"


def connection_topic(connection_id: str) -> str:
    """The topic of one connection: what is published on it reaches that connection only."""
    return f"{PRIVATE}connection:{connection_id}"


def principal_topic(principal_id: str) -> str:
    """The topic of one principal: what is published on it reaches each of its connections."""
    return f"{PRIVATE}principal:{principal_id}"


def is_private(topic: str) -> bool:
    return topic.startswith(PRIVATE)


def is_pattern(topic: str) -> bool:
    return topic.endswith(WILDCARD)


def pattern_prefix(pattern: str) -> str:
    """`workflow:*` → `workflow:`; `*` → `` (every topic)."""
    return pattern[: -len(WILDCARD)]


def matches(pattern_or_topic: str, topic: str) -> bool:
    """Whether a subscription (exact topic or `prefix*` pattern) covers `topic`."""
    if is_pattern(pattern_or_topic):
        if is_private(topic) and not is_private(pattern_or_topic):
            return False
        return topic.startswith(pattern_prefix(pattern_or_topic))
    return pattern_or_topic == topic


def validate_topic(topic: str) -> str | None:
    """Why a subscription topic is malformed, or None when it is fine."""
    if WILDCARD in topic[:-1]:
        return f"`*` may only end a topic pattern, as in `workflow:*`: got {topic!r}"
    if any(ord(c) < 0x20 for c in topic):
        return "a topic may not contain control characters"
    return None
