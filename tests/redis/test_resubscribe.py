"""Subscriptions on the Redis broker stay true to what clients asked, in the order they asked."""

from __future__ import annotations

import pytest

from asgi_plugin import FlowwireApp
from tests.redis.test_broker import TOPIC, apps, status, subscriber  # noqa: F401 - the fixture

pytestmark = [pytest.mark.redis]


async def test_unsubscribe_then_subscribe_at_once_keeps_delivering(apps: list[FlowwireApp]) -> None:  # noqa: F811
    """A client resetting its filter sends both back to back: the unwatch of the first must
    not land after the watch of the second (which left the topic silently undelivered)."""
    a, b = apps
    client, _ = await subscriber(b, TOPIC, snapshot=False)
    for attempt in range(5):
        await client.send({"type": "unsubscribe", "ref": f"u{attempt}", "topics": [TOPIC]})
        await client.send(
            {"type": "subscribe", "ref": f"s{attempt}", "topics": [TOPIC], "snapshot": False}
        )
        assert (await client.recv(5))["ref"] == f"u{attempt}"
        assert (await client.recv(5))["ref"] == f"s{attempt}"
        seq = await a.publish(status(attempt))
        frame = await client.recv(5)
        assert (frame["type"], frame["seq"]) == ("node.status", seq), f"attempt {attempt}"


async def test_a_topic_only_named_expires_in_redis_and_one_published_on_stays(
    apps: list[FlowwireApp],  # noqa: F811
) -> None:
    a, b = apps
    await subscriber(b, "made-up:1", TOPIC, snapshot=False)
    redis = a.broker.client()
    try:
        assert await redis.pttl(a.broker.key("epoch", "made-up:1")) > 0, "it expires"
        await a.publish(status(1))
        assert await redis.pttl(a.broker.key("epoch", TOPIC)) == -1, "published on: kept"
    finally:
        await redis.aclose()
