"""An async engine that reports through flowwire: it only needs a Reporter.

    uvicorn examples.engine_async:app      # POST /runs starts the pipeline

Clients subscribe to `workflow:nightly-etl` and watch every run.
"""

from __future__ import annotations

import asyncio
import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute

from flowwire import FlowwireApp, Reporter

flowwire = FlowwireApp()
STEPS = {"extract": 0.2, "transform": 0.3, "load": 0.1}


async def nightly_etl(report: Reporter) -> None:
    """Your engine, reporting each step; every call publishes one event."""
    edges = [("extract", "transform"), ("transform", "load")]
    await report.started(list(STEPS), edges, name="Nightly ETL")
    rows = 0
    for step, seconds in STEPS.items():
        await report.node_running(step)
        await asyncio.sleep(seconds)  # the real work
        rows += 1000
        await report.log(f"{step}: {rows} rows", node_id=step)
        await report.node_succeeded(step, output={"rows": rows})
        await report.progress()  # counts, and an ETA from the durations seen so far
    await report.completed(outputs={"rows": rows})


runs: set[asyncio.Task[None]] = set()


async def start(request: Request) -> JSONResponse:
    report = flowwire.reporter("nightly-etl", secrets.token_hex(4))
    task = asyncio.create_task(nightly_etl(report))
    runs.add(task)  # keep a reference until it finishes
    task.add_done_callback(runs.discard)
    return JSONResponse({"execution_id": report.execution_id, "topic": report.topic}, 202)


app = Starlette(
    routes=[
        Route("/runs", start, methods=["POST"]),
        WebSocketRoute("/ws", flowwire),
        Mount("/ws", app=flowwire),
    ],
    lifespan=flowwire.lifespan,
)
