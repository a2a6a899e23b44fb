"""Local fan-out: which connections of this process want which topics.

Publishing encodes an event once per codec in use and appends the same str or
bytes to every subscriber's outbox. It never awaits a client: a subscriber whose
outbox is full is reported back to be closed (4008), and the loop goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from wsproto_schema import Codec, Event, WireData

from .topics import is_pattern, pattern_prefix

__all__ = ["Hub", "Subscriber"]


class Subscriber(Protocol):
    codec: Codec

    def deliver(self, topic: str, seq: int, data: WireData) -> bool:
        """Queue an encoded event; False when the subscriber's queue is full."""
        ...


class Hub:
    def __init__(self, on_overflow: Callable[[Subscriber], None]) -> None:
        self._exact: dict[str, set[Subscriber]] = {}
        self._prefixes: dict[str, set[Subscriber]] = {}
        self._topics_of: dict[Subscriber, set[str]] = {}
        self._on_overflow = on_overflow
        self.deliveries = 0

    def subscribe(self, subscriber: Subscriber, topics: Iterable[str]) -> None:
        mine = self._topics_of.setdefault(subscriber, set())
        for topic in topics:
            mine.add(topic)
            if is_pattern(topic):
                self._prefixes.setdefault(pattern_prefix(topic), set()).add(subscriber)
            else:
                self._exact.setdefault(topic, set()).add(subscriber)

    def unsubscribe(self, subscriber: Subscriber, topics: Iterable[str]) -> None:
        mine = self._topics_of.get(subscriber)
        for topic in topics:
            if mine is None or topic not in mine:
                continue
            mine.discard(topic)
            index = self._prefixes if is_pattern(topic) else self._exact
            key = pattern_prefix(topic) if is_pattern(topic) else topic
            members = index.get(key)
            if members is not None:
                members.discard(subscriber)
                if not members:
                    del index[key]
        if mine is not None and not mine:
            del self._topics_of[subscriber]

    def remove(self, subscriber: Subscriber) -> None:
        """Drop every subscription of a subscriber (it disconnected)."""
        self.unsubscribe(subscriber, list(self._topics_of.get(subscriber, ())))

    def watched(self, topic: str) -> bool:
        """Whether any subscriber has this exact topic (or `prefix*` pattern)."""
        if is_pattern(topic):
            return bool(self._prefixes.get(pattern_prefix(topic)))
        return bool(self._exact.get(topic))

    def topics_of(self, subscriber: Subscriber) -> frozenset[str]:
        return frozenset(self._topics_of.get(subscriber, ()))

    def subscribers(self, topic: str) -> set[Subscriber] | frozenset[Subscriber]:
        """Everyone who gets an event of `topic`, each once."""
        exact = self._exact.get(topic)
        prefixes = self._prefixes
        if not prefixes:
            return exact or frozenset()
        matched: list[set[Subscriber]] = []
        if len(prefixes) < len(topic):
            matched = [m for p, m in prefixes.items() if topic.startswith(p)]
        else:
            for end in range(len(topic) + 1):
                members = prefixes.get(topic[:end])
                if members:
                    matched.append(members)
        if not matched:
            return exact or frozenset()
        return set(exact or ()).union(*matched)

    def deliver(self, event: Event) -> None:
        """Fan one published event out to this process's subscribers."""
        targets = self.subscribers(event.topic)
        if not targets:
            return
        overflowed: list[Subscriber] = []
        topic, seq = event.topic, event.seq
        # Encoded once per codec in use; almost always a single one.
        first_codec: Codec | None = None
        first_data: WireData = ""
        others: dict[int, WireData] = {}
        for subscriber in targets:
            codec = subscriber.codec
            if codec is first_codec:
                data = first_data
            elif first_codec is None:
                first_codec, data = codec, codec.encode(event)
                first_data = data
            else:
                data = others.get(id(codec)) or others.setdefault(id(codec), codec.encode(event))
            if not subscriber.deliver(topic, seq, data):
                overflowed.append(subscriber)
        self.deliveries += len(targets)
        for subscriber in overflowed:
            self._on_overflow(subscriber)

    def topic_count(self) -> int:
        return len(self._exact) + len(self._prefixes)

    def subscription_count(self) -> int:
        return sum(map(len, self._exact.values())) + sum(map(len, self._prefixes.values()))
