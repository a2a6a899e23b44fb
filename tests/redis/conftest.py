"""Fixtures of the Redis tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from asgi_plugin import FlowwireApp
from flowwire import RedisBroker
from tests.redis_server import RedisServer


@pytest.fixture
async def apps(redis_server: RedisServer) -> AsyncIterator[list[FlowwireApp]]:
    """Two apps on one Redis, as two processes would be (a publisher and a receiver, say).
    A module that needs them configured otherwise defines its own `apps`."""
    started = [
        FlowwireApp(broker=RedisBroker(redis_server.url), drain_on_signals=False) for _ in range(2)
    ]
    for app in started:
        await app.start()
    yield started
    for app in started:
        await app.shutdown()
