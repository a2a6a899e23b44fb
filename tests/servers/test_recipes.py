"""The recipes of docs/mounting.md (`examples/`) over real servers and a real client: flowwire
at /ws next to the framework's own route, publishing over HTTP, stats, graceful shutdown."""

from __future__ import annotations

import asyncio
import importlib
import signal
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

import wsproto_schema as ws
from tests.servers.harness import SERVERS, ServerProcess, WsClient, get_json, node_status, publish

Start = Callable[..., ServerProcess]
RECIPES = ["plain_asgi", "starlette_app", "fastapi_app", "litestar_app", "django_app"]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("recipe", RECIPES)
async def test_recipe_over_a_real_server(recipe: str, server: str, start_server: Start) -> None:
    process = start_server(server, f"examples.{recipe}:app", FLOWWIRE_API_KEY="test-key")
    client = WsClient(await websockets.connect(process.url("/ws"), open_timeout=10))
    welcome = await client.recv()
    assert (welcome["type"], welcome["protocol"]) == ("welcome", "flowwire.v1"), welcome
    reply = await client.subscribe("workflow:etl")
    assert reply["data"]["topics"]["workflow:etl"]["seq"] == 0

    result = await publish(process, [node_status(i, "etl") for i in range(20)], key="test-key")
    assert [p["seq"] for p in result["published"]] == list(range(1, 21))
    got = [await client.recv() for _ in range(20)]
    assert [f["seq"] for f in got] == list(range(1, 21))
    assert [f["node_id"] for f in got] == [f"n{i}" for i in range(20)]

    stats = await get_json(process, "/ws/stats")
    assert (stats["connections"], stats["published"], stats["deliveries"]) == (1, 20, 20)
    async with httpx.AsyncClient(timeout=10) as http:
        home = await http.get(process.http_url("/"))
        refused = await http.post(process.http_url("/ws/publish"), json=node_status(0, "etl"))
    assert home.status_code == 200 and "hello" in home.text, home.text
    assert refused.status_code == 401, refused.text

    process.signal(signal.SIGTERM)
    frames = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            frames.append(await client.recv())
    assert [f["type"] for f in frames] == ["goaway"], frames
    assert closed.value.rcvd is not None, f"no close frame from {server}"
    assert closed.value.rcvd.code == 1001
    returncode = await asyncio.to_thread(process.process.wait, 15)  # type: ignore[union-attr]
    # uvicorn re-raises the signal it caught once it has shut down gracefully.
    assert returncode in (0, -signal.SIGTERM), process.logs()
    assert "Traceback" not in process.logs()


@pytest.mark.parametrize("recipe", RECIPES)
async def test_recipe_runs_flowwire_with_the_app_lifespan(recipe: str) -> None:
    """The app's lifespan starts flowwire (and its SIGTERM/SIGINT hook) and shuts it down,
    though the framework does not pass lifespan on to mounted apps."""
    module = importlib.import_module(f"examples.{recipe}")
    flowwire, app = module.flowwire, module.app
    event = ws.NodeStatus(workflow_id="etl", execution_id="x1", node_id="load", status="running")
    with pytest.raises(RuntimeError, match="not running yet"):
        flowwire.publish_threadsafe(event)
    handler = signal.getsignal(signal.SIGTERM)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await asyncio.wait_for(outbox.get(), 10))["type"] == "lifespan.startup.complete"
    assert signal.getsignal(signal.SIGTERM) is not handler, "no drain hook after startup"
    seq = await asyncio.to_thread(lambda: flowwire.publish_threadsafe(event).result(10))
    assert seq == 1
    await inbox.put({"type": "lifespan.shutdown"})
    assert (await asyncio.wait_for(outbox.get(), 10))["type"] == "lifespan.shutdown.complete"
    await asyncio.wait_for(task, 10)
    assert signal.getsignal(signal.SIGTERM) is handler, "the drain hook outlived shutdown"
