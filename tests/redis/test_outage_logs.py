"""A Redis outage is told once and its end once, with its length; nothing is left unretrieved
or untold, and the app's life (started, connected, draining, stopped) is told at INFO."""

from __future__ import annotations

import gc
import logging
import re
from typing import Any

import pytest

from asgi_plugin import FlowwireApp
from flowwire import RedisBroker
from tests.plugin.clients import eventually
from tests.redis.test_broker import TOPIC, status, subscriber

pytestmark = [pytest.mark.redis]


async def test_an_outage_logs_one_warning_and_one_recovery(
    start_redis: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    redis = start_redis()
    app = FlowwireApp(broker=RedisBroker(redis.url, reconnect_max_ms=100), drain_on_signals=False)
    await app.start()
    await subscriber(app, TOPIC, "workflow:*", snapshot=False)  # confirmations of a reconnect
    redis.kill()
    await eventually(lambda: app.broker.health()["reconnects"] >= 3, timeout=10)
    redis.start()
    await eventually(lambda: app.broker.health()["ok"], timeout=10)
    await app.publish(status(1))
    await app.shutdown()
    gc.collect()  # unretrieved future exceptions are reported when the futures are collected
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    text = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in records)
    assert "never retrieved" not in text, text
    assert not [r for r in records if r.exc_info], text
    lost = [
        r
        for r in records
        if r.levelno == logging.WARNING and "lost its connection" in r.getMessage()
    ]
    back = [
        r for r in records if r.levelno == logging.INFO and "Redis is back after" in r.getMessage()
    ]
    assert (len(lost), len(back)) == (1, 1), text
    outage = re.fullmatch(
        r"flowwire: Redis is back after (\d+\.\d) s; delivery caught up", back[0].getMessage()
    )
    assert outage is not None, text
    assert float(outage.group(1)) > 0, "the outage's length"
    told = [r.getMessage() for r in records if r.levelno == logging.INFO and r not in back]
    expected = [
        r"flowwire: connected to Redis at unix://\S+ \(process \S+\)",
        r"flowwire: started \(redis broker, process \d+\)",
        r"flowwire: draining: goaway to \d+ connection\(s\)",
        r"flowwire: stopped",
    ]
    assert len(told) == len(expected), text
    for line, pattern in zip(told, expected, strict=True):
        assert re.fullmatch(pattern, line), text
