"""A connection's bounded queue of encoded frames, drained by its one writer (transport/writer.py).

Sans-I/O: the queue says when it went from empty to non-empty; waking the
writer on that transition is the writer's business.
"""

from __future__ import annotations

from collections import deque
from typing import Union

from wsproto_schema import CloseCode

__all__ = ["CloseItem", "Item", "Outbox", "size"]


class CloseItem:
    """Queued after the last frame a connection sends: close with this code."""

    __slots__ = ("code", "reason")

    def __init__(self, code: CloseCode, reason: str) -> None:
        self.code = code
        self.reason = reason


Item = Union[str, bytes, CloseItem]


def size(item: Item) -> int:
    """What an item weighs in the queue's byte bound (characters of a str, near enough)."""
    return 0 if type(item) is CloseItem else len(item)  # type: ignore[arg-type]


class Outbox:
    """At most `limit` frames and about `byte_limit` bytes wait; `push` never blocks and
    says when a bound is passed (one frame always fits, however large).

    The writer needs waking only on the empty → non-empty transition (`push`
    tells it): a burst of frames costs one wake-up, not one per frame. The writer
    subtracts what it takes from `bytes`.
    """

    __slots__ = ("byte_limit", "bytes", "limit", "queue")

    def __init__(self, limit: int, byte_limit: int = 16 * 1024 * 1024) -> None:
        self.limit = limit
        self.byte_limit = byte_limit
        self.bytes = 0
        # Most connections never queue a frame (their sends complete at once): the
        # deque, some 600 bytes, is made the first time one has to wait.
        self.queue: deque[Item] | None = None

    def __len__(self) -> int:
        return 0 if self.queue is None else len(self.queue)

    def items(self) -> deque[Item]:
        """The queue itself (made now if it was not yet)."""
        if self.queue is None:
            self.queue = deque()
        return self.queue

    def push(self, item: Item) -> int:
        """Queue an item; the queue's length after it, or 0 (nothing queued) when it is full."""
        queue = self.items()
        weight = size(item)
        if len(queue) >= self.limit or (queue and self.bytes + weight > self.byte_limit):
            return 0
        queue.append(item)
        self.bytes += weight
        return len(queue)

    def close(self, item: CloseItem, *, drop_pending: bool = False) -> int:
        """Queue the close, after dropping what waits if `drop_pending`; return the count."""
        queue = self.items()
        dropped = 0
        if drop_pending:
            dropped = len(queue)
            queue.clear()
            self.bytes = 0
        queue.append(item)
        return dropped
