"""Reference 003 over the `event-cmd` profile (issue 15): its documented frames (the
`WSMessage` events its router handles, the `WSCommand` commands it sends) against a live
server with the reference runner. Its router code is not in its document (only its types
and its routing table), so a test client stands in for it here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import websockets

from tests.servers.harness import ServerProcess

pytestmark = [pytest.mark.slow]

Start = Callable[..., ServerProcess]
APP = "tests.clients.profile_apps:event_cmd()"
ROUTED = {  # its router's table: every event it handles
    "token_stream",
    "node_state_change",
    "node:parallel_start",
    "token_usage",
    "execution:paused",
    "execution:completed",
    "error",
}


async def until(ws: Any, event: str, seen: list[dict[str, Any]]) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert "event" in frame and "type" not in frame, frame
        seen.append(frame)
        if frame["event"] == event:
            return frame


async def test_its_commands_and_every_event_its_router_handles(start_server: Start) -> None:
    server = start_server("uvicorn-sansio", APP)
    ws = await websockets.connect(server.url("/ws"), open_timeout=10)
    seen: list[dict[str, Any]] = []
    await ws.send(json.dumps({"cmd": "ping"}))
    assert (await until(ws, "pong", seen)) == {"event": "pong"}

    chat = {
        "id": "chat",
        "nodes": [
            {"id": "plan", "kind": "log", "params": {"message": "plan"}},
            {"id": "draft", "kind": "llm", "params": {"text": "hello big world", "delay_ms": 5}},
            {"id": "check", "kind": "sleep", "params": {"ms": 60000}},
        ],
        "edges": [
            {"source": "plan", "target": "draft"},
            {"source": "plan", "target": "check"},
        ],
    }
    await ws.send(json.dumps({"cmd": "start_session", "data": {"workflow": chat}}))
    branch = await until(ws, "node:parallel_start", seen)
    assert sorted(branch["data"]["node_ids"]) == ["check", "draft"]
    usage = await until(ws, "token_usage", seen)
    assert usage["node_id"] == "draft" and usage["data"]["completion_tokens"] == 3
    tokens = [f["data"]["delta"] for f in seen if f["event"] == "token_stream"]
    assert "".join(tokens) == "hello big world" and usage["timestamp"].endswith("+00:00")

    await ws.send(json.dumps({"cmd": "pause_session", "data": {"workflow_id": "chat"}}))
    paused = await until(ws, "execution:paused", seen)
    execution = paused["data"]["execution_id"]
    await ws.send(json.dumps({"cmd": "resume_session", "data": {"execution_id": execution}}))
    await ws.send(json.dumps({"cmd": "pause_session", "data": {}}))
    refused = await until(ws, "error", seen)
    assert refused["data"]["code"] == "invalid_frame"

    ask = {"id": "ask", "nodes": [{"id": "approve", "kind": "input", "params": {"prompt": "ok?"}}]}
    await ws.send(json.dumps({"cmd": "start_session", "data": {"workflow": ask}}))
    await until(ws, "node_state_change", seen)  # approve: running, waiting for the user
    answer = {"workflow_id": "ask", "node_id": "approve", "value": True}
    await ws.send(json.dumps({"cmd": "user_input", "data": answer}))
    completed = await until(ws, "execution:completed", seen)
    assert completed["data"]["outputs"] == {"approve": True}, "the input reached the node"

    fail = {"id": "boom", "nodes": [{"id": "x", "kind": "fail", "params": {"message": "no"}}]}
    await ws.send(json.dumps({"cmd": "start_session", "data": {"workflow": fail}}))
    failed = await until(ws, "error", seen)
    assert (failed["node_id"], failed["data"]["workflow_id"]) == ("x", "boom")
    assert {f["event"] for f in seen} >= ROUTED

    # A graceful restart (SIGTERM): its store reconnects only when `wasClean` is false, so
    # the server ends such connections without a close frame; it comes back and goes on.
    server.restart()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await until(ws, "never", seen)
    assert closed.value.rcvd is None, "no close frame: an unclean close, as its store needs"
    again = await websockets.connect(server.url("/ws"), open_timeout=10)
    await again.send(json.dumps({"cmd": "ping"}))
    assert (await until(again, "pong", seen)) == {"event": "pong"}
    await again.close()
