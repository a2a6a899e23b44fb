"""The engine examples of docs/engine.md, run for real (ASGI level)."""

from __future__ import annotations

import json
from typing import Any

from examples import engine_async, engine_runner, engine_threaded
from tests.plugin.clients import AsgiClient, http

TERMINAL = ("execution.completed", "execution.failed", "execution.stopped")


async def until_terminal(client: AsgiClient) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] not in TERMINAL:
        frames.append(await client.recv(5))
    return frames


async def test_async_engine_with_a_reporter() -> None:
    client = AsgiClient(engine_async.app, path="/ws")
    await client.connect()
    await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:nightly-etl"]})
    status, _, body = await http(engine_async.app, "POST", "/runs")
    assert status == 202
    started = json.loads(body)
    frames = await until_terminal(client)
    assert {f["execution_id"] for f in frames} == {started["execution_id"]}
    assert frames[-1]["type"] == "execution.completed"
    assert frames[-1]["outputs"] == {"rows": 3000}
    assert frames[-1]["summary"] == {"total": 3, "succeeded": 3, "failed": 0, "skipped": 0}
    progress = [f for f in frames if f["type"] == "execution.progress"]
    assert [p["percent"] for p in progress] == [33.33, 66.67, 100.0]
    assert progress[0]["eta_ms"] > 0 and "eta_ms" not in progress[-1]


async def test_threaded_engine_behind_a_command_handler() -> None:
    client = AsgiClient(engine_threaded.app, path="/ws")
    await client.connect()
    workflow = {
        "id": "legacy",
        "nodes": [{"id": f"n{i}", "kind": "step"} for i in range(3)],
        "edges": [],
    }
    reply = await client.request({"type": "execute", "ref": "e", "workflow": workflow})
    assert reply["data"]["topic"] == "workflow:legacy"
    frames = await until_terminal(client)
    statuses = [(f["node_id"], f["status"]) for f in frames if f["type"] == "node.status"]
    assert statuses == [(f"n{i}", s) for i in range(3) for s in ("running", "succeeded")]
    slow = {
        "id": "legacy",
        "nodes": [{"id": f"n{i}", "kind": "step", "params": {"seconds": 0.3}} for i in range(4)],
    }
    execution = (await client.request({"type": "execute", "ref": "e2", "workflow": slow}))["data"][
        "execution_id"
    ]
    while (await client.recv())["type"] != "node.status":
        pass
    paused = await client.request(
        {"type": "control", "ref": "p", "execution_id": execution, "action": "pause"}
    )
    assert paused["code"] == "conflict"
    stopped = await client.request(
        {"type": "control", "ref": "s", "execution_id": execution, "action": "stop"}, timeout=5
    )
    assert stopped["data"] == {"status": "stopped"}
    rest = await until_terminal(client)
    assert rest[-1]["type"] == "execution.stopped"
    assert ("n3", "skipped") in [
        (f["node_id"], f["status"]) for f in rest if f["type"] == "node.status"
    ]


async def test_runner_with_a_custom_kind() -> None:
    client = AsgiClient(engine_runner.app, path="/ws")
    await client.connect()
    workflow = {
        "id": "prices",
        "nodes": [
            {
                "id": "fetch",
                "kind": "http_get",
                "params": {"url": "https://example.com/p", "retries": 2},
            }
        ],
    }
    await client.request(
        {"type": "execute", "ref": "e", "workflow": workflow, "inputs": {"day": "mon"}}
    )
    frames = await until_terminal(client)
    assert frames[-1]["outputs"] == {
        "fetch": {"url": "https://example.com/p", "status": 200, "inputs": {"day": "mon"}}
    }
    log = next(f for f in frames if f["type"] == "execution.log")
    assert log["message"] == "GET https://example.com/p"
    bad = {
        "id": "prices",
        "nodes": [{"id": "fetch", "kind": "http_get", "params": {"timeout_s": 1}}],
    }
    error = await client.request({"type": "execute", "ref": "e2", "workflow": bad})
    assert (error["code"], error["path"]) == ("invalid_workflow", "$.workflow.nodes[0].params.url")
