"""`FlowwireApp`: the ASGI 3 application. Mount it at any path of any ASGI server or framework."""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

import wsproto_schema as ws
from asgi_plugin.core.actions import Send as SendFrame
from asgi_plugin.core.principals import principal_id
from asgi_plugin.core.topics import ALL_TOPIC, connection_topic, principal_topic
from asgi_plugin.engine.reporter import Reporter
from wsproto_schema import SUBPROTOCOL_MSGPACK, CloseCode, Event

from .connection import Connection
from .engine_connection import EngineConnection
from .handshake import Handshake, pick_subprotocol
from .hooks import resolve
from .http import bearer_matches, handle_http, refuse_host, route_path
from .options import Options
from .origins import host_allowed, origin_allowed, request_site
from .runtime import Runtime
from .types import Receive, Scope, Send
from .url_topics import match_url

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import OptionArgs

__all__ = ["FlowwireApp"]

logger = logging.getLogger("flowwire.app")

TURNED_AWAY_RECONNECT_MS = 5_000
"""The `goaway` hint to a connection turned away for the connection limits."""


class FlowwireApp:
    """The flowwire ASGI application.

        flowwire = FlowwireApp(api_key="…", allowed_origins=["https://app.example.com"])
        seq = await flowwire.publish(NodeStatus(...))  # from any task of the app

    Under its mount it serves the WebSocket and `GET stats`, `GET health`,
    `POST publish`, `GET schema`, `GET asyncapi` (and `asyncapi.html`), `GET metrics`.
    Options: see `Options`.
    Recipes for Starlette, FastAPI, Litestar, Django and plain ASGI are in
    docs/mounting.md (a Starlette `Mount("/ws")` matches `/ws/…` only: add a
    `WebSocketRoute("/ws", flowwire)` too, and pass `lifespan=flowwire.lifespan`).
    """

    def __init__(self, **options: Unpack[OptionArgs]) -> None:
        runtime = self.runtime = Runtime(Options.from_args("FlowwireApp", dict(options)))
        runtime.publisher = self
        self.options = runtime.options
        self.broker = runtime.broker
        self.hub = runtime.hub
        self.stats = runtime.stats
        self.connections = runtime.connections

    # -- ASGI -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            # Opened in a call that returns, so that an open connection holds one coroutine
            # frame less (this one's locals die with it): memory per idle connection.
            connection = await self._open(scope, receive, send)
            if connection is not None:
                await connection.serve(receive)
        elif kind == "http":
            await self.start()
            site = request_site(Handshake.from_scope(scope), self.options.trusted_proxies)
            if not host_allowed(site.host, self.options.allowed_hosts):
                await refuse_host(send)
                return
            await handle_http(self.runtime, scope, receive, send)
        elif kind == "lifespan":
            await self.serve_lifespan(receive, send)

    async def serve_lifespan(self, receive: Receive, send: Send) -> None:
        """The ASGI lifespan protocol: start the broker, then shut down gracefully."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    logger.exception("flowwire failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """For frameworks that take a lifespan context: `FastAPI(lifespan=flowwire.lifespan)`."""
        await self.start()
        try:
            yield
        finally:
            await self.shutdown()

    async def start(self) -> None:
        """Start the broker (once). Called by the lifespan, or on first use without one."""
        await self.runtime.start()

    async def drain(self) -> None:
        """Refuse new connections; send every client `goaway` and close 1001; wait (bounded)."""
        await self.runtime.drain()

    async def shutdown(self) -> None:
        """`drain`, then stop the broker. Called by the lifespan shutdown."""
        await self.runtime.shutdown()

    # -- publishing -------------------------------------------------------------------

    async def publish(self, event: Event, *, idempotency_key: str | None = None) -> int:
        """Publish an event on its topic (default `workflow:{workflow_id}`); return its seq.

        The event is validated against the schema first (`ProtocolError` if it
        does not conform, or if its type was never registered). Publishing never
        waits for a client. When a publish fails with an outcome you cannot know
        (`BrokerUnavailable` on a timeout: the event may have been stored), retry it
        with the same `idempotency_key` (a UUID you chose): it is stored once, and
        the retry returns the first one's seq.
        """
        return await self.runtime.publish(event, idempotency_key=idempotency_key)

    async def publish_event(self, event: Event, *, idempotency_key: str | None = None) -> Event:
        """`publish`, returning the event as published (topic, seq and ts filled in)."""
        return await self.runtime.publish_event(event, idempotency_key=idempotency_key)

    async def send_to_connection(self, connection_id: str, event: Event) -> int:
        """Publish an event to one connection (the `connection_id` of its `welcome`), on its
        private topic `@connection:{connection_id}`, wherever it is connected."""
        return await self.publish(replace(event, topic=connection_topic(connection_id)))

    async def send_to_principal(self, principal_id: str, event: Event) -> int:
        """Publish an event to every connection of a principal (by its id: `id`, `sub` or
        `user_id`, see `principal_id`), on `@principal:{principal_id}`; a client resumes
        it by subscribing to that topic with `since`."""
        return await self.publish(replace(event, topic=principal_topic(principal_id)))

    async def broadcast_all(self, event: Event) -> int:
        """Publish an event to every connection, on `@all`."""
        return await self.publish(replace(event, topic=ALL_TOPIC))

    def publish_threadsafe(
        self, event: Event, *, idempotency_key: str | None = None
    ) -> concurrent.futures.Future[int]:
        """Publish from a thread that is not the app's event loop (a sync engine).

        Returns a future of the seq; events published from one thread keep their order.
        """
        return self.runtime.publish_threadsafe(event, idempotency_key=idempotency_key)

    def reporter(
        self, workflow_id: str, execution_id: str, *, topic: str | None = None
    ) -> Reporter:
        """The engine-side API for one execution: `await reporter.node_running("a")`, …"""
        return Reporter(self, workflow_id, execution_id, topic=topic)

    def snapshot_stats(self) -> dict[str, Any]:
        """The counters of `GET stats`."""
        return self.runtime.snapshot_stats()

    # -- connections ------------------------------------------------------------------

    async def _open(self, scope: Scope, receive: Receive, send: Send) -> Connection | None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return None
        await self.start()
        runtime = self.runtime
        options = runtime.options
        handshake = Handshake.from_scope(scope)
        if runtime.stopping:
            await self._refuse(
                scope,
                send,
                503,
                "server is shutting down",
                CloseCode.TRY_AGAIN_LATER,
                why="shutting_down",
            )
            return None
        site = request_site(handshake, options.trusted_proxies)
        if not host_allowed(site.host, options.allowed_hosts):
            await self._refuse(
                scope, send, 403, "this server does not answer to that Host", why="host"
            )
            return None
        if not origin_allowed(handshake.origin, site, options.allowed_origins):
            await self._refuse(
                scope, send, 403, f"origin {handshake.origin!r} is not allowed", why="origin"
            )
            return None
        try:
            url = match_url(options.url_subscriptions, _local_path(scope), handshake.query)
        except ValueError as exc:
            await self._refuse(scope, send, 400, str(exc), why="url")
            return None
        subprotocol, acceptable = pick_subprotocol(handshake.subprotocols)
        if not acceptable:
            offer = ", ".join(ws.SUBPROTOCOLS)
            await self._refuse(
                scope,
                send,
                400,
                f"unsupported subprotocol: this server speaks {offer}",
                why="subprotocol",
            )
            return None
        if route_path(scope) == "engine":
            await self._engine(scope, receive, send, handshake, subprotocol)
            return None
        principal: Any = None
        authenticated = options.authenticate_token is None
        if options.authenticate is not None:
            try:
                principal = await resolve(options.authenticate(handshake))
            except Exception:
                logger.exception("flowwire: the authenticate hook failed")
                await self._refuse(
                    scope, send, 500, "internal error", CloseCode.INTERNAL_ERROR, why="hook_failed"
                )
                return None
            if principal is None and options.authenticate_token is None:
                await self._refuse(scope, send, 403, "authentication failed", why="unauthenticated")
                return None
            authenticated = principal is not None
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        codec: ws.Codec = runtime.msgpack if subprotocol == SUBPROTOCOL_MSGPACK else runtime.json
        profile = (url.profile if url is not None else None) or options.wire_profile
        if profile is not None and subprotocol is None:
            codec = runtime.profile_codec(profile)  # a client that offers flowwire gets it
        connection = Connection(
            runtime, send, codec, handshake, principal, secrets.token_hex(8), authenticated, url
        )
        if not runtime.admit(connection, principal_id(principal)):
            await self._turn_away(connection, send)
            return None
        runtime.stats.connections_opened += 1
        return connection

    async def _engine(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        handshake: Handshake,
        subprotocol: str | None,
    ) -> None:
        """An engine connects (`…/engine`) with the engine key, never a user's credential:
        the app's `authenticate` hooks are not asked, and the key names no user."""
        runtime = self.runtime
        key = runtime.options.engine_key
        if key is None or runtime.engines is None:
            await self._refuse(
                scope, send, 403, "engine connections are off: set engine_key", why="engine"
            )
            return
        if not bearer_matches(handshake.header("authorization") or "", key):
            await self._refuse(
                scope, send, 403, "engines connect with the engine key", why="engine"
            )
            return
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        codec = runtime.msgpack if subprotocol == SUBPROTOCOL_MSGPACK else runtime.json
        connection = EngineConnection(
            runtime, runtime.engines, send, codec, handshake, secrets.token_hex(8)
        )
        if not runtime.admit(connection, None):
            await self._turn_away(connection, send)
            return
        runtime.stats.connections_opened += 1
        await connection.serve(receive)

    async def _turn_away(self, connection: Connection, send: Send) -> None:
        """Too many connections (here, or of this principal): `goaway` with a hint of when
        to come back, then 1013 (try again later), so clients back off rather than loop."""
        self.runtime.stats.handshakes_refused += 1
        self.runtime.stats.refusals["too_many_connections"] += 1
        goaway = ws.Goaway(reason="too many connections", reconnect_ms=TURNED_AWAY_RECONNECT_MS)
        welcome = connection.session.start()[0]  # the first frame is always `welcome`
        assert isinstance(welcome, SendFrame)
        for frame in (welcome.frame, goaway):
            data = connection.codec.encode(frame)
            if not data:
                continue  # a wire profile with no name for it
            kind = "text" if isinstance(data, str) else "bytes"
            await send({"type": "websocket.send", kind: data})
        close = int(CloseCode.TRY_AGAIN_LATER)
        await send({"type": "websocket.close", "code": close, "reason": "too many connections"})

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        reason: str,
        close_code: CloseCode = CloseCode.POLICY_VIOLATION,
        *,
        why: str,
    ) -> None:
        """Deny the upgrade: an HTTP response where the server can send one, else a close.
        `why` labels the refusal in the metrics (a few fixed words: never the origin)."""
        self.runtime.stats.handshakes_refused += 1
        self.runtime.stats.refusals[why] += 1
        if "websocket.http.response" in (scope.get("extensions") or {}):
            body = reason.encode()
            headers = [(b"content-type", b"text/plain; charset=utf-8")]
            headers.append((b"content-length", str(len(body)).encode()))
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": int(close_code), "reason": reason})


def _local_path(scope: Scope) -> str:
    """The request's path under the mount (`/workflow/w1` of `/ws/workflow/w1`)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
