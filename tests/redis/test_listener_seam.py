"""The Redis listener driven through its seam (`ListenerBroker`), without Redis: the
orderings a real server produces only now and then, made to happen every time."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

import wsproto_schema as ws
from asgi_plugin.brokers.base import StreamPosition
from asgi_plugin.brokers.redis_listener import RedisListener

TOPIC = "workflow:w"


def event(seq: int) -> ws.NodeStatus:
    return ws.NodeStatus(
        topic=TOPIC,
        seq=seq,
        ts=1,
        workflow_id="w",
        execution_id="e",
        node_id=f"n{seq}",
        status="running",
    )


class Sink:
    def __init__(self) -> None:
        self.delivered: list[int] = []

    def deliver(self, item: ws.Event) -> None:
        self.delivered.append(item.seq)

    def reset(self, topic: str) -> None:
        raise AssertionError(f"unexpected reset of {topic}")

    async def run_forwarded(self, command: Any, principal: Any) -> dict[str, Any]:
        raise AssertionError("no commands here")


class FakeBroker:
    """What the listener asks of its broker; `position` answers when the test says so."""

    process_id = "p"
    socket_timeout_ms = 1000

    def __init__(self) -> None:
        self.sink = Sink()
        self.position_asked = asyncio.Event()
        self.answer_position = asyncio.Event()
        self.stream = {seq: event(seq) for seq in range(1, 200)}

    def client(self, *, retries: int = 1, **overrides: Any) -> Any:
        raise AssertionError("no connection in this test")

    def key(self, kind: str, name: str) -> str:
        return f"t:{kind}:{name}"

    def channel(self, topic: str) -> str:
        return self.key("ch", topic)

    def decode(self, payload: bytes, seq: int) -> ws.Event:
        return msgspec.structs.replace(event(seq), seq=seq)

    async def position(self, topic: str) -> StreamPosition:
        self.position_asked.set()
        await self.answer_position.wait()
        return StreamPosition("E", 97)  # read before event 98 was published

    async def range(self, topic: str, first: int, last: int | None = None) -> list[ws.Event]:
        return [self.stream[s] for s in range(first, (last or 199) + 1)]

    async def topics_since(self, since_ms: int) -> list[str]:
        return []

    async def new_epoch(self, topic: str, seen: str) -> str:
        return seen

    async def run_forwarded(self, request: dict[str, Any]) -> dict[str, Any]:
        return {}

    def answered(self, answer: dict[str, Any]) -> None:
        return None

    async def respond(self, process_id: str, answer: dict[str, Any]) -> None:
        return None

    async def drop_idle_connections(self) -> None:
        return None


class FakePubSub:
    def __init__(self, listener: RedisListener) -> None:
        self.listener = listener

    async def subscribe(self, *channels: str) -> None:
        for channel in channels:  # Redis confirms at once
            await self.listener._handle({"type": "subscribe", "channel": channel.encode()})

    async def psubscribe(self, *patterns: str) -> None:
        for pattern in patterns:
            await self.listener._handle({"type": "psubscribe", "channel": pattern.encode()})


async def test_an_event_that_arrives_while_watch_reads_the_position_is_not_delivered_twice() -> (
    None
):
    broker = FakeBroker()
    listener = RedisListener(broker)  # type: ignore[arg-type]
    listener.connected = True
    listener._pubsub = FakePubSub(listener)
    watching = asyncio.create_task(listener.watch(TOPIC))
    await broker.position_asked.wait()
    await listener._event(TOPIC, 98, "E", b"98")  # published after the position was read
    broker.answer_position.set()
    await watching
    await listener._event(TOPIC, 99, "E", b"99")
    assert broker.sink.delivered == [98, 99], "98 once: the position read earlier must not win"
