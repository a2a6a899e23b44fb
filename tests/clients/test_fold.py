"""The client's execution-state fold agrees with the server's materializer, differentially:
the same event streams (generated ones, and the reference runner's samples run in process)
folded by both, compared as `execution.snapshot` frames after every event, and from a
snapshot taken at every point of the stream (what a client that joins or resets gets)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp, Materializer
from asgi_plugin.demo.samples import SAMPLES, demo_runner
from flowwire.client import ExecutionStore
from tests.engine.streams import execution_events
from tests.plugin.clients import AsgiClient

CODEC = ws.JsonCodec()
TERMINAL = ("execution.completed", "execution.failed", "execution.stopped")


def published(events: list[ws.Event], topic: str = "workflow:w") -> list[ws.Event]:
    return [
        msgspec.structs.replace(e, topic=topic, seq=i, ts=1_000 + 10 * i)
        for i, e in enumerate(events, start=1)
    ]


def interleaved(seed: int) -> list[ws.Event]:
    """Two executions on one topic, their events interleaved."""
    a = execution_events("a", 120, seed=seed)
    b = execution_events("b", 80, seed=seed + 1)
    merged: list[ws.Event] = []
    while a or b:
        merged.append((a if (len(merged) % 3 and a) or not b else b).pop(0))
    # An engine that goes on after the end: changes nothing a client is shown.
    common = {"workflow_id": "w", "execution_id": "a"}
    merged += [
        ws.NodeToken(**common, node_id="n1", delta="late"),
        ws.NodeStatus(**common, node_id="n1", status="failed"),
        ws.ExecutionLog(**common, level="error", message="late"),
    ]
    return published(merged)


def assert_agrees(events: list[ws.Event]) -> None:
    materializer = Materializer(finished_snapshots=1_000)
    store = ExecutionStore()
    for event in events:
        materializer.apply(event)
        store.apply_event(event)
        state = materializer.get(event.execution_id)
        if state is not None:
            view = store.get(event.execution_id)
            assert view is not None
            expected = materializer.snapshot(event.execution_id)
            assert view.to_snapshot() == expected, f"after #{event.seq}"
    final_seq = events[-1].seq
    for k in range(len(events)):
        topic_seq = events[k].seq
        partial = Materializer(finished_snapshots=1_000)
        for event in events[: k + 1]:
            partial.apply(event)
        joined = ExecutionStore()  # a client that subscribes at this point
        for snapshot in partial.snapshots(events[0].topic, live_only=False, topic_seq=topic_seq):
            joined.apply_snapshot(snapshot)
        for event in events[k + 1 :]:
            joined.apply_event(event)
        for state in materializer.executions(events[0].topic):
            view = joined.get(state.execution_id)
            if partial.get(state.execution_id) is None and view is None:
                continue
            assert view is not None
            # The view began at the topic's position and moved with each event after it.
            expected = msgspec.structs.replace(
                materializer.snapshot(state.execution_id),
                last_seq=max(topic_seq, state.last_seq),
            )
            assert view.to_snapshot() == expected, f"joined after #{topic_seq} of {final_seq}"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_streams(seed: int) -> None:
    assert_agrees(interleaved(seed))


def spec_fast(name: str) -> dict[str, Any]:
    workflow: dict[str, Any] = msgspec.to_builtins(SAMPLES[name])
    for node in workflow["nodes"]:
        params = node.get("params") or {}
        for key in ("ms", "delay_ms", "step_ms"):
            if key in params:
                params[key] = int(params[key] * 0.05)
    return workflow


async def sample_events(name: str) -> list[ws.Event]:
    """The events the reference runner publishes for a sample (its input answered)."""
    app = FlowwireApp(handler=demo_runner())
    client = AsgiClient(app)
    await client.connect()
    await client.send({"type": "execute", "ref": "x", "workflow": spec_fast(name)})
    reply = await client.recv()
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] not in TERMINAL:
        frame = await client.recv(10)
        if frame["type"] == "input.requested":
            await client.send(
                {
                    "type": "input",
                    "ref": "i",
                    "execution_id": reply["data"]["execution_id"],
                    "node_id": frame["node_id"],
                    "value": True,
                }
            )
        if "seq" in frame:
            frames.append(frame)
    events = [CODEC.decode_server_frame(json.dumps(f)) for f in frames]
    return [e for e in events if isinstance(e, ws.Event)]


@pytest.mark.parametrize("name", sorted(SAMPLES))
async def test_the_reference_runner_samples(name: str) -> None:
    events = await sample_events(name)
    assert events[-1].seq == len(events)
    assert_agrees(events)
