"""Deeply nested frames get an `invalid_frame` error on both codecs, before any recursion."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import wsproto_schema as ws
from wsproto_schema.depth import MAX_DEPTH, json_depth, msgpack_depth


def nested(levels: int) -> Any:
    value: Any = 1
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


def frame(value: Any) -> dict[str, Any]:
    return {"type": "input", "ref": "i", "execution_id": "e", "node_id": "n", "value": value}


@pytest.mark.parametrize("levels", [975, 5000, 100_000])
def test_a_deep_json_frame_is_an_invalid_frame(levels: int) -> None:
    data = (
        '{"type":"input","ref":"i","execution_id":"e","node_id":"n","value":'
        + "[" * levels
        + "]" * levels
        + "}"
    )
    with pytest.raises(ws.ProtocolError) as caught:
        ws.JsonCodec().decode_command(data)
    assert (caught.value.code, caught.value.path) == (ws.ErrorCode.INVALID_FRAME, "$")
    assert "nests more than 64 levels" in caught.value.message


def test_a_deep_msgpack_frame_is_an_invalid_frame() -> None:
    levels = 3000
    data = msgspec.msgpack.encode(frame([]))[:-1] + b"\x91" * levels + b"\x90"
    with pytest.raises(ws.ProtocolError) as caught:
        ws.MsgpackCodec().decode_command(data)
    assert (
        caught.value.code is ws.ErrorCode.INVALID_FRAME
        and "nests more than" in caught.value.message
    )


def test_frames_within_the_limit_decode() -> None:
    value = nested(MAX_DEPTH - 2)  # the frame object and the value's levels
    for codec in (ws.JsonCodec(), ws.MsgpackCodec()):
        data = codec.encode(ws.Input(execution_id="e", node_id="n", value=value))
        command = codec.decode_command(data)
        assert isinstance(command, ws.Input) and command.value == value


@given(
    st.recursive(
        st.integers(-(2**63), 2**63) | st.text(max_size=3),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=40,
    )
)
def test_the_two_measures_agree_with_the_structure(value: Any) -> None:
    def depth(v: Any) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    expected = depth(value)
    text = msgspec.json.encode(value).decode()
    packed = msgspec.msgpack.encode(value)
    assert msgpack_depth(packed, limit=1000) == expected
    for limit in range(6):
        deeper = expected > limit
        assert (json_depth(text, limit) > limit) is deeper, (text, limit)
        assert (msgpack_depth(packed, limit) > limit) is deeper, (value, limit)
