"""Which topics this process has its broker deliver: one owner, one order per topic.

The hub knows who subscribes to what here; the broker delivers a topic to this
process once it has been told to `watch` it. `Watches` is the only one that
tells it, and it tells it in order: the watch and unwatch of one topic run one
after the other, under that topic's lock, and each re-reads what the hub wants
at the moment it runs. An `unsubscribe` followed at once by a `subscribe` of
the same topic therefore ends watched, whichever runs first. An unwatch runs in
the background (nobody waits for it), and its failure is logged, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Iterable

from asgi_plugin.brokers.base import Broker, BrokerUnavailable

__all__ = ["Watches"]

logger = logging.getLogger("flowwire.app")


class Watches:
    """The topics (and `prefix*` patterns) the broker delivers to this process."""

    def __init__(self, broker: Broker, wanted: Callable[[str], bool]) -> None:
        self._broker = broker
        self._wanted = wanted
        """Whether some connection here still subscribes to a topic (the hub says)."""
        self._watched: set[str] = set()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._pending: set[asyncio.Task[None]] = set()

    def __contains__(self, topic: str) -> bool:
        return topic in self._watched

    def __len__(self) -> int:
        return len(self._watched)

    def _lock(self, topic: str) -> asyncio.Lock:
        lock = self._locks.get(topic)
        if lock is None:
            lock = self._locks[topic] = asyncio.Lock()
        return lock

    async def watch(self, topics: Iterable[str]) -> None:
        """Have the broker deliver these topics here; returns once it does (before the
        caller reads their position). Raises `BrokerUnavailable`."""
        for topic in topics:
            if topic in self._watched:
                continue
            async with self._lock(topic):
                if topic not in self._watched:
                    await self._broker.watch(topic)
                    self._watched.add(topic)

    def release(self, topics: Iterable[str]) -> None:
        """Stop delivering the topics nobody here wants any more (checked when it runs)."""
        for topic in topics:
            if topic in self._watched and not self._wanted(topic):
                task = asyncio.get_running_loop().create_task(self._unwatch(topic))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def _unwatch(self, topic: str) -> None:
        async with self._lock(topic):
            if topic not in self._watched or self._wanted(topic):
                return  # watched again meanwhile, or already released
            self._watched.discard(topic)
            try:
                await self._broker.unwatch(topic)
            except BrokerUnavailable as exc:
                # The broker forgets the topic anyway: it re-watches only what is watched
                # when it reconnects. Nothing else is lost.
                logger.info("flowwire: unwatch of %r during a broker outage: %s", topic, exc)
            except Exception:
                logger.exception("flowwire: the broker failed to unwatch %r", topic)

    async def settle(self) -> None:
        """Until every background unwatch has run (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
