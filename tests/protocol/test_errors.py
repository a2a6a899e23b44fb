"""Bad input becomes one ProtocolError with a code, the JSON path and a readable message."""

from __future__ import annotations

import msgspec
import pytest

import wsproto_schema as ws

JSON = ws.JsonCodec()
MSGPACK = ws.MsgpackCodec()

CASES = [
    (b"{bad", "invalid_json", None, "JSON is malformed"),
    (b"", "invalid_json", None, "truncated"),
    (b"[1, 2]", "invalid_frame", "$", "$: expected object, got array"),
    (b'"ping!"', "invalid_frame", "$", "$: expected object, got str"),
    (b'{"type": "jump"}', "unknown_type", "$.type", "$.type: unknown frame type 'jump'"),
    (b'{"type": 3}', "invalid_frame", "$.type", "$.type: expected str"),
    (
        b'{"type": "subscribe", "topics": ["a", "b", 7]}',
        "invalid_frame",
        "$.topics[2]",
        "$.topics[2]: expected str, got int",
    ),
    (b'{"type": "subscribe"}', "invalid_frame", "$.topics", "$.topics: required field is missing"),
    (
        b'{"type": "subscribe", "topics": ["a"], "topic": "b"}',
        "invalid_frame",
        "$.topic",
        "$.topic: unknown field",
    ),
    (
        b'{"event": "subscribe", "topics": ["a"]}',
        "invalid_frame",
        "$.type",
        "$.type: required field is missing (found `event`: flowwire frames are tagged with `type`)",
    ),
    (
        b'{"type": "control", "execution_id": "e", "action": "jump"}',
        "invalid_frame",
        "$.action",
        "$.action: invalid enum value 'jump'",
    ),
    (
        b'{"type": "execute", "workflow": {"id": "w", "nodes": [{"id": "a"}]}}',
        "invalid_frame",
        "$.workflow.nodes[0].kind",
        "$.workflow.nodes[0].kind: required field is missing",
    ),
    (
        b'{"type": "subscribe", "topics": []}',
        "invalid_frame",
        "$.topics",
        "$.topics: expected array of length >= 1",
    ),
    (
        b'{"type": "subscribe", "topics": ["a"], "since": {"a": {"seq": -1, "epoch": "x"}}}',
        "invalid_frame",
        "$.since[...].seq",  # msgspec does not name the key of a dict entry
        "expected int >= 0",
    ),
]


@pytest.mark.parametrize(("data", "code", "path", "message"), CASES)
def test_decode_errors(data: bytes, code: str, path: str | None, message: str) -> None:
    with pytest.raises(ws.ProtocolError) as info:
        JSON.decode_command(data)
    error = info.value
    assert error.code.value == code
    assert error.path == path
    assert message in error.message
    assert error.close_code is None
    frame = error.to_frame(ref="r1")
    assert frame == ws.ErrorFrame(ref="r1", code=error.code, message=error.message, path=path)


def test_too_large_carries_close_code() -> None:
    with pytest.raises(ws.ProtocolError) as info:
        JSON.decode_command(b'{"type":"subscribe","topics":["' + b"x" * 200 + b'"]}', max_bytes=100)
    assert info.value.code is ws.ErrorCode.TOO_LARGE
    assert info.value.close_code is ws.CloseCode.MESSAGE_TOO_BIG


def test_size_is_counted_in_utf8_bytes() -> None:
    text = '{"type":"ping","ref":"' + "é" * 40 + '"}'
    assert len(text) < 100 < len(text.encode())
    with pytest.raises(ws.ProtocolError):
        JSON.decode_command(text, max_bytes=100)
    assert JSON.decode_command(text, max_bytes=200) == ws.PingCommand(ref="é" * 40)


def test_msgpack_errors() -> None:
    with pytest.raises(ws.ProtocolError) as info:
        MSGPACK.decode_command(b"\xc1\x00")
    assert info.value.code is ws.ErrorCode.INVALID_JSON
    with pytest.raises(ws.ProtocolError) as info:
        MSGPACK.decode_command(msgspec.msgpack.encode({"type": "subscribe", "topics": [1]}))
    assert (info.value.code, info.value.path) == (ws.ErrorCode.INVALID_FRAME, "$.topics[0]")
    with pytest.raises(ws.ProtocolError) as info:
        MSGPACK.decode_command('{"type":"ping"}')
    assert "binary frames" in info.value.message
    with pytest.raises(ws.ProtocolError) as info:
        MSGPACK.decode_command(msgspec.msgpack.encode({"cmd": "ping"}))
    assert "found `cmd`" in info.value.message


def test_client_side_decoding_is_forward_compatible() -> None:
    assert JSON.decode_server_frame(b'{"type":"session.update","x":1}') is None
    assert JSON.decode_server_frame(b'{"type":"pong","ts":3,"new_field":[1]}') == ws.Pong(ts=3)
    with pytest.raises(ws.ProtocolError) as info:
        JSON.decode_server_frame(b'{"type":"session.update"}', strict=True)
    assert info.value.code is ws.ErrorCode.UNKNOWN_TYPE


def test_commands_are_strict_and_events_publishable() -> None:
    with pytest.raises(ws.ProtocolError):
        JSON.decode_event(b'{"type":"subscribe","topics":["a"]}')
    event = JSON.decode_event(
        b'{"type":"node.status","workflow_id":"w","execution_id":"e","node_id":"n","status":"running"}'
    )
    assert isinstance(event, ws.NodeStatus) and event.seq == 0
