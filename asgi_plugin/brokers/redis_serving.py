"""Which processes serve which workflows through their engines, kept in Redis.

A process whose connected engines serve a workflow id advertises it: a sorted set per
workflow of process ids, scored by when the entry lapses. Entries are renewed with the
runner leases (every third of `lease_ms`); a process that dies stops renewing, and
its entries lapse with its leases. Another process forwards an `execute` of that
workflow to one of the processes listed (see `RedisBroker.forward_execute`).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any, Protocol

__all__ = ["Serving", "ServingBroker"]


class ServingBroker(Protocol):
    """What `Serving` needs of its broker (`RedisBroker`)."""

    process_id: str
    lease_ms: int

    def key(self, kind: str, name: str) -> str: ...

    async def _command(self, name: str, *args: Any) -> Any: ...


class Serving:
    """The workflows this process serves, as Redis lists them for every process."""

    def __init__(self, broker: ServingBroker) -> None:
        self.broker = broker
        self.workflows: frozenset[str] = frozenset()

    async def advertise(self, workflows: Collection[str]) -> None:
        """This process serves these workflows from now on (and no others)."""
        dropped = self.workflows - set(workflows)
        self.workflows = frozenset(workflows)
        broker = self.broker
        for workflow in dropped:
            await broker._command("zrem", broker.key("serving", workflow), broker.process_id)
        await self.renew()

    async def renew(self) -> None:
        broker = self.broker
        expiry = int(time.time() * 1000) + broker.lease_ms
        for workflow in self.workflows:
            key = broker.key("serving", workflow)
            await broker._command("zadd", key, {broker.process_id: expiry})
            await broker._command("pexpire", key, broker.lease_ms * 2)

    async def others(self, workflow: str) -> list[str]:
        """The other processes that serve the workflow now."""
        broker = self.broker
        now = int(time.time() * 1000)
        members = await broker._command(
            "zrangebyscore", broker.key("serving", workflow), now, "+inf"
        )
        return [m.decode() for m in members if m.decode() != broker.process_id]
