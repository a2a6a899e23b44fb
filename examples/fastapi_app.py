"""flowwire in a FastAPI app.

    uvicorn examples.fastapi_app:app
    hypercorn examples.fastapi_app:app

Browsers connect to ws://localhost:8000/ws; GET /ws/stats, POST /ws/publish; the live
dashboard is at http://localhost:8000/ws/dashboard/.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from starlette.routing import WebSocketRoute

from flowwire import FlowwireApp

flowwire = FlowwireApp(api_key=os.environ.get("FLOWWIRE_API_KEY", "change-me"), dashboard=True)

# Mounted apps get no lifespan of their own: flowwire starts and drains with the app.
app = FastAPI(lifespan=flowwire.lifespan)
# A mount matches /ws/… only: the WebSocket at /ws itself needs its own route.
app.router.routes.append(WebSocketRoute("/ws", flowwire))
app.mount("/ws", flowwire)


@app.get("/")
async def home() -> dict[str, str]:
    return {"message": "hello"}
