"""Real ASGI servers as processes on 127.0.0.1, and a real WebSocket client.

Every frame `WsClient` receives is checked against the generated schema, like the
ASGI-level test clients.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any

import httpx
import msgspec
import websockets
from websockets.asyncio.client import ClientConnection

from tests.conftest import ROOT
from tests.plugin.clients import check
from tests.processes import ChildProcess, environ, listening_socket, wait_for_http, wait_for_line

SERVERS = ["uvicorn-sansio", "uvicorn-wsproto", "hypercorn"]


class ServerProcess:
    """A real ASGI server serving `app` on a listening socket this process holds.

    The server gets the socket by file descriptor (uvicorn `--fd`, hypercorn
    `fd://`, daphne `--fd`, granian through bench/granian_fd.py), so its port is fixed before it starts and stays its own across
    `restart` (a SIGKILLed server comes back at the same address; clients that
    connect meanwhile wait in the backlog).
    """

    def __init__(self, server: str, app: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.server = server
        self.app = app
        self.socket = listening_socket()
        self.port: int = self.socket.getsockname()[1]
        self.log_path = log
        self.env = environ(PYTHONPATH=str(ROOT), **(env or {}))
        self.child: ChildProcess | None = None

    def command(self) -> list[str]:
        """The server's command line; an app ending in `()` is a factory."""
        app = self.app.removesuffix("()")
        python = [sys.executable, "-m"]
        fd = str(self.socket.fileno())
        if self.server.startswith("uvicorn"):
            ws_impl = "websockets-sansio" if self.server == "uvicorn-sansio" else "wsproto"
            factory = ["--factory"] if self.app.endswith("()") else []
            return [
                *python,
                "uvicorn",
                app,
                *factory,
                "--fd",
                fd,
                "--ws",
                ws_impl,
                "--log-level",
                "warning",
            ]
        if self.server.startswith("hypercorn"):
            if self.app.endswith("()"):
                app = f"{app}()"  # hypercorn calls factories written like this
            # --workers 0: in this process, so signals reach the app and RSS is the server's;
            # "hypercorn-workers" keeps hypercorn's default worker process.
            workers = [] if self.server == "hypercorn-workers" else ["--workers", "0"]
            timeout = "2" if self.server == "hypercorn-workers" else "5"
            return [
                *python,
                "hypercorn",
                app,
                "--bind",
                f"fd://{fd}",
                "--graceful-timeout",
                timeout,
                *workers,
            ]
        if self.server == "daphne":  # an application instance, not a factory
            return [*python, "daphne", "--fd", fd, "-v", "0", app]
        if self.server == "granian":  # no --fd: its embedded server on this socket
            return [*python, "bench.granian_fd", fd, self.app]
        raise ValueError(self.server)

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start the server and return once it answers HTTP on its socket."""
        self.child = ChildProcess(
            self.command(), self.log_path, cwd=ROOT, env=self.env, pass_fds=[self.socket.fileno()]
        ).start()
        wait_for_http(self.child, ("127.0.0.1", self.port), "/__ready__", timeout)
        return self

    def restart(self, timeout: float = 30) -> ServerProcess:
        """A new server process on the same socket (after `kill` or `stop`)."""
        if self.child is not None:
            self.child.stop()
        return self.start(timeout)

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.child.process if self.child is not None else None

    def url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def http_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def logs(self) -> str:
        return self.child.logs() if self.child is not None else ""

    def rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        assert self.child is not None
        for line in Path(f"/proc/{self.child.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.child is not None
        self.child.signal(sig)

    def kill(self) -> None:
        """SIGKILL the server; the socket stays open for `restart`."""
        assert self.child is not None
        self.child.kill()

    def stop(self, timeout: float = 1) -> int | None:
        """Teardown: SIGTERM, then SIGKILL after `timeout`, and close the socket (tests of
        graceful shutdown signal the process themselves and wait)."""
        code = self.child.stop(signal.SIGTERM, timeout) if self.child is not None else None
        self.socket.close()
        return code


class WsClient:
    """A `websockets` client; `recv` returns decoded frames checked against the schema."""

    def __init__(self, connection: ClientConnection) -> None:
        self.ws = connection
        self.skipped: deque[dict[str, Any]] = deque()
        self.batches = 0
        """How many `batch` frames arrived (their frames are returned one by one)."""

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> WsClient:
        client = cls(await websockets.connect(url, open_timeout=10, **kwargs))
        welcome = await client.recv()
        assert welcome["type"] == "welcome", welcome
        return client

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        """The next frame; the frames of a `batch` come one by one, in order."""
        if self.skipped:
            return self.skipped.popleft()
        frame = check(await asyncio.wait_for(self.ws.recv(), timeout))
        if frame["type"] == "batch":
            self.batches += 1
            self.skipped.extend(frame["frames"])
            return self.skipped.popleft()
        return frame

    async def recv_event(self, timeout: float = 10) -> dict[str, Any]:
        """The next frame that carries a `seq` (an event); a heartbeat `ping` on the way is
        answered with `pong`, as every flowwire client must, and not returned."""
        while True:
            frame = await self.recv(timeout)
            if "seq" in frame:
                return frame
            if frame["type"] == "ping":
                await self.send({"type": "pong", "ts": frame.get("ts")})
            else:
                raise AssertionError(f"expected an event, got {frame}")

    async def send(self, frame: dict[str, Any] | str) -> None:
        if isinstance(frame, dict):
            frame = (
                msgspec.msgpack.encode(frame)
                if self.ws.subprotocol == "flowwire.v1.msgpack"
                else json.dumps(frame)
            )
        await self.ws.send(frame)

    async def request(self, frame: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send a command, return its reply or error; earlier frames stay for `recv`."""
        await self.send(frame)
        before = list(self.skipped)
        self.skipped.clear()
        while True:
            answer = await self.recv(timeout)
            if answer["type"] in ("reply", "error") and answer.get("ref") == frame.get("ref"):
                self.skipped.extendleft(reversed(before))
                return answer
            before.append(answer)

    async def subscribe(self, *topics: str) -> dict[str, Any]:
        reply = await self.request({"type": "subscribe", "ref": "sub", "topics": list(topics)})
        assert reply["type"] == "reply", reply
        return reply

    async def close(self) -> None:
        await self.ws.close()


async def publish(
    server: ServerProcess,
    events: list[dict[str, Any]] | dict[str, Any],
    key: str = "test-key",
    path: str = "/ws/publish",
) -> Any:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            server.http_url(path), json=events, headers={"authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200, response.text
        return response.json()


async def get_json(server: ServerProcess, path: str) -> Any:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(server.http_url(path))
        return response.json()


def node_status(i: int, workflow: str = "w", **extra: Any) -> dict[str, Any]:
    return {
        "type": "node.status",
        "workflow_id": workflow,
        "execution_id": "e",
        "node_id": f"n{i}",
        "status": "running",
        **extra,
    }


class DemoProcess:
    """`flowwire demo --port 0` as a user starts it (`python -m flowwire`, no fixed path to a
    script); the port is the one the demo prints."""

    def __init__(self, log: Path, *args: str) -> None:
        command = [sys.executable, "-m", "flowwire", "demo", "--port", "0", *args]
        self.child = ChildProcess(command, log, env=environ(), stdout_pipe=True)
        self.port = 0

    def start(self, timeout: float = 30) -> DemoProcess:
        self.child.start()
        line = wait_for_line(self.child, b"flowwire demo: open http://", timeout)
        self.port = int(line.split(b"http://", 1)[1].split(b"/", 1)[0].rsplit(b":", 1)[1])
        wait_for_http(self.child, ("127.0.0.1", self.port), "/", timeout)
        return self

    def url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def http_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def logs(self) -> str:
        return self.child.logs()
