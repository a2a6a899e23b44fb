"""Apps the real-server tests run: flowwire at /ws, configured from FLOWWIRE_OPTIONS (JSON),
with a MemoryBroker configured from FLOWWIRE_MEMORY_BROKER (JSON) when it is set."""

from __future__ import annotations

import json
import os
from typing import Any

from asgi_plugin import FlowwireMiddleware, MemoryBroker
from asgi_plugin.demo.site import create_app
from flowwire import RedisBroker
from wsproto_schema import NodeStatus


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    assert scope["type"] == "http"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


options: dict[str, Any] = {
    "api_key": "test-key",
    **json.loads(os.environ.get("FLOWWIRE_OPTIONS", "{}")),
}
if "FLOWWIRE_MEMORY_BROKER" in os.environ:
    options["broker"] = MemoryBroker(**json.loads(os.environ["FLOWWIRE_MEMORY_BROKER"]))
app = FlowwireMiddleware(hello, path="/ws", **options)
# Its own app, not `options`: a broker (FLOWWIRE_MEMORY_BROKER) serves one app only.
live = FlowwireMiddleware(
    hello, path="/live", asyncapi_title="Acme runs", asyncapi_version="2.3.0", api_key="test-key"
)

demo = create_app(api_key="test-key")


class EmitSite:
    """The demo site plus `POST /emit?n=N&execution=E`: N events published in this process."""

    def __init__(self, middleware: FlowwireMiddleware) -> None:
        self.middleware = middleware
        self.site = middleware.app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/emit":
            query = dict(
                pair.split("=") for pair in scope["query_string"].decode().split("&") if pair
            )
            execution = query.get("execution", "emitted")
            seqs = []
            for i in range(int(query.get("n", "1"))):
                event = NodeStatus(
                    workflow_id="w", execution_id=execution, node_id=f"n{i}", status="running"
                )
                seqs.append(await self.middleware.flowwire.publish(event))
            body = json.dumps(seqs).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.site(scope, receive, send)


def redis_demo() -> FlowwireMiddleware:
    """The demo on the Redis broker at FLOWWIRE_REDIS_URL (options: FLOWWIRE_REDIS_OPTIONS,
    JSON), with /emit."""
    broker = RedisBroker(
        os.environ["FLOWWIRE_REDIS_URL"],
        **{"reconnect_max_ms": 500, **json.loads(os.environ.get("FLOWWIRE_REDIS_OPTIONS", "{}"))},
    )
    middleware = create_app(broker=broker, api_key="test-key")
    middleware.app = EmitSite(middleware)
    return middleware


def client_app() -> FlowwireMiddleware:
    """The demo (its runner, `POST /ws/publish` with key `test-key`) for the client tests,
    configured from the environment:

    - FLOWWIRE_OPTIONS: options as JSON (`{"heartbeat_ms": 500}`);
    - FLOWWIRE_HISTORY: the memory broker's `history_size` (small: resumes overflow);
    - FLOWWIRE_TOKEN: first-message auth, accepting only this token;
    - FLOWWIRE_REFUSE=1: every handshake refused (HTTP 403).
    """
    from asgi_plugin.brokers.memory import MemoryBroker

    extra: dict[str, Any] = json.loads(os.environ.get("FLOWWIRE_OPTIONS", "{}"))
    history = os.environ.get("FLOWWIRE_HISTORY")
    if history:
        extra["broker"] = MemoryBroker(history_size=int(history))
    token = os.environ.get("FLOWWIRE_TOKEN")
    if token:
        extra["authenticate_token"] = lambda offered, _handshake: (
            {"user": "ada"} if offered == token else None
        )
    if os.environ.get("FLOWWIRE_REFUSE"):
        extra["authenticate"] = lambda _handshake: None
    return create_app_with(**extra)


def create_app_with(**options: Any) -> FlowwireMiddleware:
    from asgi_plugin.demo.samples import demo_runner
    from asgi_plugin.demo.site import DemoSite

    return FlowwireMiddleware(
        DemoSite(), path="/ws", handler=demo_runner(), api_key="test-key", **options
    )


ENGINE_KEY = "engine-key"


def engine_app() -> FlowwireMiddleware:
    """flowwire at /ws taking engines (`Authorization: Bearer engine-key` at /ws/engine) and
    users (`Authorization: Bearer user-<name>`, or `?user=<name>` for clients that cannot
    send headers: principal `{"id": <name>}`), with no engine
    of its own. On Redis at FLOWWIRE_REDIS_URL when it is set (FLOWWIRE_REDIS_OPTIONS), else
    on a MemoryBroker (FLOWWIRE_MEMORY_BROKER); more options in FLOWWIRE_OPTIONS."""

    def user(handshake: Any) -> dict[str, str] | None:
        token = handshake.bearer_token() or ""
        if token.startswith("user-"):
            return {"id": token.removeprefix("user-")}
        name = handshake.query_param("user")
        return {"id": name} if name else None

    extra: dict[str, Any] = json.loads(os.environ.get("FLOWWIRE_OPTIONS", "{}"))
    if "FLOWWIRE_REDIS_URL" in os.environ:
        redis_options = json.loads(os.environ.get("FLOWWIRE_REDIS_OPTIONS", "{}"))
        extra["broker"] = RedisBroker(os.environ["FLOWWIRE_REDIS_URL"], **redis_options)
    else:
        memory = json.loads(os.environ.get("FLOWWIRE_MEMORY_BROKER", "{}"))
        extra["broker"] = MemoryBroker(**memory)
    return FlowwireMiddleware(
        hello, path="/ws", engine_key=ENGINE_KEY, authenticate=user, api_key="test-key", **extra
    )
