"""Engines in their own processes for the tests, and the user side that talks to them."""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.plugin import clients
from tests.processes import ChildProcess, environ, listening_socket
from tests.servers.apps import ENGINE_KEY
from tests.servers.harness import WsClient

__all__ = ["ENGINE_KEY", "EngineProcess", "Proxy", "User"]


class EngineProcess:
    """`tests.engines.engine_worker` (or another command) as a child; its output lines are
    read as they come, so a test can wait for each one in turn."""

    def __init__(self, command: list[str], log: Path, **env: str) -> None:
        self.child = ChildProcess(
            command, log, cwd=ROOT, env=environ(PYTHONPATH=str(ROOT), **env), stdout_pipe=True
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

    async def expect(self, prefix: str, timeout: float = 20) -> str:
        """The next output line starting with `prefix` (earlier ones are kept in `seen`),
        waited for in a thread: the event loop goes on serving meanwhile."""
        return await asyncio.to_thread(self._expect, prefix, timeout)

    def _expect(self, prefix: str, timeout: float) -> str:
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


class Proxy:
    """A TCP proxy in front of a server, on a socket it holds: `cut` drops every connection
    through it at once (a network blip), and it keeps accepting new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.socket = listening_socket()
        self.port: int = self.socket.getsockname()[1]
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._pipe, sock=self.socket)
        return self

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._writers.update((writer, upstream_writer))

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass  # cut: the other direction closes too
            finally:
                sink.close()

        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))
        self._writers.difference_update((writer, upstream_writer))

    def cut(self) -> int:
        """Drop every connection through the proxy (both ends see it closed); how many."""
        writers = list(self._writers)
        for writer in writers:
            writer.transport.abort()
        return len(writers) // 2

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
