"""What a node function of the reference runner gets, and how a node kind is declared.

    async def fetch(node: NodeContext) -> JsonValue:
        await node.log(f"GET {node.params.url}")
        return {"status": 200}

A `NodeContext` knows its node, its parsed params, its inputs and attempt, and
reports through the execution's `Reporter`; `ask` waits for the user's input.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

import wsproto_schema as ws
from wsproto_schema import JsonValue

from .reporter import Reporter

__all__ = ["Asker", "Kind", "NodeContext", "NodeFailure", "NodeFunction", "NodeStopped"]

Asker = Callable[[str, str, "dict[str, JsonValue] | None"], Awaitable[JsonValue]]
"""(node id, prompt, input schema) → the value of the matching `input` command."""


@dataclass
class NodeContext:
    """What a node function gets: its params, its inputs, and the execution's reporter."""

    node: ws.NodeSpec
    params: Any
    inputs: dict[str, JsonValue]
    attempt: int
    report: Reporter
    asker: Asker
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the execution is stopped. An async node is cancelled; work in a thread
    cannot be, so it checks this between steps (or calls `check`) and returns."""

    def check(self) -> None:
        """Raise `NodeStopped` if the execution was stopped (for work in threads)."""
        if self.stopping.is_set():
            raise NodeStopped(f"node {self.id!r}: the execution was stopped")

    @property
    def id(self) -> str:
        return self.node.id

    async def log(self, message: str, *, level: ws.LogLevel = "info", **context: Any) -> int:
        return await self.report.log(message, level=level, node_id=self.id, **context)

    async def token(self, delta: str) -> int:
        return await self.report.token(self.id, delta)

    async def progress(self, fraction: float) -> int:
        return await self.report.node_progress(self.id, fraction)

    async def ask(
        self, prompt: str, *, input_schema: dict[str, JsonValue] | None = None
    ) -> JsonValue:
        """Publish `input.requested` and wait for the matching `input` command's value."""
        return await self.asker(self.id, prompt, input_schema)


NodeFunction = Callable[[NodeContext], Awaitable[JsonValue]]


@dataclass(frozen=True)
class Kind:
    """A node kind: the async function that runs a node, and the Struct its params fit."""

    run: NodeFunction
    params: type[msgspec.Struct] | None = None


class NodeFailure(Exception):
    """A node that fails on purpose: its message is what the user sees."""


class NodeStopped(Exception):
    """Work in a thread noticed that its execution was stopped (`NodeContext.check`)."""
