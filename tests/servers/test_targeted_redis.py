"""Targeted delivery across processes (issue 15): two app processes on real servers sharing
one real Redis; a notice sent on A reaches the connection, the principal's connections, or
everyone, wherever they are connected, with seq and resume like any topic."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import websockets

import wsproto_schema as ws
from tests.plugin import clients
from tests.redis_server import RedisServer
from tests.servers.harness import ServerProcess, WsClient, publish
from tests.servers.targets import Notice
from wsproto_schema.contract import Contract

pytestmark = [pytest.mark.redis, pytest.mark.slow]

Start = Callable[..., ServerProcess]
APP = "tests.servers.targets:redis_targets()"


@pytest.fixture
def notices() -> Iterator[None]:
    ws.register_event(Notice)
    previous = clients.CONTRACT
    clients.CONTRACT = Contract.from_registry()
    yield
    clients.CONTRACT = previous
    ws.registry.unregister(Notice)


async def send(server: ServerProcess, to: str, text: str) -> int:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(server.http_url(f"/send?to={to}&text={text}"))
        assert response.status_code == 200, response.text
        seq: int = response.json()["seq"]
        return seq


async def connected(server: ServerProcess, path: str) -> tuple[WsClient, str]:
    """A client and its connection id (from its `welcome`)."""
    client = WsClient(await websockets.connect(server.url(path), open_timeout=10))
    welcome = await client.recv()
    assert welcome["type"] == "welcome", welcome
    return client, welcome["connection_id"]


async def test_a_notice_sent_on_one_process_reaches_its_targets_on_both(
    start_server: Start, redis_server: RedisServer, notices: None
) -> None:
    a = start_server("uvicorn-sansio", APP, FLOWWIRE_REDIS_URL=redis_server.url)
    b = start_server("hypercorn", APP, FLOWWIRE_REDIS_URL=redis_server.url)
    (ada_b, tab), (ada_a, _), (bob_b, _) = [
        await connected(s, f"/ws?user={u}") for s, u in ((b, "ada"), (a, "ada"), (b, "bob"))
    ]
    mine = await ada_b.request({"type": "subscribe", "ref": "p", "topics": ["@principal:ada"]})
    epoch = mine["data"]["topics"]["@principal:ada"]["epoch"]

    assert await send(a, f"connection:{tab}", "tab") == 1
    event = await ada_b.recv()
    assert (event["type"], event["topic"], event["seq"], event["text"]) == (
        "notice",
        f"@connection:{tab}",
        1,
        "tab",
    )
    assert await send(a, "principal:ada", "user") == 1
    for client in (ada_b, ada_a):
        event = await client.recv()
        assert (event["topic"], event["seq"], event["text"]) == ("@principal:ada", 1, "user")
    assert await send(b, "all", "everyone") == 1
    for client in (ada_b, ada_a, bob_b):
        assert (await client.recv())["topic"] == "@all"

    # ada's tab on B closes; she comes back on A and resumes her topic by seq.
    await ada_b.ws.close()
    assert await send(b, "principal:ada", "away") == 2
    assert (await ada_a.recv())["text"] == "away"
    back, _ = await connected(a, "/ws?user=ada")
    since = {"@principal:ada": {"seq": 1, "epoch": epoch}}
    reply = await back.request(
        {"type": "subscribe", "ref": "r", "topics": ["@principal:ada"], "since": since}
    )
    assert reply["data"]["topics"]["@principal:ada"]["recovered"] is True
    assert ((await back.recv())["seq"], (await send(b, "principal:ada", "now"))) == (2, 3)
    assert (await back.recv())["seq"] == 3
    refused = await bob_b.request({"type": "subscribe", "ref": "x", "topics": ["@principal:ada"]})
    assert refused["code"] == "forbidden"
    for client in (back, ada_a, bob_b):
        await client.ws.close()


async def test_a_url_subscription_on_a_real_server(
    start_server: Start, redis_server: RedisServer
) -> None:
    server = start_server("uvicorn-sansio", APP, FLOWWIRE_REDIS_URL=redis_server.url)
    client, _ = await connected(server, "/ws/workflow/etl?user=ada")
    reply = await client.recv()
    assert (reply["type"], reply["ref"], list(reply["data"]["topics"])) == (
        "reply",
        "url",
        ["workflow:etl"],
    )
    event = {"type": "node.status", "workflow_id": "etl", "execution_id": "x", "node_id": "a"}
    await publish(server, {**event, "status": "running"})
    received = await client.recv()
    assert (received["topic"], received["seq"], received["node_id"]) == ("workflow:etl", 1, "a")
    await client.ws.close()
