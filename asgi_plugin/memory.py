"""The embedded broker: one process, history in memory. The default."""

from __future__ import annotations

import time
import uuid
from collections import deque
from typing import Any

import msgspec

from wsproto_schema import Event

from .broker import Broker, StreamPosition

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

    `history_size` events per topic are kept, none older than `history_ttl`
    seconds; the state of every running execution, and of the `keep_finished`
    latest finished ones per topic, is kept for snapshots. Epochs are new in
    every process, so a client that resumes after a restart gets
    `recovered: false` and a snapshot instead of a wrong replay.
    """

    def __init__(
        self, *, history_size: int = 1000, history_ttl: float = 3600.0, keep_finished: int = 20
    ) -> None:
        super().__init__(keep_finished=keep_finished)
        if history_size < 0 or history_ttl < 0:
            raise ValueError("history_size and history_ttl must not be negative")
        self.history_size = history_size
        self.history_ttl = history_ttl
        self._streams: dict[str, _Stream] = {}
        self.published = 0

    def _stream(self, topic: str) -> _Stream:
        stream = self._streams.get(topic)
        if stream is None:
            stream = self._streams[topic] = _Stream(self.history_size)
        return stream

    def _trim(self, stream: _Stream, now: float) -> None:
        horizon = now - self.history_ttl
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

    def health(self) -> dict[str, Any]:
        return {
            "kind": "memory",
            "ok": True,
            "topics": len(self._streams),
            "published": self.published,
            "history_size": self.history_size,
            "history_ttl": self.history_ttl,
        }
