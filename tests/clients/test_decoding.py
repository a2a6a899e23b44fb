"""The lenient decoder: what a newer server may send never breaks the client."""

from __future__ import annotations

import json

import msgspec
import pytest

import wsproto_schema as ws
from flowwire.client import ClientCore, FrameDecoder, Undecodable
from flowwire.client.core import Report
from tests.clients.frames import connect, delivered, last_subscribe, subscribe_reply


def status(seq: int, **extra: object) -> dict[str, object]:
    return {
        "type": "node.status",
        "topic": "workflow:w",
        "seq": seq,
        "ts": 1,
        "workflow_id": "w",
        "execution_id": "e",
        "node_id": "n",
        "status": "running",
        **extra,
    }


@pytest.fixture(params=["json", "msgpack"])
def codec(request: pytest.FixtureRequest) -> ws.Codec:
    return ws.MsgpackCodec() if request.param == "msgpack" else ws.JsonCodec()


def wire(codec: ws.Codec, frame: object) -> ws.WireData:
    return msgspec.msgpack.encode(frame) if codec.binary else json.dumps(frame)


def test_unknown_types_are_skipped_and_unknown_fields_ignored(codec: ws.Codec) -> None:
    decoder = FrameDecoder(codec)
    assert decoder.decode(wire(codec, {"type": "node.teleported", "seq": 3})) == []
    (frame,) = decoder.decode(wire(codec, status(1, colour="blue")))
    assert isinstance(frame, ws.NodeStatus) and frame.seq == 1


def test_batches_are_unpacked_in_order_even_around_a_bad_frame(codec: ws.Codec) -> None:
    decoder = FrameDecoder(codec)
    batch = {
        "type": "batch",
        "frames": [status(1), status(2, status="teleported"), {"type": "future"}, status(3)],
    }
    frames = decoder.decode(wire(codec, batch))
    assert [type(f) for f in frames] == [ws.NodeStatus, Undecodable, ws.NodeStatus]
    bad = frames[1]
    assert isinstance(bad, Undecodable) and (bad.topic, bad.seq) == ("workflow:w", 2)
    assert bad.error.path == "$.status"
    good = decoder.decode(wire(codec, {"type": "batch", "frames": [status(4), status(5)]}))
    assert [f.seq for f in good] == [4, 5]  # type: ignore[union-attr]
    assert decoder.batches == 1


def test_an_undecodable_event_keeps_its_place_in_the_stream() -> None:
    core = ClientCore()
    core.subscribe(["workflow:w"])
    ref = last_subscribe(connect(core)).ref
    core.receive(subscribe_reply(ref, "E", 0, recovered=False), 0)
    core.take_actions()
    for frame in FrameDecoder(ws.JsonCodec()).decode(
        json.dumps({"type": "batch", "frames": [status(1), status(2, status="x"), status(3)]})
    ):
        core.receive(frame, 0)
    actions = core.take_actions()
    assert [getattr(d, "seq", None) for d in delivered(actions)] == [1, 3], "no gap, no resync"
    assert [type(a.error) for a in actions if isinstance(a, Report)] == [ws.ProtocolError]
