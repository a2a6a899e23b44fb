"""Local fan-out: which connections of this process want which topics.

Publishing encodes an event once per codec in use and appends the same str or
bytes to every subscriber's outbox. It never awaits a client: a subscriber whose
outbox is full is reported back to be closed (4008), and the loop goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Generic, Protocol, TypeVar

from wsproto_schema import Codec, Event, WireData

from .encoded import Delivered, EncodedEvent
from .topics import is_pattern, is_private, pattern_prefix

__all__ = ["Hub", "Subscriber"]


class Subscriber(Protocol):
    codec: Codec

    def deliver(self, event: Delivered, data: WireData) -> bool:
        """Queue an event, encoded as `data` in the subscriber's codec; False when the
        subscriber's queue is full."""
        ...


S = TypeVar("S", bound=Subscriber)


class Hub(Generic[S]):
    """Who subscribes to what in this process, and the fan-out of each published event."""

    def __init__(self, on_overflow: Callable[[S], None]) -> None:
        self._exact: dict[str, set[S]] = {}
        # A topic with one subscriber (every connection's own private topic, a dashboard
        # watching its execution) keeps it here, without a set (216 bytes) of its own.
        self._single: dict[str, S] = {}
        self._prefixes: dict[str, set[S]] = {}
        # A tuple per subscriber, not a set: most have one or two topics, and a set of
        # one costs 216 bytes where a tuple costs 48 (subscribing is rare, delivery hot).
        self._topics_of: dict[S, tuple[str, ...]] = {}
        self._on_overflow = on_overflow
        self.deliveries = 0

    def subscribe(self, subscriber: S, topics: Iterable[str]) -> None:
        topics = tuple(topics)
        if not topics:
            return
        self._topics_of[subscriber] = tuple(
            dict.fromkeys((*self._topics_of.get(subscriber, ()), *topics))
        )
        for topic in topics:
            if is_pattern(topic):
                self._prefixes.setdefault(pattern_prefix(topic), set()).add(subscriber)
            elif (members := self._exact.get(topic)) is not None:
                members.add(subscriber)
            elif (one := self._single.setdefault(topic, subscriber)) is not subscriber:
                del self._single[topic]
                self._exact[topic] = {one, subscriber}

    def unsubscribe(self, subscriber: S, topics: Iterable[str]) -> None:
        mine = self._topics_of.get(subscriber)
        if mine is None:
            return
        leaving = [topic for topic in dict.fromkeys(topics) if topic in mine]
        if not leaving:
            return
        remaining = tuple(topic for topic in mine if topic not in leaving)
        if remaining:
            self._topics_of[subscriber] = remaining
        else:
            del self._topics_of[subscriber]
        for topic in leaving:
            if not is_pattern(topic) and self._single.get(topic) is subscriber:
                del self._single[topic]
                continue
            index = self._prefixes if is_pattern(topic) else self._exact
            key = pattern_prefix(topic) if is_pattern(topic) else topic
            members = index.get(key)
            if members is not None:
                members.discard(subscriber)
                if not members:
                    del index[key]

    def remove(self, subscriber: S) -> None:
        """Drop every subscription of a subscriber (it disconnected)."""
        self.unsubscribe(subscriber, list(self._topics_of.get(subscriber, ())))

    def watched(self, topic: str) -> bool:
        """Whether any subscriber has this exact topic (or `prefix*` pattern)."""
        if is_pattern(topic):
            return bool(self._prefixes.get(pattern_prefix(topic)))
        return topic in self._single or bool(self._exact.get(topic))

    def topics_of(self, subscriber: S) -> frozenset[str]:
        return frozenset(self._topics_of.get(subscriber, ()))

    def subscribers(self, topic: str) -> Collection[S]:
        """Everyone who gets an event of `topic`, each once."""
        exact: Collection[S] | None = self._exact.get(topic)
        if exact is None and (one := self._single.get(topic)) is not None:
            exact = (one,)
        prefixes = self._prefixes
        if not prefixes or is_private(topic):  # no pattern reaches a private topic
            return exact or frozenset()
        matched: list[set[S]] = []
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
        self._fan_out(event, lambda codec: codec.encode(event))

    def deliver_encoded(self, event: EncodedEvent) -> None:
        """Fan out an event that arrived as its JSON frame: JSON subscribers get those
        bytes as they are; the Struct is decoded and encoded once per other codec."""

        def encode(codec: Codec) -> WireData:
            if not codec.binary and codec.name == "json":
                return event.text
            return codec.encode(event.event)

        self._fan_out(event, encode)

    def _fan_out(self, event: Delivered, encode: Callable[[Codec], WireData]) -> None:
        targets = self.subscribers(event.topic)
        if not targets:
            return
        overflowed: list[S] = []
        # Encoded once per codec in use (almost always a single one); a frame a wire
        # profile drops encodes to "", and that is kept too, not encoded again.
        first_codec: Codec | None = None
        first_data: WireData = ""
        others: dict[int, WireData] = {}
        for subscriber in targets:
            codec = subscriber.codec
            if codec is first_codec:
                data = first_data
            elif first_codec is None:
                first_codec, data = codec, encode(codec)
                first_data = data
            else:
                cached = others.get(id(codec))
                data = others[id(codec)] = encode(codec) if cached is None else cached
            if not subscriber.deliver(event, data):
                overflowed.append(subscriber)
        self.deliveries += len(targets)
        for subscriber in overflowed:
            self._on_overflow(subscriber)

    def topic_count(self) -> int:
        """Topics and patterns subscribed to (the private topics every connection has are
        not counted)."""
        exact = sum(not is_private(topic) for topic in (*self._exact, *self._single))
        return exact + len(self._prefixes)

    def subscription_count(self) -> int:
        """Subscriptions to topics and patterns (private topics not counted)."""
        exact = sum(len(m) for topic, m in self._exact.items() if not is_private(topic))
        single = sum(not is_private(topic) for topic in self._single)
        return exact + single + sum(map(len, self._prefixes.values()))
