"""Drain before the server stops: `goaway` and close 1001 on SIGTERM/SIGINT, then its handler.

ASGI servers close WebSockets themselves before the lifespan shutdown runs
(uvicorn sends 1012 at once), so clients would never see `goaway`. flowwire
wraps the signal handlers the server installed: on a signal it closes its
connections gracefully (bounded by a timeout), then calls the server's handler.
A second signal goes to the server at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

__all__ = ["SignalDrain"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)

Handler = Any  # what signal.getsignal returns: a callable, SIG_DFL, SIG_IGN or None


class SignalDrain:
    def __init__(self, drain: Callable[[], Awaitable[None]]) -> None:
        self._drain = drain
        self._previous: dict[int, Handler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining = False

    def install(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Wrap the current handlers; False (and nothing changed) off the main thread."""
        if threading.current_thread() is not threading.main_thread() or self._previous:
            return False
        self._loop = loop
        for sig in SIGNALS:
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._handle)
        return True

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._handle:
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _handle(self, sig: int, frame: FrameType | None) -> None:
        loop = self._loop
        if self._draining or loop is None or loop.is_closed():
            self._forward(sig, frame)
            return
        self._draining = True
        loop.call_soon_threadsafe(lambda: loop.create_task(self._drain_then_forward(sig)))

    async def _drain_then_forward(self, sig: int) -> None:
        try:
            await self._drain()
        finally:
            self._forward(sig, None)

    def _forward(self, sig: int, frame: FrameType | None) -> None:
        previous = self._previous.get(sig, signal.SIG_DFL)
        if callable(previous):
            previous(sig, frame)
        elif previous != signal.SIG_IGN:
            self.uninstall()
            os.kill(os.getpid(), sig)
