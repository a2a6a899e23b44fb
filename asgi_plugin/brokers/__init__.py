"""Brokers: where seq numbers, history and execution state live, and how events reach this process.

`base` holds the interface and the logic every broker shares; `memory` is the
embedded single-process broker (the default); `redis_broker`, with its
`redis_listener` and `redis_scripts`, spans processes and hosts (the `redis`
extra, imported only when `RedisBroker` is first used).

Brokers may import `core` and `wsproto_schema`; nothing of the ASGI transport
or the engine side. The app binds itself as the broker's `BrokerSink`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Broker, BrokerSink, BrokerUnavailable, StreamPosition
from .memory import MemoryBroker

if TYPE_CHECKING:
    from .redis_broker import RedisBroker

__all__ = [
    "Broker",
    "BrokerSink",
    "BrokerUnavailable",
    "MemoryBroker",
    "RedisBroker",
    "StreamPosition",
]


def __getattr__(name: str) -> Any:
    if name == "RedisBroker":
        from .redis_broker import RedisBroker

        return RedisBroker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
