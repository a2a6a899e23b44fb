"""Behind two server processes on one redis-server, a user on process A drives an execution
whose engine is connected to process B: each command is forwarded to B, carried to the
engine there, and the engine's answer comes back to the user on A."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.engines.harness import EngineProcess, User
from tests.engines.test_python_engine import REVIEW
from tests.redis_server import RedisServer
from tests.servers.harness import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.slow]

Start = Callable[..., ServerProcess]
APP = "tests.servers.apps:engine_app()"


async def test_a_user_on_one_process_commands_an_engine_on_another(
    start_server: Start, redis_server: RedisServer, engines: Callable[..., EngineProcess]
) -> None:
    a, b = (start_server("uvicorn-sansio", APP, FLOWWIRE_REDIS_URL=redis_server.url) for _ in "ab")
    engine = engines(b.url("/ws/engine"), "review")
    await engine.expect("ready")
    starter = await User.connect(b.url())
    started = await starter.request({"type": "execute", "ref": "x", "workflow": REVIEW})
    execution = started["data"]["execution_id"]
    await engine.expect("command execute")
    await starter.until("input.requested", node_id="first")

    user = await User.connect(a.url())  # the same principal, on the other process
    await user.request({"type": "subscribe", "ref": "s", "topics": ["workflow:review"]})
    snapshot = await user.client.recv()
    assert snapshot["type"] == "execution.snapshot"
    assert [pending["node_id"] for pending in snapshot["inputs"]] == ["first"]

    def control(action: str) -> dict[str, object]:
        return {"type": "control", "ref": action, "execution_id": execution, "action": action}

    assert (await user.request(control("pause")))["data"] == {"status": "paused"}
    await engine.expect("command control pause")
    await user.until("execution.paused")
    refused = await user.request(control("pause"))  # B's engine's error, on A
    assert (refused["type"], refused["code"]) == ("error", "conflict"), refused
    assert (await user.request(control("resume")))["data"] == {"status": "running"}
    await engine.expect("command control resume")
    answer = {"type": "input", "ref": "i", "execution_id": execution, "node_id": "first"}
    assert (await user.request({**answer, "value": 1}))["data"] == {"accepted": True}
    await engine.expect("command input")
    await user.until("input.requested", node_id="second")
    assert (await user.request(control("stop")))["data"] == {"status": "stopped"}
    await engine.expect("command control stop")
    await user.until("execution.stopped")
    assert engine.violations() == []


async def test_an_execute_on_one_process_starts_on_an_engine_connected_to_another(
    start_server: Start, redis_server: RedisServer, engines: Callable[..., EngineProcess]
) -> None:
    a, b = (start_server("uvicorn-sansio", APP, FLOWWIRE_REDIS_URL=redis_server.url) for _ in "ab")
    engine = engines(b.url("/ws/engine"), "review")
    await engine.expect("ready")
    user = await User.connect(a.url())
    started = await user.request({"type": "execute", "ref": "x", "workflow": REVIEW})
    assert started["type"] == "reply", started
    execution = started["data"]["execution_id"]
    await engine.expect("command execute")
    assert (await user.until("execution.started"))["execution_id"] == execution
    await user.until("input.requested", node_id="first")
    pause = {"type": "control", "ref": "p", "execution_id": execution, "action": "pause"}
    assert (await user.request(pause))["data"] == {"status": "paused"}
    await engine.expect("command control pause")
    assert (await user.until("execution.paused"))["by"] == "ada"
    other = await User.connect(a.url(), name="bob")  # the starter's, not anyone's
    refused = await other.request({**pause, "action": "resume"})
    assert (refused["type"], refused["code"]) == ("error", "forbidden"), refused
    unserved = await user.request(
        {"type": "execute", "ref": "u", "workflow": {**REVIEW, "id": "nobody-serves-this"}}
    )
    assert (unserved["type"], unserved["code"]) == ("error", "not_found"), unserved
    assert engine.violations() == []
