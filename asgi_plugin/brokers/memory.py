"""The embedded broker: one process, history in memory. The default."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict, deque
from typing import Any

import msgspec

import wsproto_schema as ws
from asgi_plugin.core.materializer import Materializer
from wsproto_schema import ErrorCode, Event, ProtocolError

from .base import PENDING_TTL_MS, Broker, StreamPosition, runner_lost, stamp

__all__ = ["MemoryBroker"]


class _Stream:
    __slots__ = ("epoch", "history", "seq")

    def __init__(self, history_size: int, epoch: str) -> None:
        self.epoch = epoch
        self.seq = 0
        # (monotonic time appended, event), oldest first
        self.history: deque[tuple[float, Event]] = deque(maxlen=history_size)


STARTERS_KEPT = 100_000
"""Executions whose starter a memory broker remembers (oldest forgotten first)."""

PENDING = object()
"""What an idempotency key of a command holds while the command runs."""


class IdempotencyKeys:
    """Keys seen within `ttl_ms`, with what they stood for; at most `limit`, oldest out."""

    def __init__(self, ttl_ms: int, limit: int = 100_000) -> None:
        self.ttl = ttl_ms / 1000
        self.limit = limit
        self._seen: OrderedDict[str, tuple[float, object]] = OrderedDict()

    def get(self, key: str) -> object | None:
        entry = self._seen.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, value: object, *, ttl_ms: int | None = None) -> None:
        now = time.monotonic()
        self._seen[key] = (now + (self.ttl if ttl_ms is None else ttl_ms / 1000), value)
        self._seen.move_to_end(key)
        while self._seen and (
            len(self._seen) > self.limit or next(iter(self._seen.values()))[0] < now
        ):
            self._seen.popitem(last=False)

    def drop(self, key: str) -> None:
        self._seen.pop(key, None)


class MemoryBroker(Broker):
    """Per-topic gap-free `seq` and a bounded history, in this process's memory.

    `history_size` events per topic are kept, none older than `history_ttl_ms`;
    the state of every running execution, and of the `finished_snapshots`
    latest finished ones per topic, is kept for snapshots. Idempotency keys of
    publishes and commands are remembered for `idempotency_ttl_ms`. An execution
    released by its runner (an engine that disconnected) and not claimed again within
    `lease_ms` is failed as `runner_lost`. Epochs are new in
    every process, so a client that resumes after a restart gets
    `recovered: false` and a snapshot instead of a wrong replay.
    """

    def __init__(
        self,
        *,
        history_size: int = 1000,
        history_ttl_ms: int = 3_600_000,
        finished_snapshots: int = 20,
        idempotency_ttl_ms: int = 3_600_000,
        lease_ms: int = 30_000,
    ) -> None:
        super().__init__()
        for name, value in (
            ("lease_ms", lease_ms),
            ("history_size", history_size),
            ("history_ttl_ms", history_ttl_ms),
            ("finished_snapshots", finished_snapshots),
            ("idempotency_ttl_ms", idempotency_ttl_ms),
        ):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"MemoryBroker({name}=...) takes an int, got {value!r}")
            if value < 0:
                raise ValueError(f"MemoryBroker({name}=...) must not be negative, got {value}")
        self.history_size = history_size
        self.history_ttl_ms = history_ttl_ms
        self.lease_ms = lease_ms
        self._released: dict[str, asyncio.TimerHandle] = {}
        self.state = Materializer(finished_snapshots=finished_snapshots)
        self.keys = IdempotencyKeys(idempotency_ttl_ms)
        self.epoch = uuid.uuid4().hex[:16]
        """One epoch for every topic: history is lost only when the process ends (a stream
        forgotten because it never had an event comes back with the same epoch)."""
        self._starters: dict[str, str] = {}
        self._streams: dict[str, _Stream] = {}
        self.published = 0

    def _stream(self, topic: str) -> _Stream:
        stream = self._streams.get(topic)
        if stream is None:
            stream = self._streams[topic] = _Stream(self.history_size, self.epoch)
        return stream

    def _trim(self, stream: _Stream, now: float) -> None:
        horizon = now - self.history_ttl_ms / 1000
        history = stream.history
        while history and history[0][0] < horizon:
            history.popleft()

    async def _append(self, event: Event, idempotency_key: str | None) -> tuple[Event, bool]:
        if idempotency_key is not None:
            seen = self.keys.get(idempotency_key)
            if isinstance(seen, tuple):
                topic, seq = seen
                return msgspec.structs.replace(event, topic=topic, seq=seq), True
            published = self.append(event)
            self.keys.put(idempotency_key, (published.topic, published.seq))
            return published, False
        return self.append(event), False

    async def begin_command(self, key: str) -> dict[str, Any] | None:
        seen = self.keys.get(key)
        if seen is None:
            self.keys.put(key, PENDING, ttl_ms=PENDING_TTL_MS)
            return None
        if seen is PENDING:
            raise ProtocolError(
                ErrorCode.CONFLICT, "a command with this idempotency_key is under way: retry"
            )
        assert isinstance(seen, dict)
        return seen

    async def end_command(self, key: str, reply: dict[str, Any] | None) -> None:
        if reply is None:
            self.keys.drop(key)
        else:
            self.keys.put(key, reply)

    def append(self, event: Event) -> Event:
        """`_append` without a suspension point: publishes from one task stay in order."""
        stream = self._stream(event.topic)
        stream.seq += 1
        published = msgspec.structs.replace(event, seq=stream.seq)
        now = time.monotonic()
        if self.history_size:
            stream.history.append((now, published))
            self._trim(stream, now)
        self.published += 1
        self.state.apply(published)
        self._deliver(published)
        return published

    async def position(self, topic: str) -> StreamPosition:
        stream = self._stream(topic)
        return StreamPosition(stream.epoch, stream.seq)

    async def replay(self, topic: str, after: int, epoch: str) -> list[Event] | None:
        stream = self._streams.get(topic)
        if stream is None or stream.epoch != epoch or after > stream.seq:
            return None
        if after == stream.seq:
            return []
        self._trim(stream, time.monotonic())
        history = stream.history
        if not history or history[0][1].seq > after + 1:
            return None
        start = after + 1 - history[0][1].seq
        return [event for _, event in list(history)[start:]]

    async def snapshots(self, topic: str, *, live_only: bool) -> list[ws.ExecutionSnapshot]:
        stream = self._streams.get(topic)
        seq = stream.seq if stream is not None else 0
        return self.state.snapshots(topic, live_only=live_only, topic_seq=seq)

    async def topics(self, prefix: str) -> list[str]:
        return [topic for topic in self.state.topics() if topic.startswith(prefix)]

    async def execution_topic(self, execution_id: str) -> str | None:
        return self.state.topic_of(execution_id)

    async def unwatch(self, topic: str) -> None:
        """Nobody here subscribes to the topic any more: a stream that never had an event
        is forgotten (subscribing to made-up names must not grow memory for ever)."""
        stream = self._streams.get(topic)
        if stream is not None and stream.seq == 0:
            del self._streams[topic]

    async def claim(self, execution_id: str, *, started_by: str | None = None) -> None:
        lapsing = self._released.pop(execution_id, None)
        if lapsing is not None:
            lapsing.cancel()
        if started_by is not None:
            self._starters[execution_id] = started_by
            while len(self._starters) > STARTERS_KEPT:  # the oldest are long finished
                del self._starters[next(iter(self._starters))]

    async def release(self, execution_id: str) -> None:
        if execution_id not in self._released:
            loop = asyncio.get_running_loop()
            lapse = loop.call_later(self.lease_ms / 1000, self._lapse, execution_id)
            self._released[execution_id] = lapse

    def _lapse(self, execution_id: str) -> None:
        """The lease of a released execution ran out: fail it, unless it ended meanwhile."""
        self._released.pop(execution_id, None)
        state = self.state.get(execution_id)
        if state is not None and not state.finished:
            self.append(stamp(runner_lost(state, int(time.time() * 1000))))

    async def stop(self) -> None:
        for lapse in self._released.values():
            lapse.cancel()
        self._released.clear()

    async def started_by(self, execution_id: str) -> str | None:
        return self._starters.get(execution_id)

    def health(self) -> dict[str, Any]:
        return {
            "kind": "memory",
            "ok": True,
            "topics": len(self._streams),
            "published": self.published,
            "history_size": self.history_size,
            "history_ttl_ms": self.history_ttl_ms,
        }
