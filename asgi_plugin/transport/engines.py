"""The engines connected to this process, and the command handler that routes users'
`execute`, `control` and `input` commands to them.

An engine serves workflow ids (an `execute` of one goes to an engine here that
serves it, in turn, else to another process whose engines do) and holds
executions (their commands go to it). When its connection ends, its executions
are released: the broker stops keeping their runner lease, and unless the engine
claims them again within the lease they fail as `runner_lost`. Commands for an
execution whose engine is away meanwhile get `unavailable` (retry). Workflows and
executions no engine has go to the app's own `handler`, when it has one.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Protocol, TypeVar

import msgspec

import wsproto_schema as ws
from asgi_plugin.brokers.base import RUNNER_LOST, Broker
from asgi_plugin.engine.handlers import CommandContext, CommandHandler
from wsproto_schema import ErrorCode, ProtocolError

from .errors import RETRY_AFTER_MS

__all__ = ["EngineLink", "Engines"]

logger = logging.getLogger("flowwire")

AWAY_KEPT = 10_000
"""Executions remembered as released by a disconnected engine (oldest forgotten first)."""

ResultT = TypeVar("ResultT", ws.ExecuteResult, ws.ControlResult, ws.InputResult)


class EngineLink(Protocol):
    """An engine's connection, as the router sees it (`EngineConnection`)."""

    connection_id: str

    async def ask(
        self, command: ws.Execute | ws.Control | ws.Input, principal: Any
    ) -> dict[str, Any]:
        """Send the command to the engine; the data of its `engine.result`, or its error."""
        ...


class Engines:
    """Which engine serves which workflow and holds which execution; a `CommandHandler`."""

    def __init__(self, broker: Broker, fallback: CommandHandler | None) -> None:
        self.broker = broker
        self.fallback = fallback
        self._serving: dict[str, list[EngineLink]] = {}
        self._running: dict[str, EngineLink] = {}
        self._away: OrderedDict[str, None] = OrderedDict()
        self.links: set[EngineLink] = set()
        """The engines connected to this process."""

    def join(self, link: EngineLink) -> None:
        """An engine connected."""
        self.links.add(link)

    # -- what engines say ----------------------------------------------------------------

    async def serve(self, link: EngineLink, workflows: list[str]) -> list[str]:
        """`link` serves these workflow ids from now on (and no others); other processes
        learn that this one serves them."""
        self._unserve(link)
        for workflow in dict.fromkeys(workflows):
            self._serving.setdefault(workflow, []).append(link)
        await self.broker.advertise(list(self._serving))
        return list(dict.fromkeys(workflows))

    def holds(self, link: EngineLink, execution_id: str) -> bool:
        return self._running.get(execution_id) is link

    async def claim(self, link: EngineLink, execution_id: str, *, check: bool) -> bool:
        """`link` runs the execution: its commands go there and its lease is kept here.
        With `check`, an execution that is unknown or already ended is not claimed
        (False). The latest claim wins: an engine that reconnected replaces its old
        connection, which the server may not have seen die yet."""
        if check and not await self.live(execution_id):
            return False
        await self.broker.claim(execution_id)
        self._running[execution_id] = link
        self._away.pop(execution_id, None)
        return True

    def finished(self, link: EngineLink, execution_id: str) -> None:
        """The engine published the execution's terminal event."""
        if self._running.get(execution_id) is link:
            del self._running[execution_id]

    async def gone(self, link: EngineLink) -> None:
        """The engine's connection ended: it serves nothing, and what it ran is released."""
        self.links.discard(link)
        self._unserve(link)
        await self.broker.advertise(list(self._serving))
        released = [e for e, holder in self._running.items() if holder is link]
        for execution_id in released:
            del self._running[execution_id]
            self._away[execution_id] = None
            while len(self._away) > AWAY_KEPT:
                self._away.popitem(last=False)
        for execution_id in released:
            await self.broker.release(execution_id)

    def _unserve(self, link: EngineLink) -> None:
        for workflow in list(self._serving):
            links = [other for other in self._serving[workflow] if other is not link]
            if links:
                self._serving[workflow] = links
            else:
                del self._serving[workflow]

    async def lost(self, execution_id: str) -> bool:
        """Whether the execution was failed as `runner_lost` (its engine was away too long)."""
        topic = await self.broker.execution_topic(execution_id)
        if topic is None:
            return False
        for snapshot in await self.broker.snapshots(topic, live_only=False):
            if snapshot.execution_id == execution_id:
                return snapshot.error is not None and snapshot.error.code == RUNNER_LOST
        return False

    async def live(self, execution_id: str) -> bool:
        """Whether the broker knows the execution and it has not ended."""
        topic = await self.broker.execution_topic(execution_id)
        if topic is None:
            return False
        snapshots = await self.broker.snapshots(topic, live_only=True)
        return any(s.execution_id == execution_id for s in snapshots)

    # -- the CommandHandler --------------------------------------------------------------

    async def on_execute(self, command: ws.Execute, context: CommandContext) -> ws.ExecuteResult:
        links = self._serving.get(command.workflow.id)
        if not links:
            principal = _public(context.principal)
            forwarded = await self.broker.forward_execute(command, principal)
            if forwarded is not None:  # an engine on another process started it
                return _result(ws.ExecuteResult, forwarded)
            if self.fallback is not None:
                return await self.fallback.on_execute(command, context)
            path = "$.workflow.id"
            message = f"{path}: no engine serves workflow {command.workflow.id!r}"
            raise ProtocolError(ErrorCode.NOT_FOUND, message, path=path)
        link = links[0]
        links.append(links.pop(0))  # the next execute goes to the next engine
        result = _result(ws.ExecuteResult, await link.ask(command, _public(context.principal)))
        self._running[result.execution_id] = link
        return result

    async def on_control(self, command: ws.Control, context: CommandContext) -> ws.ControlResult:
        link = await self._holder(command)
        if link is None:
            assert self.fallback is not None  # `_holder` said who takes it
            return await self.fallback.on_control(command, context)
        return _result(ws.ControlResult, await link.ask(command, _public(context.principal)))

    async def on_input(self, command: ws.Input, context: CommandContext) -> ws.InputResult:
        link = await self._holder(command)
        if link is None:
            assert self.fallback is not None
            return await self.fallback.on_input(command, context)
        return _result(ws.InputResult, await link.ask(command, _public(context.principal)))

    async def _holder(self, command: ws.Control | ws.Input) -> EngineLink | None:
        """The engine holding the command's execution; None: the app's handler takes it."""
        execution_id = command.execution_id
        link = self._running.get(execution_id)
        if link is not None:
            return link
        path = "$.execution_id"
        if execution_id in self._away:
            if not await self.live(execution_id):
                message = f"{path}: execution {execution_id!r} has ended"
                raise ProtocolError(ErrorCode.CONFLICT, message, path=path)
            raise ProtocolError(
                ErrorCode.UNAVAILABLE,
                f"{path}: the engine running {execution_id!r} is disconnected: retry",
                path=path,
                retry_after_ms=RETRY_AFTER_MS,
            )
        if self.fallback is None:
            message = f"{path}: no engine here runs execution {execution_id!r}"
            raise ProtocolError(ErrorCode.NOT_FOUND, message, path=path)
        return None


def _result(kind: type[ResultT], data: dict[str, Any]) -> ResultT:
    """The engine's answer as the command's result type; an engine that answers something
    else is the server's problem to log, not the user's to read."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        logger.warning("flowwire: an engine answered with an invalid %s: %s", kind.__name__, exc)
        raise ProtocolError(
            ErrorCode.INTERNAL, "the engine answered with an invalid result"
        ) from None


def _public(principal: Any) -> Any:
    """The principal as plain data, as the engine is shown it."""
    try:
        return msgspec.to_builtins(principal)
    except TypeError:
        return None
