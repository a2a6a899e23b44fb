"""flowwire over real servers (uvicorn websockets-sansio and wsproto, hypercorn) and a real
client (`websockets`): fan-out, bad input, heartbeat, origin, graceful shutdown."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.servers.harness import SERVERS, ServerProcess, WsClient, get_json, node_status, publish

Start = Callable[..., ServerProcess]
pytestmark = pytest.mark.parametrize("server", SERVERS)


async def test_fan_out_over_a_real_server(server: str, start_server: Start) -> None:
    process = start_server(server, "tests.servers.apps:app")
    json_client = await WsClient.connect(process.url(), subprotocols=["flowwire.v1.json"])
    msgpack_client = await WsClient.connect(process.url(), subprotocols=["flowwire.v1.msgpack"])
    pattern_client = await WsClient.connect(process.url())
    await json_client.subscribe("workflow:w")
    await msgpack_client.subscribe("workflow:w")
    await pattern_client.subscribe("workflow:*")
    result = await publish(process, [node_status(i) for i in range(50)])
    assert [p["seq"] for p in result["published"]] == list(range(1, 51))
    for client in (json_client, msgpack_client, pattern_client):
        got = [await client.recv() for _ in range(50)]
        assert [f["seq"] for f in got] == list(range(1, 51))
        assert [f["node_id"] for f in got] == [f"n{i}" for i in range(50)]
    stats = await get_json(process, "/ws/stats")
    assert (stats["connections"], stats["published"], stats["deliveries"]) == (3, 50, 150)
    for client in (json_client, msgpack_client, pattern_client):
        await client.close()


async def test_bad_input_over_a_real_server(server: str, start_server: Start) -> None:
    process = start_server(
        server,
        "tests.servers.apps:app",
        FLOWWIRE_OPTIONS=json.dumps({"max_frame_bytes": 4096, "max_invalid_frames": 3}),
    )
    watcher = await WsClient.connect(process.url())
    await watcher.subscribe("workflow:w")
    bad = await WsClient.connect(process.url())
    await bad.send("{not json")
    assert (await bad.recv())["code"] == "invalid_json"
    await bad.send('{"event": "subscribe", "topics": ["a"]}')
    error = await bad.recv()
    assert (error["code"], error["path"]) == ("invalid_frame", "$.type")
    packed = await WsClient.connect(process.url(), subprotocols=["flowwire.v1.msgpack"])
    await packed.ws.send(b"\xc1\xc1\xc1")
    assert (await packed.recv())["code"] == "invalid_json"
    await packed.send("x" * 5000)
    with pytest.raises(ConnectionClosed) as closed:
        await packed.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    for _ in range(3):
        await bad.send("[]")
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await bad.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    await publish(process, node_status(1))
    assert (await watcher.recv())["seq"] == 1
    await watcher.close()


async def test_heartbeat_timeout(server: str, start_server: Start) -> None:
    options = {"heartbeat_ms": 150, "heartbeat_timeout_ms": 250}
    process = start_server(server, "tests.servers.apps:app", FLOWWIRE_OPTIONS=json.dumps(options))
    alive = await WsClient.connect(process.url())
    silent = await WsClient.connect(process.url())
    frames = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            frame = await silent.recv(5)
            frames.append(frame["type"])
            ping = await alive.recv(5)
            await alive.send({"type": "pong", "ts": ping["ts"]})
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002
    assert frames and set(frames) == {"ping"}
    await alive.send("ping")
    assert (await alive.recv())["type"] in ("pong", "ping")
    await alive.close()


async def test_cross_site_handshake_is_refused(server: str, start_server: Start) -> None:
    process = start_server(server, "tests.servers.apps:app")
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(process.url(), origin="https://evil.example", open_timeout=10)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    client = await WsClient.connect(process.url(), origin=f"http://127.0.0.1:{process.port}")  # type: ignore[arg-type]
    await client.close()


async def test_graceful_shutdown_sends_goaway_then_1001(server: str, start_server: Start) -> None:
    process = start_server(
        server, "tests.servers.apps:app", FLOWWIRE_OPTIONS=json.dumps({"reconnect_ms": 500})
    )
    clients = [await WsClient.connect(process.url()) for _ in range(3)]
    for client in clients:
        await client.subscribe("workflow:w")
    process.signal(signal.SIGTERM)
    for client in clients:
        frames = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frames.append(await client.recv())
        assert frames == [{"type": "goaway", "reason": "server shutdown", "reconnect_ms": 500}]
        assert closed.value.rcvd is not None, f"no close frame from {server}"
        assert closed.value.rcvd.code == 1001
    returncode = await asyncio.to_thread(process.process.wait, 15)  # type: ignore[union-attr]
    # uvicorn re-raises the signal it caught once it has shut down gracefully.
    assert returncode in (0, -signal.SIGTERM), process.logs()
    assert "Traceback" not in process.logs()
