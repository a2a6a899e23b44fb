"""Deadlines: every connection's timer behind one loop timer, in order, each once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from asgi_plugin import FlowwireApp
from asgi_plugin.transport.deadlines import Deadlines
from tests.plugin.clients import AsgiClient


async def test_callbacks_run_in_deadline_order_and_cancelled_ones_never() -> None:
    deadlines = Deadlines()
    ran: list[str] = []
    done = asyncio.get_running_loop().create_future()
    deadlines.call_later(0.03, lambda: (ran.append("c"), done.set_result(None)))
    deadlines.call_later(0.01, lambda: ran.append("a"))
    deadlines.call_later(0.02, lambda: ran.append("b")).cancel()
    deadlines.call_later(0.015, lambda: ran.append("b2"))
    await done
    assert ran == ["a", "b2", "c"]
    assert len(deadlines) == 0


async def test_a_callback_that_schedules_later_does_not_delay_an_earlier_deadline() -> None:
    deadlines = Deadlines()
    ran: list[str] = []
    done = asyncio.get_running_loop().create_future()

    def first() -> None:
        ran.append("first")
        deadlines.call_later(60, lambda: ran.append("much later"))

    deadlines.call_later(0.0, first)
    deadlines.call_later(0.02, lambda: (ran.append("second"), done.set_result(None)))
    await asyncio.wait_for(done, 10)
    assert ran == ["first", "second"]


async def test_a_failing_callback_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deadlines = Deadlines()
    done = asyncio.get_running_loop().create_future()

    def broken() -> None:
        raise RuntimeError("boom")

    deadlines.call_later(0.0, broken)
    deadlines.call_later(0.0, lambda: done.set_result(None))
    with caplog.at_level(logging.ERROR, logger="flowwire"):
        await asyncio.wait_for(done, 10)
    assert "a connection's timer failed" in caplog.text
    assert "boom" in caplog.text


async def test_connections_share_one_timer_and_their_heartbeats_go_out() -> None:
    app = FlowwireApp(drain_on_signals=False, heartbeat_ms=50)
    await app.start()
    clients = [AsgiClient(app, subprotocols=["flowwire.v1.json"]) for _ in range(3)]
    for client in clients:
        await client.connect()
    assert len(app.runtime.deadlines) >= 3
    for client in clients:
        ping = await client.recv(timeout=5)
        assert ping["type"] == "ping"
    for client in clients:
        await client.disconnect()
    await app.shutdown()


async def test_heartbeats_spread_over_a_window_share_a_pass_and_none_runs_early() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    before = loop.time()
    delays = [25 + i * 0.002 for i in range(100)]  # 100 connections 2 ms apart
    scheduled = [deadlines.call_later(delay, lambda: None) for delay in delays]
    after = loop.time()
    # A few ticks of 0.25 s, where 100 loop wake-ups would have been.
    assert len({deadline.when for deadline in scheduled}) <= 2 + (after - before) / 0.25
    for delay, deadline in zip(delays, scheduled, strict=True):
        assert before + delay <= deadline.when <= after + delay + 0.25
    # Short delays (tests, auth timeouts) stay within a tenth of themselves, in order.
    short = [deadlines.call_later(0.01 * k, lambda: None) for k in range(1, 20)]
    whens = [deadline.when for deadline in short]
    assert whens == sorted(whens)
    for deadline in scheduled + short:
        deadline.cancel()
