"""An execution whose process dies does not stay `running` forever: its lease lapses, it is
failed as `runner_lost`, every subscriber sees it, and commands say so."""

from __future__ import annotations

import json
from collections.abc import Callable

import msgspec
import pytest

from asgi_plugin.demo.samples import SAMPLES
from tests.redis_server import RedisServer
from tests.servers.harness import ServerProcess, WsClient

pytestmark = [pytest.mark.redis, pytest.mark.slow]

Start = Callable[..., ServerProcess]
APP = "tests.servers.apps:redis_demo()"


async def test_sigkill_of_the_runner_fails_its_execution_as_runner_lost(
    start_server: Start, redis_server: RedisServer
) -> None:
    options = json.dumps({"lease_ms": 600})
    a, b = (
        start_server(s, APP, FLOWWIRE_REDIS_URL=redis_server.url, FLOWWIRE_REDIS_OPTIONS=options)
        for s in ("uvicorn-sansio", "uvicorn-sansio")
    )
    watcher = await WsClient.connect(b.url())
    await watcher.request(
        {"type": "subscribe", "ref": "w", "topics": ["workflow:approval"], "snapshot": False}
    )
    runner = await WsClient.connect(a.url())
    reply = await runner.request(
        {"type": "execute", "ref": "x", "workflow": msgspec.to_builtins(SAMPLES["approval"])}
    )
    execution = reply["data"]["execution_id"]
    while (await watcher.recv_event(20))["type"] != "input.requested":
        pass  # it waits for an answer that its process will never get
    a.kill()
    while True:
        frame = await watcher.recv_event(30)  # the lease (0.6 s) lapses, B declares it lost
        if frame["type"] == "execution.failed":
            break
    assert frame["execution_id"] == execution
    assert frame["error"]["code"] == "runner_lost"
    answer = await watcher.request(
        {
            "type": "input",
            "ref": "i",
            "execution_id": execution,
            "node_id": "approve",
            "value": True,
        }
    )
    assert (answer["type"], answer["code"]) == ("error", "conflict")
    assert "runner_lost" in answer["message"]
    late = await WsClient.connect(b.url())  # a client that lost its place resynchronises
    since = {"workflow:approval": {"epoch": "gone", "seq": 3}}
    joined = await late.request(
        {"type": "subscribe", "ref": "j", "topics": ["workflow:approval"], "since": since}
    )
    assert joined["data"]["topics"]["workflow:approval"]["recovered"] is False
    snapshot = await late.recv()
    assert (snapshot["type"], snapshot["status"]) == ("execution.snapshot", "failed")
    assert snapshot["error"]["code"] == "runner_lost"
