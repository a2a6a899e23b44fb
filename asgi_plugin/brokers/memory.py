"""The embedded broker: one process, history in memory. The default."""

from __future__ import annotations

import time
import uuid
from collections import deque
from typing import Any

import msgspec

import wsproto_schema as ws
from asgi_plugin.core.materializer import Materializer
from wsproto_schema import Event

from .base import Broker, StreamPosition

__all__ = ["MemoryBroker"]


class _Stream:
    __slots__ = ("epoch", "history", "seq")

    def __init__(self, history_size: int) -> None:
        self.epoch = uuid.uuid4().hex[:16]
        self.seq = 0
        # (monotonic time appended, event), oldest first
        self.history: deque[tuple[float, Event]] = deque(maxlen=history_size)


class MemoryBroker(Broker):
    """Per-topic gap-free `seq` and a bounded history, in this process's memory.

    `history_size` events per topic are kept, none older than `history_ttl_ms`;
    the state of every running execution, and of the `finished_snapshots`
    latest finished ones per topic, is kept for snapshots. Epochs are new in
    every process, so a client that resumes after a restart gets
    `recovered: false` and a snapshot instead of a wrong replay.
    """

    def __init__(
        self,
        *,
        history_size: int = 1000,
        history_ttl_ms: int = 3_600_000,
        finished_snapshots: int = 20,
    ) -> None:
        super().__init__()
        for name, value in (
            ("history_size", history_size),
            ("history_ttl_ms", history_ttl_ms),
            ("finished_snapshots", finished_snapshots),
        ):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"MemoryBroker({name}=...) takes an int, got {value!r}")
            if value < 0:
                raise ValueError(f"MemoryBroker({name}=...) must not be negative, got {value}")
        self.history_size = history_size
        self.history_ttl_ms = history_ttl_ms
        self.state = Materializer(finished_snapshots=finished_snapshots)
        self._streams: dict[str, _Stream] = {}
        self.published = 0

    def _stream(self, topic: str) -> _Stream:
        stream = self._streams.get(topic)
        if stream is None:
            stream = self._streams[topic] = _Stream(self.history_size)
        return stream

    def _trim(self, stream: _Stream, now: float) -> None:
        horizon = now - self.history_ttl_ms / 1000
        history = stream.history
        while history and history[0][0] < horizon:
            history.popleft()

    async def _append(self, event: Event) -> Event:
        return self.append(event)

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

    def health(self) -> dict[str, Any]:
        return {
            "kind": "memory",
            "ok": True,
            "topics": len(self._streams),
            "published": self.published,
            "history_size": self.history_size,
            "history_ttl_ms": self.history_ttl_ms,
        }
