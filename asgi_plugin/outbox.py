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
        self.queue: deque[Item] = deque()
        self.waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self.queue)

    def push(self, item: Item) -> bool:
        """Queue an item; False (and nothing queued) when the queue is full."""
        queue = self.queue
        if len(queue) >= self.limit:
            return False
        queue.append(item)
        if len(queue) == 1:
            self.wake()
        return True

    def close(self, item: CloseItem, *, drop_pending: bool = False) -> int:
        """Queue the close, after dropping what waits if `drop_pending`; return the count."""
        dropped = 0
        if drop_pending:
            dropped = len(self.queue)
            self.queue.clear()
        self.queue.append(item)
        self.wake()
        return dropped

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
