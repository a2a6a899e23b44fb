"""The reference DAG runner with a node kind of your own.

    uvicorn examples.engine_runner:app

A client sends `execute` with a workflow such as
{"id": "prices", "nodes": [{"id": "fetch", "kind": "http_get",
  "params": {"url": "https://example.com/prices", "retries": 2}}], "edges": []}
"""

from __future__ import annotations

import asyncio

import msgspec
from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute

from flowwire import DagRunner, FlowwireApp, JsonValue, NodeContext

runner = DagRunner()


class HttpGet(msgspec.Struct, forbid_unknown_fields=True):
    """Params of an `http_get` node: validated when the workflow arrives."""

    url: str
    timeout_s: float = 5.0


@runner.kind("http_get", params=HttpGet)
async def http_get(node: NodeContext) -> JsonValue:
    params: HttpGet = node.params
    await node.log(f"GET {params.url}")
    await asyncio.sleep(0.05)  # a real node would await an HTTP client here
    await node.progress(1.0)
    return {"url": params.url, "status": 200, "inputs": node.inputs}


flowwire = FlowwireApp(handler=runner)
app = Starlette(
    routes=[WebSocketRoute("/ws", flowwire), Mount("/ws", app=flowwire)],
    lifespan=flowwire.lifespan,
)
