"""`Runtime`: what every connection of one flowwire app shares, and the app's lifecycle.

It holds the options, the broker, the hub, the codecs, the open connections
and the counters; it publishes (the engine side's `Publisher`), receives what
the broker hands this process (the broker's `BrokerSink`), keeps which topics
this process watches, and starts, drains and stops. `FlowwireApp` is its ASGI
face; a `Connection` reaches the rest of the app only through it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

import wsproto_schema as ws
from asgi_plugin.brokers.base import Broker
from asgi_plugin.brokers.memory import MemoryBroker
from asgi_plugin.core.encoded import EncodedEvent
from asgi_plugin.core.hub import Hub, Subscriber
from asgi_plugin.core.principals import principal_id
from asgi_plugin.engine.handlers import CommandContext, CommandHandler
from asgi_plugin.engine.reporter import Publisher, Reporter
from wsproto_schema import Event
from wsproto_schema.profiles import ProfileCodec, profile_named

from .deadlines import Deadlines
from .engines import Engines
from .lifecycle import Lifecycle
from .options import Options
from .signals import SignalDrain
from .stats import Stats
from .watches import Watches
from .workers import split_workers
from .writer import Writer

if TYPE_CHECKING:
    from .metrics import Metrics

__all__ = ["Member", "Runtime"]

logger = logging.getLogger("flowwire.app")


def _metrics(runtime: Runtime) -> Metrics | None:
    """The app's Prometheus metrics, when prometheus-client is installed (`flowwire[metrics]`)."""
    try:
        from .metrics import Metrics
    except ImportError:
        return None
    return Metrics(runtime)


def _kind(broker: Broker) -> str:
    return str(broker.health().get("kind", type(broker).__name__))


class Member(Subscriber, Protocol):
    """What the runtime asks of a connection (`Connection` is the one implementation)."""

    writer: Writer

    def goaway(self, reconnect_ms: int) -> None:
        """Shutdown: `goaway`, then close 1001, after what is already queued."""
        ...

    async def closed(self) -> None:
        """Until the connection has sent its close (or given up)."""
        ...

    def reset(self, topic: str) -> None:
        """The topic's stream was lost: the client must reconnect and resynchronize."""
        ...

    def overflow(self) -> None:
        """Its queue passed the bound: close 4008."""
        ...


class Runtime:
    """The shared state and lifecycle of one flowwire app (see the module docstring)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.limits = options.limits()
        self.engine_limits = options.engine_limits()
        self.broker: Broker = options.broker or MemoryBroker()
        self.hub: Hub[Member] = Hub(on_overflow=self._overflowed)
        self.deliver = self.hub.deliver  # the broker's hot path calls the hub directly
        self.deliver_encoded = self.hub.deliver_encoded
        self.stats = Stats()
        self.metrics = _metrics(self)
        self.lifecycle = Lifecycle(options, self.stats)
        if self.metrics is not None:
            self.deliver = self._deliver_measured
            self.deliver_encoded = self._deliver_encoded_measured
        self.broker.bind(self)
        self.json = ws.JsonCodec()
        self.msgpack = ws.MsgpackCodec()
        self._profiles: dict[str, ProfileCodec] = {}
        self.connections: set[Member] = set()
        self._per_principal: Counter[str] = Counter()
        self._principal_of: dict[Member, str] = {}
        self.deadlines = Deadlines()
        """Every connection's next deadline (heartbeat, authentication), behind one timer."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self.publisher: Publisher = self
        """What command handlers get as `context.app` (the `FlowwireApp` sets itself)."""
        self.stopping = False
        self._started: asyncio.Future[None] | None = None
        self._stopped = False
        self._signals = SignalDrain(self.drain)
        self.watches = Watches(self.broker, self.hub.watched)
        self.engines: Engines | None = None
        """The engines connected here (with `engine_key`): they take commands first."""
        self.handler: CommandHandler | None = options.handler
        """Who takes `execute`, `control` and `input`: the engines, then `options.handler`."""
        if options.engine_key is not None:
            self.engines = Engines(self.broker, options.handler)
            self.handler = self.engines

    def profile_codec(self, name: str) -> ProfileCodec:
        """The one codec of a wire profile in this app: the hub encodes an event once per
        codec in use, so once per profile, whatever the number of its connections."""
        codec = self._profiles.get(name)
        if codec is None:
            codec = self._profiles[name] = ProfileCodec(profile_named(name))
        return codec

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the broker (once). Called by the lifespan, or on first use without one."""
        if self._started is None:
            self._check_workers()
            self.loop = asyncio.get_running_loop()
            self._started = self.loop.create_future()
            try:
                await self.broker.start()
            except BaseException as exc:
                self._started.set_exception(exc)
                self._started = None
                raise
            self._started.set_result(None)
            if self.options.drain_on_signals:
                self._signals.install(self.loop)
            logger.info(
                "flowwire: started (%s broker, process %d)", _kind(self.broker), os.getpid()
            )
        await asyncio.shield(self._started)

    def _check_workers(self) -> None:
        problem = split_workers(_kind(self.broker))
        if problem is None:
            return
        if self.options.refuse_split_workers:
            logger.error("flowwire: refusing to start: %s", problem)
            raise RuntimeError(f"flowwire refuses to start: {problem}")
        logger.error("flowwire: %s (starting anyway: refuse_split_workers=False)", problem)

    @property
    def started(self) -> bool:
        """Whether `start` has run (it may still be connecting the broker)."""
        return self._started is not None

    @property
    def stopped(self) -> bool:
        """Whether `shutdown` has run."""
        return self._stopped

    async def drain(self) -> None:
        """Refuse new connections; send every client `goaway` and close 1001; wait (bounded)."""
        connections = list(self.connections)
        if not self.stopping:
            logger.info("flowwire: draining: goaway to %d connection(s)", len(connections))
        self.stopping = True
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
            await self.watches.settle()
            await self.broker.stop()
        logger.info("flowwire: stopped")

    # -- publishing (the engine side's Publisher) ---------------------------------------------

    async def publish(self, event: Event, *, idempotency_key: str | None = None) -> int:
        return (await self.publish_once(event, idempotency_key=idempotency_key))[0].seq

    async def publish_event(self, event: Event, *, idempotency_key: str | None = None) -> Event:
        return (await self.publish_once(event, idempotency_key=idempotency_key))[0]

    async def publish_once(
        self, event: Event, *, idempotency_key: str | None = None
    ) -> tuple[Event, bool]:
        """Validate, then publish; the event as stored and whether its key was seen before."""
        await self.start()
        self.json.check_event(event)
        published, duplicate = await self.broker.publish_once(
            event, idempotency_key=idempotency_key
        )
        if not duplicate:
            self.stats.published += 1
        return published, duplicate

    def publish_threadsafe(
        self, event: Event, *, idempotency_key: str | None = None
    ) -> concurrent.futures.Future[int]:
        loop = self.loop
        if loop is None or loop.is_closed():
            raise RuntimeError(
                "flowwire is not running yet: start it (lifespan, or a first request) "
                "before publishing from threads"
            )
        publishing = self.publish(event, idempotency_key=idempotency_key)
        return asyncio.run_coroutine_threadsafe(publishing, loop)

    def reporter(
        self, workflow_id: str, execution_id: str, *, topic: str | None = None
    ) -> Reporter:
        return Reporter(self, workflow_id, execution_id, topic=topic)

    # -- what the broker hands this process (its BrokerSink) ---------------------------------

    def reset(self, topic: str) -> None:
        """A topic's stream was lost (new epoch): its subscribers must resynchronize."""
        for subscriber in list(self.hub.subscribers(topic)):
            subscriber.reset(topic)

    async def run_forwarded(
        self, command: ws.Execute | ws.Control | ws.Input, principal: Any
    ) -> dict[str, Any]:
        """A command another process forwarded here: run it on this process's handler (an
        `execute` started here is this process's to run: it claims it)."""
        handler = self.handler
        if handler is None:
            raise ws.ProtocolError(ws.ErrorCode.NOT_FOUND, "this process runs no workflows")
        context = CommandContext(self.publisher, principal, "forwarded")
        if isinstance(command, ws.Execute):
            started = await handler.on_execute(command, context)
            await self.broker.claim(started.execution_id, started_by=principal_id(principal))
            result: ws.Part = started
        elif isinstance(command, ws.Control):
            result = await handler.on_control(command, context)
        else:
            result = await handler.on_input(command, context)
        data: dict[str, Any] = msgspec.to_builtins(result)
        return data

    def _deliver_measured(self, event: Event) -> None:
        assert self.metrics is not None
        self.metrics.delivered(event.ts)
        self.hub.deliver(event)

    def _deliver_encoded_measured(self, event: EncodedEvent) -> None:
        assert self.metrics is not None
        self.metrics.delivered(event.ts)
        self.hub.deliver_encoded(event)

    def _overflowed(self, subscriber: Member) -> None:
        subscriber.overflow()

    # -- which topics this process needs -------------------------------------------------------

    async def watch(self, topics: Iterable[str]) -> None:
        """Have the broker deliver these topics here (before reading their position)."""
        await self.watches.watch(topics)

    def release(self, topics: Iterable[str]) -> None:
        """Stop the broker delivering topics nobody here subscribes to any more."""
        self.watches.release(topics)

    def forget(self, connection: Member, *, keep_registered: bool = False) -> None:
        """Take a connection out of the hub (and, once it is gone, out of the app)."""
        topics = self.hub.topics_of(connection)
        self.hub.remove(connection)
        self.release(topics)
        if not keep_registered:
            self.connections.discard(connection)
            self._count(connection, None)

    def admit(self, connection: Member, principal: str | None) -> bool:
        """Count a connection (new, or whose principal became known); False, counting
        nothing, when this process or this principal holds too many already."""
        options = self.options
        if connection not in self.connections and len(self.connections) >= options.max_connections:
            return False
        if (
            principal is not None
            and self._principal_of.get(connection) != principal
            and self._per_principal[principal] >= options.max_connections_per_principal
        ):
            return False
        self.connections.add(connection)
        self._count(connection, principal)
        return True

    def _count(self, connection: Member, principal: str | None) -> None:
        previous = self._principal_of.pop(connection, None)
        if previous is not None:
            self._per_principal[previous] -= 1
            if not self._per_principal[previous]:
                del self._per_principal[previous]
        if principal is not None:
            self._principal_of[connection] = principal
            self._per_principal[principal] += 1

    # -- monitoring -------------------------------------------------------------------

    def snapshot_stats(self) -> dict[str, Any]:
        stats = self.stats
        for connection in self.connections:
            connection.writer.flush_counts()
        depth_now = max((len(c.writer) for c in self.connections), default=0)
        return {
            "connections": len(self.connections),
            "engines": len(self.engines.links) if self.engines is not None else 0,
            "topics": self.hub.topic_count(),
            "subscriptions": self.hub.subscription_count(),
            "published": stats.published,
            "deliveries": self.hub.deliveries,
            "frames_sent": stats.frames_sent,
            "bytes_sent": stats.bytes_sent,
            "frames_dropped": stats.frames_dropped,
            "slow_consumer_closes": stats.slow_consumer_closes,
            "stalled_closes": stats.stalled_closes,
            "max_queue_depth": max(stats.max_queue_depth, depth_now),
            "queue_depth_now": depth_now,
            "connections_opened": stats.connections_opened,
            "handshakes_refused": stats.handshakes_refused,
            "uptime_s": round(stats.uptime(), 3),
            "broker": self.broker.health(),
        }
