"""build → encode (JSON, MessagePack) → valid under JSON Schema → decode → equal, for every frame."""

from __future__ import annotations

import msgspec
import pytest

import wsproto_schema as ws
from tests.protocol.examples import CLIENT_FRAMES, SERVER_FRAMES

JSON = ws.JsonCodec()
MSGPACK = ws.MsgpackCodec()


def test_every_frame_type_has_an_example() -> None:
    assert {type(f) for f in SERVER_FRAMES} == set(ws.registry.server_frames())
    assert {type(f) for f in CLIENT_FRAMES} == set(ws.registry.client_frames())


@pytest.mark.parametrize("frame", SERVER_FRAMES, ids=lambda f: ws.frame_tag(type(f)))
def test_server_frame_round_trip(frame: ws.Frame, server_validator, flowwire_contract) -> None:
    text = JSON.encode(frame)
    assert isinstance(text, str)
    binary = MSGPACK.encode(frame)
    assert isinstance(binary, bytes)
    for wire, codec in ((text, JSON), (binary, MSGPACK)):
        server_validator.validate(msgspec.json.decode(text))
        flowwire_contract.assert_server_frame(wire)
        assert codec.decode_server_frame(wire, strict=True) == frame
        assert codec.decode_server_frame(wire) == frame


@pytest.mark.parametrize("frame", CLIENT_FRAMES, ids=lambda f: ws.frame_tag(type(f)))
def test_client_frame_round_trip(frame: ws.Command, client_validator, flowwire_contract) -> None:
    text = JSON.encode(frame)
    binary = MSGPACK.encode(frame)
    client_validator.validate(msgspec.json.decode(text))
    client_validator.validate(msgspec.msgpack.decode(binary))
    for wire, codec in ((text, JSON), (binary, MSGPACK)):
        flowwire_contract.assert_client_frame(wire)
        assert codec.decode_command(wire) == frame


def test_json_is_text_and_msgpack_is_binary() -> None:
    assert not JSON.binary and JSON.subprotocol == "flowwire.v1.json"
    assert MSGPACK.binary and MSGPACK.subprotocol == "flowwire.v1.msgpack"


def test_optional_fields_left_out_are_absent_on_the_wire() -> None:
    frame = ws.NodeStatus(
        topic="t", seq=1, ts=1, workflow_id="w", execution_id="e", node_id="n", status="running"
    )
    assert msgspec.json.decode(JSON.encode(frame)) == {
        "type": "node.status",
        "topic": "t",
        "seq": 1,
        "ts": 1,
        "workflow_id": "w",
        "execution_id": "e",
        "node_id": "n",
        "status": "running",
    }


def test_unpublished_event_lacks_server_assigned_fields() -> None:
    draft = ws.NodeToken(workflow_id="w", execution_id="e", node_id="n", delta="x")
    assert ws.missing_server_fields(draft) == ["topic", "seq", "ts"]
    wire = JSON.encode(draft)
    assert JSON.decode_event(wire) == draft  # publishable as is
    with pytest.raises(ws.ProtocolError) as info:
        JSON.decode_server_frame(wire, strict=True)
    assert info.value.path == "$.topic"
    published = msgspec.structs.replace(draft, topic="workflow:w", seq=1, ts=5)
    assert ws.missing_server_fields(published) == []
