"""`FlowwireApp`: the ASGI 3 application. Mount it at any path of any ASGI server or framework."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

import wsproto_schema as ws
from wsproto_schema import SUBPROTOCOL_MSGPACK, CloseCode, Event

from .broker import Broker
from .connection import Connection
from .handlers import CommandContext
from .handshake import Handshake, origin_allowed, pick_subprotocol
from .hooks import resolve
from .http import handle_http
from .hub import Hub, Subscriber
from .memory import MemoryBroker
from .options import Options
from .reporter import Reporter
from .session import SubscribeRequest
from .signals import SignalDrain
from .stats import Stats
from .topics import is_pattern, pattern_prefix

__all__ = ["FlowwireApp", "SubscriptionPlan"]

logger = logging.getLogger("flowwire")

Scope = Mapping[str, Any]  # Mapping: frameworks type their scopes as TypedDicts


@dataclass
class SubscriptionPlan:
    positions: dict[str, ws.TopicPosition] = field(default_factory=dict)
    replays: dict[str, list[Event]] = field(default_factory=dict)
    snapshots: defaultdict[str, list[ws.ExecutionSnapshot]] = field(
        default_factory=lambda: defaultdict(list)
    )


class FlowwireApp:
    """The flowwire ASGI application.

        flowwire = FlowwireApp(api_key="…", allowed_origins=["https://app.example.com"])
        seq = await flowwire.publish(NodeStatus(...))  # from any task of the app

    Under its mount it serves the WebSocket and `GET stats`, `GET health`,
    `POST publish`, `GET schema`, `GET asyncapi`. Options: see `Options`.
    Recipes for Starlette, FastAPI, Litestar, Django and plain ASGI are in
    docs/mounting.md (a Starlette `Mount("/ws")` matches `/ws/…` only: add a
    `WebSocketRoute("/ws", flowwire)` too, and pass `lifespan=flowwire.lifespan`).
    """

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - Options.names()
        if unknown:
            raise TypeError(f"unknown FlowwireApp option(s): {', '.join(sorted(unknown))}")
        self.options = Options(**options)
        self.session_limits = self.options.limits()
        self.broker: Broker = self.options.broker or MemoryBroker()
        self.hub = Hub(on_overflow=self._overflowed)
        self.broker.bind(self.hub.deliver, self._topic_reset)
        self.json = ws.JsonCodec()
        self.msgpack = ws.MsgpackCodec()
        self.connections: set[Connection] = set()
        self.stats = Stats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started: asyncio.Future[None] | None = None
        self._stopping = False
        self._stopped = False
        self._signals = SignalDrain(self.drain)
        self._watched: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    # -- ASGI -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "http":
            await self.start()
            await handle_http(self, scope, receive, send)
        elif kind == "lifespan":
            await self.serve_lifespan(receive, send)

    async def serve_lifespan(self, receive: Any, send: Any) -> None:
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
        if self._started is None:
            self._loop = asyncio.get_running_loop()
            self._started = self._loop.create_future()
            self.broker.serve_commands(self._run_forwarded)
            try:
                await self.broker.start()
            except BaseException as exc:
                self._started.set_exception(exc)
                self._started = None
                raise
            self._started.set_result(None)
            if self.options.drain_on_signals:
                self._signals.install(self._loop)
        await asyncio.shield(self._started)

    async def drain(self) -> None:
        """Refuse new connections; send every client `goaway` and close 1001; wait (bounded)."""
        self._stopping = True
        connections = list(self.connections)
        for connection in connections:
            connection.goaway(self.options.reconnect_ms)
        if connections:
            await asyncio.wait(
                [asyncio.ensure_future(c.closed()) for c in connections],
                timeout=self.options.close_timeout_ms / 1000,
            )

    async def shutdown(self) -> None:
        """`drain`, then stop the broker. Called by the lifespan shutdown."""
        if self._stopped:
            return
        self._stopped = True
        await self.drain()
        self._signals.uninstall()
        if self._started is not None:
            await self.broker.stop()

    # -- publishing -------------------------------------------------------------------

    async def publish(self, event: Event) -> int:
        """Publish an event on its topic (default `workflow:{workflow_id}`); return its seq.

        The event is validated against the schema first (`ProtocolError` if it
        does not conform, or if its type was never registered). Publishing never
        waits for a client.
        """
        return (await self.publish_event(event)).seq

    async def publish_event(self, event: Event) -> Event:
        """`publish`, returning the event as published (topic, seq and ts filled in)."""
        await self.start()
        self.json.check_event(event)
        published = await self.broker.publish(event)
        self.stats.published += 1
        return published

    def reporter(
        self, workflow_id: str, execution_id: str, *, topic: str | None = None
    ) -> Reporter:
        """The engine-side API for one execution: `await reporter.node_running("a")`, …"""
        return Reporter(self, workflow_id, execution_id, topic=topic)

    def publish_threadsafe(self, event: Event) -> concurrent.futures.Future[int]:
        """Publish from a thread that is not the app's event loop (a sync engine).

        Returns a future of the seq; events published from one thread keep their order.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError(
                "flowwire is not running yet: start it (lifespan, or a first request) "
                "before publishing from threads"
            )
        return asyncio.run_coroutine_threadsafe(self.publish(event), loop)

    # -- connections ------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Any, send: Any) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await self.start()
        handshake = Handshake.from_scope(scope)
        if self._stopping:
            await self._refuse(
                scope, send, 503, "server is shutting down", CloseCode.TRY_AGAIN_LATER
            )
            return
        if not origin_allowed(handshake, self.options.allowed_origins):
            await self._refuse(scope, send, 403, f"origin {handshake.origin!r} is not allowed")
            return
        subprotocol, acceptable = pick_subprotocol(handshake.subprotocols)
        if not acceptable:
            offer = ", ".join(ws.SUBPROTOCOLS)
            await self._refuse(
                scope, send, 400, f"unsupported subprotocol: this server speaks {offer}"
            )
            return
        principal: Any = None
        authenticated = self.options.authenticate_token is None
        if self.options.authenticate is not None:
            try:
                principal = await resolve(self.options.authenticate(handshake))
            except Exception:
                logger.exception("flowwire: the authenticate hook failed")
                await self._refuse(scope, send, 500, "internal error", CloseCode.INTERNAL_ERROR)
                return
            if principal is None and self.options.authenticate_token is None:
                await self._refuse(scope, send, 403, "authentication failed")
                return
            authenticated = principal is not None
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        codec = self.msgpack if subprotocol == SUBPROTOCOL_MSGPACK else self.json
        connection = Connection(
            self,
            send,
            codec,
            handshake,
            principal,
            secrets.token_hex(8),
            authenticated,
        )
        self.connections.add(connection)
        self.stats.connections_opened += 1
        await connection.serve(receive)

    async def _refuse(
        self,
        scope: Scope,
        send: Any,
        status: int,
        reason: str,
        close_code: CloseCode = CloseCode.POLICY_VIOLATION,
    ) -> None:
        """Deny the upgrade: an HTTP response where the server can send one, else a close."""
        self.stats.handshakes_refused += 1
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

    def forget(self, connection: Connection, *, keep_registered: bool = False) -> None:
        """Take a connection out of the hub (and, once it is gone, out of the app)."""
        topics = self.hub.topics_of(connection)
        self.hub.remove(connection)
        self.release(topics)
        if not keep_registered:
            self.connections.discard(connection)

    async def watch(self, topics: Iterable[str]) -> None:
        """Have the broker deliver these topics here (before reading their position)."""
        for topic in topics:
            if topic not in self._watched:
                await self.broker.watch(topic)
                self._watched.add(topic)

    def release(self, topics: Iterable[str]) -> None:
        """Stop the broker delivering topics nobody here subscribes to any more."""
        for topic in topics:
            if topic in self._watched and not self.hub.watched(topic):
                self._watched.discard(topic)
                task = asyncio.get_running_loop().create_task(self.broker.unwatch(topic))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    def _topic_reset(self, topic: str) -> None:
        """A topic's stream was lost (new epoch): its subscribers must resynchronize."""
        for subscriber in list(self.hub.subscribers(topic)):
            assert isinstance(subscriber, Connection)
            subscriber.reset(topic)

    async def _run_forwarded(
        self, command: ws.Control | ws.Input, principal: Any
    ) -> dict[str, Any]:
        """A command another process forwarded here: run it on this process's handler."""
        handler = self.options.handler
        if handler is None:
            raise ws.ProtocolError(ws.ErrorCode.NOT_FOUND, "this process runs no workflows")
        context = CommandContext(self, principal, "forwarded")
        if isinstance(command, ws.Control):
            result: ws.Part = await handler.on_control(command, context)
        else:
            result = await handler.on_input(command, context)
        data: dict[str, Any] = msgspec.to_builtins(result)
        return data

    def _overflowed(self, subscriber: Subscriber) -> None:
        assert isinstance(subscriber, Connection)
        subscriber.overflow()

    async def plan_subscription(self, request: SubscribeRequest) -> SubscriptionPlan:
        """What a new subscriber gets, per topic: the reply's position, then either the
        replay after `since` (recovered) or snapshots of the executions (never both,
        never a partial replay)."""
        plan = SubscriptionPlan()
        for topic in request.topics:
            if is_pattern(topic):
                plan.positions[topic] = ws.TopicPosition(epoch="", seq=0, recovered=False)
                if request.snapshot:
                    for match in await self.broker.topics(pattern_prefix(topic)):
                        plan.snapshots[topic] += await self.broker.snapshots(match, live_only=True)
                continue
            position = await self.broker.position(topic)
            since = request.since.get(topic)
            events = None
            if since is not None:
                events = await self.broker.replay(topic, since.seq, since.epoch)
            if events is not None:
                plan.replays[topic] = events
            elif since is not None or request.snapshot:
                # A client that lost its place gets every execution it may have shown.
                plan.snapshots[topic] = await self.broker.snapshots(topic, live_only=since is None)
            plan.positions[topic] = ws.TopicPosition(
                epoch=position.epoch, seq=position.seq, recovered=events is not None
            )
        return plan

    # -- monitoring -------------------------------------------------------------------

    def snapshot_stats(self) -> dict[str, Any]:
        stats = self.stats
        for connection in self.connections:
            connection.writer.flush_counts()
        depth_now = max((len(c.writer) for c in self.connections), default=0)
        return {
            "connections": len(self.connections),
            "topics": self.hub.topic_count(),
            "subscriptions": self.hub.subscription_count(),
            "published": stats.published,
            "deliveries": self.hub.deliveries,
            "frames_sent": stats.frames_sent,
            "bytes_sent": stats.bytes_sent,
            "frames_dropped": stats.frames_dropped,
            "slow_consumer_closes": stats.slow_consumer_closes,
            "max_queue_depth": max(stats.max_queue_depth, depth_now),
            "queue_depth_now": depth_now,
            "connections_opened": stats.connections_opened,
            "handshakes_refused": stats.handshakes_refused,
            "uptime_s": round(stats.uptime(), 3),
            "broker": self.broker.health(),
        }
