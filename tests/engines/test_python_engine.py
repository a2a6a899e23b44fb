"""A Python engine in another OS process runs executions behind a real uvicorn server: a
user executes, watches, pauses, resumes, answers an input and stops; the engine gets each
command and the user its answer. Every frame on both sides is checked against the schemas."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tests.engines.harness import ENGINE_KEY, EngineProcess, User
from tests.servers.harness import ServerProcess

pytestmark = [pytest.mark.slow]

Start = Callable[..., ServerProcess]
APP = "tests.servers.apps:engine_app()"

REVIEW = {
    "id": "review",
    "name": "Two questions",
    "nodes": [
        {"id": "first", "kind": "input", "params": {"prompt": "Go on?"}},
        {"id": "second", "kind": "input", "params": {"prompt": "Really?"}},
    ],
    "edges": [{"source": "first", "target": "second"}],
}


async def test_a_user_drives_an_execution_run_by_an_engine_in_another_process(
    start_server: Start, engines: Callable[..., EngineProcess]
) -> None:
    server = start_server("uvicorn-sansio", APP)
    engine = engines(server.url("/ws/engine"), "review")
    await engine.expect("ready")
    user = await User.connect(server.url())
    stats = httpx.get(server.http_url("/ws/stats"), timeout=10).json()
    assert (stats["engines"], stats["connections"]) == (1, 2)

    started = await user.request({"type": "execute", "ref": "x", "workflow": REVIEW})
    assert started["type"] == "reply", started
    execution = started["data"]["execution_id"]
    assert started["data"]["topic"] == "workflow:review"
    await engine.expect("command execute")
    await user.until("input.requested", node_id="first")

    def control(action: str) -> dict[str, object]:
        return {"type": "control", "ref": action, "execution_id": execution, "action": action}

    paused = await user.request(control("pause"))
    assert paused == {"type": "reply", "ref": "pause", "data": {"status": "paused"}}
    await engine.expect("command control pause")
    assert (await user.until("execution.paused"))["by"] == "ada"  # the engine saw who

    refused = await user.request(control("pause"))  # the engine's own error comes back
    assert (refused["type"], refused["code"]) == ("error", "conflict"), refused

    resumed = await user.request(control("resume"))
    assert resumed["data"] == {"status": "running"}
    await engine.expect("command control resume")
    await user.until("execution.resumed")

    answer = {"type": "input", "ref": "i", "execution_id": execution, "node_id": "first"}
    answered = await user.request({**answer, "value": {"go": True}})
    assert answered["data"] == {"accepted": True}
    await engine.expect("command input")
    await user.until("input.received", node_id="first")
    await user.until("input.requested", node_id="second")

    stopped = await user.request(control("stop"))
    assert stopped["data"] == {"status": "stopped"}
    await engine.expect("command control stop")
    assert (await user.until("execution.stopped"))["by"] == "ada"
    seqs = [event["seq"] for event in user.events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # every event, once, in order
    assert engine.violations() == []


async def test_a_command_the_engine_never_answers_fails_with_unavailable(
    start_server: Start,
) -> None:
    from tests.servers.harness import WsClient

    options = json.dumps({"engine_command_timeout_ms": 300})
    server = start_server("uvicorn-sansio", APP, FLOWWIRE_OPTIONS=options)
    silent = await WsClient.connect(
        server.url("/ws/engine"), additional_headers={"Authorization": f"Bearer {ENGINE_KEY}"}
    )
    served = await silent.request({"type": "engine.serve", "ref": "s", "workflows": ["review"]})
    assert served["data"] == {"workflows": ["review"]}
    user = await User.connect(server.url())
    answer = await user.request({"type": "execute", "ref": "x", "workflow": REVIEW})
    assert (answer["type"], answer["code"]) == ("error", "unavailable"), answer
    assert "did not answer within 300 ms" in answer["message"]
    command = await silent.recv()
    assert command["type"] == "engine.command"
    assert command["command"]["type"] == "execute"
    assert command["principal"] == {"id": "ada"}
