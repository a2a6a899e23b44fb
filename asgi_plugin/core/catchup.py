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
    """Live events of the topics being set up, kept until their catch-up is sent."""

    __slots__ = ("_held",)

    def __init__(self, topics: Sequence[str]) -> None:
        self._held: dict[str, list[_Held]] = {topic: [] for topic in topics}

    def hold(self, event: Event, data: WireData) -> bool:
        """Keep the event if a topic being set up covers it; False when none does.

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
            return False
        held.append(_Held(topic, event.seq, event.execution_id, data))
        return True

    def release(self, topic: str, catch_up: CatchUp | None = None) -> list[Action]:
        """The topic's catch-up, then what was held that it does not already cover."""
        actions: list[Action] = []
        last = catch_up.position.seq if catch_up is not None else 0
        covered: dict[str, int] = {}
        if catch_up is not None:
            for snapshot in catch_up.snapshots:
                actions.append(Send(snapshot))
                covered[snapshot.execution_id] = snapshot.last_seq
            for event in catch_up.replay:
                actions.append(Send(event))
                last = max(last, event.seq)
        for held in self._held.get(topic, ()):
            if held.topic == topic and held.seq <= last:
                continue
            if held.execution_id in covered and held.seq <= covered[held.execution_id]:
                continue
            actions.append(SendEncoded(held.data))
        return actions
