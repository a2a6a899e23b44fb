"""The reference DAG runner behind `execute`, `control` and `input`, at the ASGI level."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp, MemoryBroker
from asgi_plugin.demo.samples import SAMPLES, demo_runner
from flowwire import DagRunner, NodeContext
from tests.plugin.clients import AsgiClient

TERMINAL = ("execution.completed", "execution.failed", "execution.stopped")


def spec(name: str, speed: float = 0.1) -> dict[str, Any]:
    """A sample workflow as a client sends it, its sleeps shortened."""
    workflow: dict[str, Any] = msgspec.to_builtins(SAMPLES[name])
    for node in workflow["nodes"]:
        params = node.get("params") or {}
        for key in ("ms", "delay_ms", "step_ms"):
            if key in params:
                params[key] = int(params[key] * speed)
    return workflow


async def client_for(app: FlowwireApp) -> AsgiClient:
    client = AsgiClient(app)
    await client.connect()
    return client


async def execute(client: AsgiClient, workflow: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Send `execute`; the reply must be the very next frame, before any event."""
    await client.send({"type": "execute", "ref": "x", "workflow": workflow, **fields})
    reply = await client.recv()
    assert reply["ref"] == "x", reply
    return reply


async def until_terminal(client: AsgiClient, timeout: float = 10) -> list[dict[str, Any]]:
    frames = []
    while not frames or frames[-1]["type"] not in TERMINAL:
        frames.append(await client.recv(timeout))
    return frames


def statuses(frames: list[dict[str, Any]], node: str) -> list[str]:
    """A node's status transitions (progress reports while running left out)."""
    trail = []
    for f in frames:
        if f["type"] == "node.status" and f["node_id"] == node:
            if trail and trail[-1] == f["status"] == "running" and "progress" in f:
                continue
            trail.append(f["status"])
    return trail


def index(frames: list[dict[str, Any]], predicate: Any) -> int:
    return next(i for i, f in enumerate(frames) if predicate(f))


async def test_parallel_sample() -> None:
    client = await client_for(FlowwireApp(handler=demo_runner()))
    reply = await execute(client, spec("parallel"))
    assert reply["data"]["topic"] == "workflow:parallel"
    frames = await until_terminal(client)
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert frames[0]["type"] == "execution.started" and frames[0]["order"] == [
        "fetch",
        "clean",
        "enrich",
        "merge",
        "report",
    ]
    assert frames[-1]["type"] == "execution.completed"
    assert frames[-1]["summary"] == {"total": 5, "succeeded": 5, "failed": 0, "skipped": 0}
    for node in ("fetch", "clean", "enrich", "merge", "report"):
        assert statuses(frames, node) == ["running", "succeeded"]
    [branch] = [f for f in frames if f["type"] == "branch.started"]
    assert (branch["node_ids"], branch["parent_id"]) == (["clean", "enrich"], "fetch")
    flows = [(f["source"], f["target"], f["edge_id"]) for f in frames if f["type"] == "edge.flow"]
    assert sorted(flows) == sorted(
        [
            (s, t, f"{s}->{t}")
            for s, t in [
                ("fetch", "clean"),
                ("fetch", "enrich"),
                ("clean", "merge"),
                ("enrich", "merge"),
                ("merge", "report"),
            ]
        ]
    )
    # Causality: a node starts only after every parent's output flowed to it.
    for source, target, _ in flows:
        flowed = index(
            frames,
            lambda f, s=source, t=target: (
                f["type"] == "edge.flow" and (f["source"], f["target"]) == (s, t)
            ),
        )
        started = index(
            frames, lambda f, t=target: f["type"] == "node.status" and f["node_id"] == t
        )
        assert flowed < started
    progress = [f for f in frames if f["type"] == "execution.progress"]
    assert [p["completed"] for p in progress] == [1, 2, 3, 4, 5]
    assert progress[-1]["percent"] == 100.0
    assert any("eta_ms" in p for p in progress[:-1])
    assert any(
        f["type"] == "node.status" and f.get("progress") == 0.5
        for f in frames
        if f.get("node_id") == "clean"
    )


async def test_llm_sample_streams_tokens_then_usage() -> None:
    client = await client_for(FlowwireApp(handler=demo_runner()))
    await execute(client, spec("llm"))
    frames = await until_terminal(client)
    draft = [
        f
        for f in frames
        if f.get("node_id") == "draft" and f["type"] in ("node.token", "node.usage", "node.status")
    ]
    tokens = [f for f in draft if f["type"] == "node.token"]
    assert "".join(t["delta"] for t in tokens) == SAMPLES["llm"].nodes[1].params["text"]  # type: ignore[index]
    assert [t["index"] for t in tokens] == list(range(len(tokens)))
    assert [f["type"] for f in draft] == ["node.status"] + ["node.token"] * len(tokens) + [
        "node.usage",
        "node.status",
    ]
    usage = next(f for f in draft if f["type"] == "node.usage")
    assert usage["completion_tokens"] == len(tokens) and usage["model"] == "demo-llm"
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert frames[-1]["outputs"] == {"review": "Looks good."}


async def test_failing_sample_retries_skips_downstream_and_fails() -> None:
    client = await client_for(FlowwireApp(handler=demo_runner()))
    await execute(client, spec("failing"))
    frames = await until_terminal(client)
    transform = [f for f in frames if f["type"] == "node.status" and f["node_id"] == "transform"]
    assert [(f["status"], f.get("attempt")) for f in transform] == [
        ("running", 1),
        ("running", 2),
        ("failed", 2),
    ]
    assert transform[-1]["error"] == {
        "code": "NodeFailure",
        "message": "schema mismatch in column 'price'",
    }
    retry_log = next(
        f for f in frames if f["type"] == "execution.log" and f.get("node_id") == "transform"
    )
    assert retry_log["level"] == "warning" and "retrying" in retry_log["message"]
    assert statuses(frames, "load") == ["skipped"]
    assert statuses(frames, "audit") == ["running", "succeeded"]  # an independent branch finishes
    failed = frames[-1]
    assert failed["type"] == "execution.failed"
    assert failed["error"] == {
        "code": "node_failed",
        "message": "schema mismatch in column 'price'",
        "node_id": "transform",
    }
    assert failed["summary"] == {"total": 4, "succeeded": 2, "failed": 1, "skipped": 1}


async def test_approval_sample_input_round_trip() -> None:
    client = await client_for(FlowwireApp(handler=demo_runner()))
    execution = (await execute(client, spec("approval")))["data"]["execution_id"]
    while (frame := await client.recv())["type"] != "input.requested":
        pass
    assert (frame["node_id"], frame["prompt"]) == ("approve", "Ship release 1.2 to production?")
    early = await client.request(
        {"type": "input", "ref": "i0", "execution_id": execution, "node_id": "ship", "value": 1}
    )
    assert (early["type"], early["code"], early["path"]) == ("error", "conflict", "$.node_id")
    answer = await client.request(
        {
            "type": "input",
            "ref": "i1",
            "execution_id": execution,
            "node_id": "approve",
            "value": {"ok": True, "by": "ada"},
        }
    )
    assert answer == {"type": "reply", "ref": "i1", "data": {"accepted": True}}
    frames = await until_terminal(client)
    approved = next(
        f
        for f in frames
        if f["type"] == "node.status" and f["node_id"] == "approve" and f["status"] == "succeeded"
    )
    assert approved["output"] == {"ok": True, "by": "ada"}
    flow = next(f for f in frames if f["type"] == "edge.flow" and f["source"] == "approve")
    assert flow["preview"] == {"ok": True, "by": "ada"}
    assert frames[-1]["type"] == "execution.completed"


async def test_legacy_sample_reports_from_a_thread() -> None:
    client = await client_for(FlowwireApp(handler=demo_runner()))
    await execute(client, spec("legacy", speed=0.2))
    frames = await until_terminal(client)
    crunch = [f for f in frames if f.get("node_id") == "crunch"]
    assert [f["message"] for f in crunch if f["type"] == "execution.log"] == [
        f"legacy step {i} of 4" for i in range(1, 5)
    ]
    assert [f["progress"] for f in crunch if f["type"] == "node.status" and "progress" in f][
        :3
    ] == [0.25, 0.5, 0.75]
    assert crunch[-1]["output"] == {"total": 10}
    assert frames[-1]["type"] == "execution.completed"


class RoundTripBroker(MemoryBroker):
    """Stores an event a few loop turns after it is published, as Redis does (a round
    trip) while the connection that ran `execute` claims the execution."""

    async def _append(self, event: ws.Event, idempotency_key: str | None) -> tuple[ws.Event, bool]:
        for _ in range(20):
            await asyncio.sleep(0)
        return await super()._append(event, idempotency_key)


async def test_a_control_sent_right_after_the_execute_reply_finds_the_execution() -> None:
    """The reply names an execution that exists: a control sent at once was `not_found`
    while the run's first event was still on its way to the broker (on Redis, under load)."""
    app = FlowwireApp(broker=RoundTripBroker(), handler=demo_runner())
    client = await client_for(app)
    workflow = {"id": "asks", "nodes": [{"id": "approve", "kind": "input"}]}
    execution = (await execute(client, workflow))["data"]["execution_id"]
    paused = await client.request(
        {"type": "control", "ref": "p", "execution_id": execution, "action": "pause"}
    )
    assert paused == {"type": "reply", "ref": "p", "data": {"status": "paused"}}, paused
    events = [await client.recv()]
    while events[-1]["type"] != "execution.paused":
        events.append(await client.recv())
    assert events[0]["type"] == "execution.started"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


async def test_pause_resume_and_stop() -> None:
    runner = demo_runner()
    client = await client_for(FlowwireApp(handler=runner))
    execution = (await execute(client, spec("parallel", speed=0.5)))["data"]["execution_id"]
    while not (
        (frame := await client.recv())["type"] == "node.status" and frame["node_id"] == "fetch"
    ):
        pass
    paused = await client.request(
        {"type": "control", "ref": "p", "execution_id": execution, "action": "pause"}
    )
    assert paused["data"] == {"status": "paused"}
    again = await client.request(
        {"type": "control", "ref": "p2", "execution_id": execution, "action": "pause"}
    )
    assert again["code"] == "conflict"
    await asyncio.sleep(0.4)  # fetch finishes while paused; clean and enrich must not start
    frames = []
    while not await client.nothing(0.05):
        frames.append(await client.recv())
    assert any(f["type"] == "execution.paused" for f in frames)
    assert any(
        f["type"] == "node.status" and f["node_id"] == "fetch" and f["status"] == "succeeded"
        for f in frames
    )
    assert not any(
        f["type"] == "node.status" and f["node_id"] in ("clean", "enrich") for f in frames
    )
    resumed = await client.request(
        {"type": "control", "ref": "r", "execution_id": execution, "action": "resume"}
    )
    assert resumed["data"] == {"status": "running"}
    while not (
        (frame := await client.recv())["type"] == "node.status" and frame["node_id"] == "clean"
    ):
        pass
    stopped = await client.request(
        {"type": "control", "ref": "s", "execution_id": execution, "action": "stop"}
    )
    assert stopped["data"] == {"status": "stopped"}
    rest = await until_terminal(client)
    assert rest[-1]["type"] == "execution.stopped"
    assert statuses(rest, "clean")[-1] == "cancelled"
    assert statuses(rest, "merge") == ["skipped"] and statuses(rest, "report") == ["skipped"]
    late = await client.request(
        {"type": "control", "ref": "s2", "execution_id": execution, "action": "resume"}
    )
    assert (late["code"], late["message"]) == (
        "conflict",
        f"cannot resume execution {execution!r}: it is stopped",
    )
    assert await runner.wait(execution) == "stopped"


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            lambda w: w["edges"].append({"source": "fetch", "target": "lod"}),
            "$.workflow.edges[5].target",
            "unknown node 'lod'",
        ),
        (
            lambda w: w["edges"].append({"source": "report", "target": "fetch"}),
            "$.workflow.edges",
            "cycle: fetch → clean → merge → report → fetch",
        ),
        (
            lambda w: w["edges"].append({"source": "merge", "target": "merge"}),
            "$.workflow.edges[5]",
            "node 'merge' depends on itself",
        ),
        (
            lambda w: w["nodes"].append({"id": "clean", "kind": "log", "params": {"message": "x"}}),
            "$.workflow.nodes[5].id",
            "duplicate node id 'clean' (also at $.workflow.nodes[1])",
        ),
        (
            lambda w: w["nodes"][2].update(kind="teleport"),
            "$.workflow.nodes[2].kind",
            "unknown node kind 'teleport' (known: blocking, fail, input, llm, log, sleep)",
        ),
        (
            lambda w: w["nodes"][0]["params"].update(ms=-5),
            "$.workflow.nodes[0].params.ms",
            "expected int >= 0",
        ),
        (
            lambda w: w["nodes"][0]["params"].update(colour="red"),
            "$.workflow.nodes[0].params.colour",
            "unknown field",
        ),
        (
            lambda w: w["nodes"][0]["params"].update(retries="twice"),
            "$.workflow.nodes[0].params.retries",
            "expected an int from 0 to 10, got",
        ),
        (
            lambda w: w["edges"].append(dict(w["edges"][0])),
            "$.workflow.edges[5]",
            "duplicate edge 'fetch' → 'clean'",
        ),
        (
            lambda w: w.update(nodes=[], edges=[]),
            "$.workflow.nodes",
            "a workflow needs at least one node",
        ),
    ],
)
async def test_invalid_workflow(change: Any, path: str, message: str) -> None:
    app = FlowwireApp(handler=demo_runner())
    client = await client_for(app)
    workflow = spec("parallel")
    change(workflow)
    error = await execute(client, workflow)
    assert (error["type"], error["code"], error["path"]) == ("error", "invalid_workflow", path)
    assert message in error["message"]
    assert app.stats.published == 0 and await client.nothing()


async def test_user_kinds_and_retries_that_recover() -> None:
    runner = DagRunner()
    calls: list[int] = []

    class FlakyParams(msgspec.Struct, forbid_unknown_fields=True):
        succeed_on: int

    @runner.kind("flaky", params=FlakyParams)
    async def flaky(node: NodeContext) -> Any:
        calls.append(node.attempt)
        if node.attempt < node.params.succeed_on:
            raise TimeoutError("upstream timed out")
        return {"inputs": node.inputs, "attempt": node.attempt}

    client = await client_for(FlowwireApp(handler=runner))
    workflow = {
        "id": "f",
        "nodes": [{"id": "a", "kind": "flaky", "params": {"succeed_on": 3, "retries": 2}}],
    }
    await execute(client, workflow, inputs={"day": 1})
    frames = await until_terminal(client)
    assert calls == [1, 2, 3]
    assert [(f["status"], f.get("attempt")) for f in frames if f["type"] == "node.status"] == [
        ("running", 1),
        ("running", 2),
        ("running", 3),
        ("succeeded", 3),
    ]
    assert frames[-1]["outputs"] == {"a": {"inputs": {"day": 1}, "attempt": 3}}


async def test_control_and_input_errors() -> None:
    client = await client_for(FlowwireApp(handler=demo_runner()))
    missing = await client.request(
        {"type": "control", "ref": "c", "execution_id": "nope", "action": "stop"}
    )
    assert (missing["code"], missing["path"]) == ("not_found", "$.execution_id")
    no_engine = await client_for(FlowwireApp())
    error = await no_engine.request({"type": "execute", "ref": "e", "workflow": spec("llm")})
    assert error["code"] == "not_found" and "runs no workflows" in error["message"]


async def test_commands_are_authorized() -> None:
    asked: list[tuple[str, str]] = []

    def authorize(principal: Any, action: str, topic: str) -> bool:
        asked.append((action, topic))
        return action != "control"

    client = await client_for(FlowwireApp(handler=demo_runner(), authorize=authorize))
    execution = (await execute(client, spec("approval")))["data"]["execution_id"]
    denied = await client.request(
        {"type": "control", "ref": "c", "execution_id": execution, "action": "stop"}
    )
    assert denied["code"] == "forbidden"
    assert asked == [
        ("execute", "workflow:approval"),
        ("subscribe", "workflow:approval"),  # it subscribes: a subscription is asked for
        ("control", "workflow:approval"),
    ]


async def test_handler_failure_is_an_internal_error_without_detail() -> None:
    class Broken:
        async def on_execute(self, command: ws.Execute, context: Any) -> ws.ExecuteResult:
            raise RuntimeError("db password hunter2")

        async def on_control(self, command: ws.Control, context: Any) -> ws.ControlResult:
            raise NotImplementedError

        async def on_input(self, command: ws.Input, context: Any) -> ws.InputResult:
            raise NotImplementedError

    app = FlowwireApp(handler=Broken())
    client = await client_for(app)
    error = await execute(client, spec("llm"))
    assert (error["code"], error["message"]) == ("internal", "the command failed on the server")
    assert app.hub.subscription_count() == 0, "the execute-subscription is undone"


async def test_execute_without_subscribe_and_other_watchers() -> None:
    app = FlowwireApp(handler=demo_runner())
    runner_client = await client_for(app)
    watcher = await client_for(app)
    await watcher.request({"type": "subscribe", "ref": "w", "topics": ["workflow:*"]})
    reply = await execute(runner_client, spec("llm"), subscribe=False)
    execution = reply["data"]["execution_id"]
    frames = await until_terminal(watcher)
    assert {f["execution_id"] for f in frames} == {execution}
    assert await runner_client.nothing()
