"""A client that stops reading fills only its own queue: it is closed with 4008, publishing
never waits for it, and everyone else receives every event in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asgi_plugin import FlowwireApp
from tests.plugin.clients import AsgiClient, check, collect, eventually, websocket_scope
from tests.plugin.conftest import status


class FrozenClient:
    """A WebSocket whose `send` blocks while frozen, like a server behind a full TCP buffer."""

    def __init__(self, app: FlowwireApp) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.thawed = asyncio.Event()
        self.thawed.set()
        self.task = asyncio.create_task(app(websocket_scope(), self.inbox.get, self._send))

    async def _send(self, message: dict[str, Any]) -> None:
        await self.thawed.wait()
        if message["type"] == "websocket.send":
            check(message["text"])
        self.sent.append(message)

    async def subscribe(self, topic: str) -> None:
        await self.inbox.put({"type": "websocket.connect"})
        await self.inbox.put(
            {"type": "websocket.receive", "text": f'{{"type":"subscribe","topics":["{topic}"]}}'}
        )
        await eventually(lambda: len(self.sent) >= 3)  # accept, welcome, reply


async def test_frozen_client_is_closed_4008_and_others_get_everything() -> None:
    app = FlowwireApp(max_queued_frames=10)
    healthy = [AsgiClient(app) for _ in range(3)]
    for client in healthy:
        await client.connect()
        await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    frozen = FrozenClient(app)
    await frozen.subscribe("workflow:w")
    frozen.thawed.clear()
    seqs = []
    for i in range(200):
        seqs.append(await app.publish(status(i)))  # never waits for the frozen one
        await asyncio.sleep(0)  # as between an engine's steps: writers get to run
    assert app.stats.slow_consumer_closes == 1
    assert app.stats.frames_dropped >= 1
    assert app.hub.subscription_count() == 3, "the slow connection left the hub at once"
    assert max(len(c.writer) for c in app.connections) <= 10
    for client in healthy:
        assert [f["seq"] for f in await collect(client, 200)] == seqs
    frozen.thawed.set()
    await eventually(lambda: frozen.sent[-1]["type"] == "websocket.close")
    assert frozen.sent[-1] == {"type": "websocket.close", "code": 4008, "reason": "slow consumer"}
    delivered = [m for m in frozen.sent if m["type"] == "websocket.send"]
    assert len(delivered) <= 2 + 1 + 1  # welcome, reply, at most the frame it was stuck on
    await frozen.inbox.put({"type": "websocket.disconnect", "code": 4008})
    await asyncio.wait_for(frozen.task, 2)
    assert len(app.connections) == 3


@pytest.mark.parametrize("eager", [False, True])
async def test_a_burst_larger_than_the_queue(eager: bool) -> None:
    """Queued, a burst bigger than the bound closes the subscriber (size the bound for your
    largest burst). Sent eagerly, a burst to a client whose sends complete at once never
    queues at all."""
    app = FlowwireApp(max_queued_frames=10, eager_send=eager)
    client = AsgiClient(app)
    await client.connect()
    await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    for i in range(11):  # in one go, without yielding to the writer
        await app.publish(status(i))
    if eager:
        assert [f["seq"] for f in await collect(client, 11)] == list(range(1, 12))
        assert app.stats.slow_consumer_closes == 0
    else:
        closed = await client.expect_close()
        assert closed.code == 4008
        assert app.stats.frames_dropped == 11


async def test_client_that_never_takes_the_close_is_abandoned() -> None:
    app = FlowwireApp(max_queued_frames=5, close_timeout_ms=100)
    frozen = FrozenClient(app)
    await frozen.subscribe("workflow:w")
    frozen.thawed.clear()
    for i in range(20):
        await app.publish(status(i))
    await asyncio.wait_for(frozen.task, 2)  # the ASGI call returns: the server may drop the socket
    assert not app.connections
    assert app.stats.slow_consumer_closes == 1
