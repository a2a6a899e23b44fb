"""flowwire in a Litestar app.

    uvicorn examples.litestar_app:app
    hypercorn examples.litestar_app:app

Browsers connect to ws://localhost:8000/ws; GET /ws/stats, POST /ws/publish.
"""

from __future__ import annotations

import os

from litestar import Litestar, asgi, get
from litestar.types import Receive, Scope, Send

from flowwire import FlowwireApp

flowwire = FlowwireApp(api_key=os.environ.get("FLOWWIRE_API_KEY", "change-me"))


# A mount takes /ws (WebSocket and HTTP) and every path under it; Litestar hands the
# mounted app the path below the mount (`/stats/`), which is how flowwire routes it.
@asgi("/ws", is_mount=True, copy_scope=True)
async def flowwire_mount(scope: Scope, receive: Receive, send: Send) -> None:
    await flowwire(scope, receive, send)


@get("/")
async def home() -> str:
    return "hello"


# Mounted apps get no lifespan of their own: flowwire starts and drains with the app.
app = Litestar([home, flowwire_mount], lifespan=[flowwire.lifespan])
