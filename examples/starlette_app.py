"""flowwire in a Starlette app.

    uvicorn examples.starlette_app:app
    hypercorn examples.starlette_app:app

Browsers connect to ws://localhost:8000/ws; GET /ws/stats, POST /ws/publish.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute

from flowwire import FlowwireApp

flowwire = FlowwireApp(api_key=os.environ.get("FLOWWIRE_API_KEY", "change-me"))


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


app = Starlette(
    routes=[
        Route("/", home),
        # A Mount matches /ws/… only: the WebSocket at /ws itself needs its own route.
        WebSocketRoute("/ws", flowwire),
        Mount("/ws", app=flowwire),
    ],
    # Mounted apps get no lifespan of their own: flowwire starts and drains with the app.
    lifespan=flowwire.lifespan,
)
