"""FlowwireMiddleware: flowwire on one path, everything else (and lifespan) to the wrapped app."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from asgi_plugin import FlowwireMiddleware
from tests.plugin.clients import AsgiClient, Refused, http
from tests.plugin.conftest import status


class Inner:
    """A minimal ASGI app that records what reached it."""

    def __init__(self, *, lifespan: bool = True) -> None:
        self.seen: list[str] = []
        self.lifespan = lifespan

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            if not self.lifespan:
                raise ValueError("Django can only handle ASGI/HTTP connections, not lifespan.")
            while True:
                message = await receive()
                self.seen.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        self.seen.append(f"{scope['type']} {scope['path']}")
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1000})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


async def test_routes_by_path() -> None:
    inner = Inner()
    app = FlowwireMiddleware(inner, path="/ws/")
    client = AsgiClient(app, path="/ws")
    assert (await client.connect())["type"] == "welcome"
    with_slash = AsgiClient(app, path="/ws/")
    await with_slash.connect()
    other = AsgiClient(app, path="/chat")
    with pytest.raises(Refused) as refused:  # the inner app closes its sockets at once
        await other.connect()
    assert refused.value.code == 1000
    code, _, raw = await http(app, "GET", "/ws/stats")
    assert code == 200 and json.loads(raw)["connections"] == 2
    assert (await http(app, "GET", "/"))[2] == b"inner"
    assert (await http(app, "GET", "/wsx/stats"))[2] == b"inner"
    assert inner.seen == ["websocket /chat", "http /", "http /wsx/stats"]
    await app.publish(status(1))


async def lifespan(app: Any) -> list[dict[str, Any]]:
    comm = ApplicationCommunicator(app, {"type": "lifespan", "asgi": {"version": "3.0"}})
    await comm.send_input({"type": "lifespan.startup"})
    started = await comm.receive_output(2)
    await comm.send_input({"type": "lifespan.shutdown"})
    stopped = await comm.receive_output(2)
    return [started, stopped]


async def test_lifespan_reaches_the_wrapped_app_and_flowwire() -> None:
    inner = Inner()
    app = FlowwireMiddleware(inner, drain_on_signals=False)
    assert await lifespan(app) == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    assert inner.seen == ["lifespan.startup", "lifespan.shutdown"]
    assert app.flowwire.runtime.started and app.flowwire.runtime.stopped


async def test_lifespan_works_when_the_wrapped_app_refuses_it() -> None:
    app = FlowwireMiddleware(Inner(lifespan=False), drain_on_signals=False)
    assert await lifespan(app) == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    assert app.flowwire.runtime.stopped
