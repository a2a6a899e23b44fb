"""Commands during a Redis outage get a retryable error frame; the connection stays open."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from asgi_plugin import FlowwireApp
from asgi_plugin.demo.samples import SAMPLES, demo_runner
from flowwire import RedisBroker
from tests.plugin.clients import AsgiClient, eventually

pytestmark = [pytest.mark.redis]


async def test_execute_and_subscribe_while_redis_is_down(start_redis: Any) -> None:
    redis = start_redis()
    app = FlowwireApp(
        broker=RedisBroker(redis.url, reconnect_max_ms=200),
        handler=demo_runner(),
        drain_on_signals=False,
    )
    await app.start()
    client = AsgiClient(app)
    await client.connect()
    redis.kill()
    await eventually(lambda: not app.broker.health()["ok"], timeout=10)
    workflow = msgspec.to_builtins(SAMPLES["llm"])
    for frame in (
        {"type": "execute", "ref": "x1", "workflow": workflow},
        {"type": "subscribe", "ref": "s1", "topics": ["workflow:elsewhere"]},
    ):
        error = await client.request(frame, timeout=10)
        assert (error["type"], error["code"]) == ("error", "unavailable"), error
        assert error["retry_after_ms"] >= 100
        assert redis.url.split("://")[1].split("?")[0] not in error["message"], "no address leaks"
    await client.send({"type": "ping", "ts": 7})
    assert await client.recv() == {"type": "pong", "ts": 7}
    assert len(app.connections) == 1, "still connected"
    await app.shutdown()
