"""A new subscription's first frames: its catch-up merged with the live events held meanwhile.

While the broker looks up where a topic stands (its position, the replay after
the client's `since`, or snapshots of its executions), live events keep
arriving. They are held, then sent after the catch-up: each seq once, in order,
none already folded into a snapshot the client just received.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import wsproto_schema as ws
from wsproto_schema import Event, WireData

from .actions import Action, Send, SendEncoded
from .encoded import Delivered
from .topics import is_pattern, pattern_prefix

__all__ = ["CatchUp", "Holding"]


@dataclass(frozen=True)
class CatchUp:
    """What a new subscriber of one topic (or pattern) gets before its live events.

    `position` goes into the reply; then either the `replay` after the client's
    `since` (`position.recovered`), or `snapshots` of the executions: never both,
    never a partial replay.
    """

    position: ws.TopicPosition
    replay: Sequence[Event] = ()
    snapshots: Sequence[ws.ExecutionSnapshot] = ()


class _Held(NamedTuple):
    topic: str
    seq: int
    execution_id: str
    data: WireData


class Holding:
    """Live events of the topics being set up, kept until their catch-up is sent.

    It lives until the connection has pushed the whole catch-up, which may take a
    while for a slow client (the push is paced by the connection's queue): events
    that arrive meanwhile are held too, and `take` hands them over in turns, each
    filtered against the catch-up (each seq once, nothing a snapshot covers). At
    most `limit` events are held: past that the client cannot keep up (4008).
    """

    __slots__ = ("_count", "_filters", "_held", "_passed", "limit")

    def __init__(self, topics: Sequence[str], limit: int) -> None:
        self._held: dict[str, list[_Held]] = {topic: [] for topic in topics}
        self._filters: dict[str, tuple[int, dict[str, int]]] = {}
        self._passed: set[str] = set()
        self._count = 0
        self.limit = limit

    def hold(self, event: Delivered, data: WireData) -> bool | None:
        """Keep the event if a topic being set up covers it: True; None when none does;
        False when the holding is full (the connection must close as a slow consumer).

        A topic named exactly claims its events before any pattern that also
        matches, so they follow that topic's replay and are deduplicated against it.
        """
        topic = event.topic
        held = self._held.get(topic)
        if held is None:
            held = next(
                (
                    h
                    for key, h in self._held.items()
                    if is_pattern(key) and topic.startswith(pattern_prefix(key))
                ),
                None,
            )
        if held is None:
            return None
        if self._count >= self.limit:
            return False
        held.append(_Held(topic, event.seq, event.execution_id, data))
        self._count += 1
        return True

    def release(
        self, topic: str, catch_up: CatchUp | None = None, *, continuing: bool = False
    ) -> list[Action]:
        """The topic's catch-up, then what was held so far that it does not cover; later
        events of the topic are filtered the same way by `take`.

        A `continuing` topic is one the connection already had: every live event held
        is still its own, unless a replay covers it (a subscription that starts now
        begins after its position instead).
        """
        actions: list[Action] = []
        last = catch_up.position.seq if catch_up is not None and not continuing else 0
        covered: dict[str, int] = {}
        if catch_up is not None:
            for snapshot in catch_up.snapshots:
                actions.append(Send(snapshot))
                covered[snapshot.execution_id] = snapshot.last_seq
            for event in catch_up.replay:
                actions.append(Send(event))
                last = max(last, event.seq)
        self._filters[topic] = (last, covered)
        return actions + self.take(topic)

    def take(self, topic: str) -> list[Action]:
        """What was held for `topic` since the last turn, minus what its catch-up covers."""
        held = self._held.get(topic)
        if not held:
            return []
        self._held[topic] = []
        self._count -= len(held)
        last, covered = self._filters.get(topic, (0, {}))
        if held[-1].topic == topic and held[-1].seq > last:
            self._passed.add(topic)
        return [
            SendEncoded(h.data)
            for h in held
            if not (h.topic == topic and h.seq <= last)
            and not (h.execution_id in covered and h.seq <= covered[h.execution_id])
        ]

    def drop(self, topic: str) -> None:
        """The topic was not subscribed after all: forget what was held for it."""
        self._count -= len(self._held.pop(topic, ()))

    def floors(self) -> dict[str, int]:
        """Once holding ends: per topic, the seq its catch-up went up to, for the topics no
        live event has passed yet. A broker may still deliver events up to there (a
        Redis listener catching up after a reconnect, behind what the catch-up read):
        the client has them, or a snapshot covered them."""
        return {
            topic: last
            for topic, (last, _) in self._filters.items()
            if last > 0 and topic not in self._passed and not is_pattern(topic)
        }

    def take_all(self) -> list[Action]:
        """`take` of every topic, in the order they were subscribed."""
        return [action for topic in list(self._held) for action in self.take(topic)]
