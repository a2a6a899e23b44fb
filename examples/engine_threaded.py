"""A synchronous engine in threads, plugged into flowwire's commands.

    uvicorn examples.engine_threaded:app

The engine knows nothing of asyncio (many engines are like this): it runs in
a worker thread and reports through `reporter.sync`, whose calls block until
the event is published. The handler maps `execute` and `control` to it.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time

from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute

import flowwire as fw
from flowwire import CommandContext, ErrorCode, FlowwireApp, ProtocolError, SyncReporter


def legacy_engine(spec: fw.WorkflowSpec, report: SyncReporter, stop: threading.Event) -> None:
    """Runs the nodes one after the other, in declaration order, blocking."""
    report.started([node.id for node in spec.nodes], [(e.source, e.target) for e in spec.edges])
    for node in spec.nodes:
        if stop.is_set():
            report.node_skipped(node.id)
            continue
        report.node_running(node.id)
        time.sleep(float((node.params or {}).get("seconds", 0.05)))  # blocking work
        report.node_succeeded(node.id)
        report.progress()
    if stop.is_set():
        report.stopped(reason="stopped by a client")
    else:
        report.completed()


class ThreadedEngine:
    """A `CommandHandler`: `execute` starts a thread, `control` stops it."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[threading.Event, asyncio.Future[None]]] = {}

    async def on_execute(self, command: fw.Execute, context: CommandContext) -> fw.ExecuteResult:
        execution_id = secrets.token_hex(4)
        report = context.app.reporter(command.workflow.id, execution_id)
        stop = threading.Event()
        done = asyncio.ensure_future(
            asyncio.to_thread(legacy_engine, command.workflow, report.sync, stop)
        )
        self.runs[execution_id] = (stop, done)
        return fw.ExecuteResult(execution_id=execution_id, topic=report.topic)

    async def on_control(self, command: fw.Control, context: CommandContext) -> fw.ControlResult:
        if command.execution_id not in self.runs:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no execution {command.execution_id!r}")
        stop, done = self.runs[command.execution_id]
        if command.action != "stop":
            raise ProtocolError(ErrorCode.CONFLICT, "this engine can only stop, not pause")
        if done.done():
            raise ProtocolError(ErrorCode.CONFLICT, "the execution has finished")
        stop.set()
        await done
        return fw.ControlResult(status="stopped")

    async def on_input(self, command: fw.Input, context: CommandContext) -> fw.InputResult:
        raise ProtocolError(ErrorCode.CONFLICT, "this engine never asks for input")


flowwire = FlowwireApp(handler=ThreadedEngine())
app = Starlette(
    routes=[WebSocketRoute("/ws", flowwire), Mount("/ws", app=flowwire)],
    lifespan=flowwire.lifespan,
)
