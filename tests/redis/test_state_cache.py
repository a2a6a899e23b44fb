"""A process keeps the state of the executions it publishes: one Redis call per event.

The APPEND script stores an execution's folded state only if its version is the
one the publisher read; the publisher keeps what it stored, so its next event of
that execution needs no read. Another process writing the same execution moves
the version on: the script refuses the stale fold and the publisher reads again,
so the state stays the fold of every event in seq order.
"""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

from asgi_plugin import FlowwireApp, Materializer
from flowwire import RedisBroker
from tests.engine.streams import execution_events

pytestmark = [pytest.mark.redis]

TOPIC = "workflow:w"


def counting_calls(app: FlowwireApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    broker = app.runtime.broker
    assert isinstance(broker, RedisBroker)
    calls: list[str] = []
    command, call = broker._command, broker._call

    async def counted_command(name: str, *args: Any) -> Any:
        calls.append(name)
        return await command(name, *args)

    async def counted_call(script: str, keys: list[str], args: list[Any]) -> Any:
        calls.append(script)
        return await call(script, keys, args)

    monkeypatch.setattr(broker, "_command", counted_command)
    monkeypatch.setattr(broker, "_call", counted_call)
    return calls


async def test_one_process_reads_an_executions_state_once(
    apps: list[FlowwireApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher, _ = apps
    calls = counting_calls(publisher, monkeypatch)
    events = execution_events("x", 60, seed=3)[:-1]  # still running at the end
    for event in events:
        await publisher.publish(event)
    assert calls.count("hmget") == 1
    assert calls.count("append") == len(events)


async def test_two_processes_publishing_one_execution_keep_its_state_whole(
    apps: list[FlowwireApp],
) -> None:
    events = execution_events("x", 200, seed=9)[:-1]
    chooser = random.Random(4)
    published = [await chooser.choice(apps).publish_event(event) for event in events]
    expected = Materializer()
    for event in published:
        expected.apply(event)
    want = expected.snapshots(TOPIC, live_only=True, topic_seq=len(published))
    for app in apps:
        got = await app.runtime.broker.snapshots(TOPIC, live_only=True)
        assert [msgspec.to_builtins(s) for s in got] == [msgspec.to_builtins(s) for s in want]
