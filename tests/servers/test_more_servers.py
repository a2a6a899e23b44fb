"""flowwire on the servers the benchmark matrix adds (bench/servers.py): daphne and
granian, each on a socket the test holds, with a real client. granian's `send` returns
its own future-like object (not an asyncio future), which flowwire's writer must wait
for as asyncio's Task does: every event arrives, in order, and no send fails."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.servers.harness import ServerProcess, WsClient, get_json, node_status, publish

Start = Callable[..., ServerProcess]


@pytest.mark.parametrize("server", ["daphne", "granian"])
async def test_fan_out_on_more_servers(server: str, start_server: Start) -> None:
    process = start_server(server, "tests.servers.apps:app")
    clients = [await WsClient.connect(process.url()) for _ in range(3)]
    for client in clients:
        await client.subscribe("workflow:w")
    result = await publish(process, [node_status(i) for i in range(200)])
    assert [p["seq"] for p in result["published"]] == list(range(1, 201))
    for client in clients:
        got = [await client.recv_event() for _ in range(200)]
        assert [f["seq"] for f in got] == list(range(1, 201))
    stats = await get_json(process, "/ws/stats")
    assert (stats["connections"], stats["published"], stats["deliveries"]) == (3, 200, 600)
    for client in clients:
        await client.close()
    assert "sending failed" not in process.logs()
