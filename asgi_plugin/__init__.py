"""flowwire's ASGI side: an app that mounts into any ASGI server or framework.

flowwire = FlowwireApp()
app.mount("/ws", flowwire)
await flowwire.publish(event)
"""

from __future__ import annotations

from .app import FlowwireApp
from .broker import Broker, BrokerUnavailable, StreamPosition, default_topic
from .handshake import Handshake
from .hooks import AuthenticateHook, AuthorizeHook, Principal, TokenHook
from .memory import MemoryBroker
from .middleware import FlowwireMiddleware
from .options import Options
from .session import Session, SessionLimits

__all__ = [
    "AuthenticateHook",
    "AuthorizeHook",
    "Broker",
    "BrokerUnavailable",
    "FlowwireApp",
    "FlowwireMiddleware",
    "Handshake",
    "MemoryBroker",
    "Options",
    "Principal",
    "Session",
    "SessionLimits",
    "StreamPosition",
    "TokenHook",
    "default_topic",
]
