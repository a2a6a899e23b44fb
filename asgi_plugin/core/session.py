"""The sans-I/O protocol core of one connection: data and the time in, actions out.

A `Session` never touches a socket, a task or a clock of its own: the caller
feeds it received data and the current time, and carries out the actions it
returns (see actions.py). Work that needs I/O leaves as a request; its outcome
comes back through `succeed`, `subscribed`, `forbid` or `fail`, and the session
decides the reply, the error code and path, the subscription bookkeeping and
the order of the first frames of a new subscription.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

import wsproto_schema as ws
from wsproto_schema import CloseCode, ErrorCode, ProtocolError, WireData

from .actions import (
    Action,
    AuthenticateRequest,
    Close,
    CommandRequest,
    EngineRequest,
    Leave,
    ListRequest,
    Request,
    Send,
    SubscribeRequest,
)
from .catchup import CatchUp, Holding
from .encoded import Delivered, EncodedEvent
from .filters import TypeFilter, validate_type_pattern
from .topics import default_topic, is_pattern, is_private, matches, validate_topic

__all__ = ["Session", "SessionLimits"]


ENGINE_FRAMES = (ws.EngineServe, ws.EngineClaim, ws.EnginePublish, ws.EngineResult)
"""The members of `ws.EngineFrame`: only an engine's connection sends them."""


@dataclass(frozen=True)
class SessionLimits:
    """What one connection may do; every duration is in milliseconds."""

    heartbeat_ms: int = 25_000
    heartbeat_timeout_ms: int = 10_000
    max_frame_bytes: int = 1_048_576
    max_subscriptions: int = 100
    max_invalid_frames: int = 10
    commands_per_second: float = 50.0
    command_burst: int = 100
    frames_per_second: float = 100.0
    frame_burst: int = 200
    auth_timeout_ms: int = 10_000
    max_held_frames: int = 1_000
    """Live events held while a subscription's catch-up is sent; past this, 4008."""
    silence_closes: bool = True
    """A client silent for heartbeat + timeout is closed (4002); False for the clients of
    a wire profile that send nothing regularly (they never see the server's ping)."""


@dataclass(slots=True)
class _Bucket:
    """A token bucket: `rate` commands per second, bursts up to `capacity`."""

    rate: float
    capacity: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """Take a token; return 0, or the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass(slots=True)
class Session:
    """The protocol state of one connection. Times (`now`) are in seconds, like time.time()."""

    codec: ws.Codec
    connection_id: str
    now: float
    limits: SessionLimits = field(default_factory=SessionLimits)
    authenticated: bool = True
    server: str = "flowwire"
    subscriptions: set[str] = field(default_factory=set)
    closed: CloseCode | None = None
    holding: Holding | None = None
    """Set while a subscription is set up: live events of its topics wait here."""
    floors: dict[str, int] = field(default_factory=dict)
    """After a catch-up, per topic, the seq it went up to, until a later live event
    arrives: an event at or below it is not sent again (see `Holding.floors`)."""
    type_filters: dict[str, TypeFilter | None] = field(default_factory=dict)
    """Per subscription (topic or pattern) being set up or held, its event-type filter
    (None: every type), once any subscription of the connection has one."""
    private: tuple[str, ...] = ()
    """The connection's own private topics (`@connection:…`, `@principal:…`, `@all`): the
    only ones starting with `@` it may subscribe to."""
    _reserved: int = 0
    _invalid: int = 0
    last_received: float = field(init=False)
    next_ping: float = field(init=False)
    auth_deadline: float = field(init=False)
    credentials_expire: float = math.inf
    """When the principal's token expires: then close 4001, unless a new `auth` came."""
    engine: bool = False
    """An engine's connection: it sends engine frames only, and a user's cannot send them."""
    on_command: Callable[[ws.ClientFrame], None] | None = None
    """Told of every command an authenticated client sends (not pings), before the rate
    limit: the driver counts them and runs the app's `on_command` hook."""
    _bucket: _Bucket = field(init=False)
    _frames: _Bucket = field(init=False)

    def __post_init__(self) -> None:
        self.last_received = self.now
        self.next_ping = self.now + self.limits.heartbeat_ms / 1000
        self.auth_deadline = (
            math.inf if self.authenticated else self.now + self.limits.auth_timeout_ms / 1000
        )
        burst = float(self.limits.command_burst)
        self._bucket = _Bucket(self.limits.commands_per_second, burst, burst, self.now)
        frames = float(self.limits.frame_burst)
        self._frames = _Bucket(self.limits.frames_per_second, frames, frames, self.now)

    # -- connection lifecycle -------------------------------------------------

    def start(self) -> list[Action]:
        """The frames that open the connection."""
        return [
            Send(
                ws.Welcome(
                    protocol=ws.PROTOCOL_VERSION,
                    connection_id=self.connection_id,
                    heartbeat_ms=self.limits.heartbeat_ms,
                    max_frame_bytes=self.limits.max_frame_bytes,
                    server=self.server,
                )
            )
        ]

    def close(self, code: CloseCode, reason: str) -> list[Action]:
        """Close the connection (the first close wins; later ones are no-ops)."""
        if self.closed is not None:
            return []
        self.closed = code
        self.holding = None
        return [Close(code, reason)]

    def next_deadline(self) -> float:
        """When `on_timer` must run next (absolute time)."""
        if self.closed is not None:
            return math.inf
        deadlines = (self.next_ping, self.silence_deadline(), self.auth_deadline)
        return min(*deadlines, self.credentials_expire)

    def silence_deadline(self) -> float:
        limits = self.limits
        if not limits.silence_closes:
            return math.inf
        return self.last_received + (limits.heartbeat_ms + limits.heartbeat_timeout_ms) / 1000

    def on_timer(self, now: float) -> list[Action]:
        if self.closed is not None:
            return []
        if now >= self.auth_deadline:
            return self.close(CloseCode.UNAUTHORIZED, "authentication timed out")
        if now >= self.credentials_expire:
            return self.close(CloseCode.UNAUTHORIZED, "the token expired: authenticate again")
        if now >= self.silence_deadline():
            return self.close(CloseCode.HEARTBEAT_TIMEOUT, "heartbeat timeout")
        if now >= self.next_ping:
            self.next_ping = now + self.limits.heartbeat_ms / 1000
            return [Send(ws.Ping(ts=int(now * 1000)))]
        return []

    # -- data in ----------------------------------------------------------------

    def receive(self, data: str | bytes, now: float) -> list[Action]:
        """Handle one frame the client sent.

        Every frame (pings, pongs and invalid ones too) draws on one budget,
        `frames_per_second` with bursts of `frame_burst`; a client that spends it
        is closed with 4029 (flooding), so that it backs off before it comes back.
        Commands also have their own, smaller rate (`rate_limited` errors).
        """
        if self.closed is not None:
            return []
        self.last_received = now
        if self._frames.take(now):
            rate = self.limits.frames_per_second
            return self.close(CloseCode.FLOODING, f"more than {rate:g} frames a second: back off")
        if data == "ping":  # seed 004 clients and wscat users send a bare text ping
            return [Send(ws.Pong())]
        try:
            command = self.codec.decode_command(data, max_bytes=self.limits.max_frame_bytes)
        except ProtocolError as error:
            return self._invalid_frame(error)
        if isinstance(command, ws.PongCommand):
            return []
        if isinstance(command, ws.PingCommand):
            return [Send(ws.Pong(ts=command.ts))]
        self._invalid = 0  # a valid command, not a ping, ends a run of invalid frames
        if not self.authenticated and not isinstance(command, ws.Auth):
            return self.close(CloseCode.UNAUTHORIZED, "authenticate first")
        if self.on_command is not None:
            self.on_command(command)
        if wait := self._bucket.take(now):
            retry_ms = math.ceil(wait * 1000)
            return self._error(
                ProtocolError(
                    ErrorCode.RATE_LIMITED,
                    f"too many commands: retry after {retry_ms} ms",
                    retry_after_ms=retry_ms,
                ),
                command.ref,
            )
        return self._command(command)

    def _invalid_frame(self, error: ProtocolError) -> list[Action]:
        if error.close_code is not None:
            return self.close(error.close_code, error.message[:120])
        self._invalid += 1
        actions = self._error(error, error.ref)
        if self._invalid >= self.limits.max_invalid_frames:
            actions += self.close(CloseCode.PROTOCOL_ERROR, "too many invalid frames")
        return actions

    def _command(self, command: ws.ClientFrame) -> list[Action]:
        if isinstance(command, ENGINE_FRAMES) != self.engine:
            return self._error(_wrong_role(command, engine=self.engine), command.ref)
        if isinstance(command, ENGINE_FRAMES):
            return [EngineRequest(command)]
        if isinstance(command, ws.Auth):
            return [AuthenticateRequest(command.ref, command.token)]
        if isinstance(command, ws.Subscribe):
            return self._subscribe(command)
        if isinstance(command, ws.Unsubscribe):
            return self._unsubscribe(command)
        if isinstance(command, ws.Execute):
            return self._execute(command)
        if isinstance(command, (ws.Control, ws.Input)):
            if bool(command.execution_id) == (command.workflow_id is not None):
                path = "$.execution_id"
                message = f"{path}: give either `execution_id` or `workflow_id`"
                error = ProtocolError(ErrorCode.INVALID_FRAME, message, path=path)
                return self._error(error, command.ref)
            return [CommandRequest(command)]
        if isinstance(command, ws.ListExecutions):
            return self._list(command)
        raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover

    def _subscribe(self, command: ws.Subscribe) -> list[Action]:
        for index, topic in enumerate(command.topics):
            if problem := validate_topic(topic):
                path = f"$.topics[{index}]"
                error = ProtocolError(ErrorCode.INVALID_FRAME, f"{path}: {problem}", path=path)
                return self._error(error, command.ref)
            if is_private(topic) and (is_pattern(topic) or topic not in self.private):
                path = f"$.topics[{index}]"
                message = f"{path}: {topic!r} is another connection's private topic"
                error = ProtocolError(ErrorCode.FORBIDDEN, message, path=path)
                return self._error(error, command.ref)
        for index, pattern in enumerate(command.types or ()):
            if problem := validate_type_pattern(pattern):
                path = f"$.types[{index}]"
                error = ProtocolError(ErrorCode.INVALID_FRAME, f"{path}: {problem}", path=path)
                return self._error(error, command.ref)
        topics = tuple(dict.fromkeys(command.topics))
        new = sum(t not in self.subscriptions for t in topics)
        limit = self.limits.max_subscriptions
        if len(self.subscriptions) + self._reserved + new > limit:
            message = f"$.topics: at most {limit} subscriptions per connection"
            return self._error(ProtocolError(ErrorCode.FORBIDDEN, message), command.ref)
        # Counted against the limit while the broker works, so two quick subscribes
        # cannot both pass the check.
        self._reserved += new
        type_filter = TypeFilter(command.types) if command.types else None
        if type_filter is not None or self.type_filters:
            # Set now: live events of these topics are filtered from the moment they are held.
            for topic in self.subscriptions:
                self.type_filters.setdefault(topic, None)
            self.type_filters.update(dict.fromkeys(topics, type_filter))
        since = {t: p for t, p in (command.since or {}).items() if t in topics}
        return [SubscribeRequest(command.ref, topics, since, command.snapshot, new, command.batch)]

    def subscribe_from_url(
        self, ref: str, topics: tuple[str, ...], types: tuple[str, ...] | None
    ) -> list[Action]:
        """The subscription the connection's URL names, made as if the client had sent it
        (its reply or error carries `ref`)."""
        command = ws.Subscribe(ref=ref, topics=list(topics), types=list(types) if types else None)
        return self._subscribe(command)

    def _unsubscribe(self, command: ws.Unsubscribe) -> list[Action]:
        topics = tuple(t for t in dict.fromkeys(command.topics) if t in self.subscriptions)
        self.subscriptions.difference_update(topics)
        for topic in topics:
            self.floors.pop(topic, None)
            self.type_filters.pop(topic, None)
        reply = ws.Reply(ref=command.ref, data={"topics": list(topics)})
        return [Leave(topics), Send(reply)]

    def _execute(self, command: ws.Execute) -> list[Action]:
        """An `execute` that subscribes counts against the subscription limit at once."""
        if not command.subscribe:
            return [CommandRequest(command)]
        topic = default_topic(command.workflow.id)
        if topic in self.subscriptions:
            return [CommandRequest(command, topic)]
        limit = self.limits.max_subscriptions
        if len(self.subscriptions) + self._reserved >= limit:
            message = f"cannot subscribe to {topic!r}: at most {limit} subscriptions"
            return self._error(ProtocolError(ErrorCode.FORBIDDEN, message), command.ref)
        self._reserved += 1
        return [CommandRequest(command, topic, reserved=1)]

    # -- live events while a subscription is set up ---------------------------------

    def hold(self, topics: tuple[str, ...]) -> None:
        """From now until the catch-up is sent, live events of `topics` wait."""
        self.holding = Holding(topics, self.limits.max_held_frames)

    def held(self, event: Delivered, data: WireData) -> bool | None:
        """A live event while a catch-up is under way: True held (sent after it), None
        not one of its topics, False the holding is full (close as a slow consumer)."""
        holding = self.holding
        return None if holding is None else holding.hold(event, data)

    def drain_held(self) -> list[Action]:
        """The live events held since the last turn, filtered against the catch-up. Call
        it until it returns []: then the catch-up is over and holding has ended."""
        holding = self.holding
        if holding is None:
            return []
        actions = holding.take_all()
        if not actions:
            self.floors.update(holding.floors())
            self.holding = None
        return actions

    def accepts(self, event: Delivered) -> bool:
        """Whether an event passes the connection's event-type filters: some subscription
        (being set up, or held) that covers its topic has no filter or one it matches.
        Call only while `type_filters` is not empty: the hot path skips it otherwise."""
        struct = event.event if isinstance(event, EncodedEvent) else event
        event_type: str = type(struct).__struct_config__.tag  # type: ignore[attr-defined]
        topic = event.topic
        for subscription, type_filter in self.type_filters.items():
            if matches(subscription, topic) and (
                type_filter is None or type_filter.accepts(event_type)
            ):
                return True
        return False

    def covered(self, event: Delivered) -> bool:
        """Whether a live event is one the subscription's catch-up already gave the client
        (call only while `floors` is not empty: the hot path skips it otherwise)."""
        floor = self.floors.get(event.topic)
        if floor is None:
            return False
        if event.seq <= floor:
            return True
        del self.floors[event.topic]  # live events have passed the catch-up: done
        return False

    # -- outcomes of requests ---------------------------------------------------

    def subscribed(
        self, request: SubscribeRequest, catch_ups: Mapping[str, CatchUp]
    ) -> list[Action]:
        """The broker delivers the topics now: record them, reply, then each topic's catch-up
        followed by the live events held so far (then `drain_held` until it is empty)."""
        self._settle(request)
        holding = self.holding
        if self.closed is not None:
            self.holding = None
            return []
        continuing = self.subscriptions.intersection(request.topics)
        self.subscriptions.update(request.topics)
        if self.type_filters:
            catch_ups = {topic: self._filtered(topic, c) for topic, c in catch_ups.items()}
        positions = {
            topic: _position(c.position, self.type_filters.get(topic))
            for topic, c in catch_ups.items()
        }
        actions: list[Action] = [Send(ws.Reply(ref=request.ref, data={"topics": positions}))]
        if holding is not None:
            for topic in request.topics:
                actions += holding.release(topic, catch_ups[topic], continuing=topic in continuing)
        return actions

    def forbid(self, request: SubscribeRequest, index: int) -> list[Action]:
        """The `authorize` hook refused `request.topics[index]`."""
        path = f"$.topics[{index}]"
        topic = request.topics[index]
        message = f"{path}: not allowed to subscribe to {topic!r}"
        return self.fail(request, ProtocolError(ErrorCode.FORBIDDEN, message, path=path))

    def unauthenticated(self, request: AuthenticateRequest, *, token_auth: bool) -> list[Action]:
        """The token was refused (or this server takes no `auth` commands)."""
        message = (
            "invalid credentials" if token_auth else "this server does not take `auth` commands"
        )
        return self.fail(request, ProtocolError(ErrorCode.UNAUTHORIZED, message))

    def denied(self, request: CommandRequest, action: str) -> list[Action]:
        """The principal may not do this: the message names no topic or owner (the
        client asked about an execution, not about whose it is)."""
        if isinstance(request.command, ws.Execute):
            topic = default_topic(request.command.workflow.id)
            message = f"not allowed to {action} on {topic!r}"
        else:
            message = f"not allowed to {action} this execution"
        return self.fail(request, ProtocolError(ErrorCode.FORBIDDEN, message))

    def no_handler(self, request: CommandRequest) -> list[Action]:
        """The app runs no workflows: no handler takes the command."""
        tag = ws.frame_tag(type(request.command))
        message = f"this server runs no workflows: no handler takes `{tag}`"
        return self.fail(request, ProtocolError(ErrorCode.NOT_FOUND, message))

    def unknown_execution(self, request: CommandRequest) -> list[Action]:
        """A `control` or `input` names an execution the broker has never seen."""
        command = request.command
        assert isinstance(command, (ws.Control, ws.Input))
        path = "$.execution_id"
        message = f"{path}: no execution {command.execution_id!r}"
        return self.fail(request, ProtocolError(ErrorCode.NOT_FOUND, message, path=path))

    def credentials_until(self, expiry: float | None) -> None:
        """The principal's credentials hold until `expiry` (None: they do not expire). A
        client renews them with a new `auth` before then."""
        self.credentials_expire = math.inf if expiry is None else expiry

    def succeed(self, request: Request, data: ws.Part | dict[str, Any]) -> list[Action]:
        """A request succeeded: reply with its result (an `execute` that subscribed records
        the topic and sends, after the reply, the events held meanwhile)."""
        if isinstance(data, ws.AuthResult):
            self.authenticated = True
            self.auth_deadline = math.inf
        payload = data if isinstance(data, dict) else _builtins(data)
        actions: list[Action] = [Send(ws.Reply(ref=request.ref, data=payload))]
        if isinstance(request, CommandRequest) and request.topic is not None:
            self._reserved -= request.reserved
            if self.closed is None:
                self.subscriptions.add(request.topic)
                if self.type_filters:
                    self.type_filters.setdefault(request.topic, None)
                if self.holding is not None:
                    actions += self.holding.release(request.topic)
        return actions

    def fail(self, request: Request, error: ProtocolError) -> list[Action]:
        """A request failed: an error frame, or a close when the error demands it. Topics
        it was about to deliver and the client did not already have are left."""
        actions: list[Action] = []
        if isinstance(request, (SubscribeRequest, CommandRequest)):
            requested = request.topics if isinstance(request, SubscribeRequest) else ()
            if isinstance(request, SubscribeRequest):
                self._settle(request)
            elif request.topic is not None:
                self._reserved -= request.reserved
                requested = (request.topic,)
            dropped = tuple(t for t in requested if t not in self.subscriptions)
            if dropped:
                actions.append(Leave(dropped))
                for topic in dropped:
                    self.type_filters.pop(topic, None)
            holding = self.holding
            if holding is not None:
                # Live events of topics the client already had are still its events.
                for topic in requested:
                    if topic in self.subscriptions:
                        actions += holding.release(topic)
                    else:
                        holding.drop(topic)
        if isinstance(request, AuthenticateRequest) and not self.authenticated:
            return actions + self.close(CloseCode.UNAUTHORIZED, error.message[:120])
        if error.close_code is not None:
            return actions + self.close(error.close_code, error.message[:120])
        return actions + self._error(error, request.ref)

    def _list(self, command: ws.ListExecutions) -> list[Action]:
        """`list`: topics are checked like a subscribe's; the broker and the authorizer do
        the rest (see `listed`)."""
        error = _malformed_topic(command.topics)
        if error is not None:
            return self._error(error, command.ref)
        topics = tuple(dict.fromkeys(command.topics))
        return [ListRequest(command.ref, topics, command.limit, command.nodes)]

    def listed(self, request: ListRequest, executions: list[ws.ExecutionSummary]) -> list[Action]:
        """The reply to `list`: the executions the principal may see, newest first (by when
        they started), at most `limit`, each once."""
        unique = {e.execution_id: e for e in executions}
        newest = sorted(unique.values(), key=lambda e: e.started_ts or e.ts, reverse=True)
        result = ws.ListResult(executions=newest[: request.limit])
        return [Send(ws.Reply(ref=request.ref, data=_builtins(result)))]

    def ambiguous(
        self, request: CommandRequest, candidates: list[ws.ExecutionSummary]
    ) -> list[Action]:
        """A command named a `workflow_id`, and it has no live execution the principal may
        act on (not_found), or several (conflict, listing them in `details`)."""
        command = request.command
        assert isinstance(command, (ws.Control, ws.Input))
        path = "$.workflow_id"
        if not candidates:
            message = f"{path}: no live execution of {command.workflow_id!r}"
            return self.fail(request, ProtocolError(ErrorCode.NOT_FOUND, message, path=path))
        message = (
            f"{path}: {len(candidates)} live executions of {command.workflow_id!r}: "
            "name one by `execution_id`"
        )
        details = {"candidates": [_builtins(c) for c in candidates]}
        error = ProtocolError(ErrorCode.CONFLICT, message, path=path, details=details)
        return self.fail(request, error)

    def _filtered(self, topic: str, catch_up: CatchUp) -> CatchUp:
        type_filter = self.type_filters.get(topic)
        if type_filter is None or not catch_up.replay:
            return catch_up
        replay = [
            e
            for e in catch_up.replay
            if type_filter.accepts(type(e).__struct_config__.tag)  # type: ignore[arg-type]
        ]
        return CatchUp(catch_up.position, replay, catch_up.snapshots)

    def _settle(self, request: SubscribeRequest) -> None:
        self._reserved -= request.reserved

    def _error(self, error: ProtocolError, ref: str | None) -> list[Action]:
        return [Send(error.to_frame(ref))]


def _wrong_role(command: ws.ClientFrame, *, engine: bool) -> ProtocolError:
    """A user's command on an engine's connection, or an engine's frame on a user's."""
    tag = ws.frame_tag(type(command))
    if engine:
        message = f"an engine connection cannot send `{tag}`: that is a user's command"
    else:
        message = f"`{tag}` is an engine's frame: engines connect to …/engine with the engine key"
    return ProtocolError(ErrorCode.FORBIDDEN, message)


def _malformed_topic(topics: list[str]) -> ProtocolError | None:
    """The error for the first malformed topic or pattern of a command, if any."""
    for index, topic in enumerate(topics):
        if problem := validate_topic(topic):
            path = f"$.topics[{index}]"
            return ProtocolError(ErrorCode.INVALID_FRAME, f"{path}: {problem}", path=path)
    return None


def _builtins(part: ws.Part) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(part)
    return data


def _position(position: ws.TopicPosition, type_filter: TypeFilter | None) -> dict[str, Any]:
    data = {"epoch": position.epoch, "seq": position.seq, "recovered": position.recovered}
    if type_filter is not None:
        data["types"] = list(type_filter.patterns)
    return data
