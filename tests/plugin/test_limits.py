"""No client can hurt the others: what the server refuses, how it says so, and who keeps going."""

from __future__ import annotations

import asyncio
from typing import Any

import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from tests.plugin.clients import AsgiClient, http, websocket_scope


async def connected(app: FlowwireApp, **scope: object) -> AsgiClient:
    client = AsgiClient(app, **scope)  # type: ignore[arg-type]
    await client.connect()
    return client


async def test_a_deeply_nested_frame_is_an_error_frame_not_a_1011() -> None:
    app = FlowwireApp()
    client = await connected(app)
    levels = 975
    deep = (
        '{"type":"input","ref":"d","execution_id":"e","node_id":"n","value":'
        + "[" * levels
        + "]" * levels
        + "}"
    )
    await client.send(deep)
    error = await client.recv()
    assert (error["type"], error["code"], error["path"]) == ("error", "invalid_frame", "$")
    assert "ref" not in error, "a frame too deep to decode is not read for its ref either"
    await client.send({"type": "ping", "ts": 1})
    assert (await client.recv())["type"] == "pong", "the connection stays open"


async def test_a_send_that_never_completes_gives_the_connection_up() -> None:
    """The client stopped reading and the server's send blocks for good: the heartbeat's
    close used to queue behind it forever. A send waits at most `send_timeout_ms`."""
    app = FlowwireApp(heartbeat_ms=50, heartbeat_timeout_ms=50, send_timeout_ms=200)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []
    blocked = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "websocket.send" and len(sent) > 2:
            blocked.set()
            await asyncio.Event().wait()  # the socket's buffers are full, for good

    await inbox.put({"type": "websocket.connect"})
    scope = websocket_scope()
    serving = asyncio.create_task(app(scope, inbox.get, send))
    await inbox.put(
        {"type": "websocket.receive", "text": '{"type":"subscribe","topics":["workflow:w"]}'}
    )
    for i in range(5):  # events to send: the third send blocks
        await app.publish(
            ws.NodeStatus(workflow_id="w", execution_id="e", node_id=f"n{i}", status="running")
        )
    await asyncio.wait_for(blocked.wait(), 10)
    await asyncio.wait_for(serving, 10)  # the app let go of the connection
    assert not app.connections
    assert app.stats.stalled_closes == 1


async def test_an_expired_token_closes_4001_and_a_live_connection_keeps_its_identity() -> None:
    import time

    tokens = {"short": {"id": "ada", "exp": time.time() + 0.3}, "bob": {"id": "bob"}}
    app = FlowwireApp(authenticate_token=lambda token, handshake: tokens.get(token))
    client = await connected(app)
    assert (await client.request({"type": "auth", "ref": "a", "token": "short"}))["type"] == "reply"
    switch = await client.request({"type": "auth", "ref": "b", "token": "bob"})
    assert (switch["type"], switch["code"]) == ("error", "unauthorized"), "still ada"
    closed = await client.expect_close(timeout=10)
    assert (closed.code, closed.reason) == (4001, "the token expired: authenticate again")


async def test_topics_only_named_are_forgotten_when_nobody_subscribes() -> None:
    """200,000 made-up topic names used to leave 200,000 streams behind (+217 MB)."""
    app = FlowwireApp()
    client = await connected(app)
    for batch in range(20):
        topics = [f"made-up:{batch}:{i}" for i in range(100)]
        assert (await client.request({"type": "subscribe", "ref": "s", "topics": topics}))[
            "type"
        ] == "reply"
        await client.request({"type": "unsubscribe", "ref": "u", "topics": topics})
    await app.runtime.watches.settle()
    assert app.broker.health()["topics"] == 0
    await app.publish(
        ws.NodeStatus(workflow_id="w", execution_id="e", node_id="n", status="running")
    )
    kept = await connected(app)
    await kept.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    await kept.request({"type": "unsubscribe", "ref": "u", "topics": ["workflow:w"]})
    await app.runtime.watches.settle()
    assert app.broker.health()["topics"] == 1, "a topic with history is kept"


async def test_connections_are_limited_per_process_and_per_principal() -> None:
    app = FlowwireApp(
        max_connections=3,
        max_connections_per_principal=2,
        authenticate=lambda handshake: {"id": handshake.query_param("user") or "anon"},
    )
    ada = [await connected(app, query=b"user=ada") for _ in range(2)]
    turned = AsgiClient(app, query=b"user=ada")
    await turned.connect()
    goaway = await turned.recv()
    assert (goaway["type"], goaway["reason"], goaway["reconnect_ms"]) == (
        "goaway",
        "too many connections",
        5000,
    )
    closed = await turned.expect_close()
    assert closed.code == 1013, "try again later: the client backs off and comes back"
    bob = await connected(app, query=b"user=bob")  # another principal still gets in
    full = AsgiClient(app, query=b"user=cy")
    await full.connect()
    assert (await full.recv())["type"] == "goaway" and (await full.expect_close()).code == 1013
    await ada[0].disconnect()
    again = await connected(app, query=b"user=cy")  # a slot came free
    assert len(app.connections) == 3
    for client in (ada[1], bob, again):
        await client.disconnect()


async def test_stats_can_be_protected_and_health_stays_open() -> None:
    app = FlowwireApp(monitor_key="watch-key")
    assert (await http(app, "GET", "/stats"))[0] == 401
    status, _, _ = await http(
        app, "GET", "/stats", headers=[(b"authorization", b"Bearer watch-key")]
    )
    assert status == 200
    assert (await http(app, "GET", "/health"))[0] == 200


async def test_a_stalled_send_given_up_while_the_client_leaves_ends_quietly() -> None:
    """Found by `python -m bench.fuzz`: the client disconnected and the connection's
    cleanup was stopping a writer blocked in `send` when the stall timer gave the connection
    up too; the cancellation meant for a reader still reading hit the cleanup, and escaped
    the ASGI call as a traceback in the server's log."""
    app = FlowwireApp(send_timeout_ms=60_000)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    blocked = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "websocket.send" and len(sent) > 2:
            blocked.set()
            try:
                await asyncio.Event().wait()  # the socket's buffers are full
            except BaseException:
                # The cleanup stops this send; in the same turn the stall timer fires.
                connection.abandon()
                raise

    await inbox.put({"type": "websocket.connect"})
    serving = asyncio.create_task(app(websocket_scope(), inbox.get, send))
    await inbox.put(
        {"type": "websocket.receive", "text": '{"type":"subscribe","topics":["workflow:w"]}'}
    )
    for i in range(3):
        await app.publish(
            ws.NodeStatus(workflow_id="w", execution_id="e", node_id=f"n{i}", status="running")
        )
    await asyncio.wait_for(blocked.wait(), 10)
    (connection,) = app.connections
    await inbox.put({"type": "websocket.disconnect", "code": 1006})
    await asyncio.wait_for(serving, 10)  # returns: no CancelledError escapes the app
    assert not app.connections
