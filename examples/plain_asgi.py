"""flowwire in a plain ASGI app: a hand-written dispatcher, no framework.

    uvicorn examples.plain_asgi:app
    hypercorn examples.plain_asgi:app

Browsers connect to ws://localhost:8000/ws; GET /ws/stats, POST /ws/publish.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from flowwire import FlowwireApp

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MOUNT = "/ws"

flowwire = FlowwireApp(api_key=os.environ.get("FLOWWIRE_API_KEY", "change-me"))


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hello"})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        # flowwire is the only part with a startup and a shutdown, and it speaks the
        # lifespan protocol. An app with its own would call `await flowwire.start()`
        # and `await flowwire.shutdown()` from its lifespan handler instead.
        await flowwire(scope, receive, send)
        return
    root = scope.get("root_path", "")
    path = scope["path"].removeprefix(root)
    if path == MOUNT or path.startswith(MOUNT + "/"):
        # Keep the full path and extend root_path: flowwire serves what lies below it.
        await flowwire({**scope, "root_path": root + MOUNT}, receive, send)
    elif scope["type"] == "http":
        await hello(scope, receive, send)
    else:  # a WebSocket on another path: refuse the handshake (HTTP 403)
        await receive()
        await send({"type": "websocket.close", "code": 1008})
