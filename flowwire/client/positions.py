"""Where the client stands in each topic: `seq` and `epoch`, duplicates, gaps, resets.

Pure bookkeeping, driven by the subscribe replies, snapshots and events the
client receives (docs/protocol.md, "Delivery guarantees and resume"):

- an event with `seq` at or below the position is a duplicate: dropped;
- the next `seq` is applied and moves the position;
- a jump is a gap: the topic is resubscribed with `since` (`resync`), and its
  events are dropped until that reply, after which the replay brings them again;
- a reply with `recovered: false` is a reset: the state of the topic is rebuilt
  from the snapshots that follow, and the position jumps to the reply's `seq`.
  A snapshot's `last_seq` may lie beyond it (the server skips events a snapshot
  already covers), so seqs up to the highest `last_seq` may be skipped.

Topics reached only through a pattern (`workflow:*`) have no epoch: duplicates
are still dropped, but a gap there cannot be resumed and is only reported.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import wsproto_schema as ws

__all__ = ["Position", "Positions", "Verdict", "is_pattern", "matches"]


def is_pattern(topic: str) -> bool:
    return topic.endswith("*")


def matches(pattern: str, topic: str) -> bool:
    """Whether `topic` is `pattern` or falls under it (`workflow:*`, `*`)."""
    return topic == pattern or (is_pattern(pattern) and topic.startswith(pattern[:-1]))


class Verdict(enum.Enum):
    APPLY = "apply"
    DUPLICATE = "duplicate"
    GAP = "gap"
    """A jump on a topic the client can resume: resubscribe with `since`."""
    UNRESUMABLE_GAP = "unresumable_gap"
    """A jump on a topic known only through a pattern: applied, and reported."""
    RESYNCING = "resyncing"
    """Dropped: the topic is being resubscribed and the replay will bring it."""


@dataclass
class Position:
    seq: int
    epoch: str | None
    """None for a topic known only through a pattern."""
    floor: int = 0
    """Seqs up to here may be skipped: covered by the snapshots of a reset."""
    resyncing: bool = False
    filtered: bool = False
    """The subscription filters by event type: seqs skip the events it leaves out, so a
    jump is no gap."""

    def since(self) -> ws.SincePosition | None:
        if self.epoch is None:
            return None
        return ws.SincePosition(seq=self.seq, epoch=self.epoch)


class Positions:
    """Every topic's position."""

    def __init__(self) -> None:
        self._topics: dict[str, Position] = {}

    def get(self, topic: str) -> Position | None:
        return self._topics.get(topic)

    def since(self, topics: list[str]) -> dict[str, ws.SincePosition]:
        """The `since` of a subscribe that (re)subscribes `topics`."""
        out: dict[str, ws.SincePosition] = {}
        for topic in topics:
            position = self._topics.get(topic)
            if position is not None and (since := position.since()) is not None:
                out[topic] = since
        return out

    def subscribed(self, topic: str, reply: ws.TopicPosition) -> bool:
        """Record a subscribe reply for an exact topic; True when it is a reset
        (drop the topic's state: its snapshots follow)."""
        position = self._topics.get(topic)
        filtered = reply.types is not None
        if reply.recovered and position is not None and position.epoch == reply.epoch:
            position.resyncing = False
            position.filtered = filtered
            return False
        self._topics[topic] = Position(seq=reply.seq, epoch=reply.epoch, filtered=filtered)
        return True

    def pattern_subscribed(self, pattern: str, exact: set[str]) -> list[str]:
        """A pattern was (re)subscribed: nothing is replayed for it, so each topic known
        only through it starts over. Returns those topics (to reset)."""
        reset = [
            topic
            for topic, position in self._topics.items()
            if position.epoch is None and topic not in exact and matches(pattern, topic)
        ]
        for topic in reset:
            del self._topics[topic]
        return reset

    def snapshot(self, snapshot: ws.ExecutionSnapshot) -> None:
        position = self._topics.get(snapshot.topic)
        if position is not None:
            position.floor = max(position.floor, snapshot.last_seq)

    def check(self, topic: str, seq: int) -> Verdict:
        """What to do with an event, moving the position when it is applied."""
        position = self._topics.get(topic)
        if position is None:
            self._topics[topic] = Position(seq=seq, epoch=None)
            return Verdict.APPLY
        if position.resyncing:
            return Verdict.RESYNCING
        if seq <= position.seq:
            return Verdict.DUPLICATE
        if seq > max(position.seq, position.floor) + 1 and not position.filtered:
            if position.epoch is not None:
                position.resyncing = True
                return Verdict.GAP
            position.seq = seq
            return Verdict.UNRESUMABLE_GAP
        position.seq = seq
        return Verdict.APPLY

    def skip(self, topic: str, seq: int) -> None:
        """An event that could not be decoded still takes its place in the stream."""
        position = self._topics.get(topic)
        if position is not None and not position.resyncing and seq > position.seq:
            position.seq = seq

    def interrupted(self) -> None:
        """The connection closed: a resync in flight is redone by the resubscribe."""
        for position in self._topics.values():
            position.resyncing = False

    def forget(self, topics: list[str]) -> None:
        for topic in topics:
            self._topics.pop(topic, None)
