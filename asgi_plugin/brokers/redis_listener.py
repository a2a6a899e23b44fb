"""The Redis broker's listener: events of watched topics, in seq order, without gaps.

It owns one pub/sub connection. Each event message carries its seq and its
topic's epoch; the listener remembers the last seq it delivered per topic, skips
what it has delivered, fills a gap from the topic's Stream, and reports a new
epoch (the stream was lost) as a reset. When the connection drops it reconnects
with backoff, subscribes again and catches every topic up from its last
delivered seq, so clients see no gap. Commands forwarded between processes
travel on it too.

It talks to its broker only through `ListenerBroker`, the public seam below:
the broker imports the listener, never the other way round.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any, Protocol

import msgspec

from asgi_plugin.core.encoded import EncodedEvent
from asgi_plugin.core.topics import is_pattern, pattern_prefix
from wsproto_schema import Event

from .base import BrokerSink, BrokerUnavailable, StreamPosition
from .redis_frames import carried

__all__ = ["ListenerBroker", "RedisListener"]

logger = logging.getLogger("flowwire.redis")

PING_EVERY = 5.0
GLOB = re.compile(r"([*?\[\]\\])")


class ListenerBroker(Protocol):
    """What the listener needs of its broker (`RedisBroker` is the one implementation)."""

    process_id: str
    socket_timeout_ms: int
    sink: BrokerSink

    def client(self, *, retries: int = 1, **overrides: Any) -> Any:
        """A new redis.asyncio client."""
        ...

    def key(self, kind: str, name: str) -> str: ...

    def channel(self, topic: str) -> str: ...

    def decode(self, payload: bytes, seq: int) -> Event:
        """An event as carried on a channel or stored in a Stream, with its seq."""
        ...

    def decode_frame(self, frame: bytes) -> Event:
        """A frame carried on a channel, its seq included."""
        ...

    async def position(self, topic: str) -> StreamPosition: ...

    async def range(self, topic: str, first: int, last: int | None = None) -> list[Event]: ...

    async def topics_since(self, since_ms: int) -> list[str]: ...

    async def new_epoch(self, topic: str, seen: str) -> str:
        """A new epoch for the topic unless it already moved on from `seen`."""
        ...

    async def run_forwarded(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run a command another process forwarded here; the answer to send back."""
        ...

    def answered(self, answer: dict[str, Any]) -> None:
        """The answer to a command this process forwarded arrived."""
        ...

    async def respond(self, process_id: str, answer: dict[str, Any]) -> None: ...

    async def drop_idle_connections(self) -> None: ...


class RedisListener:
    def __init__(self, broker: ListenerBroker, *, reconnect_max_ms: int = 5_000) -> None:
        self.broker = broker
        self.reconnect_max = reconnect_max_ms / 1000
        self.exact: set[str] = set()
        self.prefixes: set[str] = set()
        self.last: dict[str, int] = {}
        self.epochs: dict[str, str] = {}
        self.connected = False
        self.reconnects = 0
        self.last_error: str | None = None
        self.down_since: float | None = time.time()
        self._pubsub: Any = None
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._confirmations: dict[bytes, asyncio.Future[None]] = {}
        self._ready: asyncio.Event = asyncio.Event()
        self._work: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Connect in the background; wait up to `socket_timeout_ms` for the first
        connection. An app may start while Redis is down: it keeps trying, publishing
        fails with `BrokerUnavailable` meanwhile, and `health` says so."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        ready = asyncio.ensure_future(self._ready.wait())
        await asyncio.wait([ready], timeout=self.broker.socket_timeout_ms / 1000)
        if not ready.done():
            ready.cancel()
            logger.warning(
                "flowwire: Redis is not reachable at startup (%s); retrying in the background",
                self.last_error or "no answer",
            )

    async def stop(self) -> None:
        # redis-py reads under asyncio.timeout, which can swallow a cancellation that
        # lands as the timeout expires: the loop also stops on this flag (checked at
        # least every second), and stop() waits for it only so long.
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=3)  # raises nothing; our own cancel does
        await self._close()

    async def _close(self) -> None:
        self.connected = False
        self._ready.clear()
        for future in self._confirmations.values():
            if not future.done():
                future.set_exception(BrokerUnavailable("the Redis listener lost its connection"))
                # A `watch` waiting on it still gets the exception; confirmations nobody
                # waits for (those of a reconnect) must not be logged as never retrieved.
                future.exception()
        self._confirmations.clear()
        for resource in (self._pubsub, self._client):
            if resource is not None:
                try:
                    await resource.aclose()
                except Exception as exc:  # closing a connection to a Redis that is gone
                    logger.debug("flowwire: closing a Redis connection: %r", exc)
        self._pubsub = self._client = None

    def status(self) -> dict[str, Any]:
        return {
            "listener": "connected" if self.connected else "reconnecting",
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "watched": len(self.exact) + len(self.prefixes),
        }

    # -- the connection ---------------------------------------------------------------

    async def _run(self) -> None:
        delay = 0.1
        while not self._stopping:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected or self.last_error is None:
                    logger.warning("flowwire: Redis listener lost its connection: %s", exc)
                self.last_error = str(exc) or type(exc).__name__
            if self.down_since is None:
                self.down_since = time.time()
            await self._close()
            await self.broker.drop_idle_connections()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max)
            self.reconnects += 1

    async def _session(self) -> None:
        self._client = self.broker.client(retries=0, max_connections=2)
        self._pubsub = self._client.pubsub()
        names = [
            self.broker.key("cmd", self.broker.process_id),
            self.broker.key("rsp", self.broker.process_id),
        ]
        names += [self.broker.channel(topic) for topic in self.exact]
        await self._subscribe(names, [self._pattern(p) for p in self.prefixes], wait=False)
        pending = set(self._confirmations)
        last_ping = time.monotonic()
        caught_up = False
        while not self._stopping:
            message = await self._pubsub.get_message(timeout=1.0)
            if message is not None:
                await self._handle(message)
            if not caught_up and not (pending & set(self._confirmations)):
                if self.down_since is not None and self.reconnects:
                    # Pooled connections opened before the outage point at a dead server.
                    await self.broker.drop_idle_connections()
                await self._catch_up()
                caught_up = True
                if self.down_since is not None and self.reconnects:
                    logger.info(
                        "flowwire: Redis is back after %.1f s; delivery caught up",
                        time.time() - self.down_since,
                    )
                self.connected = True
                self.down_since = None
                self.last_error = None
                self._ready.set()
            if time.monotonic() - last_ping > PING_EVERY:
                await self._pubsub.ping()
                last_ping = time.monotonic()

    def _pattern(self, prefix: str) -> str:
        return self.broker.channel(GLOB.sub(r"\\\1", prefix)) + "*"

    async def _subscribe(self, channels: list[str], patterns: list[str], *, wait: bool) -> None:
        futures = []
        loop = asyncio.get_running_loop()
        for name in (*channels, *patterns):
            futures.append(self._confirmations.setdefault(name.encode(), loop.create_future()))
        if channels:
            await self._pubsub.subscribe(*channels)
        if patterns:
            await self._pubsub.psubscribe(*patterns)
        if wait:
            await asyncio.wait_for(asyncio.gather(*futures), self.broker.socket_timeout_ms / 1000)

    # -- watching ---------------------------------------------------------------------

    async def watch(self, topic: str) -> None:
        """Subscribe to a topic or pattern; returns once Redis confirmed it."""
        if not self.connected:
            raise BrokerUnavailable(f"Redis is unavailable ({self.last_error or 'connecting'})")
        try:
            if is_pattern(topic):
                self.prefixes.add(pattern_prefix(topic))
                await self._subscribe([], [self._pattern(pattern_prefix(topic))], wait=True)
                return
            self.exact.add(topic)
            await self._subscribe([self.broker.channel(topic)], [], wait=True)
        except BrokerUnavailable:
            raise
        except Exception as exc:
            raise BrokerUnavailable(f"Redis is unavailable: {exc}") from exc
        if topic not in self.last:
            position = await self.broker.position(topic)
            # An event may have arrived while the position was read: what it says is newer.
            if topic not in self.last:
                self.last[topic], self.epochs[topic] = position.seq, position.epoch

    async def unwatch(self, topic: str) -> None:
        """Stop delivering a topic or pattern. Forgotten at once (a reconnect will not
        subscribe it again); `BrokerUnavailable` when Redis could not be told."""
        if is_pattern(topic):
            self.prefixes.discard(pattern_prefix(topic))
        else:
            self.exact.discard(topic)
        for name in [t for t in self.last if not self._wanted(t)]:
            self.last.pop(name, None)
            self.epochs.pop(name, None)
        if self._pubsub is None:
            return
        try:
            if is_pattern(topic):
                await self._pubsub.punsubscribe(self._pattern(pattern_prefix(topic)))
            else:
                await self._pubsub.unsubscribe(self.broker.channel(topic))
        except Exception as exc:
            raise BrokerUnavailable(f"Redis is unavailable: {exc}") from exc

    def _wanted(self, topic: str) -> bool:
        return topic in self.exact or any(topic.startswith(p) for p in self.prefixes)

    # -- messages -------------------------------------------------------------------------

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in (b"subscribe", b"psubscribe", "subscribe", "psubscribe"):
            future = self._confirmations.pop(message["channel"], None)
            if future is not None and not future.done():
                future.set_result(None)
            return
        if kind not in ("message", "pmessage", b"message", b"pmessage"):
            return
        channel = message["channel"].decode()
        if channel == self.broker.key("cmd", self.broker.process_id):
            self._spawn(self._answer(msgspec.json.decode(message["data"])))
        elif channel == self.broker.key("rsp", self.broker.process_id):
            self.broker.answered(msgspec.json.decode(message["data"]))
        else:
            topic = channel[len(self.broker.channel("")) :]
            raw_seq, epoch, payload = message["data"].split(b" ", 2)
            await self._event(topic, int(raw_seq), epoch.decode(), payload)

    async def _event(self, topic: str, seq: int, epoch: str, payload: bytes) -> None:
        if not self._wanted(topic):
            return
        known = self.epochs.get(topic)
        if known is not None and epoch != known:
            self._reset(topic, seq - 1, epoch)
        last = self.last.get(topic)
        if last is not None and seq <= last:
            return  # delivered already (by a catch-up)
        if last is not None and seq > last + 1:
            missing = await self.broker.range(topic, last + 1, seq - 1)
            if [e.seq for e in missing] != list(range(last + 1, seq)):
                self._reset(topic, seq - 1, epoch)
            else:
                for event in missing:
                    self.broker.sink.deliver(event)
        self.epochs[topic] = epoch
        self.last[topic] = seq
        if carried(payload, seq):  # fanned out as it came: no decode, no encode
            self.broker.sink.deliver_encoded(
                EncodedEvent(topic, seq, payload, self.broker.decode_frame)
            )
        else:  # published by an earlier version, without its seq
            self.broker.sink.deliver(self.broker.decode(payload, seq))

    def _reset(self, topic: str, seq: int, epoch: str) -> None:
        logger.warning(
            "flowwire: the stream of %r was lost (new epoch); resetting its clients", topic
        )
        self.last[topic], self.epochs[topic] = seq, epoch
        self.broker.sink.reset(topic)

    async def _catch_up(self) -> None:
        """After (re)connecting: everything published since each topic's last delivery."""
        for topic in list(self.last):
            position = await self.broker.position(topic)
            if position.epoch == self.epochs.get(topic) and position.seq < self.last[topic]:
                # Behind what was delivered under the same epoch: the history went back
                # (Redis restored an older state). Its seq numbers will be given out again.
                epoch = await self.broker.new_epoch(topic, position.epoch)
                position = type(position)(epoch, position.seq)
            if position.epoch != self.epochs.get(topic):
                self._reset(topic, position.seq, position.epoch)
                continue
            last = self.last[topic]
            if position.seq > last:
                events = await self.broker.range(topic, last + 1, position.seq)
                if not events or events[0].seq != last + 1:
                    self._reset(topic, position.seq, position.epoch)
                    continue
                for event in events:
                    self.broker.sink.deliver(event)
                self.last[topic] = events[-1].seq
        if self.prefixes and self.down_since is not None:
            # Topics born during the outage, matched by a pattern subscription.
            since = int(self.down_since * 1000) - 1000
            for topic in await self.broker.topics_since(since):
                if topic not in self.last and self._wanted(topic):
                    position = await self.broker.position(topic)
                    for event in await self.broker.range(topic, 1, position.seq):
                        self.broker.sink.deliver(event)
                    self.last[topic], self.epochs[topic] = position.seq, position.epoch

    # -- forwarded commands -----------------------------------------------------------------

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _answer(self, request: dict[str, Any]) -> None:
        answer = await self.broker.run_forwarded(request)
        try:
            await self.broker.respond(request["reply"], answer)
        except BrokerUnavailable as exc:
            # The asking process times the command out; say here why it will.
            logger.warning("flowwire: could not answer a forwarded command: %s", exc)
