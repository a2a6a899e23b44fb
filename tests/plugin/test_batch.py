"""`batch` frames: frames queued together for a client that opted in go out as one."""

from __future__ import annotations

from typing import Any

import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from tests.plugin.clients import AsgiClient
from tests.plugin.conftest import status


async def subscribe(
    app: FlowwireApp, batch: bool, subprotocols: list[str] | None = None
) -> AsgiClient:
    client = AsgiClient(app, subprotocols=subprotocols)
    await client.connect()
    await client.request(
        {"type": "subscribe", "ref": "s", "topics": ["workflow:w"], "batch": batch}
    )
    return client


def flatten(frames: list[dict[str, Any]]) -> list[int]:
    seqs: list[int] = []
    for frame in frames:
        if frame["type"] == "batch":
            seqs += flatten(frame["frames"])
        else:
            seqs.append(frame["seq"])
    return seqs


@pytest.mark.parametrize("subprotocols", [None, ["flowwire.v1.msgpack"]])
async def test_queued_frames_arrive_as_batches(subprotocols: list[str] | None) -> None:
    app = FlowwireApp()
    batched = await subscribe(app, True, subprotocols)
    single = await subscribe(app, False, subprotocols)
    for i in range(300):  # one burst, without yielding to the writers
        await app.publish(status(i))
    batches = []
    while sum(len(f["frames"]) if f["type"] == "batch" else 1 for f in batches) < 300:
        batches.append(await batched.recv())
    assert flatten(batches) == list(range(1, 301))
    assert {f["type"] for f in batches} == {"batch"}
    assert [len(f["frames"]) for f in batches] == [256, 44]  # at most 256 frames per batch
    singles = [await single.recv() for _ in range(300)]
    assert [f["type"] for f in singles] == ["node.status"] * 300


async def test_a_lone_frame_is_not_wrapped() -> None:
    client = await subscribe(app := FlowwireApp(), True)
    await app.publish(status(1))
    assert (await client.recv())["type"] == "node.status"
    for i in range(2, 5):  # one loop iteration: one batch
        await app.publish(status(i))
    assert flatten([await client.recv()]) == [2, 3, 4]


def test_python_clients_unpack_batches() -> None:
    codec = ws.JsonCodec()
    from asgi_plugin.transport.writer import batch

    wire = batch(
        [codec.encode(ws.Ping(ts=1)), '{"type":"from.the.future"}', codec.encode(ws.Pong())]
    )
    frame = codec.decode_server_frame(wire)
    assert frame == ws.Batch(frames=[ws.Ping(ts=1), ws.Pong()])  # unknown types skipped
    with pytest.raises(ws.ProtocolError) as info:
        codec.decode_server_frame(batch(['{"type":"ping","ts":"x"}']), strict=True)
    assert info.value.path == "$.frames[0].ts"
