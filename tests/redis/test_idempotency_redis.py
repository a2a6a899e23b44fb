"""A publish that timed out while Redis stalled may have been stored: its retry with the same
idempotency key returns the first seq, and every subscriber gets the event once."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from asgi_plugin import BrokerUnavailable, FlowwireApp
from flowwire import RedisBroker
from tests.plugin.clients import eventually
from tests.redis.test_broker import TOPIC, status, subscriber

pytestmark = [pytest.mark.redis]


async def test_a_publish_that_timed_out_is_retried_once(start_redis: Any) -> None:
    redis = start_redis()
    a, b = (
        FlowwireApp(
            broker=RedisBroker(redis.url, socket_timeout_ms=300, reconnect_max_ms=100),
            drain_on_signals=False,
        )
        for _ in range(2)
    )
    for app in (a, b):
        await app.start()
    client, _ = await subscriber(b, TOPIC, snapshot=False)
    redis.child.signal(signal.SIGSTOP)  # stalled: the command reaches Redis, the answer does not
    try:
        with pytest.raises(BrokerUnavailable):
            await a.publish(status(1), idempotency_key="evt-1")
    finally:
        redis.child.signal(signal.SIGCONT)
    await eventually(lambda: a.broker.health()["ok"] and b.broker.health()["ok"], timeout=10)
    seq = await a.publish(status(1), idempotency_key="evt-1")  # the retry the docs recommend
    assert seq == 1
    assert (await client.recv(5))["seq"] == 1
    after = await a.publish(status(2))
    assert (await client.recv(5))["seq"] == after == 2, "no second copy of the first event"
    for app in (a, b):
        await app.shutdown()
