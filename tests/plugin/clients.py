"""Test clients. Every frame they receive is checked against `schemas/server-frame.schema.json`
(the autouse fixture in conftest.py installs the contract; no test can forget it)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

import msgspec
from asgiref.testing import ApplicationCommunicator

from wsproto_schema.contract import Contract

CONTRACT: Contract | None = None
RECEIVED: list[Any] = []


def check(data: str | bytes) -> dict[str, Any]:
    """Validate one server frame and return it decoded."""
    assert CONTRACT is not None, "the contract fixture is not installed"
    CONTRACT.assert_server_frame(data)
    RECEIVED.append(data)
    frame: dict[str, Any] = (
        json.loads(data) if isinstance(data, str) else msgspec.msgpack.decode(data)
    )
    return frame


class Refused(Exception):
    def __init__(self, status: int | None, code: int | None, body: bytes = b"") -> None:
        super().__init__(f"refused: status={status} code={code} body={body!r}")
        self.status = status
        self.code = code
        self.body = body


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


def websocket_scope(
    path: str = "/",
    *,
    subprotocols: list[str] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    query: bytes = b"",
    http_response: bool = True,
    root_path: str = "",
) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": query,
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "subprotocols": subprotocols or [],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "extensions": {"websocket.http.response": {}} if http_response else {},
    }


class AsgiClient:
    """A WebSocket client driving an ASGI app through asgiref's ApplicationCommunicator."""

    def __init__(self, app: Any, **scope: Any) -> None:
        self.scope = websocket_scope(**scope)
        self.comm = ApplicationCommunicator(app, self.scope)
        self.subprotocol: str | None = None
        self.welcome: dict[str, Any] = {}
        self.skipped: deque[dict[str, Any]] = deque()

    async def connect(self, timeout: float = 2) -> dict[str, Any]:
        await self.comm.send_input({"type": "websocket.connect"})
        message = await self.comm.receive_output(timeout)
        if message["type"] == "websocket.accept":
            self.subprotocol = message.get("subprotocol")
            self.welcome = await self.recv()
            assert self.welcome["type"] == "welcome"
            return self.welcome
        if message["type"] == "websocket.http.response.start":
            body = await self.comm.receive_output(timeout)
            raise Refused(message["status"], None, body["body"])
        assert message["type"] == "websocket.close", message
        raise Refused(None, message["code"])

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        if isinstance(frame, dict):
            frame = (
                msgspec.msgpack.encode(frame)
                if self.subprotocol == "flowwire.v1.msgpack"
                else json.dumps(frame)
            )
        key = "text" if isinstance(frame, str) else "bytes"
        await self.comm.send_input({"type": "websocket.receive", key: frame})

    async def recv(self, timeout: float = 2) -> dict[str, Any]:
        if self.skipped:
            return self.skipped.popleft()
        message = await self.comm.receive_output(timeout)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000), message.get("reason", ""))
        assert message["type"] == "websocket.send", message
        data = message.get("text")
        return check(data if data is not None else message["bytes"])

    async def request(self, frame: dict[str, Any], timeout: float = 2) -> dict[str, Any]:
        """Send a command and return the frame that answers it (matched by `ref`); frames
        that arrive before it are kept for the next `recv`."""
        await self.send(frame)
        before = list(self.skipped)
        self.skipped.clear()
        while True:
            answer = await self.recv(timeout)
            if answer.get("ref") == frame.get("ref") and answer["type"] in ("reply", "error"):
                self.skipped.extendleft(reversed(before))
                return answer
            before.append(answer)

    async def expect_close(self, timeout: float = 2) -> Closed:
        frames = []
        try:
            while True:
                frames.append(await self.recv(timeout))
        except Closed as closed:
            closed.frames = frames  # type: ignore[attr-defined]
            return closed

    async def nothing(self, timeout: float = 0.05) -> bool:
        return not self.skipped and bool(await self.comm.receive_nothing(timeout))

    async def disconnect(self, code: int = 1000) -> None:
        await self.comm.send_input({"type": "websocket.disconnect", "code": code})
        await self.comm.wait(2)


async def collect(client: AsgiClient, count: int, timeout: float = 2) -> list[dict[str, Any]]:
    return [await client.recv(timeout) for _ in range(count)]


async def http(
    app: Any,
    method: str,
    path: str,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    root_path: str = "",
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One HTTP request through ApplicationCommunicator: (status, headers, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50001),
        "server": ("testserver", 80),
    }
    comm = ApplicationCommunicator(app, scope)
    await comm.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await comm.receive_output(2)
    chunks = []
    while True:
        message = await comm.receive_output(2)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await comm.wait(2)
    return start["status"], dict(start["headers"]), b"".join(chunks)


async def eventually(predicate: Any, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
