"""flowwire's ASGI side: an app that mounts into any ASGI server or framework.

See docs/mounting.md for the recipe of each framework; the core of all of them:

>>> flowwire = FlowwireApp(api_key="…")      # doctest: +SKIP
>>> await flowwire.publish(event)            # doctest: +SKIP
"""

from __future__ import annotations

from .app import FlowwireApp
from .broker import Broker, BrokerUnavailable, StreamPosition, default_topic
from .handlers import CommandContext, CommandHandler
from .handshake import Handshake
from .hooks import AuthenticateHook, AuthorizeHook, Principal, TokenHook
from .materializer import ExecutionState, Materializer
from .memory import MemoryBroker
from .middleware import FlowwireMiddleware
from .options import Options
from .reporter import Reporter, SyncReporter
from .runner import DagRunner, NodeContext
from .session import Session, SessionLimits

__all__ = [
    "AuthenticateHook",
    "AuthorizeHook",
    "Broker",
    "BrokerUnavailable",
    "CommandContext",
    "CommandHandler",
    "DagRunner",
    "ExecutionState",
    "FlowwireApp",
    "FlowwireMiddleware",
    "Handshake",
    "Materializer",
    "MemoryBroker",
    "NodeContext",
    "Options",
    "Principal",
    "Reporter",
    "Session",
    "SessionLimits",
    "StreamPosition",
    "SyncReporter",
    "TokenHook",
    "default_topic",
]
