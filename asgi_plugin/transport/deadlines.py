"""One event-loop timer for the deadlines of every connection of an app.

Each connection has a next deadline (its heartbeat, its authentication, its
credentials' expiry). A `loop.call_later` per connection costs a timer handle
and a copied context each, about 600 bytes, and a loop callback each time; here
a connection's deadline is a small slotted object in one heap, and one loop
timer fires for the earliest, running every deadline that is due in one pass.
Cancelling only marks the entry: it leaves the heap when its time comes.

Deadlines are coalesced: each is rounded up to a tick of at most a tenth of its
delay (and at most 0.25 s), so the heartbeats of ten thousand connections, spread
over the interval, fire in a few passes a second instead of one loop wake-up
each: most of what an idle connection costs the server.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from collections.abc import Callable

__all__ = ["Deadline", "Deadlines", "coalesced"]

logger = logging.getLogger("flowwire")


MAX_SLACK = 0.25
"""The most a deadline runs late (seconds), to share its pass with others."""


def coalesced(when: float, delay: float) -> float:
    """`when` rounded up to a tick of at most `delay / 10` and MAX_SLACK, a power of two
    (so that deadlines of like delays land on the same ticks, in their order)."""
    slack = min(MAX_SLACK, delay / 10)
    if slack < 0.001:
        return when
    tick = 2.0 ** math.floor(math.log2(slack))
    return math.ceil(when / tick) * tick


class Deadline:
    """A callback due at `when` (the loop's clock); `cancel` keeps it from running."""

    __slots__ = ("callback", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback: Callable[[], None] | None = callback

    def __lt__(self, other: Deadline) -> bool:
        return self.when < other.when

    def cancel(self) -> None:
        self.callback = None


class Deadlines:
    """The pending deadlines of one app, earliest first, behind a single loop timer."""

    def __init__(self) -> None:
        self._heap: list[Deadline] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._firing = False

    def __len__(self) -> int:
        return len(self._heap)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Deadline:
        """Run `callback` in `delay` seconds (from the running loop), unless cancelled."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests run apps on several): start afresh
            self._loop, self._heap, self._timer, self._timer_at = loop, [], None, float("inf")
        deadline = Deadline(coalesced(loop.time() + delay, delay), callback)
        heapq.heappush(self._heap, deadline)
        if deadline.when < self._timer_at and not self._firing:
            self._arm(loop, deadline.when)  # while firing, the end of _fire arms it
        return deadline

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._fire)
        self._timer_at = when

    def _fire(self) -> None:
        loop = self._loop
        assert loop is not None
        self._timer, self._timer_at = None, float("inf")
        heap = self._heap
        now = loop.time()
        self._firing = True
        try:
            while heap and heap[0].when <= now:
                callback = heapq.heappop(heap).callback
                if callback is None:
                    continue  # cancelled
                try:
                    callback()
                except Exception:  # one connection's failure must not stop the others' timers
                    logger.exception("flowwire: a connection's timer failed")
        finally:
            self._firing = False
        while heap and heap[0].callback is None:
            heapq.heappop(heap)
        if heap:
            self._arm(loop, heap[0].when)
