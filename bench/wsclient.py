"""A minimal WebSocket client for load generation: raw asyncio, no framework.

A *sink* connection only walks frame headers (it counts frames and answers
pings) so that a thousand of them cost the load generator almost nothing; a
*probe* connection also decodes each text frame to measure publish→receive
latency from the timestamp the publisher put in it. A client subscribed with
`batch` reads each text frame's type and counts the events inside a `batch`.
One that `answers_pings` answers flowwire's heartbeat (`ping` → `pong`), as real
clients do, so that it can stay connected past the heartbeat timeout.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["Client", "connect_many", "events_in", "masked_frame"]


class _Kind(msgspec.Struct):
    type: str = ""
    frames: list[msgspec.Raw] = []


_KIND = msgspec.json.Decoder(_Kind)
_PING = b'{"type":"ping",'


def events_in(payload: bytes) -> int:
    """How many events a flowwire text frame carries: those of a `batch`, else one (a
    reply or a snapshot counts as one too; a phase only counts while events flow)."""
    kind = _KIND.decode(payload)
    return len(kind.frames) if kind.type == "batch" else 1


def masked_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client frame (clients must mask)."""
    mask = os.urandom(4)
    header = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


class Client(asyncio.Protocol):
    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        *,
        subprotocol: str | None = None,
        deflate: bool = False,
        on_open: list[bytes] | None = None,
        probe: Callable[[bytes], int | None] | None = None,
        engineio: bool = False,
        batched: bool = False,
        answers_pings: bool = False,
    ) -> None:
        self.request = self._handshake(host, port, path, subprotocol, deflate)
        self.on_open = on_open or []
        self.probe = probe
        self.engineio = engineio
        self.batched = batched
        self.answers_pings = answers_pings
        self.pings = 0
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.frames = 0
        self.events = 0
        """Events received: frames, or with `batched` the events inside each frame."""
        self.last_ns = 0
        """When the last of them arrived (time.time_ns())."""
        self.sent_ns = 0
        """A probe: when the last event it timed was published."""
        self.latencies_ns: list[int] = []
        self.close_code: int | None = None
        self._buffer = b""
        self._frame_buffer = bytearray()
        self._upgraded = False
        self._opcode = 0
        self.transport: asyncio.Transport | None = None

    @staticmethod
    def _handshake(
        host: str, port: int, path: str, subprotocol: str | None, deflate: bool
    ) -> bytes:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
        if deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed before the upgrade: {exc}"))
        if not self.closed.done():
            self.closed.set_result(self.close_code or 1006)

    def data_received(self, data: bytes) -> None:
        if not self._upgraded:
            self._buffer += data
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self._buffer[:end], self._buffer[end + 4 :]
            self._buffer = b""
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                self.opened.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                assert self.transport is not None
                self.transport.close()
                return
            self._upgraded = True
            assert self.transport is not None
            for frame in self.on_open:
                self.transport.write(frame)
            self.opened.set_result(None)
        self._frames(data)

    def _frames(self, data: bytes) -> None:
        buffer = self._frame_buffer
        buffer += data
        position, size = 0, len(buffer)
        while size - position >= 2:
            length = buffer[position + 1] & 0x7F
            header = 2
            if length == 126:
                if size - position < 4:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 4], "big")
                header = 4
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 10], "big")
                header = 10
            end = position + header + length
            if end > size:
                break
            self._opcode = opcode = buffer[position] & 0x0F
            if self.answers_pings and opcode == 0x1 and buffer.startswith(_PING, position + header):
                self._pong(bytes(buffer[position + header : end]))
            elif opcode in (0x1, 0x2):
                self.frames += 1
                if self.batched and opcode == 0x1:
                    self.events += events_in(bytes(buffer[position + header : end]))
                else:
                    self.events += 1
                self.last_ns = time.time_ns()
            if (
                (self.probe is not None and opcode == 0x1)
                or opcode >= 0x8
                or (self.engineio and length == 1)
            ):
                self._frame_done(bytes(buffer[position + header : end]))
            position = end
        del buffer[:position]

    def _pong(self, ping: bytes) -> None:
        """Answer flowwire's heartbeat: not an event, not counted as a frame."""
        assert self.transport is not None
        self.pings += 1
        ts = json.loads(ping)["ts"]
        self.transport.write(masked_frame(b'{"type":"pong","ts":%d}' % ts))

    def _frame_done(self, payload: bytes) -> None:
        assert self.transport is not None
        if self._opcode == 0x9:
            self.transport.write(masked_frame(payload, 0xA))
        elif self._opcode == 0x8:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.transport.write(masked_frame(payload[:2], 0x8))
            self.transport.close()
        elif self.engineio and payload == b"2":
            self.transport.write(masked_frame(b"3"))
        elif self.probe is not None and self._opcode == 0x1:
            sent = self.probe(payload)
            if sent is not None:
                self.sent_ns = sent
                self.latencies_ns.append(time.time_ns() - sent)

    def freeze(self) -> None:
        """Stop reading: the kernel buffers fill and the server sees a slow consumer."""
        assert self.transport is not None
        self.transport.pause_reading()

    async def thaw(self, timeout: float) -> int | None:
        """Read again, and wait for the close the server sent meanwhile (if it did)."""
        assert self.transport is not None
        if not self.closed.done():
            self.transport.resume_reading()
            try:
                await asyncio.wait_for(asyncio.shield(self.closed), timeout)
            except asyncio.TimeoutError:
                return None
        return self.close_code or self.closed.result()


async def connect_many(
    count: int,
    host: str,
    port: int,
    path: str,
    *,
    concurrency: int = 50,
    **options: Any,
) -> list[Client]:
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with semaphore:
            _, client = await loop.create_connection(
                lambda: Client(host, port, path, **options), host, port
            )
            await asyncio.wait_for(client.opened, 30)
            clients.append(client)

    await asyncio.gather(*(one() for _ in range(count)))
    return clients


def json_probe(path: tuple[str, ...], prefix: int = 0) -> Callable[[bytes], int | None]:
    """A probe reading the publish timestamp at `path` in a JSON frame (after `prefix` bytes)."""

    def read(payload: bytes) -> int | None:
        try:
            value: Any = json.loads(payload[prefix:])
        except ValueError:
            return None
        for key in path:
            if not isinstance(value, (dict, list)):
                return None
            try:
                value = value[key] if isinstance(value, dict) else value[int(key)]
            except (KeyError, IndexError, ValueError):
                return None
        return value if isinstance(value, int) else None

    return read
