"""Checked by mypy --strict in tests/test_typing.py, never run: how the public API types.

A line ending in `# E: <code>` must produce exactly that mypy error; every other
line must produce none.
"""

from __future__ import annotations

import asyncio

from typing_extensions import assert_type

from flowwire import (
    DagRunner,
    FlowwireApp,
    FlowwireMiddleware,
    MemoryBroker,
    NodeStatus,
    RedisBroker,
    Reporter,
    SyncReporter,
)


async def correct_use() -> None:
    app = FlowwireApp(
        api_key="k",
        heartbeat_ms=10_000,
        allowed_origins=["https://app.example"],
        broker=MemoryBroker(history_ttl_ms=60_000),
        handler=DagRunner(),
    )
    FlowwireMiddleware(app, path="/ws", api_key="k")
    RedisBroker("redis://127.0.0.1:6379/0", socket_timeout_ms=500)
    report = app.reporter("etl", "run-1")
    assert_type(report, Reporter)
    assert_type(await report.node_running("load"), int)
    assert_type(report.sync, SyncReporter)
    assert_type(await asyncio.to_thread(report.sync.node_succeeded, "load"), int)
    assert_type(
        await app.publish(
            NodeStatus(workflow_id="etl", execution_id="run-1", node_id="a", status="running")
        ),
        int,
    )


async def misuse() -> None:
    FlowwireApp(api_key=123)  # E: arg-type
    FlowwireApp(heartbeat=5)  # E: call-arg
    FlowwireApp(heartbeat_ms="5s")  # E: arg-type
    FlowwireApp(allowed_origins=3)  # E: arg-type
    FlowwireMiddleware(object(), api_key=123)  # E: arg-type
    MemoryBroker(history_ttl=3600)  # E: call-arg
    report = FlowwireApp().reporter("etl", "run-1")
    report.sync.node_running("a", attempt="1")  # E: arg-type
    await report.node_succeeded("a", duration_ms=1.5)  # E: arg-type
