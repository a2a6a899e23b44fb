"""Application events flow through the registry, codecs and contract like built-in ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import wsproto_schema as ws
from wsproto_schema.contract import Contract


class RunCost(ws.Event, tag="run.cost", frozen=True, kw_only=True):
    """Money an execution spent so far."""

    usd: float


@pytest.fixture
def registered() -> Iterator[type[RunCost]]:
    ws.register_event(RunCost)
    yield RunCost
    ws.registry.unregister(RunCost)


def test_codec_built_before_registration_learns_the_event(registered: type[RunCost]) -> None:
    codec = ws.JsonCodec()
    wire = b'{"type":"run.cost","topic":"t","seq":1,"ts":1,"workflow_id":"w","execution_id":"e","usd":0.5}'
    event = RunCost(topic="t", seq=1, ts=1, workflow_id="w", execution_id="e", usd=0.5)
    assert codec.decode_server_frame(wire, strict=True) == event
    assert codec.decode_event(wire) == event
    ws.registry.unregister(RunCost)
    assert codec.decode_server_frame(wire) is None
    ws.registry.register(RunCost)
    assert codec.decode_server_frame(wire) == event


def test_contract_from_registry_validates_app_events(registered: type[RunCost]) -> None:
    contract = Contract.from_registry()
    event = RunCost(topic="t", seq=1, ts=1, workflow_id="w", execution_id="e", usd=0.5)
    contract.assert_server_frame(ws.JsonCodec().encode(event))
    problems = contract.violations("server", {"type": "run.cost", "workflow_id": "w", "usd": "1"})
    assert {str(p) for p in problems} == {
        "$: 'topic' is a required property",
        "$: 'seq' is a required property",
        "$: 'ts' is a required property",
        "$: 'execution_id' is a required property",
        "$.usd: '1' is not of type 'number'",
    }


def test_private_registry_keeps_the_global_one_clean() -> None:
    frames = ws.FrameRegistry()
    frames.register(RunCost)
    assert RunCost in frames.events() and RunCost not in ws.registry.events()
    assert ws.MsgpackCodec(frames).decode_server_frame(
        ws.MsgpackCodec().encode(
            RunCost(workflow_id="w", execution_id="e", usd=1.0, seq=2, topic="t", ts=3)
        )
    ) == RunCost(workflow_id="w", execution_id="e", usd=1.0, seq=2, topic="t", ts=3)


def test_registration_rejects_mistakes() -> None:
    frames = ws.FrameRegistry()

    class Clash(ws.Event, tag="node.status", frozen=True, kw_only=True):
        x: int

    with pytest.raises(ValueError, match=r"already taken by NodeStatus"):
        frames.register(Clash)
    with pytest.raises(TypeError, match=r"subclass of wsproto_schema\.Event"):
        frames.register(ws.Welcome)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"subclass of wsproto_schema\.Event"):
        frames.register(ws.Event)
    version = frames.version
    frames.register(RunCost)
    frames.register(RunCost)
    assert frames.version == version + 1
