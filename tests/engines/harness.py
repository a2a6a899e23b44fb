"""Engines in their own processes for the tests, and the user side that talks to them."""

from __future__ import annotations

import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.plugin import clients
from tests.processes import ChildProcess, environ
from tests.servers.apps import ENGINE_KEY
from tests.servers.harness import WsClient

__all__ = ["ENGINE_KEY", "EngineProcess", "User"]


class EngineProcess:
    """`tests.engines.engine_worker` (or another command) as a child; its output lines are
    read as they come, so a test can wait for each one in turn."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.child = ChildProcess(
            command, log, cwd=ROOT, env=environ(PYTHONPATH=str(ROOT)), stdout_pipe=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []

    @classmethod
    def python(cls, url: str, log: Path, *workflows: str) -> EngineProcess:
        worker = [sys.executable, "-m", "tests.engines.engine_worker", url, ENGINE_KEY]
        return cls([*worker, *workflows], log).start()

    def start(self) -> EngineProcess:
        self.child.start()
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _pump(self) -> None:
        process = self.child.process
        assert process is not None and process.stdout is not None
        log = self.child._log
        for raw in process.stdout:
            if log is not None and not log.closed:
                log.write(raw)
                log.flush()
            self.lines.put(raw.decode(errors="replace").rstrip("\n"))

    def expect(self, prefix: str, timeout: float = 20) -> str:
        """The next output line starting with `prefix` (earlier ones are kept in `seen`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"the engine never printed {prefix!r}: {self.seen}") from None
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def violations(self) -> list[str]:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return [line for line in self.seen if line.startswith("VIOLATION")]

    def kill(self) -> None:
        self.child.kill()

    def stop(self) -> None:
        self.child.stop(timeout=2)


class User:
    """A browser-side client: every frame it sends is checked against the client schema,
    every frame it receives against the server schema (`WsClient`)."""

    def __init__(self, client: WsClient) -> None:
        self.client = client
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, url: str, name: str = "ada") -> User:
        headers = {"Authorization": f"Bearer user-{name}"}
        return cls(await WsClient.connect(url, additional_headers=headers))

    async def request(self, frame: dict[str, Any], timeout: float = 20) -> dict[str, Any]:
        assert clients.CONTRACT is not None
        clients.CONTRACT.assert_client_frame(frame)
        return await self.client.request(frame, timeout)

    async def until(self, kind: str, timeout: float = 20, **fields: Any) -> dict[str, Any]:
        """Events until one of this type (with these fields); all are kept in `events`."""
        while True:
            event = await self.client.recv_event(timeout)
            self.events.append(event)
            if event["type"] == kind and all(event.get(k) == v for k, v in fields.items()):
                return event
