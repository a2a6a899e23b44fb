"""How an application plugs its engine into `execute`, `control` and `input` commands.

    class MyEngine:
        async def on_execute(self, command, context) -> ExecuteResult: ...
        async def on_control(self, command, context) -> ControlResult: ...
        async def on_input(self, command, context) -> InputResult: ...

    flowwire = FlowwireApp(handler=MyEngine())

Raise `ProtocolError(ErrorCode.NOT_FOUND, "no execution 'x'")` (or any other code)
for an error the client should see; any other exception becomes an `internal`
error reply, logged on the server, with no detail on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import wsproto_schema as ws

from .reporter import Publisher

__all__ = ["CommandContext", "CommandHandler"]


@dataclass(frozen=True)
class CommandContext:
    """Who sent a command, and the app to publish through (`context.app.reporter(...)`)."""

    app: Publisher
    principal: Any
    connection_id: str


class CommandHandler(Protocol):
    async def on_execute(self, command: ws.Execute, context: CommandContext) -> ws.ExecuteResult:
        """Start the workflow; return at once with its execution id and topic."""
        ...

    async def on_control(self, command: ws.Control, context: CommandContext) -> ws.ControlResult:
        """Pause, resume or stop an execution; return its status after the action."""
        ...

    async def on_input(self, command: ws.Input, context: CommandContext) -> ws.InputResult:
        """Deliver the value a node asked for with `input.requested`."""
        ...
