"""A wire profile on a mount (issue 15): connections that offer no flowwire subprotocol speak
the profile; events are encoded once per profile in use, however many connections."""

from __future__ import annotations

import json
from typing import Any

import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp, FlowwireMiddleware, UrlSubscription
from asgi_plugin.demo.samples import demo_runner
from tests.plugin import clients
from tests.plugin.clients import AsgiClient
from tests.servers.apps import hello
from wsproto_schema.profiles import ProfileCodec


@pytest.fixture(autouse=True)
def profile_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """These clients receive the profile's frames, not canonical ones: decode them only."""
    monkeypatch.setattr(clients, "check", lambda data: json.loads(data))


def mounted(**options: Any) -> FlowwireMiddleware:
    route = UrlSubscription(
        "/workflow/{workflow_id}", topics=["workflow:{workflow_id}"], profile="type-data"
    )
    return FlowwireMiddleware(hello, path="/api/ws", url_subscriptions=[route], **options)


async def legacy(app: Any, workflow: str = "w") -> AsgiClient:
    client = AsgiClient(app, path=f"/api/ws/workflow/{workflow}")
    await client.comm.send_input({"type": "websocket.connect"})
    accepted = await client.comm.receive_output(2)
    assert accepted == {"type": "websocket.accept", "subprotocol": None}
    return client


async def test_the_profile_speaks_its_own_shape_and_drops_what_it_has_no_name_for() -> None:
    app = mounted(handler=demo_runner())
    client = await legacy(app)
    assert await client.nothing(), "no welcome, no subscribe reply: it knows neither"
    await client.send("ping")
    assert await client.recv() == {"type": "pong"}
    flowwire = app.flowwire
    await flowwire.publish(ws.NodeToken(workflow_id="w", execution_id="e", node_id="a", delta="x"))
    await flowwire.publish(
        ws.NodeStatus(workflow_id="w", execution_id="e", node_id="a", status="succeeded", output=7)
    )
    frame = await client.recv()
    assert frame["type"] == "node_status" and frame["timestamp"].endswith("+00:00")
    assert (frame["data"]["status"], frame["data"]["result"]) == ("completed", 7)
    await client.send('{"cmd": "start"}')
    error = await client.recv()
    assert (error["type"], error["data"]["code"]) == ("error", "unknown_type")


async def test_a_client_offering_flowwire_gets_the_canonical_protocol_on_the_same_path() -> None:
    app = mounted()
    client = AsgiClient(app, path="/api/ws/workflow/w", subprotocols=["flowwire.v1.json"])
    assert (await client.connect())["type"] == "welcome"
    assert (await client.recv())["ref"] == "url"


async def test_one_encode_per_profile_in_use_not_per_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = mounted()
    encodes: list[str] = []
    original = ProfileCodec.encode

    def counting(self: ProfileCodec, frame: ws.Frame) -> str:
        encodes.append(ws.frame_tag(type(frame)))
        return original(self, frame)

    monkeypatch.setattr(ProfileCodec, "encode", counting)
    legacies = [await legacy(app) for _ in range(20)]
    canonical = [AsgiClient(app, path="/api/ws/workflow/w", subprotocols=["flowwire.v1.json"])]
    await canonical[0].connect()
    await canonical[0].recv()
    encodes.clear()
    for i in range(5):
        await app.flowwire.publish(
            ws.NodeStatus(workflow_id="w", execution_id="e", node_id=f"n{i}", status="running")
        )
    for client in legacies:
        assert [(await client.recv())["data"]["node_id"] for _ in range(5)] == [
            f"n{i}" for i in range(5)
        ]
    assert encodes == ["node.status"] * 5, "once per event for 20 connections of the profile"


def test_an_unknown_profile_is_refused_when_the_app_is_built() -> None:
    with pytest.raises(ValueError, match="no wire profile 'nope'"):
        FlowwireApp(wire_profile="nope")


async def test_a_drain_closes_a_profile_connection_without_an_empty_frame() -> None:
    """Its profile has no `goaway`: the close comes alone (an empty text frame broke 004's
    `JSON.parse` on every server restart)."""
    app = mounted()
    client = await legacy(app)
    await app.flowwire.drain()
    message = await client.comm.receive_output(2)
    assert message["type"] == "websocket.close" and message["code"] == 1001, message
