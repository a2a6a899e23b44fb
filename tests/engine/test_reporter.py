"""The Reporter: every event it builds is schema-valid; its sync twin works from threads."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from tests.plugin.clients import AsgiClient, collect


async def watching(app: FlowwireApp, topic: str = "workflow:wf") -> AsgiClient:
    client = AsgiClient(app)
    await client.connect()
    await client.request({"type": "subscribe", "ref": "s", "topics": [topic], "snapshot": False})
    return client


async def test_every_method_publishes_a_valid_event() -> None:
    app = FlowwireApp()
    client = await watching(app)
    report = app.reporter("wf", "x1")
    calls = [
        report.started(
            ["a", {"id": "b", "name": "B", "kind": "llm"}, ws.NodeInfo(id="c")],
            [("a", "b"), {"source": "b", "target": "c", "id": "bc"}],
            name="N",
            order=["a", "b", "c"],
            inputs={"k": 1},
        ),
        report.node_pending("a"),
        report.node_running("a"),
        report.node_progress("a", 0.5),
        report.node_succeeded("a", output={"v": 1}),
        report.edge_flow("a", "b", edge_id="ab", preview={"v": 1}),
        report.branch_started(["b", "c"], parent_id="a"),
        report.node_running("b", attempt=2),
        report.token("b", "Hel"),
        report.token("b", "lo"),
        report.usage("b", prompt_tokens=3, completion_tokens=2, model="m", cost=0.01),
        report.input_requested("b", "OK?", input_schema={"type": "boolean"}),
        report.node_failed("b", ValueError("bad value"), attempt=2),
        report.node_skipped("c"),
        report.node_cancelled("a"),
        report.log("hello", level="warning", node_id="a", rows=3),
        report.paused(reason="user", by="ada"),
        report.resumed(by="ada"),
        report.progress(),
        report.stopped(reason="done"),
        report.completed(outputs={"x": 1}),
        report.failed("boom", node_id="b", code="E1", details={"trace": []}),
    ]
    seqs = [await call for call in calls]
    assert seqs == list(range(1, len(calls) + 1))
    frames = await collect(client, len(calls))  # each checked against the schema on receipt
    by_type = {f["type"]: f for f in frames}
    assert by_type["execution.started"]["nodes"] == [
        {"id": "a"},
        {"id": "b", "name": "B", "kind": "llm"},
        {"id": "c"},
    ]
    assert by_type["execution.started"]["edges"] == [
        {"source": "a", "target": "b"},
        {"id": "bc", "source": "b", "target": "c"},
    ]
    assert [f["index"] for f in frames if f["type"] == "node.token"] == [0, 1]
    assert by_type["node.usage"]["total_tokens"] == 5
    failed_node = next(f for f in frames if f["type"] == "node.status" and f["status"] == "failed")
    assert failed_node["error"] == {"code": "ValueError", "message": "bad value"}
    assert by_type["execution.log"]["context"] == {"rows": 3}
    assert by_type["execution.failed"]["error"] == {
        "code": "E1",
        "message": "boom",
        "node_id": "b",
        "details": {"trace": []},
    }
    assert by_type["execution.completed"]["summary"] == {
        "total": 3,
        "succeeded": 0,
        "failed": 1,
        "skipped": 2,
    }


async def test_durations_progress_and_eta_are_measured() -> None:
    app = FlowwireApp()
    client = await watching(app)
    report = app.reporter("wf", "x2")
    await report.started(["a", "b", "c", "d"])
    for node in ("a", "b"):
        await report.node_running(node)
        await asyncio.sleep(0.05)
        await report.node_succeeded(node)
    await report.node_running("c")
    await report.progress()
    frames = await collect(client, 7)
    durations = [f["duration_ms"] for f in frames if f.get("status") == "succeeded"]
    assert all(45 <= d < 500 for d in durations)
    progress = frames[-1]
    assert (progress["completed"], progress["total"], progress["percent"], progress["running"]) == (
        2,
        4,
        50.0,
        ["c"],
    )
    # two nodes left, one running, ~50 ms each: about 100 ms
    assert 90 <= progress["eta_ms"] < 1000
    await asyncio.sleep(0.02)
    await report.completed()
    done = await client.recv()
    assert done["duration_ms"] >= 100


async def test_invalid_values_fail_in_the_engine_not_in_the_browser() -> None:
    app = FlowwireApp()
    report = app.reporter("wf", "x3")
    with pytest.raises(ValueError, match=r"fraction in 0\.\.1"):
        await report.node_progress("a", 1.5)
    with pytest.raises(ws.ProtocolError) as info:
        await report.log("x", level="loud")  # type: ignore[arg-type]
    assert info.value.path == "$.level"
    with pytest.raises(ws.ProtocolError) as info:
        await report.usage("a", prompt_tokens=-1, completion_tokens=1)
    assert info.value.path == "$.prompt_tokens"
    assert app.stats.published == 0


async def test_reporter_driven_from_a_plain_thread() -> None:
    app = FlowwireApp()
    client = await watching(app)
    await app.start()
    report = app.reporter("wf", "x4").sync
    seqs: list[int] = []
    failures: list[BaseException] = []

    def engine() -> None:  # a plain thread, as a sync engine runs
        try:
            seqs.append(report.started(["a", "b"], [("a", "b")]))
            for node in ("a", "b"):
                seqs.append(report.node_running(node))
                for step in range(3):
                    seqs.append(report.log(f"{node} step {step}", node_id=node))
                seqs.append(report.node_succeeded(node, output=node.upper()))
                seqs.append(report.progress())
            seqs.append(report.completed(outputs={"b": "B"}))
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)

    thread = threading.Thread(target=engine)
    thread.start()
    await asyncio.to_thread(thread.join)
    assert failures == []
    assert seqs == list(
        range(1, 15)
    )  # started, 2 x (running, 3 logs, succeeded, progress), completed
    frames = await collect(client, 14)
    assert [f["seq"] for f in frames] == seqs
    assert [f["message"] for f in frames if f["type"] == "execution.log"] == [
        f"{n} step {s}" for n in "ab" for s in range(3)
    ]
    assert frames[-1]["type"] == "execution.completed" and frames[-1]["summary"]["succeeded"] == 2


async def test_sync_twin_refuses_the_event_loop_and_a_stopped_app() -> None:
    app = FlowwireApp()
    with pytest.raises(RuntimeError, match="not running yet"):
        await asyncio.to_thread(app.reporter("wf", "x").sync.log, "too early")
    await app.start()
    with pytest.raises(RuntimeError, match=r"`\.sync` is for threads"):
        app.reporter("wf", "x").sync.log("on the loop")


async def test_custom_topic() -> None:
    app = FlowwireApp()
    client = await watching(app, "tenant-7:runs")
    report = app.reporter("wf", "x5", topic="tenant-7:runs")
    await report.log("hi")
    frame: dict[str, Any] = await client.recv()
    assert (frame["topic"], frame["workflow_id"], frame["execution_id"]) == (
        "tenant-7:runs",
        "wf",
        "x5",
    )
