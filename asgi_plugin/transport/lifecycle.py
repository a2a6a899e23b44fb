"""Running the app's lifecycle hooks (`on_connect`, `on_disconnect`, `on_command`).

A hook is the application's code: one that raises is logged (once per failure,
with its traceback, on the `flowwire.hooks` logger) and counted in the metrics,
and the connection goes on as if it had returned.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable

import wsproto_schema as ws

from .hooks import ConnectionInfo
from .options import Options
from .stats import Stats

__all__ = ["Lifecycle"]

logger = logging.getLogger("flowwire.hooks")


class Lifecycle:
    """The app's lifecycle hooks, each one guarded."""

    def __init__(self, options: Options, stats: Stats) -> None:
        self.options = options
        self.stats = stats
        self._running: set[asyncio.Task[None]] = set()

    @property
    def watches_commands(self) -> bool:
        return self.options.on_command is not None

    async def connected(self, info: ConnectionInfo) -> None:
        hook = self.options.on_connect
        if hook is not None:
            await self._await("on_connect", info, lambda: hook(info))

    async def disconnected(self, info: ConnectionInfo, close_code: int) -> None:
        hook = self.options.on_disconnect
        if hook is not None:
            await self._await("on_disconnect", info, lambda: hook(info, close_code))

    def command(self, info: ConnectionInfo, command: ws.ClientFrame) -> None:
        """Called from inside the session's `receive`: a sync hook runs now, an async one
        as a task of its own, so that a slow audit log never holds a command up."""
        hook = self.options.on_command
        if hook is None or isinstance(command, ws.Auth):
            return
        try:
            result = hook(info, command)
        except Exception as exc:
            self._failed("on_command", info, exc)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(self._guard("on_command", info, result))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _await(self, name: str, info: ConnectionInfo, call: Callable[[], object]) -> None:
        try:
            result = call()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            self._failed(name, info, exc)

    async def _guard(self, name: str, info: ConnectionInfo, result: Awaitable[None]) -> None:
        try:
            await result
        except Exception as exc:
            self._failed(name, info, exc)

    def _failed(self, name: str, info: ConnectionInfo, exc: Exception) -> None:
        self.stats.hook_failures[name] += 1
        logger.error(
            "flowwire: the %s hook raised (connection %s goes on)",
            name,
            info.connection_id,
            exc_info=exc,
        )
