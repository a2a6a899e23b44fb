"""Real ASGI servers as processes on 127.0.0.1, and a real WebSocket client.

Every frame `WsClient` receives is checked against the generated schema, like the
ASGI-level test clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import httpx
import msgspec
import websockets
from websockets.asyncio.client import ClientConnection

from tests.conftest import ROOT
from tests.plugin.clients import check
from tests.redis_server import free_port

SERVERS = ["uvicorn-sansio", "uvicorn-wsproto", "hypercorn"]


class ServerProcess:
    def __init__(self, server: str, app: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.server = server
        self.app = app
        self.port = free_port()
        self.log_path = log
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The server's command line; an app ending in `()` is a factory."""
        app = self.app.removesuffix("()")
        python = [sys.executable, "-m"]
        if self.server.startswith("uvicorn"):
            ws_impl = "websockets-sansio" if self.server == "uvicorn-sansio" else "wsproto"
            factory = ["--factory"] if self.app.endswith("()") else []
            bind = ["--host", "127.0.0.1", "--port", str(self.port)]
            return [
                *python,
                "uvicorn",
                app,
                *factory,
                *bind,
                "--ws",
                ws_impl,
                "--log-level",
                "warning",
            ]
        if self.server.startswith("hypercorn"):
            if self.app.endswith("()"):
                app = f"{app}()"  # hypercorn calls factories written like this
            bind = ["--bind", f"127.0.0.1:{self.port}"]
            # --workers 0: in this process, so signals reach the app and RSS is the server's;
            # "hypercorn-workers" keeps hypercorn's default worker process.
            workers = [] if self.server == "hypercorn-workers" else ["--workers", "0"]
            timeout = "2" if self.server == "hypercorn-workers" else "5"
            return [*python, "hypercorn", app, *bind, "--graceful-timeout", timeout, *workers]
        raise ValueError(self.server)

    def start(self, timeout: float = 20) -> ServerProcess:
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.server} exited:\n{self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{self.server} did not listen on {self.port}:\n{self.logs()}")

    def url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def http_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def stop(self, timeout: float = 1) -> int | None:
        """Teardown: SIGTERM, then SIGKILL after `timeout` (tests of graceful shutdown
        signal the process themselves and wait)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


class WsClient:
    """A `websockets` client; `recv` returns decoded frames checked against the schema."""

    def __init__(self, connection: ClientConnection) -> None:
        self.ws = connection
        self.skipped: deque[dict[str, Any]] = deque()

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> WsClient:
        client = cls(await websockets.connect(url, open_timeout=10, **kwargs))
        welcome = await client.recv()
        assert welcome["type"] == "welcome", welcome
        return client

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        if self.skipped:
            return self.skipped.popleft()
        return check(await asyncio.wait_for(self.ws.recv(), timeout))

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
