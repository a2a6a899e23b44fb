"""msgspec and the generated JSON Schema agree: on valid frames and on mutated ones."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec import inspect as mi

import wsproto_schema as ws
from tests.protocol import strategies as fs

pytestmark = [pytest.mark.slow]

JSON = ws.JsonCodec()
MSGPACK = ws.MsgpackCodec()


def msgspec_accepts(direction: str, frame: Any) -> bool:
    data = msgspec.json.encode(frame)
    try:
        if direction == "server":
            JSON.decode_server_frame(data, strict=True)
        else:
            JSON.decode_command(data)
    except ws.ProtocolError:
        return False
    return True


def schema_accepts(validator: Any, frame: Any) -> bool:
    return bool(validator.is_valid(frame))


@given(frame=fs.server_frames())
def test_valid_server_frames_pass_both(frame: dict, server_validator, flowwire_contract) -> None:
    assert msgspec_accepts("server", frame)
    assert schema_accepts(server_validator, frame)
    assert flowwire_contract.violations("server", frame) == []
    decoded = MSGPACK.decode_server_frame(msgspec.msgpack.encode(frame), strict=True)
    assert decoded == JSON.decode_server_frame(msgspec.json.encode(frame), strict=True)
    assert JSON.decode_server_frame(JSON.encode(decoded)) == decoded


@given(frame=fs.client_frames())
def test_valid_client_frames_pass_both(frame: dict, client_validator, flowwire_contract) -> None:
    assert msgspec_accepts("client", frame)
    assert schema_accepts(client_validator, frame)
    assert flowwire_contract.violations("client", frame) == []
    decoded = MSGPACK.decode_command(msgspec.msgpack.encode(frame))
    assert decoded == JSON.decode_command(msgspec.json.encode(frame))
    assert JSON.decode_command(JSON.encode(decoded)) == decoded


def fields_of(frame: dict, direction: str) -> list[mi.Field]:
    cls = fs.frame_class(frame, direction)
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return list(info.fields)


def mutate(data: st.DataObject, frame: dict, direction: str, kind: str) -> dict | None:
    """Apply one mutation that must make the frame invalid; None when it does not apply."""
    frame = dict(frame)
    cls = fs.frame_class(frame, direction)
    if kind == "remove_required":
        names = ["type"] + [
            f.encode_name for f in fields_of(frame, direction) if fs.wire_required(cls, f)
        ]
        del frame[data.draw(st.sampled_from(names))]
    elif kind == "wrong_type":
        candidates = [
            (f.encode_name, fs.wrong_value(f.type))
            for f in fields_of(frame, direction)
            if f.encode_name in frame and fs.wrong_value(f.type) is not None
        ]
        if not candidates:
            return None
        name, value = data.draw(st.sampled_from(candidates))
        frame[name] = value
    elif kind == "unknown_field":
        frame[data.draw(st.sampled_from(["colour", "Type", "topics_", "extra"]))] = 1
    elif kind == "unknown_type":
        frame["type"] = data.draw(st.sampled_from(["no.such.type", "", "Subscribe", "node_status"]))
    elif kind == "event_not_type":
        frame["event"] = frame.pop("type")
    return frame


MUTATIONS = ["remove_required", "wrong_type", "unknown_field", "unknown_type", "event_not_type"]


@pytest.mark.parametrize("kind", MUTATIONS)
@given(data=st.data())
def test_mutated_server_frames_fail_both(kind: str, data, server_validator, flowwire_contract):
    frame = mutate(data, data.draw(fs.server_frames()), "server", kind)
    if frame is None:
        return
    assert not msgspec_accepts("server", frame)
    assert not schema_accepts(server_validator, frame)
    assert flowwire_contract.violations("server", frame)


@pytest.mark.parametrize("kind", MUTATIONS)
@given(data=st.data())
def test_mutated_client_frames_fail_both(kind: str, data, client_validator, flowwire_contract):
    frame = mutate(data, data.draw(fs.client_frames()), "client", kind)
    if frame is None:
        return
    assert not msgspec_accepts("client", frame)
    assert not schema_accepts(client_validator, frame)
    assert flowwire_contract.violations("client", frame)


@pytest.mark.parametrize("direction", ["server", "client"])
@given(data=st.data())
def test_unknown_field_in_a_nested_object_fails_both(
    direction, data, server_validator, client_validator
):
    frame = data.draw(fs.server_frames() if direction == "server" else fs.client_frames())
    cls = fs.frame_class(frame, direction)
    paths = fs.nested_struct_paths(frame, mi.type_info(cls))
    if not paths:
        return
    frame = copy.deepcopy(frame)
    target: Any = frame
    for key in data.draw(st.sampled_from(paths)):
        target = target[key]
    target["zz_unknown"] = 1
    validator = server_validator if direction == "server" else client_validator
    assert not msgspec_accepts(direction, frame)
    assert not schema_accepts(validator, frame)


@given(data=st.data())
def test_any_mutation_agrees(data, server_validator, client_validator) -> None:
    """Whatever a mutation does, msgspec and the schema give the same verdict."""
    direction = data.draw(st.sampled_from(["server", "client"]))
    frame = data.draw(fs.server_frames() if direction == "server" else fs.client_frames())
    key = data.draw(st.sampled_from(sorted(frame)))
    frame = {**frame, key: data.draw(fs.mutation_values)}
    validator = server_validator if direction == "server" else client_validator
    assert msgspec_accepts(direction, frame) == schema_accepts(validator, frame), frame


def test_integral_float_is_the_one_known_divergence(server_validator) -> None:
    """`"ts": 1.0` is an integer to JSON Schema, a float to msgspec: flowwire rejects it."""
    frame = {"type": "ping", "ts": 1.0}
    assert schema_accepts(server_validator, frame)
    assert not msgspec_accepts("server", frame)
    with pytest.raises(ws.ProtocolError, match=r"\$\.ts: expected int, got float"):
        JSON.decode_server_frame(b'{"type":"ping","ts":1.0}', strict=True)
