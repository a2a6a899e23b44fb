"""An app for the targeted-delivery tests on real servers sharing one Redis: flowwire at /ws
(principal from `?user=`, topics from `/ws/workflow/{id}`), and
`POST /send?to=connection:ID|principal:ID|all&text=…`, which publishes a `notice` in
this process. `Notice` is registered by the app factory only: the test process registers
it itself, for as long as a test needs it."""

from __future__ import annotations

import json
import os
from typing import Any

import wsproto_schema as ws
from asgi_plugin import FlowwireMiddleware, UrlSubscription
from flowwire import RedisBroker


class Notice(ws.AppEvent, tag="notice", frozen=True, kw_only=True):
    """A message for a connection, a user or everyone: no workflow run."""

    text: str


def user(handshake: Any) -> dict[str, Any]:
    name = handshake.query_param("user")
    return {"id": name} if name else {}


class SendSite:
    """`POST /send`: a notice through the targeted-delivery API of this process."""

    def __init__(self) -> None:
        self.middleware: FlowwireMiddleware | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert scope["type"] == "http" and scope["path"] == "/send" and self.middleware
        query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if p)
        flowwire, notice = self.middleware.flowwire, Notice(text=query["text"])
        kind, _, target = query["to"].partition(":")
        if kind == "connection":
            seq = await flowwire.send_to_connection(target, notice)
        elif kind == "principal":
            seq = await flowwire.send_to_principal(target, notice)
        else:
            seq = await flowwire.broadcast_all(notice)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps({"seq": seq}).encode()})


def redis_targets() -> FlowwireMiddleware:
    ws.register_event(Notice)
    site = SendSite()
    site.middleware = FlowwireMiddleware(
        site,
        path="/ws",
        broker=RedisBroker(os.environ["FLOWWIRE_REDIS_URL"], reconnect_max_ms=500),
        authenticate=user,
        api_key="test-key",
        url_subscriptions=[
            UrlSubscription("/workflow/{workflow_id}", topics=["workflow:{workflow_id}"])
        ],
    )
    return site.middleware
