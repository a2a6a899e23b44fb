"""A Redis outage in the middle of a run does not leave the execution `running` forever: its
terminal event is published once Redis is back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from flowwire import DagRunner, NodeContext, RedisBroker
from tests.plugin.clients import AsgiClient, eventually

pytestmark = [pytest.mark.redis]


async def test_the_run_ends_after_the_outage(start_redis: Any) -> None:
    redis = start_redis(appendonly=True, appendfsync="always")
    gate = asyncio.Event()
    runner = DagRunner()

    @runner.kind("gated")
    async def gated(node: NodeContext) -> int:
        await gate.wait()
        await node.progress(0.5)  # Redis is down now: this publish fails
        return 1

    app = FlowwireApp(
        broker=RedisBroker(redis.url, reconnect_max_ms=100), handler=runner, drain_on_signals=False
    )
    await app.start()
    client = AsgiClient(app)
    await client.connect()
    workflow = {"id": "w", "nodes": [{"id": "g", "kind": "gated"}]}
    reply = await client.request({"type": "execute", "ref": "x", "workflow": workflow})
    execution = reply["data"]["execution_id"]
    while (await client.recv(5)).get("status") != "running":
        pass
    redis.kill()
    gate.set()
    run = runner.runs[execution]
    await eventually(lambda: run.status == "failed", timeout=10)  # the node could not report
    redis.start()
    await eventually(lambda: run.report.ended == "execution.failed", timeout=20)
    [snapshot] = await app.broker.snapshots("workflow:w", live_only=False)
    assert snapshot.status == "failed", "the execution's state ends too, not only the runner's"
    assert isinstance(snapshot, ws.ExecutionSnapshot)
    await app.shutdown()
