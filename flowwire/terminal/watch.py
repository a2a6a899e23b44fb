"""Following one execution in the terminal: a live view on a TTY, plain lines elsewhere.

On a terminal (and without NO_COLOR) the view redraws in place (rich `Live`) and
takes keys: `p` pause, `r` resume, `s` stop, `i` answer an input request (type,
Enter sends, Esc cancels). Piped, or with NO_COLOR, it prints one line per event
and no escape codes. Either way it ends when the execution does, with its
exit code (`outcome.Exit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live

import wsproto_schema as ws
from flowwire.client import (
    ClientError,
    ConnectionLost,
    Delivery,
    EventStream,
    ExecutionView,
    FlowwireClient,
    Reset,
    Status,
)

from .keys import BACKSPACE, ENTER, ESCAPE, keys
from .lines import human_line
from .outcome import Exit, exit_code
from .view import Screen, render

__all__ = ["Watch", "interactive"]

REDRAW_S = 0.05
TICK_S = 0.5


def interactive(stream: TextIO | None = None) -> bool:
    """Colours and redraw: a terminal, NO_COLOR unset, TERM not dumb."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


class Watch:
    """Draws one execution as its events come, and sends what the keys ask for."""

    def __init__(self, url: str, *, live: bool, out: TextIO | None = None) -> None:
        self.live = live
        self.out = out or sys.stdout
        self.screen = Screen(url=url, keys=False)
        self.client: FlowwireClient | None = None
        self.execution_id: str | None = None
        self._live: Live | None = None
        self._redraw: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- hooks for the client -------------------------------------------------------

    def on_status(self, status: Status) -> None:
        self.screen.status = status
        if not self.live and status.state in ("connected", "reconnecting"):
            if status.state == "connected" and status.recovered is None:
                return
            text = render_status(status)
            self._print(f"-- {text}")
        self.invalidate()

    def on_error(self, error: Exception) -> None:
        if self.live:
            self.screen.message = f"warning: {error}"
            self.invalidate()
        else:
            print(f"flowwire: warning: {error}", file=sys.stderr, flush=True)

    # -- following ------------------------------------------------------------------------

    def view(self) -> ExecutionView | None:
        if self.client is None or self.execution_id is None:
            return None
        return self.client.store.get(self.execution_id)

    async def follow(
        self, client: FlowwireClient, stream: EventStream, execution_id: str | None
    ) -> Exit:
        """Until the execution ends (the newest live one of the stream's topic, or the next
        one started, when `execution_id` is None)."""
        self.client = client
        self.execution_id = execution_id or _newest_live(client, stream)
        pressed: asyncio.Queue[str] = asyncio.Queue()
        with contextlib.ExitStack() as stack:
            if self.live:
                self.screen.keys = stack.enter_context(keys(pressed))
                console = Console(file=self.out)
                self._live = stack.enter_context(
                    Live(console=console, auto_refresh=False, transient=False)
                )
                self._start(self._read_keys(pressed))
                self._start(self._tick())
            try:
                return await self._consume(stream)
            finally:
                for task in self._tasks:
                    task.cancel()
                self.draw()
                self._live = None

    async def _consume(self, stream: EventStream) -> Exit:
        try:
            async for item in stream:
                self._take(item)
                view = self.view()
                if view is not None and view.finished and self._ends(item):
                    return self._finish(view)
        except ConnectionLost as exc:
            self.screen.message = str(exc)
            self._print(f"flowwire: connection lost: {exc}", error=True)
            return Exit.LOST
        return Exit.LOST

    def _take(self, item: Delivery) -> None:
        if self.execution_id is None and _starts(item):
            self.execution_id = item.execution_id  # type: ignore[union-attr]
        ours = isinstance(item, Reset) or getattr(item, "execution_id", None) == self.execution_id
        if ours and not self.live:
            self._print(human_line(item))
        self.invalidate()

    def _ends(self, item: Delivery) -> bool:
        """The last of the execution's deliveries (the store may already be further on)."""
        if getattr(item, "execution_id", None) != self.execution_id:
            return False
        if isinstance(item, ws.ExecutionSnapshot):
            return item.status in ("completed", "failed", "stopped")
        return isinstance(item, (ws.ExecutionCompleted, ws.ExecutionFailed, ws.ExecutionStopped))

    def _finish(self, view: ExecutionView) -> Exit:
        code = exit_code(view)
        summary = f"{view.execution_id} {view.status}"
        if view.error is not None:
            summary += f": {view.error.message}"
        self.screen.message = summary
        if not self.live:
            self._print(f"== {summary}")
        return code

    # -- keys -----------------------------------------------------------------------------

    async def _read_keys(self, pressed: asyncio.Queue[str]) -> None:
        while True:
            key = await pressed.get()
            if self.screen.answering is not None:
                self._edit(key)
            elif key in "prs":
                action = {"p": "pause", "r": "resume", "s": "stop"}[key]
                self._start(self._control(action))  # type: ignore[arg-type]
            elif key == "i":
                view = self.view()
                if view is not None and view.inputs:
                    self.screen.answering = ""
            self.invalidate()

    def _edit(self, key: str) -> None:
        text = self.screen.answering or ""
        if key == ENTER:
            self.screen.answering = None
            self._start(self._answer(text))
        elif key == ESCAPE:
            self.screen.answering = None
        elif key == BACKSPACE:
            self.screen.answering = text[:-1]
        elif key.isprintable():
            self.screen.answering = text + key

    async def _control(self, action: ws.ControlAction) -> None:
        assert self.client is not None
        assert self.execution_id is not None
        try:
            result = await self.client.control(self.execution_id, action)
            self.screen.message = f"{action}: {result.status}"
        except ClientError as exc:
            self.screen.message = f"{action} failed: {exc}"
        self.invalidate()

    async def _answer(self, text: str) -> None:
        view = self.view()
        if self.client is None or view is None or not view.inputs:
            return
        node_id = next(iter(view.inputs))
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        try:
            result = await self.client.input(view.execution_id, node_id, value)
            self.screen.message = (
                f"{node_id}: answer {'accepted' if result.accepted else 'refused'}"
            )
        except ClientError as exc:
            self.screen.message = f"answer failed: {exc}"
        self.invalidate()

    # -- drawing --------------------------------------------------------------------------

    def _start(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick(self) -> None:
        """Durations and ETA move on between events."""
        while True:
            await asyncio.sleep(TICK_S)
            self.invalidate()

    def invalidate(self) -> None:
        if self._live is None or self._redraw is not None:
            return
        self._redraw = asyncio.get_running_loop().call_later(REDRAW_S, self.draw)

    def draw(self) -> None:
        self._redraw = None
        if self._live is not None:
            self._live.update(render(self.view(), self.screen), refresh=True)

    def _print(self, line: str, *, error: bool = False) -> None:
        print(line, file=sys.stderr if error else self.out, flush=True)


def render_status(status: Status) -> str:
    if status.state == "connected":
        return "connected, " + (
            "resumed by replay" if status.recovered else "state rebuilt from snapshots"
        )
    code = f"closed {status.close_code}" if status.close_code else "dropped"
    retry = f" in {status.retry_ms / 1000:.1f}s" if status.retry_ms is not None else ""
    return f"reconnecting{retry} (attempt {status.attempt}, {code} {status.reason})".rstrip()


def _starts(item: Delivery) -> bool:
    if isinstance(item, ws.ExecutionStarted):
        return True
    return isinstance(item, ws.ExecutionSnapshot) and item.status in ("running", "paused")


def _newest_live(client: FlowwireClient, stream: EventStream) -> str | None:
    live = [v for v in client.store.executions() if stream.wants(v.topic) and not v.finished]
    if not live:
        return None
    return max(live, key=lambda v: v.started_ts or 0).execution_id
