"""Apps the real-server tests run: flowwire at /ws, configured from FLOWWIRE_OPTIONS (JSON)."""

from __future__ import annotations

import json
import os
from typing import Any

from asgi_plugin import FlowwireMiddleware
from asgi_plugin.demo import create_app


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
app = FlowwireMiddleware(hello, path="/ws", **options)

demo = create_app(api_key="test-key")
