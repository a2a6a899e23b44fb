"""Reference 002 over the `flat-type` profile (issue 15): it documents its server and its
messages but no browser client, so a test client sends its documented frames and checks
its documented replies and events, against a live server with the reference runner."""

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
APP = "tests.clients.profile_apps:flat_type()"


class LegacyClient:
    """002's client side: JSON text frames, its heartbeat answered as it documents."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.heartbeats = 0

    @classmethod
    async def connect(cls, server: ServerProcess, session: str) -> LegacyClient:
        return cls(await websockets.connect(server.url(f"/ws/{session}"), open_timeout=10))

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, kind: str | None = None, timeout: float = 10) -> dict[str, Any]:
        """The next frame (of `kind`, skipping others); heartbeats are answered on the way."""
        while True:
            frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if frame["type"] == "heartbeat":
                self.heartbeats += 1
                await self.send({"type": "heartbeat_response"})
                if kind != "heartbeat":
                    continue
            if kind is None or frame["type"] == kind:
                return frame


async def test_its_documented_frames_and_replies(start_server: Start) -> None:
    options = json.dumps({"heartbeat_ms": 200, "heartbeat_timeout_ms": 200})
    server = start_server("uvicorn-sansio", APP, FLOWWIRE_OPTIONS=options)
    client = await LegacyClient.connect(server, "s1")
    established = await client.recv()
    assert established["type"] == "connection_established" and established["session_id"] == "s1"
    assert established["timestamp"].endswith("+00:00")

    await client.send({"type": "subscribe", "event_types": ["node_status", "workflow_status"]})
    confirmed = await client.recv("subscription_confirmed")
    assert confirmed["subscriptions"] == ["node_status", "workflow_status"]

    slow = {"id": "wf2", "nodes": [{"id": "a", "type": "sleep", "parameters": {"ms": 60000}}]}
    await client.send({"type": "execute_workflow", "workflow": slow})
    started = await client.recv("workflow_execution_started")
    assert started["workflow_id"] == "wf2" and started["execution_id"]
    running = await client.recv("node_status_update")
    assert (running["node_id"], running["status"]) == ("a", "running")
    for action, status in (("pause", "paused"), ("resume", "running"), ("stop", "stopped")):
        await client.send({"type": "control_workflow", "workflow_id": "wf2", "action": action})
        response = await client.recv("workflow_control_response")
        assert response == {
            "type": "workflow_control_response",
            "workflow_id": "wf2",
            "action": action,
            "status": status,
        }

    quick = {
        "id": "wf3",
        "nodes": [
            {"id": "one", "type": "sleep", "parameters": {"ms": 10}},
            {"id": "two", "type": "log", "parameters": {"message": "done"}},
        ],
        "connections": [
            {"from_node": "one", "from_output": "out", "to_node": "two", "to_input": "in"}
        ],
    }
    await client.send({"type": "execute_workflow", "workflow": quick})
    completed = await client.recv("workflow_completed")
    assert completed["summary"]["total"] == 2 and completed["summary"]["succeeded"] == 2
    bad = {"id": "bad", "nodes": [{"id": "x", "type": "teleport"}]}
    await client.send({"type": "execute_workflow", "workflow": bad})
    refused = await client.recv("workflow_execution_error")
    assert "teleport" in refused["error"]
    await client.send({"type": "jump"})
    error = await client.recv("error")
    assert "jump" in error["message"]
    while client.heartbeats < 4:  # 4 x 200 ms: past heartbeat + timeout (400 ms) of silence
        await client.recv("heartbeat")
    assert client.heartbeats >= 4, "its heartbeat_response keeps it open"

    # The server restarts: the client connects again and gets its session back.
    server.restart()
    with pytest.raises(websockets.ConnectionClosed):
        await client.recv("never")
    again = await LegacyClient.connect(server, "s1")
    assert (await again.recv())["type"] == "connection_established"
    await again.ws.close()
