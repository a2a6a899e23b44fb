"""An engine credential cannot act as a user, and a user cannot act as an engine: at the
handshake (each endpoint takes only its own credential) and frame by frame (each kind of
connection is refused the other's frames, and nothing of a refused frame happens)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.engines.harness import ENGINE_KEY, User
from tests.servers.harness import ServerProcess, WsClient

Start = Callable[..., ServerProcess]
APP = "tests.servers.apps:engine_app()"
ENGINE = {"Authorization": f"Bearer {ENGINE_KEY}"}
EVENT = {"type": "node.status", "workflow_id": "w", "execution_id": "e", "node_id": "a"}


def published(server: ServerProcess) -> int:
    stats = httpx.get(server.http_url("/ws/stats"), timeout=10).json()
    count: int = stats["published"]
    return count


@pytest.mark.parametrize("credential", [None, "Bearer user-ada", "Bearer wrong-key"])
async def test_only_the_engine_key_opens_the_engine_endpoint(
    start_server: Start, credential: str | None
) -> None:
    server = start_server("uvicorn-sansio", APP)
    headers = {} if credential is None else {"Authorization": credential}
    with pytest.raises(InvalidStatus) as refused:
        await WsClient.connect(server.url("/ws/engine"), additional_headers=headers)
    assert refused.value.response.status_code == 403
    engine = await WsClient.connect(server.url("/ws/engine"), additional_headers=ENGINE)
    assert (await engine.request({"type": "engine.serve", "ref": "s", "workflows": []}))[
        "type"
    ] == "reply"


async def test_the_engine_key_is_not_a_user_credential(start_server: Start) -> None:
    server = start_server("uvicorn-sansio", APP)
    with pytest.raises(InvalidStatus) as refused:
        await WsClient.connect(server.url(), additional_headers=ENGINE)
    assert refused.value.response.status_code == 403


async def test_a_user_connection_is_refused_every_engine_frame(start_server: Start) -> None:
    server = start_server("uvicorn-sansio", APP)
    user = await User.connect(server.url())
    frames = [
        {"type": "engine.serve", "ref": "1", "workflows": ["review"]},
        {"type": "engine.claim", "ref": "2", "executions": ["e"]},
        {"type": "engine.publish", "ref": "3", "event": {**EVENT, "status": "running"}},
        {"type": "engine.result", "ref": "4", "id": "c1", "data": {"status": "paused"}},
    ]
    for frame in frames:
        answer = await user.request(frame)
        assert (answer["type"], answer["code"]) == ("error", "forbidden"), answer
        assert "engine" in answer["message"]
    assert published(server) == 0
    workflow = {"id": "review", "nodes": [{"id": "a", "kind": "log"}]}
    execute = await user.request({"type": "execute", "ref": "x", "workflow": workflow})
    assert (execute["type"], execute["code"]) == ("error", "not_found")  # it serves nothing


async def test_an_engine_connection_is_refused_every_user_command(start_server: Start) -> None:
    server = start_server("uvicorn-sansio", APP)
    engine = await WsClient.connect(server.url("/ws/engine"), additional_headers=ENGINE)
    workflow = {"id": "review", "nodes": [{"id": "a", "kind": "log"}]}
    commands = [
        {"type": "auth", "ref": "1", "token": "user-ada"},
        {"type": "subscribe", "ref": "2", "topics": ["*"]},
        {"type": "unsubscribe", "ref": "3", "topics": ["*"]},
        {"type": "execute", "ref": "4", "workflow": workflow},
        {"type": "control", "ref": "5", "execution_id": "e", "action": "stop"},
        {"type": "input", "ref": "6", "execution_id": "e", "node_id": "a", "value": 1},
        {"type": "list", "ref": "7"},
    ]
    for command in commands:
        answer = await engine.request(command)
        assert (answer["type"], answer["code"]) == ("error", "forbidden"), answer
        assert "engine connection cannot" in answer["message"]
    bad = await engine.request({"type": "engine.publish", "ref": "b", "event": EVENT})
    assert (bad["type"], bad["code"], bad["path"]) == ("error", "invalid_frame", "$.event.status")
    assert published(server) == 0
    good = {"type": "engine.publish", "ref": "g", "event": {**EVENT, "status": "running"}}
    stored = await engine.request(good)
    assert stored["data"] == {"topic": "workflow:w", "seq": 1}
