"""`FlowwireMiddleware`: flowwire in front of any ASGI app, on one path."""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING, Any

from wsproto_schema import Event

from .app import FlowwireApp
from .types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import OptionArgs

__all__ = ["FlowwireMiddleware"]


class FlowwireMiddleware:
    """Wrap an ASGI app: WebSocket scopes on `path` and `path/engine` (engines, see
    docs/engine.md), and HTTP under `path/`, go to flowwire, everything else to the
    app. Lifespan reaches both; an app that does not speak the
    lifespan protocol (Django) still gets flowwire started and stopped.

        application = FlowwireMiddleware(get_asgi_application(), path="/ws", api_key="…")
        await application.flowwire.publish(event)
    """

    def __init__(self, app: Any, path: str = "/ws", **options: Unpack[OptionArgs]) -> None:
        self.app = app
        """The wrapped ASGI app (any callable `(scope, receive, send)`; typed loosely
        because every framework types its scopes its own way)."""
        self.path = "/" + path.strip("/")
        self.flowwire = FlowwireApp(**options)

    async def publish(self, event: Event) -> int:
        return await self.flowwire.publish(event)

    def publish_threadsafe(self, event: Event) -> concurrent.futures.Future[int]:
        return self.flowwire.publish_threadsafe(event)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        local = path[len(root) :] if root and path.startswith(root) else path
        # WebSockets under the path too when the URL may name topics (`/ws/workflow/w1`).
        below = kind == "http" or bool(self.flowwire.options.url_subscriptions)
        mine = local.rstrip("/") in (self.path, self.path + "/engine") or (
            below and local.startswith(self.path + "/")
        )
        if mine:
            await self.flowwire({**scope, "root_path": root + self.path}, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen: list[str] = []

        async def receive_and_track() -> Message:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "lifespan.startup":
                try:
                    await self.flowwire.start()
                except Exception as exc:
                    # Tell the server, which then refuses to serve; the app sees the error.
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    raise
            elif message["type"] == "lifespan.shutdown":
                await self.flowwire.shutdown()
            return message

        try:
            await self.app(scope, receive_and_track, send)
        except Exception:
            if seen:
                raise
            # The app refused the lifespan scope before reading it (Django does):
            # serve the protocol for flowwire alone.
            await self.flowwire.serve_lifespan(receive, send)
