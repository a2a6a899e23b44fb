"""The demo app as the client tests need it, configured by environment variables.

FLOWWIRE_OPTIONS (JSON: app options such as heartbeat_ms), FLOWWIRE_HISTORY_SIZE
(the memory broker's history), FLOWWIRE_TOKEN (first-message auth: only this
token is accepted), FLOWWIRE_REDIS_URL (the Redis broker instead). `POST /emit`
publishes in-process, as in tests/servers/apps.py.
"""

from __future__ import annotations

import json
import os
from typing import Any

from asgi_plugin import FlowwireMiddleware, MemoryBroker, RedisBroker
from asgi_plugin.demo.samples import demo_runner
from asgi_plugin.demo.site import DemoSite
from tests.servers.apps import EmitSite


def demo() -> FlowwireMiddleware:
    options: dict[str, Any] = {"api_key": "test-key"}
    options.update(json.loads(os.environ.get("FLOWWIRE_OPTIONS", "{}")))
    if url := os.environ.get("FLOWWIRE_REDIS_URL"):
        options["broker"] = RedisBroker(url, reconnect_max_ms=500)
    elif size := os.environ.get("FLOWWIRE_HISTORY_SIZE"):
        options["broker"] = MemoryBroker(history_size=int(size))
    if token := os.environ.get("FLOWWIRE_TOKEN"):

        def check(offered: str, handshake: object) -> Any:
            return {"user": "ada"} if offered == token else None

        options["authenticate_token"] = check
    middleware = FlowwireMiddleware(DemoSite(), path="/ws", handler=demo_runner(), **options)
    middleware.app = EmitSite(middleware)
    return middleware
