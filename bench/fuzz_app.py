"""The app `python -m bench.fuzz` serves: the real-server tests' app, plus `GET /heap`.

`/heap` answers the number of memory blocks the interpreter holds after a full
collection (`sys.getallocatedblocks()`): what a leak grows, and what an
allocator's fragmentation (which RSS shows) does not.
"""

from __future__ import annotations

import gc
import json
import sys
from typing import Any

from tests.servers.apps import app as flowwire_app

__all__ = ["app"]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == "/heap":
        gc.collect()
        body = json.dumps({"blocks": sys.getallocatedblocks()}).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await flowwire_app(scope, receive, send)
