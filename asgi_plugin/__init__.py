"""flowwire's ASGI side: an app that mounts into any ASGI server or framework.

See docs/mounting.md for the recipe of each framework; the core of all of them:

>>> flowwire = FlowwireApp(api_key="…")      # doctest: +SKIP
>>> await flowwire.publish(event)            # doctest: +SKIP

The package is layered (docs/architecture.md): `core` (sans-I/O) ← `brokers`
and `engine` ← `transport` (ASGI) ← `demo`. These names are its public API;
`flowwire` re-exports them next to the protocol's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .brokers.base import Broker, BrokerSink, BrokerUnavailable, StreamPosition
from .brokers.memory import MemoryBroker
from .core.materializer import ExecutionState, Materializer
from .core.session import Session, SessionLimits
from .core.topics import default_topic
from .engine.context import NodeContext
from .engine.handlers import CommandContext, CommandHandler
from .engine.reporter import Publisher, Reporter, SyncReporter
from .engine.runner import DagRunner
from .transport.app import FlowwireApp
from .transport.handshake import Handshake
from .transport.hooks import (
    AuthenticateHook,
    AuthorizeCommandHook,
    AuthorizeHook,
    ConnectionInfo,
    Principal,
    TokenHook,
    may_command,
)
from .transport.logs import RedactSecrets, redact_server_logs
from .transport.middleware import FlowwireMiddleware
from .transport.options import OptionArgs, Options
from .transport.url_topics import UrlSubscription

if TYPE_CHECKING:
    from .brokers.redis_broker import RedisBroker

__all__ = [
    "AuthenticateHook",
    "AuthorizeCommandHook",
    "AuthorizeHook",
    "Broker",
    "BrokerSink",
    "BrokerUnavailable",
    "CommandContext",
    "CommandHandler",
    "ConnectionInfo",
    "DagRunner",
    "ExecutionState",
    "FlowwireApp",
    "FlowwireMiddleware",
    "Handshake",
    "Materializer",
    "MemoryBroker",
    "NodeContext",
    "OptionArgs",
    "Options",
    "Principal",
    "Publisher",
    "RedactSecrets",
    "RedisBroker",
    "Reporter",
    "Session",
    "SessionLimits",
    "StreamPosition",
    "SyncReporter",
    "TokenHook",
    "UrlSubscription",
    "default_topic",
    "may_command",
    "redact_server_logs",
]


def __getattr__(name: str) -> Any:
    # The Redis broker loads on first use: its module is only needed with the `redis` extra.
    if name == "RedisBroker":
        from .brokers.redis_broker import RedisBroker

        return RedisBroker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
