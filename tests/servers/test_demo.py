"""The demo end to end over a real server and a real client: each sample workflow's exact
event sequence, pause/resume/stop, an input round trip, an invalid workflow, a sync engine
reporting from a plain thread, and the `flowwire demo` command itself."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import pytest

from asgi_plugin.demo.samples import SAMPLES
from tests.servers.harness import SERVERS, DemoProcess, ServerProcess, WsClient

Start = Callable[..., ServerProcess]
TERMINAL = ("execution.completed", "execution.failed", "execution.stopped")


def workflow(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = msgspec.to_builtins(SAMPLES[name])
    return spec


def trail(frames: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Each event as (type, subject[, detail]): what the exact-sequence checks compare."""
    out: list[tuple[str, ...]] = []
    for f in frames:
        kind = f["type"]
        if kind == "node.status":
            detail = f["status"] + ("%" if "progress" in f and f["status"] == "running" else "")
            out.append(
                (kind, f["node_id"], detail + (f"#{f['attempt']}" if "attempt" in f else ""))
            )
        elif kind == "edge.flow":
            out.append((kind, f"{f['source']}->{f['target']}"))
        elif kind in (
            "node.token",
            "node.usage",
            "input.requested",
            "input.received",
            "execution.log",
        ):
            out.append((kind, f.get("node_id") or ""))
        elif kind == "branch.started":
            out.append((kind, ",".join(f["node_ids"])))
        else:
            out.append((kind,))
    return out


async def run(client: WsClient, name: str, **fields: Any) -> tuple[str, list[dict[str, Any]]]:
    await client.send({"type": "execute", "ref": "x", "workflow": workflow(name), **fields})
    reply = await client.recv()
    assert reply["type"] == "reply", reply  # before the execution's first event
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] not in TERMINAL:
        frames.append(await client.recv(20))
        if frames[-1]["type"] == "input.requested":
            answer = await client.request(
                {
                    "type": "input",
                    "ref": "i",
                    "execution_id": reply["data"]["execution_id"],
                    "node_id": frames[-1]["node_id"],
                    "value": "yes",
                }
            )
            assert answer["data"] == {"accepted": True}
    assert [f["seq"] for f in frames] == list(
        range(frames[0]["seq"], frames[0]["seq"] + len(frames))
    )
    return reply["data"]["execution_id"], frames


def tokens(node: str, count: int) -> list[tuple[str, ...]]:
    return [("node.token", node)] * count


def words(text: str) -> int:
    return len(text.split())


LLM = SAMPLES["llm"].nodes
EXPECTED = {
    "llm": [
        ("execution.started",),
        ("node.status", "plan", "running"),
        ("execution.log", "plan"),
        ("node.status", "plan", "succeeded"),
        ("edge.flow", "plan->draft"),
        ("execution.progress",),
        ("node.status", "draft", "running"),
        *tokens("draft", words(LLM[1].params["text"])),  # type: ignore[index]
        ("node.usage", "draft"),
        ("node.status", "draft", "succeeded"),
        ("edge.flow", "draft->review"),
        ("execution.progress",),
        ("node.status", "review", "running"),
        *tokens("review", words(LLM[2].params["text"])),  # type: ignore[index]
        ("node.usage", "review"),
        ("node.status", "review", "succeeded"),
        ("execution.progress",),
        ("execution.completed",),
    ],
    "failing": [
        ("execution.started",),
        ("branch.started", "extract,audit"),
        ("node.status", "extract", "running"),
        ("node.status", "audit", "running"),
        ("execution.log", "audit"),
        ("node.status", "audit", "succeeded"),
        ("execution.progress",),
        ("node.status", "extract", "succeeded"),
        ("edge.flow", "extract->transform"),
        ("execution.progress",),
        ("node.status", "transform", "running#1"),
        ("execution.log", "transform"),
        ("node.status", "transform", "running#2"),
        ("node.status", "transform", "failed#2"),
        ("node.status", "load", "skipped"),
        ("execution.progress",),
        ("execution.failed",),
    ],
    "approval": [
        ("execution.started",),
        ("node.status", "prepare", "running"),
        ("node.status", "prepare", "succeeded"),
        ("edge.flow", "prepare->approve"),
        ("execution.progress",),
        ("node.status", "approve", "running"),
        ("input.requested", "approve"),
        ("input.received", "approve"),
        ("node.status", "approve", "succeeded"),
        ("edge.flow", "approve->ship"),
        ("execution.progress",),
        ("node.status", "ship", "running"),
        ("execution.log", "ship"),
        ("node.status", "ship", "succeeded"),
        ("execution.progress",),
        ("execution.completed",),
    ],
    "legacy": [
        ("execution.started",),
        ("node.status", "crunch", "running"),
        *[("execution.log", "crunch"), ("node.status", "crunch", "running%")] * 4,
        ("node.status", "crunch", "succeeded"),
        ("edge.flow", "crunch->notify"),
        ("execution.progress",),
        ("node.status", "notify", "running"),
        ("execution.log", "notify"),
        ("node.status", "notify", "succeeded"),
        ("execution.progress",),
        ("execution.completed",),
    ],
}


@pytest.fixture
def demo(start_server: Start) -> ServerProcess:
    return start_server("uvicorn-sansio", "tests.servers.apps:demo")


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_sample_exact_event_sequence(demo: ServerProcess, name: str) -> None:
    client = await WsClient.connect(demo.url())
    _, frames = await run(client, name)
    assert trail(frames) == EXPECTED[name]
    if name == "legacy":  # reported from the engine's own thread, in its order
        assert [f["message"] for f in frames if f["type"] == "execution.log"][:4] == [
            f"legacy step {i} of 4" for i in range(1, 5)
        ]
        assert [f["progress"] for f in frames if "progress" in f and f.get("node_id") == "crunch"][
            :4
        ] == [0.25, 0.5, 0.75, 1.0]
    await client.close()


@pytest.mark.parametrize("server", SERVERS)
async def test_parallel_sample_on_every_server(start_server: Start, server: str) -> None:
    process = start_server(server, "tests.servers.apps:demo")
    client = await WsClient.connect(process.url())
    watcher = await WsClient.connect(process.url())
    await watcher.subscribe("workflow:*")
    _, frames = await run(client, "parallel")
    per_node = {
        n: [t[2] for t in trail(frames) if t[:2] == ("node.status", n)]
        for n in ("fetch", "clean", "enrich", "merge", "report")
    }
    assert per_node == {
        "fetch": ["running", "running%", "running%", "succeeded"],
        "clean": ["running", "running%", "running%", "running%", "succeeded"],
        "enrich": ["running", "running%", "succeeded"],
        "merge": ["running", "succeeded"],
        "report": ["running", "succeeded"],
    }
    order = trail(frames)
    assert order.index(("branch.started", "clean,enrich")) < order.index(
        ("node.status", "clean", "running")
    )
    assert order.index(("edge.flow", "clean->merge")) < order.index(
        ("node.status", "merge", "running")
    )
    assert order.index(("edge.flow", "enrich->merge")) < order.index(
        ("node.status", "merge", "running")
    )
    assert frames[-1]["summary"] == {"total": 5, "succeeded": 5, "failed": 0, "skipped": 0}
    watched = [await watcher.recv() for _ in range(len(frames))]
    assert watched == frames, "a second client sees the same stream"
    await client.close()
    await watcher.close()


async def test_pause_resume_stop(demo: ServerProcess) -> None:
    client = await WsClient.connect(demo.url())
    await client.send({"type": "execute", "ref": "x", "workflow": workflow("parallel")})
    execution = (await client.recv())["data"]["execution_id"]
    while (frame := await client.recv())["type"] != "node.status":
        pass
    assert await client.request(
        {"type": "control", "ref": "p", "execution_id": execution, "action": "pause"}
    ) == {"type": "reply", "ref": "p", "data": {"status": "paused"}}
    await asyncio.sleep(0.8)  # fetch (300 ms) finishes; nothing new may start
    seen = []
    while True:  # drain what arrived while paused
        try:
            seen.append(await client.recv(0.2))
        except TimeoutError:
            break
    kinds = trail(seen)
    assert ("execution.paused",) in kinds and ("node.status", "fetch", "succeeded") in kinds
    assert not [t for t in kinds if t[:2] in (("node.status", "clean"), ("node.status", "enrich"))]
    assert (
        await client.request(
            {"type": "control", "ref": "r", "execution_id": execution, "action": "resume"}
        )
    )["data"] == {"status": "running"}
    while not (
        (frame := await client.recv())["type"] == "node.status" and frame["node_id"] == "clean"
    ):
        pass
    assert (
        await client.request(
            {"type": "control", "ref": "s", "execution_id": execution, "action": "stop"}
        )
    )["data"] == {"status": "stopped"}
    rest = []
    while not rest or rest[-1]["type"] not in TERMINAL:
        rest.append(await client.recv())
    kinds = trail(rest)
    assert kinds[-1] == ("execution.stopped",)
    assert ("node.status", "clean", "cancelled") in kinds and (
        "node.status",
        "enrich",
        "cancelled",
    ) in kinds
    assert ("node.status", "merge", "skipped") in kinds and (
        "node.status",
        "report",
        "skipped",
    ) in kinds
    again = await client.request(
        {"type": "control", "ref": "s2", "execution_id": execution, "action": "stop"}
    )
    assert again["code"] == "conflict"
    await client.close()


async def test_invalid_workflow_error_reply(demo: ServerProcess) -> None:
    client = await WsClient.connect(demo.url())
    bad = workflow("llm")
    bad["edges"].append({"source": "review", "target": "plan"})
    error = await client.request({"type": "execute", "ref": "x", "workflow": bad})
    assert error == {
        "type": "error",
        "ref": "x",
        "code": "invalid_workflow",
        "message": "$.workflow.edges: the workflow has a cycle: plan → draft → review → plan",
        "path": "$.workflow.edges",
    }
    await client.close()


async def test_flowwire_demo_command(tmp_path: Any) -> None:
    demo = DemoProcess(tmp_path / "demo.log").start()
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            page = await http.get(demo.http_url("/"))
            assert page.status_code == 200 and "<title>flowwire dashboard</title>" in page.text
            assert '{"endpoint":"ws","samples":"api/workflows"}' in page.text
            script = await http.get(demo.http_url("/dashboard.js"))  # the dashboard, built
            assert script.status_code == 200
            assert script.headers["content-type"].startswith("text/javascript")
            assert "flowwire.v1.json" in script.text
            samples = (await http.get(demo.http_url("/api/workflows"))).json()
            assert [s["id"] for s in samples] == list(SAMPLES)
        client = await WsClient.connect(demo.url())
        _, frames = await run(client, "llm")
        assert frames[-1]["type"] == "execution.completed"
        demo.child.signal(signal.SIGINT)
        with pytest.raises(Exception, match="1001"):
            while True:
                await client.recv()
        assert await asyncio.to_thread(demo.child.wait, 15) in (0, -signal.SIGINT)
    finally:
        demo.child.stop()
    assert "Traceback" not in demo.logs()
