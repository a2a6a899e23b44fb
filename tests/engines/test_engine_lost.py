"""An engine's executions follow the runner lease: an engine killed mid-run has them failed
as `runner_lost` once the lease lapses; an engine whose connection drops and that comes
back within the lease keeps them, and no event is lost or stored twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from tests.engines.harness import ENGINE_KEY, EngineProcess, Proxy, User
from tests.servers.harness import ServerProcess, WsClient

pytestmark = [pytest.mark.slow]

Start = Callable[..., ServerProcess]
APP = "tests.servers.apps:engine_app()"
ENGINE = {"Authorization": f"Bearer {ENGINE_KEY}"}

ASK = {
    "id": "ask",
    "nodes": [{"id": "question", "kind": "input", "params": {"prompt": "Go on?"}}],
}
WORDS = 40
TALK = {
    "id": "talk",
    "nodes": [
        {
            "id": "model",
            "kind": "llm",
            "params": {"text": " ".join(f"w{i}" for i in range(WORDS)), "delay_ms": 40},
        },
        {"id": "done", "kind": "log", "params": {"message": "said it all"}},
    ],
    "edges": [{"source": "model", "target": "done"}],
}


async def test_an_engine_killed_mid_run_has_its_execution_failed_as_runner_lost(
    start_server: Start, engines: Callable[..., EngineProcess]
) -> None:
    broker = json.dumps({"lease_ms": 800})
    server = start_server("uvicorn-sansio", APP, FLOWWIRE_MEMORY_BROKER=broker)
    engine = engines(server.url("/ws/engine"), "ask")
    await engine.expect("ready")
    user = await User.connect(server.url())
    started = await user.request({"type": "execute", "ref": "x", "workflow": ASK})
    execution = started["data"]["execution_id"]
    await user.until("input.requested")
    engine.kill()
    failed = await user.until("execution.failed")  # after the lease (0.8 s)
    assert failed["execution_id"] == execution
    assert failed["error"]["code"] == "runner_lost"
    stop = {"type": "control", "ref": "s", "execution_id": execution, "action": "stop"}
    answer = await user.request(stop)
    assert (answer["type"], answer["code"]) == ("error", "conflict"), answer
    assert engine.violations() == []

    late = await WsClient.connect(server.url("/ws/engine"), additional_headers=ENGINE)
    claim = await late.request({"type": "engine.claim", "ref": "c", "executions": [execution]})
    assert claim["data"] == {"claimed": [], "lost": [execution]}  # too late: it is gone
    event = {"type": "node.status", "workflow_id": "ask", "execution_id": execution}
    publish = {"type": "engine.publish", "ref": "p", "event": {**event, "node_id": "question"}}
    refused = await late.request({**publish, "event": {**publish["event"], "status": "running"}})
    assert (refused["type"], refused["code"]) == ("error", "conflict"), refused
    assert "runner_lost" in refused["message"]


async def retry_while_unavailable(user: User, frame: dict[str, object]) -> dict[str, object]:
    """Send a command again while the server says the engine is away, as clients do."""
    for _ in range(100):
        answer = await user.request(frame)
        if answer.get("code") != "unavailable":
            return answer
        retry_ms = answer.get("retry_after_ms")
        await asyncio.sleep((retry_ms if isinstance(retry_ms, int) else 100) / 1000)
    raise AssertionError(f"the engine never came back: {answer}")


async def test_an_engine_that_reconnects_within_the_lease_keeps_its_execution(
    start_server: Start, engines: Callable[..., EngineProcess]
) -> None:
    server = start_server("uvicorn-sansio", APP)  # a lease of 30 s
    proxy = await Proxy(("127.0.0.1", server.port)).start()
    try:
        engine = engines(proxy.url("/ws/engine"), "talk")

        await engine.expect("ready")
        user = await User.connect(server.url())
        started = await user.request({"type": "execute", "ref": "x", "workflow": TALK})
        execution = started["data"]["execution_id"]
        await user.until("node.token")
        assert proxy.cut() == 1  # the engine's connection drops mid-stream
        await engine.expect("connected")  # …and comes back
        pause = {"type": "control", "ref": "p", "execution_id": execution, "action": "pause"}
        paused = await retry_while_unavailable(user, pause)
        assert paused == {"type": "reply", "ref": "p", "data": {"status": "paused"}}
        await user.until("execution.paused")
        resume = {**pause, "ref": "r", "action": "resume"}
        assert (await user.request(resume))["data"] == {"status": "running"}
        completed = await user.until("execution.completed")
        assert completed["execution_id"] == execution
    finally:
        await proxy.close()
    tokens = [e["index"] for e in user.events if e["type"] == "node.token"]
    assert tokens == list(range(WORDS))  # none lost, none twice
    seqs = [event["seq"] for event in user.events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert not [e for e in user.events if e["type"] == "execution.failed"]
    assert engine.violations() == []


async def test_an_engine_that_stops_answering_the_heartbeat_loses_its_execution(
    start_server: Start,
) -> None:
    options = json.dumps({"heartbeat_ms": 300, "heartbeat_timeout_ms": 300})
    broker = json.dumps({"lease_ms": 300})
    server = start_server(
        "uvicorn-sansio", APP, FLOWWIRE_OPTIONS=options, FLOWWIRE_MEMORY_BROKER=broker
    )
    user = await User.connect(server.url())
    await user.request({"type": "subscribe", "ref": "s", "topics": ["workflow:mute"]})
    mute = await WsClient.connect(server.url("/ws/engine"), additional_headers=ENGINE)
    run = {"workflow_id": "mute", "execution_id": "m1"}
    started = {**run, "type": "execution.started", "nodes": [{"id": "a"}], "edges": []}
    stored = await mute.request({"type": "engine.publish", "ref": "p", "event": started})
    assert stored["data"]["seq"] == 1
    # The engine is connected but says nothing more, not even `pong`: after heartbeat and
    # timeout the server closes it (4002), releases its execution, and the lease lapses.
    failed = await user.until("execution.failed")
    assert (failed["execution_id"], failed["error"]["code"]) == ("m1", "runner_lost")
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await mute.ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002
