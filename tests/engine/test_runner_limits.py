"""One `execute` cannot buy unbounded work: size limits, bounded node params, a cap on live
executions per principal, and a `stop` that frees the threads its nodes run in."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from asgi_plugin import FlowwireApp
from asgi_plugin.demo.samples import demo_runner
from flowwire import DagRunner, NodeContext
from tests.engine.test_runner import client_for, execute
from tests.plugin.clients import AsgiClient


def workflow(
    nodes: list[dict[str, Any]], edges: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {"id": "w", "nodes": nodes, "edges": edges or []}


async def error_of(client: AsgiClient, spec: dict[str, Any]) -> dict[str, Any]:
    answer = await client.request({"type": "execute", "ref": "x", "workflow": spec}, timeout=30)
    assert answer["type"] == "error", answer
    return answer


async def test_a_workflow_beyond_the_size_limits_is_refused_at_once() -> None:
    client = await client_for(FlowwireApp(handler=demo_runner()))
    nodes = [{"id": f"n{i}", "kind": "log", "params": {"message": "x"}} for i in range(2000)]
    error = await error_of(client, workflow(nodes))
    assert (error["code"], error["path"]) == ("invalid_workflow", "$.workflow.nodes")
    assert "at most 1000" in error["message"]


async def test_a_thousand_nodes_run_to_the_end() -> None:
    """The largest workflow allowed: each step of the run costs what finished, not the size
    of the workflow (it used to rescan every pending node at every step)."""
    client = await client_for(FlowwireApp(handler=demo_runner()))
    nodes = [{"id": f"n{i}", "kind": "sleep", "params": {"ms": 0}} for i in range(1000)]
    edges = [{"source": f"n{i}", "target": f"n{i + 500}"} for i in range(500)]
    await execute(client, workflow(nodes, edges), subscribe=True)
    while (frame := await client.recv(60))["type"] != "execution.completed":
        pass
    assert frame["summary"]["succeeded"] == 1000


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"retries": 1_000_000_000}, "$.workflow.nodes[0].params.retries"),
        ({"retry_delay_ms": 86_400_000}, "$.workflow.nodes[0].params.retry_delay_ms"),
    ],
)
async def test_runner_params_are_bounded(params: dict[str, int], path: str) -> None:
    client = await client_for(FlowwireApp(handler=demo_runner()))
    error = await error_of(client, workflow([{"id": "a", "kind": "sleep", "params": params}]))
    assert (error["code"], error["path"]) == ("invalid_workflow", path)


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("sleep", {"ms": 3_600_000}, "ms"),
        ("llm", {"text": "word " * 5_000}, "text"),
        ("llm", {"delay_ms": 60_000}, "delay_ms"),
        ("blocking", {"steps": 1, "step_ms": 600_000}, "step_ms"),
    ],
)
async def test_built_in_node_params_are_bounded(
    kind: str, params: dict[str, Any], field: str
) -> None:
    client = await client_for(FlowwireApp(handler=demo_runner()))
    error = await error_of(client, workflow([{"id": "a", "kind": kind, "params": params}]))
    assert (error["code"], error["path"]) == (
        "invalid_workflow",
        f"$.workflow.nodes[0].params.{field}",
    )


async def test_live_executions_per_principal_are_capped() -> None:
    runner = DagRunner(max_live_per_principal=2)
    app = FlowwireApp(
        handler=runner, authenticate=lambda handshake: {"id": handshake.query_param("user")}
    )
    slow = workflow([{"id": "a", "kind": "sleep", "params": {"ms": 60_000}}])
    ada = AsgiClient(app, query=b"user=ada")
    await ada.connect()
    for ref in ("1", "2"):
        assert (await ada.request({"type": "execute", "ref": ref, "workflow": slow}))[
            "type"
        ] == "reply"
    refused = await ada.request({"type": "execute", "ref": "3", "workflow": slow})
    assert (refused["type"], refused["code"]) == ("error", "rate_limited")
    assert "at most 2 live executions" in refused["message"]
    bob = AsgiClient(app, query=b"user=bob")  # another principal has its own allowance
    await bob.connect()
    assert (await bob.request({"type": "execute", "ref": "b", "workflow": slow}))["type"] == "reply"


async def test_stop_frees_the_thread_a_node_works_in() -> None:
    runner = DagRunner()
    started, finished = threading.Event(), threading.Event()

    @runner.kind("grind")
    async def grind(node: NodeContext) -> str:
        def work() -> str:
            started.set()
            node.stopping.wait(3600)  # an hour of blocking work, in slices
            finished.set()
            return "stopped early" if node.stopping.is_set() else "done"

        return await asyncio.to_thread(work)

    client = await client_for(FlowwireApp(handler=runner))
    reply = await execute(client, workflow([{"id": "g", "kind": "grind"}]))
    assert await asyncio.to_thread(started.wait, 30)
    stop = {
        "type": "control",
        "ref": "s",
        "execution_id": reply["data"]["execution_id"],
        "action": "stop",
    }
    assert (await client.request(stop))["data"]["status"] == "stopped"
    assert await asyncio.to_thread(finished.wait, 30), "the thread is free again"
