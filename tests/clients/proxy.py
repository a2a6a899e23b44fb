"""A TCP proxy the tests own, to make faults on the wire: drop, stall, refuse, resume.

`drop()` closes every proxied connection at once (both sides, no close frame);
`stall()` stops forwarding on the current connections without closing them (a
half-open connection: only a heartbeat notices); `refuse()` makes new connections
close at once; `resume()` forwards and accepts again. It listens on a socket
it binds itself (port 0) before anyone is told its address.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["Proxy"]


class Proxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._pipes: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter, asyncio.Event]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._refusing = False

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        flowing = asyncio.Event()
        flowing.set()
        self._pipes.append((writer, up_writer, flowing))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._forward(source, sink, flowing))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _forward(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, flowing: asyncio.Event
    ) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await source.read(65536):
                await flowing.wait()
                sink.write(data)
                await sink.drain()
        sink.transport.abort()

    def drop(self) -> None:
        for client, upstream, _ in self._pipes:
            client.transport.abort()
            upstream.transport.abort()
        self._pipes.clear()

    def stall(self) -> None:
        for _, _, flowing in self._pipes:
            flowing.clear()

    def refuse(self) -> None:
        self._refusing = True

    def resume(self) -> None:
        self._refusing = False
        for _, _, flowing in self._pipes:
            flowing.set()

    async def close(self) -> None:
        self.drop()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
