"""A command decodes on msgspec's decode alone unless it holds something the byte scans
are for (wsproto_schema/bounded.py): the fast path decides exactly as the checked
path does (depth measured first, integers scanned after), frame for frame."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsproto_schema as ws
from tests.protocol.strategies import CLIENT_FRAMES, client_frames
from wsproto_schema.bounded import screened_fields

HUGE = 10**30
DEEP: Any = 1
for _ in range(80):
    DEEP = [DEEP]


def checked(codec: ws.Codec, data: ws.WireData) -> Any:
    """The checked path, as decode_command ran it before the fast path: depth, decode,
    integers."""
    frame = codec._decode(codec._commands, data, None, untrusted=True)
    try:
        codec._check_integers(data, frame)
    except ws.ProtocolError as error:
        error.ref = frame.ref
        raise
    return frame


def outcome(decode: Any, data: ws.WireData) -> Any:
    try:
        return decode(data)
    except ws.ProtocolError as error:
        return (error.code, error.path, error.ref, error.message)


def inject(value: Any, planted: Any, choice: list[int]) -> Any:
    """`value` with one leaf (chosen by `choice`) replaced by `planted`."""
    if isinstance(value, dict) and value:
        keys = sorted(value)
        key = keys[choice.pop() % len(keys)] if choice else keys[0]
        if key == "type":
            return value
        return {**value, key: inject(value[key], planted, choice)}
    if isinstance(value, list) and value:
        index = choice.pop() % len(value) if choice else 0
        return [*value[:index], inject(value[index], planted, choice), *value[index + 1 :]]
    return planted


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=client_frames(),
    planted=st.sampled_from([None, HUGE, -HUGE, 2**64 - 1, 2**64, DEEP, "x"]),
    choice=st.lists(st.integers(0, 50), max_size=6),
)
def test_the_fast_path_decides_as_the_checked_path(
    frame: dict[str, Any], planted: Any, choice: list[int]
) -> None:
    mutated = inject(frame, planted, choice) if planted is not None else frame
    json = ws.JsonCodec()
    data = msgspec.json.encode(mutated)
    assert outcome(json.decode_command, data) == outcome(lambda d: checked(json, d), data)
    try:
        packed = msgspec.msgpack.encode(mutated)
    except OverflowError:
        return  # MessagePack cannot carry it at all
    pack = ws.MsgpackCodec()
    assert outcome(pack.decode_command, packed) == outcome(lambda d: checked(pack, d), packed)


def test_every_field_that_can_hold_a_free_value_or_a_long_integer_is_screened() -> None:
    screened = {cls.__name__: screened_fields(cls) for cls in CLIENT_FRAMES}
    assert screened["Control"] == ((), ()), "typed throughout: msgspec's decode is the check"
    assert screened["PongCommand"] == (("ts",), ())
    assert screened["Input"] == ((), ("value",))
    assert screened["Execute"] == ((), ("workflow", "inputs"))
    # A resume's seq is bounded by its type (within 64 bits): msgspec refuses the rest.
    assert screened["Subscribe"] == ((), ())


@pytest.mark.parametrize("codec", [ws.JsonCodec(), ws.MsgpackCodec()], ids=lambda c: c.name)
def test_a_long_integer_in_a_typed_field_is_refused_with_its_path(codec: ws.Codec) -> None:
    data = msgspec.json.encode({"type": "pong", "ref": "p", "ts": 2**64})
    if codec.binary:
        with pytest.raises(OverflowError):
            msgspec.msgpack.encode({"ts": 2**64})
        return
    with pytest.raises(ws.ProtocolError) as caught:
        codec.decode_command(data)
    assert (caught.value.path, caught.value.ref) == ("$.ts", "p")
    resume = {"type": "subscribe", "topics": ["t"], "since": {"t": {"seq": 2**63, "epoch": "e"}}}
    with pytest.raises(ws.ProtocolError) as caught:
        codec.decode_command(msgspec.json.encode(resume))
    assert caught.value.path == "$.since[...].seq"  # msgspec names a dict value so
