"""Nothing moves an execution after its end: the reporter refuses, the state stays put."""

from __future__ import annotations

import asyncio
import threading

import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp, Materializer
from asgi_plugin.engine.reporter import ExecutionEnded
from flowwire import DagRunner, NodeContext
from tests.engine.test_runner import client_for, execute


async def test_a_thread_that_keeps_reporting_after_stop_is_refused() -> None:
    """A blocking engine in a thread ignores `stop`; its next report raises and publishes
    nothing, so the stopped execution keeps no running node."""
    go, done = threading.Event(), threading.Event()
    raised: list[BaseException] = []
    runner = DagRunner()

    @runner.kind("obstinate")
    async def obstinate(node: NodeContext) -> None:
        def work() -> None:
            go.wait(30)
            try:
                node.report.sync.node_progress(node.id, 0.9)
            except BaseException as exc:
                raised.append(exc)
            finally:
                done.set()

        await asyncio.to_thread(work)

    app = FlowwireApp(handler=runner)
    client = await client_for(app)
    workflow = {"id": "w", "nodes": [{"id": "slow", "kind": "obstinate"}]}
    reply = await execute(client, workflow)
    execution = reply["data"]["execution_id"]
    while (await client.recv())["type"] != "node.status":
        pass  # started, then the node running
    stop = await client.request(
        {"type": "control", "ref": "c", "execution_id": execution, "action": "stop"}
    )
    assert stop["data"]["status"] == "stopped"
    frames = []
    while not frames or frames[-1]["type"] != "execution.stopped":
        frames.append(await client.recv())
    go.set()
    assert await asyncio.to_thread(done.wait, 30)
    assert len(raised) == 1 and isinstance(raised[0], ExecutionEnded), raised
    assert "already ended (execution.stopped)" in str(raised[0])
    marker = await app.reporter("w", "marker").log("after the thread")
    frame = await client.recv()
    assert (frame["execution_id"], frame["seq"]) == ("marker", marker), "nothing in between"
    state = app.broker.state.get(execution)
    assert state is not None and state.status == "stopped"
    assert all(node.status != "running" for node in state.nodes.values()), state.nodes


async def test_async_and_sync_reporters_refuse_after_the_end() -> None:
    app = FlowwireApp()
    await app.start()
    report = app.reporter("w", "e")
    await report.started(["a"])
    await report.completed()
    with pytest.raises(
        ExecutionEnded, match=r"already ended \(execution.completed\): no node.status"
    ):
        report.node_running("a")  # refused before anything is built or awaited
    with pytest.raises(ExecutionEnded):
        await asyncio.to_thread(report.sync.log, "late")
    await report.started(["a"])  # a new run of the same execution may start
    await report.node_running("a")


def test_the_state_of_a_finished_execution_does_not_move() -> None:
    common = {"topic": "t", "workflow_id": "w", "execution_id": "e"}
    events = [
        ws.ExecutionStarted(**common, seq=1, ts=1, nodes=[ws.NodeInfo(id="a")], edges=[]),
        ws.ExecutionStopped(**common, seq=2, ts=2),
        ws.NodeStatus(**common, seq=3, ts=3, node_id="a", status="running"),
        ws.ExecutionResumed(**common, seq=4, ts=4),
    ]
    state = Materializer()
    for event in events:
        state.apply(event)
    execution = state.get("e")
    assert execution is not None
    assert (execution.status, execution.nodes["a"].status, execution.last_seq) == (
        "stopped",
        "pending",
        2,
    )
