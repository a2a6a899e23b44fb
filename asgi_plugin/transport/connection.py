"""One accepted WebSocket: the thin I/O layer around its `Session`.

It moves frames between the ASGI server and the session, runs the session's
heartbeat timer, carries out the session's actions and requests (asking the
hooks, the broker and the command handler), and owns the connection's writer
(see writer.py). What to answer, and in which order, is the session's call.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import msgspec

import wsproto_schema as ws
from asgi_plugin.brokers.base import BrokerUnavailable
from asgi_plugin.core.actions import (
    Action,
    AuthenticateRequest,
    Close,
    CommandRequest,
    Leave,
    ListRequest,
    Request,
    Send,
    SendEncoded,
    SubscribeRequest,
)
from asgi_plugin.core.encoded import Delivered
from asgi_plugin.core.outbox import CloseItem
from asgi_plugin.core.principals import expires_at, principal_id
from asgi_plugin.core.session import Session, SessionLimits
from asgi_plugin.core.topics import (
    ALL_TOPIC,
    PRIVATE_TOPICS,
    connection_topic,
    default_topic,
    is_pattern,
    is_private,
    pattern_prefix,
    principal_topic,
)
from asgi_plugin.engine.handlers import CommandContext, CommandHandler
from wsproto_schema import CloseCode, WireData
from wsproto_schema.profiles import ProfileCodec

from .deadlines import Deadline
from .errors import wire_error
from .handshake import Handshake, pick_subprotocol
from .hooks import ConnectionInfo, Principal, may_command, resolve
from .runtime import Runtime
from .types import Message, Receive
from .types import Send as SendMessage
from .url_topics import URL_REF, UrlMatch
from .writer import Writer

__all__ = ["Connection"]

logger = logging.getLogger("flowwire.connection")

NO_STATUS = 1005
"""The close code of a client that closed without giving one (RFC 6455, never sent)."""
ABNORMAL = 1006
"""The close code of a connection that ended without a close frame."""

CATCH_UP_TURN = 64 * 1024
"""Bytes of a catch-up pushed before the event loop gets a turn (see `_catch_up`)."""


class Connection:
    """An accepted WebSocket and everything that runs for it."""

    __slots__ = (
        "_abandoned",
        "_closing",
        "_peer_close",
        "_reader",
        "_send",
        "_timer",
        "_url",
        "codec",
        "connection_id",
        "handshake",
        "principal",
        "runtime",
        "session",
        "writer",
    )

    def __init__(
        self,
        runtime: Runtime,
        send: SendMessage,
        codec: ws.Codec,
        handshake: Handshake,
        principal: Principal,
        connection_id: str,
        authenticated: bool,
        url: UrlMatch | None = None,
        *,
        engine: bool = False,
    ) -> None:
        options = runtime.options
        self.runtime = runtime
        self.codec = codec
        self.handshake = handshake
        self.principal = principal
        self.connection_id = connection_id
        self.writer = Writer(
            send,
            options.max_queued_frames,
            runtime.stats,
            eager=options.eager_send,
            close_timeout=options.close_timeout_ms / 1000,
            on_gone=self.abandon,
            name=connection_id,
            byte_limit=options.max_queued_bytes,
            send_timeout=options.send_timeout_ms / 1000,
        )
        self.session = Session(
            codec=codec,
            connection_id=connection_id,
            now=time.time(),
            limits=(
                runtime.engine_limits
                if engine
                else runtime.limits
                if _answers_silence(codec)
                else _patient(runtime.limits)
            ),
            authenticated=authenticated,
            server=options.server_name,
            engine=engine,
            on_command=self._received,
        )
        self._send = send
        self._closing = False
        self._abandoned = False
        self._peer_close: int | None = None
        self._reader: asyncio.Task[Any] | None = None
        self._timer: Deadline | None = None
        self._url = url
        """Topics the URL subscribes to, until they are (after `auth`, if it is awaited)."""

    # -- the hub's side ---------------------------------------------------------

    def deliver(self, event: Delivered, data: WireData) -> bool:
        """Queue a published event (called by the hub, never awaits); False when this
        connection cannot take it (the hub then closes it as a slow consumer)."""
        session = self.session
        if not data or (session.type_filters and not session.accepts(event)):
            return True  # a type its wire profile or its subscriptions leave out
        if session.holding is not None:
            held = session.held(event, data)
            if held is not None:
                return held
        if session.floors and session.covered(event):
            return True  # sent already, by this subscription's catch-up
        return self.writer.push(data)

    # -- lifecycle ----------------------------------------------------------------

    async def serve(self, receive: Receive) -> None:
        """Run until the client disconnects (or the connection is abandoned)."""
        loop = asyncio.get_running_loop()
        self._reader = asyncio.current_task()
        self.writer.start()
        self.session.credentials_until(expires_at(self.principal))
        self._schedule(loop)
        try:
            await self._run(self.session.start())
            logger.debug(
                "flowwire connection %s opened: %s from %s",
                self.connection_id,
                self.handshake.path,
                self.handshake.client,
            )
            await self.runtime.lifecycle.connected(self.info)
            await self._join_private()
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    data = message.get("text")
                    if data is None:
                        data = message.get("bytes") or b""
                    await self._run(self.session.receive(data, time.time()))
                elif kind == "websocket.disconnect":
                    self._peer_close = message.get("code", NO_STATUS)
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
        goaway = ws.Goaway(reason="server shutdown", reconnect_ms=self.runtime.options.reconnect_ms)
        data = self.codec.encode(goaway)  # "" when the wire profile has no `goaway`
        message: Message = {
            "type": "websocket.send",
            "text" if isinstance(data, str) else "bytes": data,
        }
        close: Message = {
            "type": "websocket.close",
            "code": int(CloseCode.GOING_AWAY),
            "reason": "server shutdown",
        }
        try:
            if data:
                await asyncio.wait_for(self._send(message), 1)
            await asyncio.wait_for(self._send(close), 1)
        except (Exception, asyncio.CancelledError) as exc:
            # Best effort while the server tears the connection down; the cancellation
            # that brought us here is re-raised by our caller either way.
            logger.debug("flowwire connection %s: no farewell: %r", self.connection_id, exc)

    async def _drain_after_failure(self, receive: Receive) -> None:
        """After a 1011 close, read until the server reports the disconnect."""
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        except Exception as exc:  # the server failed too: it disconnects us anyway
            logger.debug("flowwire connection %s: after 1011: %r", self.connection_id, exc)

    async def _cleanup(self) -> None:
        self._closing = True
        self.runtime.stats.disconnected(self.close_code)
        # The reader is leaving already: a writer given up from now on (its stall timer)
        # must not cancel it in the middle of stopping that same writer.
        self._reader = None
        self.runtime.forget(self)
        if self._timer is not None:
            self._timer.cancel()
        await self.writer.stop()
        logger.debug("flowwire connection %s closed: %d", self.connection_id, self.close_code)
        await self.runtime.lifecycle.disconnected(self.info, self.close_code)

    @property
    def info(self) -> ConnectionInfo:
        """This connection as the lifecycle hooks see it (its principal as of now)."""
        subprotocol = pick_subprotocol(self.handshake.subprotocols)[0]
        return ConnectionInfo(self.connection_id, self.principal, self.handshake, subprotocol)

    @property
    def close_code(self) -> int:
        """How the connection ended: the server's close code if it closed first, else the
        client's (1005 when it sent none), else 1006 (it just went away)."""
        if self.session.closed is not None:
            return int(self.session.closed)
        return ABNORMAL if self._peer_close is None else self._peer_close

    def close(self, code: CloseCode, reason: str, *, drop_pending: bool = False) -> None:
        """Close after what is queued (or now, dropping it); leave the hub at once."""
        if self._closing:
            return
        self._closing = True
        self.session.close(code, reason)
        self.runtime.forget(self, keep_registered=True)
        dropped = self.writer.close(CloseItem(code, reason), drop_pending=drop_pending)
        self.runtime.stats.frames_dropped += dropped

    def overflow(self) -> None:
        """The outbox passed its bound: close 4008 without waiting behind the stuck frames."""
        if self._closing:
            return
        self.runtime.stats.slow_consumer_closes += 1
        self.runtime.stats.frames_dropped += 1  # the event that did not fit
        self.close(CloseCode.SLOW_CONSUMER, "slow consumer", drop_pending=True)
        # The writer may be blocked in `send` behind a client that stopped reading:
        # replace it with one that only sends the close, and gives up after a while.
        self.writer.restart()

    def goaway(self, reconnect_ms: int, *, reason: str = "server shutdown") -> None:
        """`goaway`, then close after what is already queued: 1001 on shutdown, 1013 (try
        again later) for any other reason."""
        if self._closing:
            return
        if reason == "server shutdown" and not _reconnects_after_clean_close(self.codec):
            self._end_uncleanly(reason)
            return
        frame = ws.Goaway(reason=reason, reconnect_ms=reconnect_ms)
        queued = self._push_now(self.codec.encode(frame))
        code = CloseCode.GOING_AWAY if reason == "server shutdown" else CloseCode.TRY_AGAIN_LATER
        self.close(code, reason, drop_pending=not queued)

    def _end_uncleanly(self, reason: str) -> None:
        """Shut down without a close frame: the server drops the TCP connection (uvicorn;
        hypercorn sends 1011), which such clients take as a reason to reconnect."""
        self._closing = True
        self.session.close(CloseCode.GOING_AWAY, reason)
        self.runtime.forget(self, keep_registered=True)
        self.abandon()

    def reset(self, topic: str) -> None:
        """The topic's stream was lost: tell the client to reconnect and resynchronize."""
        if self._closing:
            return
        frame = ws.Goaway(reason=f"stream of {topic!r} was reset", reconnect_ms=0)
        queued = self._push_now(self.codec.encode(frame))
        self.close(CloseCode.SERVICE_RESTART, "stream reset", drop_pending=not queued)

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

    def _reschedule(self) -> None:
        """The session's next deadline may be sooner now (credentials that expire)."""
        if self._timer is not None:
            self._timer.cancel()
        if not self._closing:
            self._schedule(asyncio.get_running_loop())

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        delay = max(0.0, self.session.next_deadline() - time.time())
        if delay != float("inf"):
            self._timer = self.runtime.deadlines.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        for action in self.session.on_timer(time.time()):
            self._apply(action)
        if not self._closing:
            self._schedule(asyncio.get_running_loop())

    def _received(self, command: ws.ClientFrame) -> None:
        """The session decoded a command (the client is authenticated, or this is `auth`)."""
        tag = ws.frame_tag(type(command))
        self.runtime.stats.commands[tag] += 1
        # The type and ref only: an `auth` frame carries a token.
        logger.debug("flowwire connection %s: %s ref=%s", self.connection_id, tag, command.ref)
        if self.runtime.lifecycle.watches_commands:
            self.runtime.lifecycle.command(self.info, command)

    def _apply(self, action: Action) -> int:
        """Carry out an action that needs no I/O of its own; the size of what it sent."""
        if isinstance(action, Send):
            if isinstance(action.frame, ws.ErrorFrame):
                self.runtime.stats.errors[action.frame.code.value] += 1
            data = self.codec.encode(action.frame)
            self._push(data)
            return len(data)
        if isinstance(action, SendEncoded):
            self._push(action.data)
            return len(action.data)
        if isinstance(action, Close):
            self.close(action.code, action.reason)
        elif isinstance(action, Leave):
            self.runtime.hub.unsubscribe(self, action.topics)
            self.runtime.release(action.topics)
        return 0

    def _push_now(self, data: WireData) -> bool:
        """Queue a frame of the connection's own (not a published event); True when queued,
        or when its wire profile has no name for it (then there is nothing to send)."""
        return self.writer.push(data) if data else True

    def _push(self, data: WireData) -> None:
        if not data:
            return  # a frame the connection's wire profile has no name for
        if not self._closing and not self.writer.push(data):
            self.overflow()

    async def _run(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, SubscribeRequest):
                await self._subscribe(action)
            elif isinstance(action, AuthenticateRequest):
                await self._authenticate(action)
            elif isinstance(action, CommandRequest):
                await self._command(action)
            elif isinstance(action, ListRequest):
                await self._list(action)
            else:
                self._apply(action)

    async def _catch_up(self, actions: list[Action]) -> None:
        """Send a subscription's first frames (the reply, a replay or snapshots, the live
        events held meanwhile) at the pace the client reads them.

        Every 64 kB the loop gets a turn, so the server's transport writes and, if
        the client reads slowly, says so (its `send` starts to wait); frames then
        queue, and at half the queue's bounds the catch-up waits until it has
        drained to a quarter. A resume of thousands of events over a slow link thus
        goes out slowly instead of closing the client 4008, and never piles up in
        the server's buffers. Live events are held until all of it is out.
        """
        pushed = 0
        while actions:
            for action in actions:
                if isinstance(action, (Send, SendEncoded)):
                    if pushed >= CATCH_UP_TURN:
                        pushed = 0
                        await asyncio.sleep(0)  # let the transport write (and push back)
                    if self.writer.congested():
                        await self.writer.drained()
                if self._closing:
                    return  # the session stopped holding when it closed
                pushed += self._apply(action)
            actions = self.session.drain_held()

    async def _authorized(self, action: str, topic: str) -> bool:
        hook = self.runtime.options.authorize
        return hook is None or bool(await resolve(hook(self.principal, action, topic)))

    async def _may_command(self, command: ws.Control | ws.Input) -> bool:
        """Whether this principal may act on the execution: its starter decides by default."""
        started_by = await self.runtime.broker.started_by(command.execution_id)
        hook = self.runtime.options.authorize_command
        if hook is None:
            return may_command(self.principal, started_by)
        return bool(await resolve(hook(self.principal, command, started_by)))

    async def _authenticate(self, request: AuthenticateRequest) -> None:
        hook = self.runtime.options.authenticate_token
        principal = None
        if hook is not None:
            principal = await resolve(hook(request.token, self.handshake))
        if principal is None:
            await self._run(self.session.unauthenticated(request, token_auth=hook is not None))
            return
        current = principal_id(self.principal)
        if current is not None and principal_id(principal) != current:
            # A live connection keeps its identity: its subscriptions were granted to it.
            await self._run(self.session.unauthenticated(request, token_auth=True))
            return
        if not self.runtime.admit(self, principal_id(principal)):
            self.goaway(self.runtime.options.reconnect_ms, reason="too many connections")
            return
        self.principal = principal
        self.session.credentials_until(expires_at(principal))
        self._reschedule()
        await self._run(self.session.succeed(request, ws.AuthResult(principal=_public(principal))))
        await self._join_private()

    async def _join_private(self) -> None:
        """Deliver the connection's private topics (its own, its principal's, `@all`) once it
        is authenticated, then subscribe to what its URL names."""
        session = self.session
        if not session.authenticated or self._closing:
            return
        topics = [connection_topic(self.connection_id), ALL_TOPIC]
        owner = principal_id(self.principal)
        if owner is not None:
            topics.append(principal_topic(owner))
        new = [topic for topic in topics if topic not in session.private]
        if new:
            session.private += tuple(new)  # two or three: a tuple is a quarter of a set
            self.runtime.hub.subscribe(self, new)
        if PRIVATE_TOPICS not in self.runtime.watches:
            # One watch per process for every private topic (not one per connection): the
            # hub hands each event to its own connections only.
            try:
                await self.runtime.watch([PRIVATE_TOPICS])
            except BrokerUnavailable as exc:  # the next connection tries again
                logger.warning("flowwire: private topics not delivered here yet: %s", exc)
        url, self._url = self._url, None
        if url is not None and url.topics:
            await self._run(self.session.subscribe_from_url(URL_REF, url.topics, url.types))

    async def _subscribe(self, request: SubscribeRequest) -> None:
        for index, topic in enumerate(request.topics):
            if not await self._authorized("subscribe", topic):
                await self._run(self.session.forbid(request, index))
                return
        if self._closing:
            return
        if request.batch:
            self.writer.batching = True
        self.session.hold(request.topics)
        self.runtime.hub.subscribe(self, request.topics)
        broker = self.runtime.broker
        try:
            await self.runtime.watch(request.topics)
            catch_ups = await broker.catch_ups(
                request.topics, request.since, snapshot=request.snapshot
            )
        except Exception as exc:
            await self._catch_up(self.session.fail(request, self._failure(exc, request)))
            return
        await self._catch_up(self.session.subscribed(request, catch_ups))

    async def _list(self, request: ListRequest) -> None:
        """`list`: the executions of every topic matching the request that the principal
        may subscribe to (asked of `authorize` per topic, as a subscribe would)."""
        broker = self.runtime.broker
        executions: list[ws.ExecutionSummary] = []
        try:
            topics: dict[str, None] = {}
            for topic in request.topics:
                found = await broker.topics(pattern_prefix(topic)) if is_pattern(topic) else [topic]
                topics.update(dict.fromkeys(found))
            for topic in topics:
                if is_private(topic) and topic not in self.session.private:
                    continue  # another connection's: never listed, whatever `authorize` says
                if await self._authorized("subscribe", topic):
                    executions += await broker.executions(topic, nodes=request.nodes)
        except Exception as exc:
            await self._run(self.session.fail(request, self._failure(exc, request)))
            return
        await self._run(self.session.listed(request, executions))

    async def _command(self, request: CommandRequest) -> None:
        handler = self.runtime.handler
        command = request.command
        if handler is None:
            await self._run(self.session.no_handler(request))
            return
        context = CommandContext(self.runtime.publisher, self.principal, self.connection_id)
        if isinstance(command, ws.Execute):
            await self._execute(request, command, handler, context)
            return
        action = "control" if isinstance(command, ws.Control) else "input"
        if command.workflow_id is not None:
            resolved = await self._by_workflow(request, command, action)
            if resolved is None:
                return
            request, command = resolved
        topic = await self.runtime.broker.execution_topic(command.execution_id)
        if topic is None:
            await self._run(self.session.unknown_execution(request))
            return
        if not await self._authorized(action, topic) or not await self._may_command(command):
            await self._run(self.session.denied(request, action))
            return
        await self._answer(
            request, self._once(request, lambda: self._dispatch(command, handler, context))
        )

    async def _by_workflow(
        self, request: CommandRequest, command: ws.Control | ws.Input, action: str
    ) -> tuple[CommandRequest, ws.Control | ws.Input] | None:
        """A command naming a `workflow_id`: the one live execution of the workflow this
        principal may act on, put in as `execution_id`; None when there is not exactly
        one (the session has answered `not_found`, or `conflict` with the candidates)."""
        assert command.workflow_id is not None
        topic = default_topic(command.workflow_id)
        candidates: list[ws.ExecutionSummary] = []
        try:
            if await self._authorized(action, topic):
                for execution in await self.runtime.broker.executions(topic, nodes=False):
                    if execution.status not in ("running", "paused"):
                        continue
                    named = msgspec.structs.replace(
                        command, execution_id=execution.execution_id, workflow_id=None
                    )
                    if await self._may_command(named):
                        candidates.append(execution)
        except Exception as exc:
            await self._run(self.session.fail(request, self._failure(exc, request)))
            return None
        if len(candidates) != 1:
            await self._run(self.session.ambiguous(request, candidates))
            return None
        named = msgspec.structs.replace(
            command, execution_id=candidates[0].execution_id, workflow_id=None
        )
        return CommandRequest(named, request.topic, request.reserved), named

    async def _execute(
        self,
        request: CommandRequest,
        command: ws.Execute,
        handler: CommandHandler,
        context: CommandContext,
    ) -> None:
        topic = default_topic(command.workflow.id)
        if not await self._authorized("execute", topic):
            await self._run(self.session.denied(request, "execute"))
            return
        if request.topic is not None and not await self._authorized("subscribe", topic):
            # An execute that subscribes is a subscription: it is asked for like one.
            await self._run(self.session.denied(request, "subscribe"))
            return
        if request.topic is not None:
            # The reply must come before the execution's first event: the session
            # holds the topic's events while the handler starts the run.
            self.session.hold((request.topic,))
            self.runtime.hub.subscribe(self, [request.topic])
            try:
                await self.runtime.watch([request.topic])
            except Exception as exc:
                await self._catch_up(self.session.fail(request, self._failure(exc, request)))
                return
        await self._answer(
            request, self._once(request, lambda: self._start(command, handler, context))
        )

    async def _start(
        self, command: ws.Execute, handler: CommandHandler, context: CommandContext
    ) -> ws.ExecuteResult:
        result = await handler.on_execute(command, context)
        # Its commands now come here, and its starter is who may control it.
        starter = principal_id(self.principal)
        await self.runtime.broker.claim(result.execution_id, started_by=starter)
        return result

    async def _dispatch(
        self, command: ws.Control | ws.Input, handler: CommandHandler, context: CommandContext
    ) -> ws.Part | dict[str, Any]:
        """Run the command where its execution runs: here, or on its owner process."""
        forwarded = await self.runtime.broker.forward(command, _public(self.principal))
        if forwarded is not None:
            return forwarded
        if isinstance(command, ws.Control):
            return await handler.on_control(command, context)
        return await handler.on_input(command, context)

    async def _once(
        self, request: CommandRequest, run: Callable[[], Awaitable[ws.Part | dict[str, Any]]]
    ) -> ws.Part | dict[str, Any]:
        """Run a command once per idempotency key: a command resent with the key it was first
        sent with (after a reconnect) gets the first run's reply, and nothing runs twice."""
        key = request.command.idempotency_key
        if key is None:
            return await run()
        broker = self.runtime.broker
        owner = hashlib.sha256(msgspec.json.encode(_public(self.principal))).hexdigest()[:16]
        scoped = f"{owner}:{ws.frame_tag(type(request.command))}:{key}"
        stored = await broker.begin_command(scoped)
        if stored is not None:
            return stored
        try:
            result = await run()
        except Exception:
            await broker.end_command(scoped, None)  # it failed: the key may be used again
            raise
        await broker.end_command(scoped, result if isinstance(result, dict) else _builtins(result))
        return result

    async def _answer(
        self, request: CommandRequest, outcome: Awaitable[ws.Part | dict[str, Any]]
    ) -> None:
        """Await a handler and reply with its result or its error."""
        try:
            result = await outcome
        except Exception as exc:
            await self._catch_up(self.session.fail(request, self._failure(exc, request)))
            return
        await self._catch_up(self.session.succeed(request, result))

    def _failure(self, exc: Exception, request: Request) -> ws.ProtocolError:
        """The error the client gets; an unexpected exception is logged here, once."""
        if not isinstance(exc, (ws.ProtocolError, BrokerUnavailable)):
            logger.error(
                "flowwire connection %s: %r failed", self.connection_id, request, exc_info=exc
            )
        return wire_error(exc)


def _builtins(part: ws.Part) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(part)
    return data


def _public(principal: Principal) -> Any:
    """What the `auth` reply may say about the principal: plain data only."""
    try:
        return msgspec.to_builtins(principal)
    except TypeError:
        return None


def _answers_silence(codec: ws.Codec) -> bool:
    """Whether the codec's clients send something regularly (canonical clients answer the
    server's ping; a wire profile says whether its clients ping on their own)."""
    return not isinstance(codec, ProfileCodec) or codec.profile.silence_timeout


def _patient(limits: SessionLimits) -> SessionLimits:
    return replace(limits, silence_closes=False)


def _reconnects_after_clean_close(codec: ws.Codec) -> bool:
    return not isinstance(codec, ProfileCodec) or codec.profile.reconnects_after_clean_close
