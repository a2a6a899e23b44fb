"""`FlowwireClient`: the asyncio client. The I/O around `ClientCore`: sockets, timers, futures.

    async with FlowwireClient("ws://localhost:8000/ws", protocol="msgpack") as client:
        execution = await client.execute(workflow)
        async for item in client.events("workflow:etl"):
            ...
        await client.control(execution.execution_id, "pause")

One background task keeps a connection (reconnecting as `ClientCore` decides),
one writes each connection's frames, one fires the core's timers. Everything the
protocol decides is in `ClientCore`; this module only carries it out.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar, Union

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

import wsproto_schema as ws

from .core import (
    Abort,
    ClientCore,
    Deliver,
    Delivery,
    Report,
    SendFrame,
    Settle,
    Status,
    StatusChanged,
    Stopped,
    Subscribed,
    SubscribeFailed,
)
from .decoding import FrameDecoder
from .errors import ClientClosed, ClientError, CommandTimeout, ConnectionLost
from .policy import ReconnectPolicy, close_code_of_http_status
from .positions import matches
from .state import ExecutionStore, ExecutionView, Reset

__all__ = ["EventStream", "FlowwireClient", "TokenSource"]

logger = logging.getLogger("flowwire.client")

TokenSource = Union[str, Callable[[], Union[str, Awaitable[str]]]]
"""A token, or a function that returns a fresh one (called before every connection)."""

P = TypeVar("P", bound=msgspec.Struct)
ROUNDTRIP_TOPIC = "flowwire:roundtrip"
"""Never subscribed: `roundtrip` unsubscribes it, which the server answers in order."""
_END = object()


class EventStream:
    """What `FlowwireClient.events` returns: deliveries of some topics, from its creation on.

    It starts with a snapshot of each execution the client already holds on those
    topics (so nothing folded before is missed), then every event (each seq once,
    in order), snapshot and `Reset` as they come. Iteration ends when the client is
    closed, and raises `ConnectionLost` when it gave up.
    """

    def __init__(
        self, client: FlowwireClient, topics: tuple[str, ...], max_queued: int = 10_000
    ) -> None:
        self.topics = topics
        self.max_queued = max_queued
        self.overflows = 0
        """How often the consumer fell `max_queued` items behind (see `put`)."""
        self._client = client
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._subscribed = False
        self._catch_up()
        client._streams.append(self)

    def wants(self, topic: str) -> bool:
        return any(matches(pattern, topic) for pattern in self.topics)

    def put(self, item: Any) -> None:
        """Queue a delivery. A consumer `max_queued` items behind does not make the client
        hold every event since: what waits is dropped, and in its place come a `Reset` of
        each topic and the snapshots of its executions (the state, as the client folded
        it, this delivery included), as a server does for a client that fell behind."""
        if self._queue.qsize() < self.max_queued:
            self._queue.put_nowait(item)
            return
        self.overflows += 1
        logger.warning(
            "flowwire client: a consumer of %s fell %d deliveries behind: they are replaced "
            "by snapshots",
            ", ".join(self.topics),
            self.max_queued,
        )
        while not self._queue.empty():
            self._queue.get_nowait()
        views = [v for v in self._client.store.executions() if self.wants(v.topic)]
        for topic in dict.fromkeys(v.topic for v in views):
            self._queue.put_nowait(Reset(topic))
        self._catch_up()

    def _catch_up(self) -> None:
        """A snapshot of each execution the client holds on these topics."""
        for view in self._client.store.executions():
            if self.wants(view.topic):
                self._queue.put_nowait(view.to_snapshot())

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Delivery:
        if not self._subscribed:
            self._subscribed = True
            await self._client.subscribe(*self.topics)
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)
            error = self._client._stopped
            self.close()
            if error is not None and not isinstance(error, ClientClosed):
                raise error
            raise StopAsyncIteration
        delivery: Delivery = item
        return delivery

    def close(self) -> None:
        """Stop receiving (the topics stay subscribed)."""
        if self in self._client._streams:
            self._client._streams.remove(self)

    async def aclose(self) -> None:
        self.close()


class FlowwireClient:
    """A flowwire client that keeps its stream across reconnects.

    `token`: sent as `auth` after each `welcome` (a function is called before each
    connection and may return a fresh token; then a refused token is retried once).
    `protocol`: "json" or "msgpack". `batch`: accept `batch` frames. Times are in
    seconds: `command_timeout` for each command's answer (queued while
    disconnected, counted from the call), `connect_timeout` for the first
    connection and each WebSocket handshake, `give_up_after` for reconnecting
    (None: forever), `heartbeat_slack` beyond the server's `heartbeat_ms` before a
    silent connection is taken for dead. `on_error` hears of what has no caller to
    raise to (an error frame without a command, a listener that raised, a gap).
    """

    def __init__(
        self,
        url: str,
        *,
        token: TokenSource | None = None,
        protocol: Literal["json", "msgpack"] = "json",
        batch: bool = False,
        command_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        give_up_after: float | None = None,
        heartbeat_slack: float = 10.0,
        reconnect: ReconnectPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        on_error: Callable[[Exception], object] | None = None,
        on_status: Callable[[Status], object] | None = None,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"a flowwire URL starts with ws:// or wss://, got {url!r}")
        if protocol not in ("json", "msgpack"):
            raise ValueError(f"protocol is 'json' or 'msgpack', got {protocol!r}")
        self.url = url
        self.protocol = protocol
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.on_error = on_error
        self.on_status = on_status
        self._token = token
        self._headers = dict(headers or {})
        self._codec: ws.Codec = ws.MsgpackCodec() if protocol == "msgpack" else ws.JsonCodec()
        self._decoder = FrameDecoder(self._codec)
        self._core = ClientCore(
            policy=reconnect,
            command_timeout_ms=command_timeout * 1000,
            heartbeat_slack_ms=heartbeat_slack * 1000,
            give_up_after_ms=None if give_up_after is None else give_up_after * 1000,
            batch=batch,
            fresh_tokens=callable(token),
            random=random,
        )
        self._listeners: list[Callable[[Delivery], object]] = []
        self._streams: list[EventStream] = []
        self._replies: dict[str, asyncio.Future[ws.Reply]] = {}
        self._subscribing: list[tuple[set[str], asyncio.Future[None]]] = []
        self._finishing: dict[str, list[asyncio.Future[ExecutionView]]] = {}
        self._outgoing: asyncio.Queue[ws.WireData] | None = None
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wakeup = asyncio.Event()
        self._timer_deadline: float | None = None
        self._closing = asyncio.Event()
        self._connected = asyncio.Event()
        self._stopped: ClientError | None = None
        self.connections = 0
        """WebSocket handshakes attempted so far."""
        self.frames_received = 0
        """WebSocket messages received (a `batch` counts once)."""

    # -- lifetime ---------------------------------------------------------------------

    async def __aenter__(self) -> FlowwireClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Start, and return once the first connection is up (`welcome` received).

        Raises `ConnectionLost` (`Unauthorized` for refused credentials) when no
        connection could be made within `connect_timeout`."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._run(), name="flowwire-client"),
                asyncio.create_task(self._timers(), name="flowwire-client-timers"),
            ]
        try:
            await asyncio.wait_for(self._connected.wait(), self.connect_timeout)
        except asyncio.TimeoutError:
            status = self._core.status
            detail = f": {status.reason}" if status.reason else ""
            error = ConnectionLost(
                f"could not connect to {self.url} within {self.connect_timeout:g} s{detail}",
                code=status.close_code,
            )
            await self.close(error)
            raise error from None
        if self._stopped is not None:
            raise self._stopped

    async def close(self, error: ClientError | None = None) -> None:
        """Close the connection and stop reconnecting; waiting calls fail with ClientClosed."""
        self._closing.set()
        if not self._core.stopped:
            self._core.stop(error)
            self._flush()
        if self._ws is not None:
            await self._ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def status(self) -> Status:
        return self._core.status

    @property
    def store(self) -> ExecutionStore:
        """Every execution this client has seen (snapshots and events folded)."""
        return self._core.store

    @property
    def batches_received(self) -> int:
        """`batch` frames received so far."""
        return self._decoder.batches

    @property
    def heartbeat_ms(self) -> int:
        return self._core.heartbeat_ms

    def add_listener(self, listener: Callable[[Delivery], object]) -> Callable[[], None]:
        """Call `listener` with every delivery (after the store has folded it); returns a
        function that removes it. A listener that raises is reported to `on_error`."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- topics -----------------------------------------------------------------------

    async def subscribe(self, *topics: str, types: Sequence[str] | None = None) -> None:
        """Receive `topics` (and resume them after every reconnect); returns once the
        server replied (snapshots or the replay follow). With `types` (`["node.*"]`), only
        events of those types come, and the seqs they skip are not taken for a loss."""
        need = self._core.subscribe(list(topics), types)
        self._flush()
        if not need:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._subscribing.append((set(need), future))
        await self._bounded(future, f"subscribe to {', '.join(need)}")

    async def unsubscribe(self, *topics: str) -> None:
        """Stop receiving `topics` (exactly as subscribed)."""
        self._core.forget(list(topics))
        if self._core.ready:
            await self._request(ws.Unsubscribe(topics=list(topics)))

    async def roundtrip(self) -> None:
        """Return once the server has answered everything sent before (commands on a
        connection are handled in order): after `subscribe`, its snapshots are in `store`."""
        await self._request(ws.Unsubscribe(topics=[ROUNDTRIP_TOPIC]))

    def events(self, *topics: str, max_queued: int = 10_000) -> EventStream:
        """The deliveries of `topics` from now on: `async for item in client.events(...)`.
        Subscribes on the first iteration. A consumer more than `max_queued` deliveries
        behind gets resets and snapshots in place of what it missed (`EventStream.put`)."""
        return EventStream(self, topics, max_queued)

    # -- commands ----------------------------------------------------------------------

    async def execute(
        self,
        workflow: ws.WorkflowSpec | Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
        *,
        subscribe: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> ws.ExecuteResult:
        """Run a workflow; with `subscribe`, its topic is subscribed first (with a
        position to resume from), so every event of the run is delivered.

        `execute`, `control` and `input` carry an idempotency key (`idempotency_key`,
        default a new UUID): one the connection dropped before its answer is sent again
        after the reconnect with the same key, and runs once. Pass your own to retry
        one yourself after a `CommandTimeout` without running it twice."""
        spec = (
            workflow
            if isinstance(workflow, ws.WorkflowSpec)
            else msgspec.convert(workflow, ws.WorkflowSpec)
        )
        if subscribe:
            await self.subscribe(f"workflow:{spec.id}")
        command = ws.Execute(
            workflow=spec,
            inputs=dict(inputs) if inputs else None,
            subscribe=False,
            idempotency_key=idempotency_key or uuid.uuid4().hex,
        )
        result = _data(await self._request(command, timeout), ws.ExecuteResult)
        if subscribe and result.topic not in self._core.topics:
            await self.subscribe(result.topic)
        return result

    async def control(
        self,
        execution_id: str,
        action: ws.ControlAction,
        *,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> ws.ControlResult:
        """Pause, resume or stop an execution; its status after the action."""
        command = ws.Control(
            execution_id=execution_id,
            action=action,
            idempotency_key=idempotency_key or uuid.uuid4().hex,
        )
        return _data(await self._request(command, timeout), ws.ControlResult)

    async def input(
        self,
        execution_id: str,
        node_id: str,
        value: Any,
        *,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> ws.InputResult:
        """Answer an `input.requested`."""
        command = ws.Input(
            execution_id=execution_id,
            node_id=node_id,
            value=value,
            idempotency_key=idempotency_key or uuid.uuid4().hex,
        )
        return _data(await self._request(command, timeout), ws.InputResult)

    async def wait(self, execution_id: str, *, timeout: float | None = None) -> ExecutionView:
        """Until the execution is completed, failed or stopped; its final state. The
        client must receive its topic (`execute` subscribes it; else `subscribe`)."""
        view = self.store.get(execution_id)
        if view is not None and view.finished:
            return view
        if self._stopped is not None:
            raise self._stopped
        future: asyncio.Future[ExecutionView] = asyncio.get_running_loop().create_future()
        self._finishing.setdefault(execution_id, []).append(future)
        return await asyncio.wait_for(future, timeout)

    async def _request(self, command: ws.Command, timeout: float | None = None) -> ws.Reply:
        if self._stopped is not None:
            raise self._stopped
        timeout_ms = None if timeout is None else timeout * 1000
        ref = self._core.command(command, self._now(), timeout_ms)
        future: asyncio.Future[ws.Reply] = asyncio.get_running_loop().create_future()
        self._replies[ref] = future
        self._flush()
        return await future

    async def _bounded(self, future: asyncio.Future[None], what: str) -> None:
        try:
            await asyncio.wait_for(future, self.command_timeout)
        except asyncio.TimeoutError:
            raise CommandTimeout(f"no answer to {what} within {self.command_timeout:g} s") from None

    # -- I/O ------------------------------------------------------------------------------

    def _now(self) -> float:
        return asyncio.get_running_loop().time() * 1000

    async def _run(self) -> None:
        while not self._core.stopped:
            code, reason = await self._connection()
            delay = self._core.closed(code, reason, self._now())
            self._flush()
            if delay is None:
                return
            try:
                await asyncio.wait_for(self._closing.wait(), delay / 1000)
                return
            except asyncio.TimeoutError:
                continue

    async def _resolve_token(self) -> str | None:
        token = self._token
        if token is None or isinstance(token, str):
            return token
        value = token()
        return await value if not isinstance(value, str) else value

    async def _connection(self) -> tuple[int | None, str]:
        """One connection, from the handshake to its close: (close code, reason)."""
        self._core.connecting()
        try:
            token = await self._resolve_token()
        except Exception as exc:
            self._report(exc)
            return 4001, f"the token function failed: {exc!r}"
        self.connections += 1
        try:
            conn = await connect(
                self.url,
                subprotocols=[Subprotocol(self._codec.subprotocol)],
                additional_headers=self._headers,
                open_timeout=self.connect_timeout,
                ping_interval=None,
                close_timeout=2,
                max_size=None,
                compression=None,
                user_agent_header=f"flowwire-client/{ws.__version__}",
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            return close_code_of_http_status(status), f"HTTP {status}"
        except (OSError, asyncio.TimeoutError, InvalidHandshake) as exc:
            return None, str(exc) or type(exc).__name__
        self._ws = conn
        outgoing: asyncio.Queue[ws.WireData] = asyncio.Queue()
        self._outgoing = outgoing
        self._core.opened(self._now(), token)
        self._flush()
        writer = asyncio.create_task(self._write(conn, outgoing), name="flowwire-client-writer")
        try:
            async for data in conn:
                self.frames_received += 1
                now = self._now()
                for frame in self._decoder.decode(data):
                    self._core.receive(frame, now)
                self._flush()
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            self._ws = None
            self._outgoing = None
        received = conn.protocol.close_rcvd
        if received is None:
            return None, self._abort_reason or "the connection dropped"
        return received.code, received.reason

    _abort_reason: str = ""

    async def _write(self, conn: ClientConnection, outgoing: asyncio.Queue[ws.WireData]) -> None:
        try:
            while True:
                await conn.send(await outgoing.get())
        except ConnectionClosed:
            return

    async def _timers(self) -> None:
        while True:
            self._wakeup.clear()
            deadline = self._timer_deadline = self._core.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._now()) / 1000
            try:
                await asyncio.wait_for(
                    self._wakeup.wait(), None if timeout is None else timeout + 0.001
                )
            except asyncio.TimeoutError:
                self._core.tick(self._now())
                self._flush()

    # -- the core's actions --------------------------------------------------------------

    def _flush(self) -> None:
        for action in self._core.take_actions():
            if isinstance(action, SendFrame):
                if self._outgoing is not None:
                    self._outgoing.put_nowait(self._codec.encode(action.frame))
            elif isinstance(action, Deliver):
                self._deliver(action)
            elif isinstance(action, Settle):
                self._settle(action)
            elif isinstance(action, Subscribed):
                self._subscribed(set(action.topics), None)
            elif isinstance(action, SubscribeFailed):
                self._subscribed(set(action.topics), action.error)
            elif isinstance(action, Abort):
                self._abort_reason = action.reason
                if self._ws is not None:
                    self._ws.transport.abort()
            elif isinstance(action, Report):
                self._report(action.error)
            elif isinstance(action, StatusChanged):
                self._status(action.status)
            elif isinstance(action, Stopped):
                self._stop(action.error)
        deadline = self._core.next_deadline()
        if deadline is not None and (
            self._timer_deadline is None or deadline < self._timer_deadline
        ):
            self._wakeup.set()

    def _deliver(self, action: Deliver) -> None:
        item = action.item
        for listener in list(self._listeners):
            try:
                listener(item)
            except Exception as exc:
                self._report(exc)
        topic = item.topic
        for stream in list(self._streams):
            if stream.wants(topic):
                stream.put(item)
        view = action.view
        if view is not None and view.finished:
            for future in self._finishing.pop(view.execution_id, []):
                if not future.done():
                    future.set_result(view)

    def _settle(self, action: Settle) -> None:
        future = self._replies.pop(action.ref, None)
        if future is None or future.done():
            return
        if isinstance(action.result, ClientError):
            future.set_exception(action.result)
        else:
            future.set_result(action.result)

    def _subscribed(self, topics: set[str], error: Exception | None) -> None:
        for waiting, future in list(self._subscribing):
            if future.done():
                self._subscribing.remove((waiting, future))
            elif error is not None and waiting & topics:
                future.set_exception(error)
                self._subscribing.remove((waiting, future))
            elif error is None:
                waiting -= topics
                if not waiting:
                    future.set_result(None)
                    self._subscribing.remove((waiting, future))

    def _report(self, error: Exception) -> None:
        if self.on_error is None:
            logger.warning("flowwire client: %s", error)
            return
        try:
            self.on_error(error)
        except Exception:
            logger.exception("flowwire client: on_error raised")

    def _status(self, status: Status) -> None:
        if status.state == "connected":
            self._connected.set()
        if self.on_status is not None:
            try:
                self.on_status(status)
            except Exception as exc:
                self._report(exc)

    def _stop(self, error: ClientError | None) -> None:
        self._stopped = error or ClientClosed("the client was closed")
        self._connected.set()
        self._closing.set()
        for stream in list(self._streams):
            stream.put(_END)
        for futures in self._finishing.values():
            for future in futures:
                if not future.done():
                    future.set_exception(self._stopped)
        self._finishing.clear()
        for _, subscribing in self._subscribing:
            if not subscribing.done():
                subscribing.set_exception(self._stopped)
        self._subscribing.clear()


def _data(reply: ws.Reply, kind: type[P]) -> P:
    """A reply's `data` as its typed result (unknown fields ignored)."""
    return msgspec.convert(reply.data, kind)
