"""Subscriptions, fan-out, publishing, heartbeat, failures and shutdown at the ASGI level."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

import wsproto_schema as ws
from asgi_plugin import FlowwireApp, MemoryBroker, StreamPosition
from tests.plugin.clients import AsgiClient, collect, eventually
from tests.plugin.conftest import status


async def subscribed(app: FlowwireApp, *topics: str, **scope: Any) -> AsgiClient:
    client = AsgiClient(app, **scope)
    await client.connect()
    reply = await client.request({"type": "subscribe", "ref": "s", "topics": list(topics)})
    assert reply["type"] == "reply", reply
    return client


async def test_publish_reaches_exact_and_pattern_subscribers_once() -> None:
    app = FlowwireApp()
    exact = await subscribed(app, "workflow:w")
    pattern = await subscribed(app, "workflow:*")
    both = await subscribed(app, "workflow:w", "workflow:*", "*")
    other = await subscribed(app, "workflow:other")
    for i in range(3):
        assert await app.publish(status(i)) == i + 1
    for client in (exact, pattern, both):
        got = await collect(client, 3)
        assert [f["seq"] for f in got] == [1, 2, 3]
        assert {f["topic"] for f in got} == {"workflow:w"}
        assert await client.nothing()
    assert await other.nothing()
    assert app.hub.deliveries == 9


async def test_subscribe_reply_has_positions_and_events_follow_it() -> None:
    app = FlowwireApp()
    for i in range(5):
        await app.publish(status(i))
    client = AsgiClient(app)
    await client.connect()
    reply = await client.request(
        {"type": "subscribe", "ref": "s1", "topics": ["workflow:w", "x:*"]}
    )
    position = await app.broker.position("workflow:w")
    assert reply["data"]["topics"] == {
        "workflow:w": {"epoch": position.epoch, "seq": 5, "recovered": False},
        "x:*": {"epoch": "", "seq": 0, "recovered": False},
    }
    snapshot = await client.recv()  # a late joiner sees the running execution first
    assert (snapshot["type"], snapshot["execution_id"], snapshot["last_seq"]) == (
        "execution.snapshot",
        "e",
        5,
    )
    assert snapshot["nodes"]["n4"]["status"] == "running"
    await app.publish(status(9))
    assert (await client.recv())["seq"] == 6


async def test_resume_with_since_replays_the_gap() -> None:
    app = FlowwireApp()
    for i in range(5):
        await app.publish(status(i))
    epoch = (await app.broker.position("workflow:w")).epoch
    client = AsgiClient(app)
    await client.connect()
    since = {"workflow:w": {"seq": 2, "epoch": epoch}}
    reply = await client.request(
        {"type": "subscribe", "ref": "s", "topics": ["workflow:w"], "since": since}
    )
    assert reply["data"]["topics"]["workflow:w"]["recovered"] is True
    assert [f["seq"] for f in await collect(client, 3)] == [3, 4, 5]
    stale = await subscribed(app, "workflow:x")
    answer = await stale.request(
        {
            "type": "subscribe",
            "ref": "t",
            "topics": ["workflow:w"],
            "since": {"workflow:w": {"seq": 2, "epoch": "old"}},
        }
    )
    assert answer["data"]["topics"]["workflow:w"]["recovered"] is False
    snapshot = await stale.recv()  # instead of a replay it cannot give: the state
    assert (snapshot["type"], snapshot["last_seq"]) == ("execution.snapshot", 5)
    assert await stale.nothing()


async def test_events_published_while_subscribing_are_not_lost_or_duplicated() -> None:
    """A broker that yields while positioning: live events wait behind the subscribe reply."""

    class SlowBroker(MemoryBroker):
        async def position(self, topic: str) -> StreamPosition:
            position = await super().position(topic)
            await asyncio.sleep(0.02)  # events keep coming after the position was read
            return position

    app = FlowwireApp(broker=SlowBroker())
    await app.publish(status(0))
    plain, snapshotted = AsgiClient(app), AsgiClient(app)
    await plain.connect()
    await snapshotted.connect()
    await plain.send({"type": "subscribe", "ref": "s", "topics": ["workflow:w"], "snapshot": False})
    await snapshotted.send({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    await asyncio.sleep(0.005)
    for i in range(1, 4):
        await app.publish(status(i))  # during the subscribe
    reply = await plain.recv()
    assert reply["type"] == "reply"
    assert reply["data"]["topics"]["workflow:w"]["seq"] == 1
    assert [f["seq"] for f in await collect(plain, 3)] == [2, 3, 4]
    assert await plain.nothing()
    # With a snapshot taken after those events, none of them is sent again.
    reply, snapshot = await collect(snapshotted, 2)
    assert snapshot["type"] == "execution.snapshot"
    assert snapshot["last_seq"] == 4 and set(snapshot["nodes"]) == {"n0", "n1", "n2", "n3"}
    assert await snapshotted.nothing()
    await app.publish(status(4))
    assert (await snapshotted.recv())["seq"] == 5


async def test_pattern_listed_first_does_not_reorder_a_replay() -> None:
    class SlowBroker(MemoryBroker):
        async def replay(self, topic: str, after: int, epoch: str) -> list[ws.Event] | None:
            events = await super().replay(topic, after, epoch)
            await asyncio.sleep(0.02)  # live events arrive while the replay is prepared
            return events

    app = FlowwireApp(broker=SlowBroker())
    for i in range(3):
        await app.publish(status(i))
    epoch = (await app.broker.position("workflow:w")).epoch
    client = AsgiClient(app)
    await client.connect()
    await client.send(
        {
            "type": "subscribe",
            "ref": "s",
            "topics": ["workflow:*", "workflow:w"],
            "since": {"workflow:w": {"seq": 1, "epoch": epoch}},
            "snapshot": False,
        }
    )
    await asyncio.sleep(0.005)
    for i in range(3, 6):
        await app.publish(status(i))
    assert (await client.recv())["type"] == "reply"
    assert [f["seq"] for f in await collect(client, 5)] == [2, 3, 4, 5, 6]
    assert await client.nothing()


async def test_unsubscribe_stops_delivery() -> None:
    app = FlowwireApp()
    client = await subscribed(app, "workflow:w", "workflow:*")
    reply = await client.request(
        {"type": "unsubscribe", "ref": "u", "topics": ["workflow:w", "nope"]}
    )
    assert reply["data"] == {"topics": ["workflow:w"]}
    await app.publish(status(1))
    assert (await client.recv())["seq"] == 1  # still via the pattern
    await client.request({"type": "unsubscribe", "ref": "u2", "topics": ["workflow:*"]})
    await app.publish(status(2))
    assert await client.nothing()
    assert app.hub.subscription_count() == 0


async def test_msgpack_subscribers_get_binary_frames() -> None:
    app = FlowwireApp()
    json_client = await subscribed(app, "workflow:w")
    msgpack_client = await subscribed(app, "workflow:w", subprotocols=["flowwire.v1.msgpack"])
    await app.publish(status(1, attempt=2))
    assert await json_client.recv() == await msgpack_client.recv()


async def test_publish_validates_events() -> None:
    app = FlowwireApp()
    with pytest.raises(ws.ProtocolError) as info:
        await app.publish(
            ws.NodeStatus(workflow_id="w", execution_id="e", node_id="n", status="bogus")
        )  # type: ignore[arg-type]
    assert info.value.path == "$.status"

    class Unregistered(ws.Event, tag="my.event", frozen=True, kw_only=True):
        x: int

    with pytest.raises(ws.ProtocolError) as info:
        await app.publish(Unregistered(workflow_id="w", execution_id="e", x=1))
    assert info.value.code is ws.ErrorCode.UNKNOWN_TYPE


async def test_publish_fills_topic_and_ts_and_keeps_given_ones() -> None:
    app = FlowwireApp()
    client = await subscribed(app, "custom", "workflow:w")
    await app.publish(status(1, topic="custom", ts=123))
    await app.publish(status(2))
    first, second = await collect(client, 2)
    assert (first["topic"], first["ts"], first["seq"]) == ("custom", 123, 1)
    assert second["topic"] == "workflow:w" and second["ts"] > 1_700_000_000_000


async def test_publish_threadsafe_keeps_order() -> None:
    app = FlowwireApp()
    client = await subscribed(app, "workflow:w")
    futures: list[Any] = []

    def engine() -> None:
        futures.extend(app.publish_threadsafe(status(i)) for i in range(100))

    thread = threading.Thread(target=engine)
    thread.start()
    await asyncio.to_thread(thread.join)
    seqs = [await asyncio.wrap_future(f) for f in futures]
    assert seqs == list(range(1, 101))
    assert [f["node_id"] for f in await collect(client, 100)] == [f"n{i}" for i in range(100)]


async def test_publish_threadsafe_before_start_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="not running yet"):
        FlowwireApp().publish_threadsafe(status(1))


async def test_heartbeat_pings_then_closes_4002() -> None:
    app = FlowwireApp(heartbeat_ms=40, heartbeat_timeout_ms=60)
    client = AsgiClient(app)
    await client.connect()
    ping = await client.recv(10)
    assert ping["type"] == "ping"
    await client.send({"type": "pong", "ts": ping["ts"]})
    closed = await client.expect_close(timeout=10)
    assert (closed.code, closed.reason) == (4002, "heartbeat timeout")
    assert [f["type"] for f in closed.frames] == ["ping"] * len(closed.frames)  # type: ignore[attr-defined]


async def test_answering_pings_keeps_the_connection() -> None:
    """Pings keep coming on the connection's own timer. (The timeout is generous: when
    silence closes a connection is the session's, tested without a clock in test_session.)"""
    app = FlowwireApp(heartbeat_ms=30, heartbeat_timeout_ms=30_000)
    client = AsgiClient(app)
    await client.connect()
    for _ in range(6):
        ping = await client.recv(10)
        await client.send({"type": "pong", "ts": ping["ts"]})
    await client.disconnect()


async def test_exception_inside_flowwire_closes_1011_without_detail() -> None:
    def authorize(principal: Any, action: str, topic: str) -> bool:
        if topic == "boom":
            raise RuntimeError("secret stack detail")
        return True

    app = FlowwireApp(authorize=authorize)
    watcher = await subscribed(app, "workflow:w")
    victim = await subscribed(app, "workflow:w")
    await victim.send({"type": "subscribe", "ref": "x", "topics": ["boom"]})
    closed = await victim.expect_close()
    assert (closed.code, closed.reason) == (1011, "internal error")
    await victim.disconnect()
    for i in range(3):
        await app.publish(status(i))
    assert [f["seq"] for f in await collect(watcher, 3)] == [1, 2, 3]
    assert len(app.connections) == 1


async def test_disconnect_leaves_the_hub_at_once_and_leaks_no_task() -> None:
    before = len(asyncio.all_tasks())
    app = FlowwireApp()
    clients = [await subscribed(app, "workflow:w", "workflow:*") for _ in range(5)]
    assert app.hub.subscription_count() == 10
    for client in clients:
        await client.disconnect()
    assert app.hub.subscription_count() == 0 and not app.connections
    await app.publish(status(1))  # nobody left: nothing is sent after close
    await eventually(lambda: len(asyncio.all_tasks()) <= before)


async def test_lifespan_shutdown_sends_goaway_then_1001() -> None:
    app = FlowwireApp(reconnect_ms=250, drain_on_signals=False)
    lifespan = ApplicationCommunicator(app, {"type": "lifespan", "asgi": {"version": "3.0"}})
    await lifespan.send_input({"type": "lifespan.startup"})
    assert await lifespan.receive_output(2) == {"type": "lifespan.startup.complete"}
    clients = [await subscribed(app, "workflow:w") for _ in range(3)]
    await app.publish(status(1))
    await lifespan.send_input({"type": "lifespan.shutdown"})
    for client in clients:
        closed = await client.expect_close()
        assert [f["type"] for f in closed.frames] == ["node.status", "goaway"]  # type: ignore[attr-defined]
        assert closed.frames[-1] == {
            "type": "goaway",
            "reason": "server shutdown",
            "reconnect_ms": 250,
        }  # type: ignore[attr-defined]
        assert closed.code == 1001
        await client.disconnect()
    assert await lifespan.receive_output(2) == {"type": "lifespan.shutdown.complete"}


async def test_lifespan_reports_broker_start_failure() -> None:
    class Broken(MemoryBroker):
        async def start(self) -> None:
            raise ConnectionError("no broker here")

    lifespan = ApplicationCommunicator(FlowwireApp(broker=Broken()), {"type": "lifespan"})
    await lifespan.send_input({"type": "lifespan.startup"})
    message = await lifespan.receive_output(2)
    assert message == {"type": "lifespan.startup.failed", "message": "no broker here"}


@pytest.mark.parametrize("since", [2, None])
async def test_an_event_its_catch_up_covered_is_not_sent_again(since: int | None) -> None:
    """Found by `python -m bench.soak` (Redis with `appendfsync everysec`): a client resumed
    on a process whose Redis listener was still reconnecting; its replay, read from Redis,
    went up to seq 251, and then the listener, catching up, handed the hub 248..251 again:
    the client got them twice. An event at or before the position a subscription started
    from (its replay's end, or the reply's position) is not sent on that subscription."""
    app = FlowwireApp()
    for i in range(5):
        await app.publish(status(i))
    position = await app.broker.position("workflow:w")
    client = AsgiClient(app)
    await client.connect()
    frame: dict[str, Any] = {"type": "subscribe", "ref": "s", "topics": ["workflow:w"]}
    if since is not None:
        frame["since"] = {"workflow:w": {"epoch": position.epoch, "seq": since}}
    reply = await client.request(frame)
    assert reply["data"]["topics"]["workflow:w"]["seq"] == 5
    caught_up = await collect(client, 3 if since is not None else 1)
    if since is not None:
        assert [f["seq"] for f in caught_up] == [3, 4, 5]
    else:
        assert caught_up[0]["type"] == "execution.snapshot"
    # A listener that fell behind delivers what the catch-up already covered.
    for event in await app.broker.replay("workflow:w", 2, position.epoch) or []:
        app.broker.sink.deliver(event)
    await app.publish(status(5))
    assert (await client.recv())["seq"] == 6
    assert await client.nothing()


def test_a_broker_serves_one_app_only() -> None:
    """A second app given the same broker would silently take its deliveries from the first
    (whose clients then hear nothing): refused at construction instead."""
    broker = MemoryBroker()
    first = FlowwireApp(broker=broker)
    with pytest.raises(ValueError, match="already serves another flowwire app"):
        FlowwireApp(broker=broker)
    assert broker.sink is first.runtime


def test_a_frame_a_codec_drops_is_encoded_once_per_codec_not_once_per_subscriber() -> None:
    """A wire profile encodes a frame it has no name for as "": that result is kept for
    the codec's other subscribers like any other (it was encoded again for each)."""
    from asgi_plugin.core.hub import Hub

    class Dropping(ws.JsonCodec):
        def __init__(self) -> None:
            super().__init__()
            self.encodes = 0

        def encode(self, frame: ws.Frame) -> str:
            self.encodes += 1
            return ""

    class Member:
        def __init__(self, codec: ws.Codec) -> None:
            self.codec = codec
            self.got: list[object] = []

        def deliver(self, event: object, data: object) -> bool:
            self.got.append(data)
            return True

    codecs = [Dropping(), Dropping()]
    hub: Hub[Member] = Hub(on_overflow=lambda member: None)
    members = [Member(codec) for codec in codecs for _ in range(5)]
    for member in members:
        hub.subscribe(member, ["workflow:w"])
    hub.deliver(
        ws.NodeToken(
            topic="workflow:w",
            seq=1,
            ts=1,
            workflow_id="w",
            execution_id="e",
            node_id="a",
            delta="x",
        )
    )
    assert [codec.encodes for codec in codecs] == [1, 1]
    assert all(member.got == [""] for member in members)
