"""Through Redis, an event is encoded once, at publish: every process fans out those bytes.

The APPEND script splices the seq into the JSON the publisher encoded; the
listener hands the frame to the hub as it came. JSON clients get exactly the
bytes `JsonCodec.encode` would write, the Struct is decoded once per process
only for a MessagePack client, and a frame from a process of an earlier version
(published without its seq) is still delivered whole.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from flowwire import RedisBroker
from tests.plugin import clients
from tests.plugin.clients import AsgiClient, collect, eventually
from tests.redis_server import RedisServer

pytestmark = [pytest.mark.redis]

TOPIC = "workflow:w"


async def subscriber(app: FlowwireApp, subprotocol: str = "flowwire.v1.json") -> AsgiClient:
    client = AsgiClient(app, subprotocols=[subprotocol])
    await client.connect()
    frame = {"type": "subscribe", "ref": "s", "topics": [TOPIC], "snapshot": False}
    reply = await client.request(frame, timeout=5)
    assert reply["type"] == "reply", reply
    return client


def event(i: int) -> ws.NodeStatus:
    # Text outside ASCII, quotes and a nested "seq": what the splice must leave alone.
    output = {"seq": -i, "text": 'café "ünïcode" ✓', "ts": 0}
    return ws.NodeStatus(
        workflow_id="w", execution_id="e", node_id=f"n{i}", status="running", output=output
    )


def counting_decodes(app: FlowwireApp, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    broker = app.runtime.broker
    assert isinstance(broker, RedisBroker)
    decoded: list[bytes] = []
    decode = broker.decode_frame

    def counted(frame: bytes) -> ws.Event:
        decoded.append(frame)
        return decode(frame)

    monkeypatch.setattr(broker, "decode_frame", counted)
    return decoded


async def test_json_clients_get_the_publishers_bytes_and_nothing_is_decoded(
    apps: list[FlowwireApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher, receiver = apps
    decoded = counting_decodes(receiver, monkeypatch)
    first, second = await subscriber(receiver), await subscriber(receiver)
    clients.RECEIVED.clear()
    published = [await publisher.runtime.publish_event(event(i)) for i in range(5)]
    for client in (first, second):
        got = await collect(client, 5, timeout=5)
        assert [f["seq"] for f in got] == [1, 2, 3, 4, 5]
    expected = [ws.JsonCodec().encode(e) for e in published]
    assert clients.RECEIVED[:5] == expected
    assert clients.RECEIVED[5:] == expected
    assert decoded == [], "JSON subscribers only: the frame is never decoded"


async def test_a_msgpack_client_costs_one_decode_per_event_per_process(
    apps: list[FlowwireApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher, receiver = apps
    decoded = counting_decodes(receiver, monkeypatch)
    packed = [await subscriber(receiver, "flowwire.v1.msgpack") for _ in range(2)]
    text = await subscriber(receiver)
    published = [await publisher.runtime.publish_event(event(i)) for i in range(3)]
    for client in packed:
        got = await collect(client, 3, timeout=5)
        assert got == [msgspec.to_builtins(e) for e in published]
    assert [f["seq"] for f in await collect(text, 3, timeout=5)] == [1, 2, 3]
    assert len(decoded) == 3, "one decode per event in this process, not per client"


async def test_the_stream_keeps_the_frame_with_its_seq_for_replays(
    apps: list[FlowwireApp],
) -> None:
    publisher, receiver = apps
    published = [await publisher.runtime.publish_event(event(i)) for i in range(3)]
    broker = receiver.runtime.broker
    assert isinstance(broker, RedisBroker)
    assert await broker.replay(TOPIC, 1, (await broker.position(TOPIC)).epoch) == published[1:]
    raw = await broker.client().xrange(broker.key("stream", TOPIC), "2-0", "2-0")
    assert raw[0][1][b"e"].decode() == ws.JsonCodec().encode(published[1])


async def test_a_frame_published_by_an_earlier_version_without_its_seq_is_delivered(
    apps: list[FlowwireApp],
) -> None:
    publisher, receiver = apps
    client = await subscriber(receiver)
    await publisher.runtime.publish_event(event(1))
    broker = publisher.runtime.broker
    assert isinstance(broker, RedisBroker)
    # What the APPEND script of an earlier version published: the event without its seq.
    old = msgspec.structs.replace(
        await publisher.runtime.publish_event(event(2)), topic=TOPIC, seq=0
    )
    position = await broker.position(TOPIC)
    redis: Any = broker.client()
    await redis.incr(broker.key("seq", TOPIC))
    message = f"{position.seq + 1} {position.epoch} ".encode() + msgspec.json.encode(old)
    assert await redis.publish(broker.channel(TOPIC), message) == 1
    got = await collect(client, 3, timeout=5)
    assert [f["seq"] for f in got] == [1, 2, 3]
    assert got[2] == msgspec.to_builtins(msgspec.structs.replace(old, seq=3))
    await redis.aclose()


async def test_a_wire_profile_client_gets_its_shape_of_a_frame_that_came_encoded(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile's codec is a JSON codec too, but its frames are not the canonical ones: it
    gets the event decoded and encoded in its shape (it got the canonical bytes)."""
    from asgi_plugin import FlowwireMiddleware, UrlSubscription
    from tests.servers.apps import hello

    monkeypatch.setattr(clients, "check", lambda data: msgspec.json.decode(data))
    route = UrlSubscription(
        "/workflow/{workflow_id}", topics=["workflow:{workflow_id}"], profile="type-data"
    )
    publisher = FlowwireApp(broker=RedisBroker(redis_server.url), drain_on_signals=False)
    mounted = FlowwireMiddleware(
        hello,
        path="/api/ws",
        broker=RedisBroker(redis_server.url),
        url_subscriptions=[route],
        drain_on_signals=False,
    )
    await publisher.start()
    await mounted.flowwire.start()
    try:
        client = AsgiClient(mounted, path="/api/ws/workflow/w")
        await client.comm.send_input({"type": "websocket.connect"})
        assert (await client.comm.receive_output(2))["type"] == "websocket.accept"
        await eventually(lambda: bool(mounted.flowwire.runtime.hub.subscribers(TOPIC)))
        done = ws.NodeStatus(
            workflow_id="w", execution_id="e", node_id="a", status="succeeded", output=7
        )
        await publisher.runtime.publish_event(done)
        frame = await client.recv(5)
        assert frame["type"] == "node_status", frame
        assert (frame["data"]["status"], frame["data"]["result"]) == ("completed", 7)
    finally:
        await mounted.flowwire.shutdown()
        await publisher.shutdown()


async def test_an_event_type_filter_applies_to_frames_that_came_encoded(
    apps: list[FlowwireApp],
) -> None:
    publisher, receiver = apps
    client = AsgiClient(receiver)
    await client.connect()
    frame = {"type": "subscribe", "ref": "s", "topics": [TOPIC], "types": ["node.status"]}
    assert (await client.request(frame, timeout=5))["type"] == "reply"
    common = {"workflow_id": "w", "execution_id": "e", "node_id": "a"}
    await publisher.runtime.publish_event(ws.NodeToken(**common, delta="left out"))
    await publisher.runtime.publish_event(ws.NodeStatus(**common, status="running"))
    [got] = await collect(client, 1, timeout=5)
    assert (got["type"], got["seq"]) == ("node.status", 2)
    assert await client.nothing()
