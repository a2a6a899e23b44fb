"""`EngineClient`: a workflow engine in another process, behind a flowwire server.

    engine = EngineClient("ws://app.example.com/ws/engine", key=ENGINE_KEY,
                          handler=DagRunner(), workflows=["etl"])
    await engine.start()
    report = engine.reporter("etl", run_id)       # the same Reporter as in-process
    await report.started(["extract", "load"], [("extract", "load")])

It is what a `FlowwireApp` is to an in-process engine: the `Publisher` its
`Reporter`s publish through, and what hands its `CommandHandler` the users'
`execute`, `control` and `input` commands (each answered with `engine.result`).
It holds one WebSocket to `…/engine` and keeps it: after a drop it reconnects
with backoff, claims again the executions it runs (so their runner lease holds
if it is back within it), and sends again every publish not yet acknowledged,
with the idempotency key it was first sent with, so nothing is lost or stored
twice. Publishes made while it is away wait for the connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

import wsproto_schema as ws
from asgi_plugin.engine.handlers import CommandContext, CommandHandler
from asgi_plugin.engine.reporter import TERMINAL_EVENTS, Reporter
from wsproto_schema import ErrorCode, ProtocolError, WireData

__all__ = ["EngineClient", "Trace"]

logger = logging.getLogger("flowwire.engine")

Trace = Callable[[Literal["sent", "received"], WireData], None]
"""Called with every frame the engine sends or receives (logging, contract checks)."""

CLOSE_ANSWERING_S = 10.0
"""How long `close` waits for the answers to commands under way."""

Pending = tuple[ws.Command, "asyncio.Future[dict[str, Any]]"]


class EngineClient:
    """An engine's connection to a flowwire server (see the module docstring).

    `url` is the server's engine endpoint (its mount, then `/engine`); `key` its
    `engine_key`. `handler` takes the users' commands (`DagRunner`, or your own
    `CommandHandler`); `workflows` are the workflow ids whose `execute` it takes.
    After a drop it reconnects after `reconnect_ms`, doubling up to `max_reconnect_ms`.
    """

    def __init__(
        self,
        url: str,
        *,
        key: str,
        handler: CommandHandler | None = None,
        workflows: Sequence[str] = (),
        reconnect_ms: int = 250,
        max_reconnect_ms: int = 5_000,
        trace: Trace | None = None,
    ) -> None:
        self.url = url
        self.handler = handler
        self.workflows = list(workflows)
        self.reconnect_ms = reconnect_ms
        self.max_reconnect_ms = max_reconnect_ms
        self.trace = trace
        self.live: set[str] = set()
        """The executions this engine runs (claimed again after each reconnect)."""
        self.connections = 0
        """How many times it connected (1 after `start`; more after reconnects)."""
        self._headers = {"Authorization": f"Bearer {key}"}
        self._codec = ws.JsonCodec()
        self._ws: ClientConnection | None = None
        self._pending: dict[str, Pending] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._answering: set[asyncio.Future[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._served: asyncio.Future[dict[str, Any]]

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (raising if the server refuses: a wrong key, say), then keep connected."""
        self._loop = asyncio.get_running_loop()
        first = await self._connect()
        self._runner = asyncio.create_task(self._keep_connected(first))
        await self._served  # the server sends it `execute` commands from now on

    async def close(self) -> None:
        """Disconnect for good, after answering the commands under way. Executions it still
        runs fail as `runner_lost` after the server's lease unless another engine claims
        them."""
        self._closed = True
        if self._answering:  # the users waiting for them get their answers first
            await asyncio.wait(self._answering, timeout=CLOSE_ANSWERING_S)
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
        for task in [*self._tasks, *self._answering]:
            task.cancel()
        for _, future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the engine client was closed"))

    async def __aenter__(self) -> EngineClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._ws is not None

    # -- the Publisher ----------------------------------------------------------------------

    async def publish(self, event: ws.Event, *, idempotency_key: str | None = None) -> int:
        """Publish an event (validated by the server like `POST publish`); its seq."""
        result = await self.publish_event(event, idempotency_key=idempotency_key)
        return result.seq

    async def publish_event(
        self, event: ws.Event, *, idempotency_key: str | None = None
    ) -> ws.EnginePublishResult:
        """`publish`, answering where the event was stored (and whether it was a duplicate)."""
        frame = ws.EnginePublish(
            ref=uuid.uuid4().hex,
            event=msgspec.to_builtins(event),
            idempotency_key=idempotency_key or uuid.uuid4().hex,
        )
        if not isinstance(event, TERMINAL_EVENTS):
            self.live.add(event.execution_id)
        result = msgspec.convert(await self._request(frame), ws.EnginePublishResult)
        if isinstance(event, TERMINAL_EVENTS):
            self.live.discard(event.execution_id)
        return result

    def publish_threadsafe(
        self, event: ws.Event, *, idempotency_key: str | None = None
    ) -> concurrent.futures.Future[int]:
        """Publish from a thread that is not the client's event loop; a future of the seq."""
        if self._loop is None or self._loop.is_closed():
            raise RuntimeError("start the engine client before publishing from threads")
        publishing = self.publish(event, idempotency_key=idempotency_key)
        return asyncio.run_coroutine_threadsafe(publishing, self._loop)

    def reporter(
        self, workflow_id: str, execution_id: str, *, topic: str | None = None
    ) -> Reporter:
        """The engine-side API for one execution, as `FlowwireApp.reporter` gives it."""
        return Reporter(self, workflow_id, execution_id, topic=topic)

    async def claim(self, *execution_ids: str) -> ws.EngineClaimResult:
        """Tell the server this engine runs these executions (their commands come here)."""
        self.live.update(execution_ids)
        frame = ws.EngineClaim(ref=uuid.uuid4().hex, executions=list(execution_ids))
        return self._claimed(msgspec.convert(await self._request(frame), ws.EngineClaimResult))

    def _claimed(self, result: ws.EngineClaimResult) -> ws.EngineClaimResult:
        for execution_id in result.lost:
            logger.warning("flowwire engine: execution %r was lost meanwhile", execution_id)
            self.live.discard(execution_id)
        return result

    # -- requests and their replies ---------------------------------------------------------

    async def _request(self, frame: ws.Command) -> dict[str, Any]:
        """Send a frame and wait for its reply; sent again after a reconnect until answered."""
        assert frame.ref is not None
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[frame.ref] = (frame, future)
        try:
            if self._ws is not None:
                await self._send(self._ws, frame)
            return await future
        finally:
            self._pending.pop(frame.ref, None)

    async def _send(self, connection: ClientConnection, frame: ws.Frame) -> None:
        data = self._codec.encode(frame)
        if self.trace is not None:
            self.trace("sent", data)
        # A closed connection is the reader's to notice: it reconnects and sends the
        # pending frames again.
        with contextlib.suppress(ConnectionClosed):
            await connection.send(data)

    def _received(self, connection: ClientConnection, data: WireData) -> None:
        if self.trace is not None:
            self.trace("received", data)
        try:
            frame = self._codec.decode_server_frame(data)
        except ProtocolError as error:  # a server of another version, or a bug: say so
            logger.error("flowwire engine: an invalid frame from the server: %s", error.message)
            return
        if isinstance(frame, (ws.Reply, ws.ErrorFrame)):
            pending = self._pending.get(frame.ref or "")
            if pending is None or pending[1].done():
                return  # the answer to a frame sent twice across a reconnect
            if isinstance(frame, ws.Reply):
                pending[1].set_result(frame.data)
            else:
                failed = ProtocolError(frame.code, frame.message, path=frame.path)
                pending[1].set_exception(failed)
        elif isinstance(frame, ws.Ping):
            self._spawn(self._send(connection, ws.PongCommand(ts=frame.ts)))
        elif isinstance(frame, ws.EngineCommand):
            answering = asyncio.ensure_future(self._answer(connection, frame))
            self._answering.add(answering)
            answering.add_done_callback(self._answering.discard)
        elif isinstance(frame, ws.Goaway):
            self._spawn(connection.close())

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- users' commands ----------------------------------------------------------------------

    async def _answer(self, connection: ClientConnection, frame: ws.EngineCommand) -> None:
        """Run a user's command on the handler and send its result (or its error)."""
        try:
            data = await self._run_command(frame)
            result = ws.EngineResult(id=frame.id, data=data)
        except ProtocolError as error:
            failure = ws.CommandFailure(code=error.code, message=error.message, path=error.path)
            result = ws.EngineResult(id=frame.id, error=failure)
        except Exception:
            logger.exception("flowwire engine: command %r failed", frame.command.get("type"))
            failure = ws.CommandFailure(code=ErrorCode.INTERNAL, message="the engine failed")
            result = ws.EngineResult(id=frame.id, error=failure)
        await self._send(self._ws or connection, result)

    async def _run_command(self, frame: ws.EngineCommand) -> dict[str, Any]:
        handler = self.handler
        if handler is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, "this engine takes no commands")
        command = self._codec.decode_command(msgspec.json.encode(frame.command))
        context = CommandContext(self, frame.principal, "engine")
        result: ws.Part
        if isinstance(command, ws.Execute):
            started = await handler.on_execute(command, context)
            self.live.add(started.execution_id)
            result = started
        elif isinstance(command, ws.Control):
            result = await handler.on_control(command, context)
        elif isinstance(command, ws.Input):
            result = await handler.on_input(command, context)
        else:
            raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "engines take execute, control, input")
        data: dict[str, Any] = msgspec.to_builtins(result)
        return data

    # -- the connection ---------------------------------------------------------------------

    async def _connect(self) -> ClientConnection:
        connection = await connect(
            self.url,
            additional_headers=self._headers,
            subprotocols=[Subprotocol(ws.SUBPROTOCOL_JSON)],
            open_timeout=10,
        )
        self.connections += 1
        self._ws = connection
        # Who it is first (what it serves and runs), then what it still owes the server.
        serve = ws.EngineServe(ref=uuid.uuid4().hex, workflows=self.workflows)
        if self.connections == 1:
            self._served = asyncio.ensure_future(self._request(serve))  # `start` awaits it
        else:
            self._spawn(self._serve_again(serve))
        if self.live:
            self._spawn(self._reclaim(list(self.live)))
        for frame, _ in list(self._pending.values()):
            await self._send(connection, frame)
        return connection

    async def _serve_again(self, serve: ws.EngineServe) -> None:
        try:
            await self._request(serve)
        except ProtocolError as error:
            logger.error("flowwire engine: the server refused to serve: %s", error.message)
        except ConnectionError:
            logger.debug("flowwire engine: closed before the server answered `engine.serve`")

    async def _reclaim(self, execution_ids: list[str]) -> None:
        try:
            await self.claim(*execution_ids)
        except ProtocolError as error:
            logger.warning("flowwire engine: the server refused the claim: %s", error.message)
        except ConnectionError:
            logger.debug("flowwire engine: closed before the server answered `engine.claim`")

    async def _keep_connected(self, connection: ClientConnection) -> None:
        delay = self.reconnect_ms
        current: ClientConnection | None = connection
        while not self._closed:
            if current is not None:
                try:
                    async for data in current:
                        self._received(current, data)
                except ConnectionClosed as exc:
                    logger.warning("flowwire engine: connection lost (%s): reconnecting", exc)
                self._ws = None
                current = None
                if self._closed:
                    return
                delay = self.reconnect_ms
            # Backoff between attempts, with jitter, so that engines do not come back at once.
            await asyncio.sleep(delay / 1000 * (0.5 + random.random()))
            try:
                current = await self._connect()
            except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
                logger.warning("flowwire engine: cannot reconnect yet: %s", exc)
                delay = min(delay * 2, self.max_reconnect_ms)
