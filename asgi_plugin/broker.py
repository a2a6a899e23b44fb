"""The broker interface: sequence numbers, history and delivery to this process's hub.

A broker owns the order of each topic: it assigns `seq` (from 1, gap-free) and
keeps a bounded history per topic stream, identified by an `epoch` that changes
whenever that history is lost. The hub owns local fan-out. Subclasses implement
the I/O (`_append`, `position`, `replay`); the base stamps events and hands the
appended ones to the hub, in seq order per topic.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

import wsproto_schema as ws
from wsproto_schema import Event

from .materializer import Materializer

__all__ = ["Broker", "BrokerUnavailable", "CommandExecutor", "StreamPosition", "default_topic"]


def default_topic(workflow_id: str) -> str:
    return f"workflow:{workflow_id}"


@dataclass(frozen=True)
class StreamPosition:
    """A topic stream's identity and its latest seq (0 before the first event)."""

    epoch: str
    seq: int


class BrokerUnavailable(RuntimeError):
    """The broker cannot accept events now; nothing was published."""


CommandExecutor = Callable[[ws.Control | ws.Input, Any], Awaitable[dict[str, Any]]]
"""Runs a command forwarded from another process on this process's handler; returns the
reply data or raises `ProtocolError`."""


def _discard(event: Event) -> None:
    return None


def _ignore(topic: str) -> None:
    return None


async def _no_commands(command: ws.Control | ws.Input, principal: Any) -> dict[str, Any]:
    raise ws.ProtocolError(ws.ErrorCode.NOT_FOUND, "this process runs no workflows")


class Broker(ABC):
    """Base of every broker: stamping, local delivery and lifecycle."""

    def __init__(self, *, keep_finished: int = 20) -> None:
        self._deliver: Callable[[Event], None] = _discard
        self._reset: Callable[[str], None] = _ignore
        self._commands: CommandExecutor = _no_commands
        self.state = Materializer(keep_finished=keep_finished)

    def bind(
        self, deliver: Callable[[Event], None], reset: Callable[[str], None] = _ignore
    ) -> None:
        """Receive the events of watched topics, in seq order per topic; `reset(topic)` is
        called when a topic's stream was lost and its seq started again (a new epoch)."""
        self._deliver = deliver
        self._reset = reset

    def serve_commands(self, executor: CommandExecutor) -> None:
        """Run commands that other processes forward here (see `forward`)."""
        self._commands = executor

    async def watch(self, topic: str) -> None:
        """Deliver this topic's (or `prefix*` pattern's) events to this process from now on.
        A single-process broker delivers everything and ignores it."""

    async def unwatch(self, topic: str) -> None:
        """This process has no subscriber of `topic` any more."""

    async def claim(self, execution_id: str) -> None:
        """This process runs the execution: its `control` and `input` commands come here."""

    async def forward(
        self, command: ws.Control | ws.Input, principal: Any
    ) -> dict[str, Any] | None:
        """Run the command on the process that runs its execution and return the reply
        data; None when that process is this one (or nobody claimed the execution)."""
        return None

    async def start(self) -> None:
        """Connect and begin delivering; called once at application startup."""

    async def stop(self) -> None:
        """Stop delivering and release connections; called once at shutdown."""

    def stamp(self, event: Event) -> Event:
        """Fill in what a publisher may leave out: the default topic and the time."""
        changes: dict[str, Any] = {}
        if not event.topic:
            changes["topic"] = default_topic(event.workflow_id)
        if not event.ts:
            changes["ts"] = int(time.time() * 1000)
        return msgspec.structs.replace(event, **changes) if changes else event

    async def publish(self, event: Event) -> Event:
        """Append the event to its topic; return it as published, with its `seq`."""
        return await self._append(self.stamp(event))

    @abstractmethod
    async def _append(self, event: Event) -> Event:
        """Assign the next seq of the event's topic, store it, and deliver it."""

    @abstractmethod
    async def position(self, topic: str) -> StreamPosition:
        """The topic stream's epoch and latest seq."""

    @abstractmethod
    async def replay(self, topic: str, after: int, epoch: str) -> list[Event] | None:
        """Every event of the topic with seq > `after`, or None when history cannot
        give all of them (another epoch, trimmed history): never a partial replay."""

    async def snapshots(self, topic: str, *, live_only: bool) -> list[ws.ExecutionSnapshot]:
        """The state of the topic's executions (only running and paused ones with
        `live_only`), each with the topic position it reflects as `last_seq`."""
        position = await self.position(topic)
        return self.state.snapshots(topic, live_only=live_only, topic_seq=position.seq)

    async def topics(self, prefix: str) -> list[str]:
        """Topics with known executions whose name starts with `prefix` (for patterns)."""
        return [topic for topic in self.state.topics() if topic.startswith(prefix)]

    async def execution_topic(self, execution_id: str) -> str | None:
        """The topic an execution publishes on, if the broker has seen it."""
        return self.state.topic_of(execution_id)

    def health(self) -> dict[str, Any]:
        """The broker's state for the health and stats endpoints."""
        return {"kind": type(self).__name__, "ok": True}
