"""A queue worker whose jobs are flowwire executions, as a Celery, RQ or Dramatiq worker runs
them: a blocking function in a worker thread. Users watch each job live in the browser and
pause, resume or stop it; the worker connects to the server's engine endpoint.

    FLOWWIRE_ENGINE_URL=ws://localhost:8000/ws/engine FLOWWIRE_ENGINE_KEY=… \\
        python -m examples.engine_worker 500        # one export job of 500 rows
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid

from flowwire import (
    CommandContext,
    Control,
    ControlResult,
    EngineClient,
    ErrorCode,
    Execute,
    ExecuteResult,
    Input,
    InputResult,
    ProtocolError,
    Reporter,
)


class Job:
    """One running job: its thread checks `checkpoint()` between rows."""

    def __init__(self, report: Reporter) -> None:
        self.report = report
        self.running = threading.Event()
        self.running.set()
        self.stop_by: str | None = None
        self.stopped = False
        self.done = threading.Event()

    def checkpoint(self) -> bool:
        """Wait while the job is paused; False once it was stopped."""
        self.running.wait()
        return not self.stopped


class Jobs:
    """The worker's command handler: a user's pause, resume or stop reaches the job's thread."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}

    async def on_execute(self, command: Execute, context: CommandContext) -> ExecuteResult:
        raise ProtocolError(ErrorCode.NOT_FOUND, "jobs come from the queue, not from browsers")

    async def on_control(self, command: Control, context: CommandContext) -> ControlResult:
        job = self.jobs.get(command.execution_id)
        if job is None or job.done.is_set():
            raise ProtocolError(ErrorCode.CONFLICT, "that job is not running here")
        by = (context.principal or {}).get("id")
        if command.action == "pause" and job.running.is_set():
            job.running.clear()
            await job.report.paused(by=by)
        elif command.action == "resume" and not job.running.is_set():
            await job.report.resumed(by=by)
            job.running.set()
        elif command.action == "stop":
            job.stop_by, job.stopped = by, True
            job.running.set()
            await asyncio.to_thread(job.done.wait)  # its thread reports `execution.stopped`
            return ControlResult(status="stopped")
        else:
            raise ProtocolError(ErrorCode.CONFLICT, f"cannot {command.action} this job now")
        return ControlResult(status="running" if job.running.is_set() else "paused")

    async def on_input(self, command: Input, context: CommandContext) -> InputResult:
        raise ProtocolError(ErrorCode.NOT_FOUND, "jobs ask no questions")


def export_rows(job: Job, rows: int) -> str:
    """The task itself, blocking, as a worker runs it (`@app.task` in a Celery worker)."""
    report = job.report.sync
    report.started(["fetch", "write"], [("fetch", "write")], name=f"export {rows} rows")
    try:
        for node in ("fetch", "write"):
            report.node_running(node)
            for row in range(rows):
                if not job.checkpoint():
                    report.node_cancelled(node)
                    report.stopped(by=job.stop_by)
                    return "stopped"
                time.sleep(0.005)  # the row's work
                if (row + 1) % 50 == 0:
                    report.node_progress(node, (row + 1) / rows)
            report.node_succeeded(node, output={"rows": rows})
        report.completed(outputs={"write": {"rows": rows}})
        return "completed"
    finally:
        job.done.set()


async def main(rows: int) -> None:
    jobs = Jobs()
    url, key = os.environ["FLOWWIRE_ENGINE_URL"], os.environ["FLOWWIRE_ENGINE_KEY"]
    async with EngineClient(url, key=key, handler=jobs) as engine:
        execution_id = uuid.uuid4().hex[:12]
        job = jobs.jobs[execution_id] = Job(engine.reporter("export", execution_id))
        print(f"job {execution_id}", flush=True)
        outcome = await asyncio.to_thread(export_rows, job, rows)
        print(f"job {execution_id} {outcome}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
