"""One accepted WebSocket: the thin I/O layer around its `Session`.

It moves frames between the ASGI server and the session, runs the session's
heartbeat timer, carries out its requests (auth, subscribe, commands), and owns
the connection's writer (see writer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import msgspec

import wsproto_schema as ws
from wsproto_schema import CloseCode, ErrorCode, ProtocolError, WireData

from .broker import BrokerUnavailable, default_topic
from .handlers import CommandContext, CommandHandler
from .handshake import Handshake
from .hooks import Principal, resolve
from .outbox import CloseItem
from .session import (
    Action,
    AuthenticateRequest,
    Close,
    CommandRequest,
    Send,
    Session,
    SubscribeRequest,
    UnsubscribeRequest,
)
from .topics import is_pattern, pattern_prefix
from .writer import Writer

if TYPE_CHECKING:
    from .app import FlowwireApp

__all__ = ["Connection"]

logger = logging.getLogger("flowwire")

Message = dict[str, Any]


class Connection:
    """An accepted WebSocket and everything that runs for it."""

    __slots__ = (
        "_abandoned",
        "_closing",
        "_holding",
        "_reader",
        "_send",
        "_timer",
        "app",
        "codec",
        "connection_id",
        "handshake",
        "principal",
        "session",
        "writer",
    )

    def __init__(
        self,
        app: FlowwireApp,
        send: Any,
        codec: ws.Codec,
        handshake: Handshake,
        principal: Principal,
        connection_id: str,
        authenticated: bool,
    ) -> None:
        self.app = app
        self.codec = codec
        self.handshake = handshake
        self.principal = principal
        self.connection_id = connection_id
        self.writer = Writer(
            send,
            app.options.max_queued_frames,
            app.stats,
            eager=app.options.eager_send,
            close_timeout=app.options.close_timeout_ms / 1000,
            on_gone=self.abandon,
            name=connection_id,
        )
        self.session = Session(
            codec=codec,
            connection_id=connection_id,
            now=time.time(),
            limits=app.session_limits,
            authenticated=authenticated,
            server=app.options.server_name,
        )
        self._send = send
        self._holding: dict[str, list[tuple[str, int, WireData]]] | None = None
        self._closing = False
        self._abandoned = False
        self._reader: asyncio.Task[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None

    # -- the hub's side ---------------------------------------------------------

    def deliver(self, topic: str, seq: int, data: WireData) -> bool:
        """Queue a published event (called by the hub, never awaits)."""
        holding = self._holding
        if holding is not None and self._hold(holding, topic, seq, data):
            return True
        return self.writer.push(data)

    def _hold(
        self,
        holding: dict[str, list[tuple[str, int, WireData]]],
        topic: str,
        seq: int,
        data: WireData,
    ) -> bool:
        """While a subscription is being set up, its live events wait behind the replay.

        A topic named exactly claims its events before any pattern that also matches,
        so they follow that topic's replay and are deduplicated against it.
        """
        held = holding.get(topic)
        if held is None:
            held = next(
                (
                    h
                    for k, h in holding.items()
                    if is_pattern(k) and topic.startswith(pattern_prefix(k))
                ),
                None,
            )
        if held is None:
            return False
        held.append((topic, seq, data))
        return True

    # -- lifecycle ----------------------------------------------------------------

    async def serve(self, receive: Any) -> None:
        """Run until the client disconnects (or the connection is abandoned)."""
        loop = asyncio.get_running_loop()
        self._reader = asyncio.current_task()
        self.writer.start()
        self._schedule(loop)
        try:
            await self._run(self.session.start())
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    data = message.get("text")
                    if data is None:
                        data = message.get("bytes") or b""
                    await self._run(self.session.receive(data, time.time()))
                elif kind == "websocket.disconnect":
                    break
        except asyncio.CancelledError:
            if not self._abandoned:
                await self._farewell()
                raise
        except Exception:
            logger.exception("flowwire connection %s failed", self.connection_id)
            self.close(CloseCode.INTERNAL_ERROR, "internal error", drop_pending=True)
            await self._drain_after_failure(receive)
        finally:
            await self._cleanup()

    async def _farewell(self) -> None:
        """The server cancelled us (its graceful shutdown ran out): say `goaway` and 1001."""
        if self._closing and self.writer.finished:
            return
        self.writer.cancel()
        goaway = ws.Goaway(reason="server shutdown", reconnect_ms=self.app.options.reconnect_ms)
        data = self.codec.encode(goaway)
        message = {"type": "websocket.send", "text" if isinstance(data, str) else "bytes": data}
        close = {
            "type": "websocket.close",
            "code": int(CloseCode.GOING_AWAY),
            "reason": "server shutdown",
        }
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self._send(message), 1)
            await asyncio.wait_for(self._send(close), 1)

    async def _drain_after_failure(self, receive: Any) -> None:
        """After a 1011 close, read until the server reports the disconnect."""
        with contextlib.suppress(Exception, asyncio.CancelledError):
            while (await receive())["type"] != "websocket.disconnect":
                pass

    async def _cleanup(self) -> None:
        self._closing = True
        self.app.forget(self)
        if self._timer is not None:
            self._timer.cancel()
        await self.writer.stop()

    def close(self, code: CloseCode, reason: str, *, drop_pending: bool = False) -> None:
        """Close after what is queued (or now, dropping it); leave the hub at once."""
        if self._closing:
            return
        self._closing = True
        self.session.closed = self.session.closed or code
        self.app.forget(self, keep_registered=True)
        dropped = self.writer.close(CloseItem(code, reason), drop_pending=drop_pending)
        self.app.stats.frames_dropped += dropped

    def overflow(self) -> None:
        """The outbox passed its bound: close 4008 without waiting behind the stuck frames."""
        if self._closing:
            return
        self.app.stats.slow_consumer_closes += 1
        self.app.stats.frames_dropped += 1  # the event that did not fit
        self.close(CloseCode.SLOW_CONSUMER, "slow consumer", drop_pending=True)
        # The writer may be blocked in `send` behind a client that stopped reading:
        # replace it with one that only sends the close, and gives up after a while.
        self.writer.restart()

    def goaway(self, reconnect_ms: int) -> None:
        """Shutdown: `goaway`, then close 1001, after what is already queued."""
        if self._closing:
            return
        frame = ws.Goaway(reason="server shutdown", reconnect_ms=reconnect_ms)
        queued = self.writer.push(self.codec.encode(frame))
        self.close(CloseCode.GOING_AWAY, "server shutdown", drop_pending=not queued)

    async def closed(self) -> None:
        """Until the writer has sent the close (or given up)."""
        await self.writer.done()

    def abandon(self) -> None:
        """Stop reading: the client is gone or will not take the close."""
        reader = self._reader
        if reader is not None and not reader.done() and reader is not asyncio.current_task():
            self._abandoned = True
            reader.cancel()

    # -- the session's actions ----------------------------------------------------

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        delay = max(0.0, self.session.next_deadline() - time.time())
        if delay != float("inf"):
            self._timer = loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        for action in self.session.on_timer(time.time()):
            self._apply(action)
        if not self._closing:
            self._schedule(asyncio.get_running_loop())

    def _apply(self, action: Action) -> None:
        if isinstance(action, Send):
            if not self._closing and not self.writer.push(self.codec.encode(action.frame)):
                self.overflow()
        elif isinstance(action, Close):
            self.close(action.code, action.reason)

    async def _run(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, (Send, Close)):
                self._apply(action)
            elif isinstance(action, SubscribeRequest):
                await self._subscribe(action)
            elif isinstance(action, UnsubscribeRequest):
                self.app.hub.unsubscribe(self, action.topics)
                self.app.release(action.topics)
            elif isinstance(action, AuthenticateRequest):
                await self._authenticate(action)
            elif isinstance(action, CommandRequest):
                await self._command(action)

    async def _authorized(self, action: str, topic: str) -> bool:
        hook = self.app.options.authorize
        return hook is None or bool(await resolve(hook(self.principal, action, topic)))

    async def _authenticate(self, request: AuthenticateRequest) -> None:
        hook = self.app.options.authenticate_token
        principal = None
        if hook is not None:
            principal = await resolve(hook(request.token, self.handshake))
        if principal is None:
            message = "invalid credentials" if hook else "this server does not take `auth` commands"
            error = ProtocolError(ErrorCode.UNAUTHORIZED, message)
            await self._run(self.session.fail(request, error))
            return
        self.principal = principal
        info = ws.AuthResult(principal=_public(principal))
        await self._run(self.session.succeed(request.ref, info))

    async def _subscribe(self, request: SubscribeRequest) -> None:
        for index, topic in enumerate(request.topics):
            if not await self._authorized("subscribe", topic):
                path = f"$.topics[{index}]"
                error = ProtocolError(
                    ErrorCode.FORBIDDEN, f"{path}: not allowed to subscribe to {topic!r}", path=path
                )
                await self._run(self.session.fail(request, error))
                return
        if self._closing:
            return
        if request.batch:
            self.writer.batching = True
        holding = self._holding = {topic: [] for topic in request.topics}
        self.app.hub.subscribe(self, request.topics)
        try:
            await self.app.watch(request.topics)
            plan = await self.app.plan_subscription(request)
        except BrokerUnavailable as exc:
            self._holding = None
            dropped = [t for t in request.topics if t not in self.session.subscriptions]
            self.app.hub.unsubscribe(self, dropped)
            self.app.release(dropped)
            error = ProtocolError(ErrorCode.INTERNAL, f"the broker is unavailable: {exc}")
            await self._run(self.session.fail(request, error))
            return
        self._holding = None
        await self._run(self.session.subscribed(request, plan.positions))
        # Snapshots or the replay, then the live events that arrived meanwhile:
        # each seq once, in order, none already folded into a snapshot.
        for topic in request.topics:
            last = plan.positions[topic].seq
            covered: dict[str, int] = {}
            for snapshot in plan.snapshots.get(topic, ()):
                self._push(self.codec.encode(snapshot))
                covered[snapshot.execution_id] = snapshot.last_seq
            for event in plan.replays.get(topic, ()):
                self._push(self.codec.encode(event))
                last = max(last, event.seq)
            for held in holding[topic]:
                self._flush_held(held, topic, last, covered)

    def _flush_held(
        self, held: tuple[str, int, WireData], topic: str, last: int, covered: dict[str, int]
    ) -> None:
        held_topic, seq, data = held
        if held_topic == topic and seq <= last:
            return
        if covered:
            frame = self.codec.decode_server_frame(data)
            execution_id = getattr(frame, "execution_id", None)
            if execution_id in covered and seq <= covered[execution_id]:
                return
        self._push(data)

    async def _start(
        self, command: ws.Execute, handler: CommandHandler, context: CommandContext
    ) -> ws.ExecuteResult:
        result = await handler.on_execute(command, context)
        await self.app.broker.claim(result.execution_id)  # its commands now come here
        return result

    def reset(self, topic: str) -> None:
        """The topic's stream was lost: tell the client to reconnect and resynchronize."""
        if self._closing:
            return
        frame = ws.Goaway(reason=f"stream of {topic!r} was reset", reconnect_ms=0)
        queued = self.writer.push(self.codec.encode(frame))
        self.close(CloseCode.SERVICE_RESTART, "stream reset", drop_pending=not queued)

    def _push(self, data: WireData) -> None:
        if not self._closing and not self.writer.push(data):
            self.overflow()

    async def _command(self, request: CommandRequest) -> None:
        handler = self.app.options.handler
        command = request.command
        if handler is None:
            tag = ws.frame_tag(type(command))
            message = f"this server runs no workflows: no handler takes `{tag}`"
            await self._run(self.session.fail(request, ProtocolError(ErrorCode.NOT_FOUND, message)))
            return
        context = CommandContext(self.app, self.principal, self.connection_id)
        if isinstance(command, ws.Execute):
            await self._execute(request, command, handler, context)
            return
        topic = await self.app.broker.execution_topic(command.execution_id)
        if topic is None:
            error = ProtocolError(
                ErrorCode.NOT_FOUND,
                f"$.execution_id: no execution {command.execution_id!r}",
                path="$.execution_id",
            )
            await self._run(self.session.fail(request, error))
            return
        action = "control" if isinstance(command, ws.Control) else "input"
        if not await self._authorized(action, topic):
            error = ProtocolError(ErrorCode.FORBIDDEN, f"not allowed to {action} on {topic!r}")
            await self._run(self.session.fail(request, error))
            return
        await self._answer(request, self._dispatch(command, handler, context))

    async def _dispatch(
        self, command: ws.Control | ws.Input, handler: CommandHandler, context: CommandContext
    ) -> ws.Part | dict[str, Any]:
        """Run the command where its execution runs: here, or on its owner process."""
        forwarded = await self.app.broker.forward(command, _public(self.principal))
        if forwarded is not None:
            return forwarded
        if isinstance(command, ws.Control):
            return await handler.on_control(command, context)
        return await handler.on_input(command, context)

    async def _answer(
        self, request: CommandRequest, outcome: Awaitable[ws.Part | dict[str, Any]]
    ) -> ws.Part | dict[str, Any] | None:
        """Await a handler and reply with its result or its error; the result, or None."""
        try:
            result = await outcome
        except ProtocolError as error:
            await self._run(self.session.fail(request, error))
            return None
        except BrokerUnavailable as exc:
            down = ProtocolError(ErrorCode.INTERNAL, f"the broker is unavailable: {exc}")
            await self._run(self.session.fail(request, down))
            return None
        except Exception:
            logger.exception("flowwire: the command handler failed on %r", request.command)
            failure = ProtocolError(ErrorCode.INTERNAL, "the command failed on the server")
            await self._run(self.session.fail(request, failure))
            return None
        await self._run(self.session.succeed(request.ref, result))
        return result

    async def _execute(
        self,
        request: CommandRequest,
        command: ws.Execute,
        handler: CommandHandler,
        context: CommandContext,
    ) -> None:
        topic = default_topic(command.workflow.id)
        if not await self._authorized("execute", topic):
            error = ProtocolError(ErrorCode.FORBIDDEN, f"not allowed to execute on {topic!r}")
            await self._run(self.session.fail(request, error))
            return
        was_subscribed = topic in self.session.subscriptions
        if command.subscribe and not self.session.add_subscription(topic):
            limit = self.app.options.max_subscriptions
            message = f"cannot subscribe to {topic!r}: at most {limit} subscriptions"
            await self._run(self.session.fail(request, ProtocolError(ErrorCode.FORBIDDEN, message)))
            return
        # The reply must come before the execution's first event: hold the topic's
        # events while the handler starts the run.
        holding = self._holding = {topic: []}
        try:
            if command.subscribe:
                self.app.hub.subscribe(self, [topic])
                await self.app.watch([topic])
            started = await self._answer(request, self._start(command, handler, context))
        finally:
            self._holding = None
        if started is None and command.subscribe and not was_subscribed:
            self.session.subscriptions.discard(topic)
            self.app.hub.unsubscribe(self, [topic])
            self.app.release([topic])
        for _, _, data in holding[topic]:
            self._push(data)


def _public(principal: Principal) -> Any:
    """What the `auth` reply may say about the principal: plain data only."""
    try:
        return msgspec.to_builtins(principal)
    except TypeError:
        return None
