"""Scale: one publish to a topic with 10 subscribers, while more and more other
connections exist (spread over 100 other topics). In one process, with ASGI sends
that complete at once, so only flowwire's own work is timed: it must not grow with
the number of connections."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from bench.progress import Progress

SUBSCRIBERS = 10


_connections: set[asyncio.Future[None]] = set()


async def _connect(app: FlowwireApp, topic: str, sent: list[int]) -> None:
    async def send(message: dict[str, Any]) -> None:
        sent[0] += 1

    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})
    subscribe = f'{{"type":"subscribe","topics":["{topic}"],"snapshot":false}}'
    inbox.put_nowait({"type": "websocket.receive", "text": subscribe})
    scope = {
        "type": "websocket",
        "path": "/",
        "headers": [],
        "subprotocols": [],
        "query_string": b"",
    }
    task = asyncio.ensure_future(app(scope, inbox.get, send))
    _connections.add(task)
    task.add_done_callback(_connections.discard)


async def one(total: int, publishes: int, reps: int) -> dict[str, Any]:
    app = FlowwireApp(drain_on_signals=False, heartbeat_ms=3_600_000)
    await app.start()
    sent = [0]
    for i in range(total - SUBSCRIBERS):
        await _connect(app, f"other:{i % 100}", sent)
    for _ in range(SUBSCRIBERS):
        await _connect(app, "workflow:w", sent)
    while sent[0] < 3 * total:  # accept, welcome, reply
        await asyncio.sleep(0.01)
    event = ws.NodeStatus(
        workflow_id="w", execution_id="e", node_id="n", status="running", output={"pad": "x" * 150}
    )
    samples = []
    for _ in range(reps):
        before, start = sent[0], time.process_time()
        for _ in range(publishes):
            await app.publish(event)
        samples.append((time.process_time() - start) / publishes * 1e6)
        assert sent[0] - before == publishes * SUBSCRIBERS
    await app.shutdown()
    return {"connections": total, "us_per_publish": statistics.median(samples), "samples": samples}


async def run(
    totals: tuple[int, ...] = (10, 100, 1000, 5000), *, publishes: int = 3000, reps: int = 5
) -> dict[str, Any]:
    progress = Progress("scale", len(totals))
    points = []
    for total in totals:
        points.append(await one(total, publishes, reps))
        progress.step(f"{total} connections")
    return {"subscribers": SUBSCRIBERS, "points": points}
