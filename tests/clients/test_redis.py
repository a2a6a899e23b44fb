"""Scenario 3: two server processes on a real redis-server; the execution runs on B, the
client is on A; A is SIGKILLed and restarted mid-run: the client sees every seq once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.clients.recorder import APP, Recorder, streaming
from tests.redis_server import RedisServer
from tests.servers.harness import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.slow]


async def test_sigkill_the_process_the_client_is_on_while_another_runs_the_execution(
    start_server: Callable[..., ServerProcess], redis_server: RedisServer
) -> None:
    a, b = (
        start_server(name, APP, FLOWWIRE_REDIS_URL=redis_server.url)
        for name in ("uvicorn-sansio", "uvicorn-wsproto")
    )
    seen = Recorder()
    async with (
        Recorder().client(b.url()) as runner,
        seen.client(a.url(), give_up_after=30) as client,
    ):
        workflow = streaming("redis-run", words=300, delay_ms=10)
        await client.subscribe("workflow:redis-run")
        run = await runner.execute(workflow)  # runs on B
        await seen.until(lambda: len(seen.events(run.topic)) >= 40)
        a.kill()
        a.restart()
        view = await client.wait(run.execution_id, timeout=40)
        final = await runner.wait(run.execution_id, timeout=40)
    assert view.status == final.status == "completed"
    seqs = seen.seqs(run.topic)
    assert seqs == list(range(1, final.last_seq + 1)), "every seq exactly once, in order"
    assert [s.recovered for s in seen.statuses if s.recovered is not None] == [True]
    assert view.to_snapshot() == final.to_snapshot()
