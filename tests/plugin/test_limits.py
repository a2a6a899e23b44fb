"""No client can hurt the others: what the server refuses, how it says so, and who keeps going."""

from __future__ import annotations

from asgi_plugin import FlowwireApp
from tests.plugin.clients import AsgiClient


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
