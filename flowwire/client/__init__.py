"""The flowwire client: follow and drive workflow executions from Python.

    from flowwire.client import FlowwireClient

    async with FlowwireClient("ws://localhost:8000/ws") as client:
        execution = await client.execute(workflow)
        final = await client.wait(execution.execution_id)

It depends on the protocol (`wsproto_schema`) and `websockets`, never on the
server side (`asgi_plugin`): a client-only install needs no server dependency.
The protocol logic is sans-I/O (`ClientCore`, with `Positions`, `ExecutionStore`,
`PendingCommands`, `ReconnectPolicy`); `FlowwireClient` carries it out over
asyncio and `SyncClient` (`connect_sync`) blocks for scripts and notebooks.
"""

from __future__ import annotations

from .client import EventStream, FlowwireClient, TokenSource
from .core import ClientCore, Delivery, GapError, Status
from .decoding import FrameDecoder, Undecodable
from .errors import (
    ClientClosed,
    ClientError,
    CommandError,
    CommandInterrupted,
    CommandTimeout,
    ConnectionLost,
    Unauthorized,
)
from .policy import ReconnectPolicy
from .positions import Positions, Verdict
from .state import ExecutionStore, ExecutionView, NodeView, Reset
from .sync import SyncClient, connect_sync

__all__ = [
    "ClientClosed",
    "ClientCore",
    "ClientError",
    "CommandError",
    "CommandInterrupted",
    "CommandTimeout",
    "ConnectionLost",
    "Delivery",
    "EventStream",
    "ExecutionStore",
    "ExecutionView",
    "FlowwireClient",
    "FrameDecoder",
    "GapError",
    "NodeView",
    "Positions",
    "ReconnectPolicy",
    "Reset",
    "Status",
    "SyncClient",
    "TokenSource",
    "Unauthorized",
    "Undecodable",
    "Verdict",
    "connect_sync",
]
