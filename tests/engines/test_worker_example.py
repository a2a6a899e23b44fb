"""examples/engine_worker.py, the queue worker of docs/engine.md, behind a real server: its
job is watched live, paused, resumed and stopped by a user in another connection."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engines.harness import ENGINE_KEY, EngineProcess, User
from tests.servers.harness import ServerProcess

pytestmark = [pytest.mark.slow]

Start = Callable[..., ServerProcess]


async def test_the_worker_example_runs_a_job_a_user_pauses_resumes_and_stops(
    start_server: Start, tmp_path: Path
) -> None:
    server = start_server("uvicorn-sansio", "tests.servers.apps:engine_app()")
    user = await User.connect(server.url())
    await user.request({"type": "subscribe", "ref": "s", "topics": ["workflow:export"]})
    worker = EngineProcess(
        [sys.executable, "-m", "examples.engine_worker", "5000"],
        tmp_path / "worker.log",
        FLOWWIRE_ENGINE_URL=server.url("/ws/engine"),
        FLOWWIRE_ENGINE_KEY=ENGINE_KEY,
    ).start()
    try:
        job = (await worker.expect("job ")).split()[1]
        started = await user.until("execution.started")
        assert started["execution_id"] == job

        def control(action: str) -> dict[str, object]:
            return {"type": "control", "ref": action, "execution_id": job, "action": action}

        assert (await user.request(control("pause")))["data"] == {"status": "paused"}
        assert (await user.until("execution.paused"))["by"] == "ada"
        assert (await user.request(control("resume")))["data"] == {"status": "running"}
        await user.until("execution.resumed")
        stopped = await user.request(control("stop"))
        assert stopped["type"] == "reply", stopped
        assert stopped["data"] == {"status": "stopped"}
        assert (await user.until("execution.stopped"))["by"] == "ada"
        assert await worker.expect(f"job {job} ") == f"job {job} stopped"
    finally:
        worker.stop()
