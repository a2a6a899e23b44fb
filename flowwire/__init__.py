"""flowwire: stream live workflow execution to the people watching it.

The front door: every public name of the protocol (`wsproto_schema`: frames,
codecs, errors) and of the server side (`asgi_plugin`: the app, middleware,
options, brokers, the engine side) under one import.

    from flowwire import FlowwireApp, NodeStatus, Reporter

Server-side names load on first use, so that a program that only speaks the
protocol (a client, a contract test) imports no server code. So do the client's
(`FlowwireClient`, `connect_sync`; the whole client is `flowwire.client`), and the
engine client's (`EngineClient`, for engines in other processes).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wsproto_schema import *  # noqa: F403 - the protocol's names are flowwire's
from wsproto_schema import __all__ as _protocol_names
from wsproto_schema import __version__ as __version__

if TYPE_CHECKING:
    from asgi_plugin import (
        AuthenticateHook as AuthenticateHook,
    )
    from asgi_plugin import (
        AuthorizeCommandHook as AuthorizeCommandHook,
    )
    from asgi_plugin import (
        AuthorizeHook as AuthorizeHook,
    )
    from asgi_plugin import (
        Broker as Broker,
    )
    from asgi_plugin import (
        BrokerSink as BrokerSink,
    )
    from asgi_plugin import (
        BrokerUnavailable as BrokerUnavailable,
    )
    from asgi_plugin import (
        CommandContext as CommandContext,
    )
    from asgi_plugin import (
        CommandHandler as CommandHandler,
    )
    from asgi_plugin import (
        ConnectionInfo as ConnectionInfo,
    )
    from asgi_plugin import (
        DagRunner as DagRunner,
    )
    from asgi_plugin import (
        ExecutionState as ExecutionState,
    )
    from asgi_plugin import (
        FlowwireApp as FlowwireApp,
    )
    from asgi_plugin import (
        FlowwireMiddleware as FlowwireMiddleware,
    )
    from asgi_plugin import (
        Handshake as Handshake,
    )
    from asgi_plugin import (
        Materializer as Materializer,
    )
    from asgi_plugin import (
        MemoryBroker as MemoryBroker,
    )
    from asgi_plugin import (
        NodeContext as NodeContext,
    )
    from asgi_plugin import (
        OptionArgs as OptionArgs,
    )
    from asgi_plugin import (
        Options as Options,
    )
    from asgi_plugin import (
        Principal as Principal,
    )
    from asgi_plugin import (
        Publisher as Publisher,
    )
    from asgi_plugin import (
        RedactSecrets as RedactSecrets,
    )
    from asgi_plugin import (
        RedisBroker as RedisBroker,
    )
    from asgi_plugin import (
        Reporter as Reporter,
    )
    from asgi_plugin import (
        Session as Session,
    )
    from asgi_plugin import (
        SessionLimits as SessionLimits,
    )
    from asgi_plugin import (
        StreamPosition as StreamPosition,
    )
    from asgi_plugin import (
        SyncReporter as SyncReporter,
    )
    from asgi_plugin import (
        TokenHook as TokenHook,
    )
    from asgi_plugin import (
        UrlSubscription as UrlSubscription,
    )
    from asgi_plugin import (
        default_topic as default_topic,
    )
    from asgi_plugin import (
        may_command as may_command,
    )
    from asgi_plugin import (
        redact_server_logs as redact_server_logs,
    )
    from flowwire.client import FlowwireClient as FlowwireClient
    from flowwire.client import connect_sync as connect_sync
    from flowwire.engine_client import EngineClient as EngineClient

_SERVER = (
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
)

_CLIENT = ("FlowwireClient", "connect_sync")
_ENGINE = ("EngineClient",)

__all__ = [*_protocol_names, *_SERVER, *_CLIENT, *_ENGINE]


def __getattr__(name: str) -> Any:
    if name in _SERVER or name in _CLIENT or name in _ENGINE:
        homes = {
            **dict.fromkeys(_CLIENT, "flowwire.client"),
            "EngineClient": "flowwire.engine_client",
        }
        home = homes.get(name, "asgi_plugin")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
