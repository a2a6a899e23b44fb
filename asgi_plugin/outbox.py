"""A connection's bounded queue of encoded frames, drained by its one writer task."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Union

from wsproto_schema import CloseCode

__all__ = ["CloseItem", "Item", "Outbox"]


class CloseItem:
    """Queued after the last frame a connection sends: close with this code."""

    __slots__ = ("code", "reason")

    def __init__(self, code: CloseCode, reason: str) -> None:
        self.code = code
        self.reason = reason


Item = Union[str, bytes, CloseItem]


class Outbox:
    """At most `limit` frames wait; `push` never blocks and says when the bound is passed.

    The writer is woken only on the empty → non-empty transition: a burst of
    frames costs one wake-up, not one per frame.
    """

    __slots__ = ("limit", "queue", "waiter")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # Most connections never queue a frame (their sends complete at once): the
        # deque, some 600 bytes, is made the first time one has to wait.
        self.queue: deque[Item] | None = None
        self.waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return 0 if self.queue is None else len(self.queue)

    def items(self) -> deque[Item]:
        """The queue itself (made now if it was not yet)."""
        if self.queue is None:
            self.queue = deque()
        return self.queue

    def push(self, item: Item) -> bool:
        """Queue an item; False (and nothing queued) when the queue is full."""
        queue = self.items()
        if len(queue) >= self.limit:
            return False
        queue.append(item)
        if len(queue) == 1:
            self.wake()
        return True

    def close(self, item: CloseItem, *, drop_pending: bool = False) -> int:
        """Queue the close, after dropping what waits if `drop_pending`; return the count."""
        queue = self.items()
        dropped = 0
        if drop_pending:
            dropped = len(queue)
            queue.clear()
        queue.append(item)
        self.wake()
        return dropped

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
