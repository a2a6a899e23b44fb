"""The sans-I/O protocol core of one connection: data in, frames and requests out.

A `Session` never touches a socket, a task or a clock of its own: the caller
feeds it received data and the current time, and carries out what it returns.
Work that needs I/O (authenticating a token, subscribing through the broker,
running a command handler) leaves as a request; its outcome comes back through
`succeed` / `fail`, which turn it into the reply or error frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Union

import msgspec

import wsproto_schema as ws
from wsproto_schema import CloseCode, ErrorCode, ProtocolError

from .topics import validate_topic

__all__ = [
    "Action",
    "AuthenticateRequest",
    "Close",
    "CommandRequest",
    "Request",
    "Send",
    "Session",
    "SessionLimits",
    "SubscribeRequest",
    "UnsubscribeRequest",
]


@dataclass(frozen=True)
class Send:
    """Send this frame to the client."""

    frame: ws.Frame


@dataclass(frozen=True)
class Close:
    """Close the connection (after the frames sent before it)."""

    code: CloseCode
    reason: str


@dataclass(frozen=True)
class AuthenticateRequest:
    """Check this token; answer with `succeed(ref, AuthResult)` or `fail(ref, unauthorized)`."""

    ref: str | None
    token: str


@dataclass(frozen=True)
class SubscribeRequest:
    """Subscribe to these topics (authorize, position, replay), then `subscribed(...)`."""

    ref: str | None
    topics: tuple[str, ...]
    since: dict[str, ws.SincePosition]
    snapshot: bool
    reserved: int = 0
    batch: bool = False


@dataclass(frozen=True)
class UnsubscribeRequest:
    """Leave these topics; the session already forgot them and sent the reply."""

    ref: str | None
    topics: tuple[str, ...]


@dataclass(frozen=True)
class CommandRequest:
    """Run an `execute`, `control` or `input` command through the app's handler."""

    command: ws.Execute | ws.Control | ws.Input

    @property
    def ref(self) -> str | None:
        return self.command.ref


Request = Union[AuthenticateRequest, SubscribeRequest, UnsubscribeRequest, CommandRequest]
Action = Union[Send, Close, Request]


@dataclass(frozen=True)
class SessionLimits:
    """What one connection may do; every time is in seconds."""

    heartbeat: float = 25.0
    heartbeat_timeout: float = 10.0
    max_frame_bytes: int = 1_048_576
    max_subscriptions: int = 100
    max_invalid_frames: int = 10
    commands_per_second: float = 50.0
    command_burst: int = 100
    auth_timeout: float = 10.0


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
    """The protocol state of one connection."""

    codec: ws.Codec
    connection_id: str
    now: float
    limits: SessionLimits = field(default_factory=SessionLimits)
    authenticated: bool = True
    server: str = "flowwire"
    subscriptions: set[str] = field(default_factory=set)
    closed: CloseCode | None = None
    _reserved: int = 0
    _invalid: int = 0
    last_received: float = field(init=False)
    next_ping: float = field(init=False)
    auth_deadline: float = field(init=False)
    _bucket: _Bucket = field(init=False)

    def __post_init__(self) -> None:
        self.last_received = self.now
        self.next_ping = self.now + self.limits.heartbeat
        self.auth_deadline = math.inf if self.authenticated else self.now + self.limits.auth_timeout
        burst = float(self.limits.command_burst)
        self._bucket = _Bucket(self.limits.commands_per_second, burst, burst, self.now)

    # -- connection lifecycle -------------------------------------------------

    def start(self) -> list[Action]:
        """The frames that open the connection."""
        return [
            Send(
                ws.Welcome(
                    protocol=ws.PROTOCOL_VERSION,
                    connection_id=self.connection_id,
                    heartbeat_ms=round(self.limits.heartbeat * 1000),
                    max_frame_bytes=self.limits.max_frame_bytes,
                    server=self.server,
                )
            )
        ]

    def close(self, code: CloseCode, reason: str) -> list[Action]:
        if self.closed is not None:
            return []
        self.closed = code
        return [Close(code, reason)]

    def next_deadline(self) -> float:
        """When `on_timer` must run next (absolute time)."""
        if self.closed is not None:
            return math.inf
        return min(self.next_ping, self.silence_deadline(), self.auth_deadline)

    def silence_deadline(self) -> float:
        return self.last_received + self.limits.heartbeat + self.limits.heartbeat_timeout

    def on_timer(self, now: float) -> list[Action]:
        if self.closed is not None:
            return []
        if now >= self.auth_deadline:
            return self.close(CloseCode.UNAUTHORIZED, "authentication timed out")
        if now >= self.silence_deadline():
            return self.close(CloseCode.HEARTBEAT_TIMEOUT, "heartbeat timeout")
        if now >= self.next_ping:
            self.next_ping = now + self.limits.heartbeat
            return [Send(ws.Ping(ts=int(now * 1000)))]
        return []

    # -- data in ----------------------------------------------------------------

    def receive(self, data: str | bytes, now: float) -> list[Action]:
        """Handle one frame the client sent."""
        if self.closed is not None:
            return []
        self.last_received = now
        if data == "ping":  # seed 004 clients and wscat users send a bare text ping
            return [Send(ws.Pong())]
        try:
            command = self.codec.decode_command(data, max_bytes=self.limits.max_frame_bytes)
        except ProtocolError as error:
            return self._invalid_frame(error)
        self._invalid = 0
        if isinstance(command, ws.PongCommand):
            return []
        if isinstance(command, ws.PingCommand):
            return [Send(ws.Pong(ts=command.ts))]
        if not self.authenticated and not isinstance(command, ws.Auth):
            return self.close(CloseCode.UNAUTHORIZED, "authenticate first")
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
        if isinstance(command, ws.Auth):
            return [AuthenticateRequest(command.ref, command.token)]
        if isinstance(command, ws.Subscribe):
            return self._subscribe(command)
        if isinstance(command, ws.Unsubscribe):
            return self._unsubscribe(command)
        if isinstance(command, (ws.Execute, ws.Control, ws.Input)):
            return [CommandRequest(command)]
        raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover

    def _subscribe(self, command: ws.Subscribe) -> list[Action]:
        for index, topic in enumerate(command.topics):
            if problem := validate_topic(topic):
                path = f"$.topics[{index}]"
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
        since = {t: p for t, p in (command.since or {}).items() if t in topics}
        return [SubscribeRequest(command.ref, topics, since, command.snapshot, new, command.batch)]

    def _unsubscribe(self, command: ws.Unsubscribe) -> list[Action]:
        topics = tuple(t for t in dict.fromkeys(command.topics) if t in self.subscriptions)
        self.subscriptions.difference_update(topics)
        reply = ws.Reply(ref=command.ref, data={"topics": list(topics)})
        return [UnsubscribeRequest(command.ref, topics), Send(reply)]

    # -- outcomes of requests ---------------------------------------------------

    def subscribed(
        self, request: SubscribeRequest, positions: dict[str, ws.TopicPosition]
    ) -> list[Action]:
        """The broker confirmed the subscription: record it and reply."""
        self._settle(request)
        self.subscriptions.update(request.topics)
        data = {"topics": {topic: _position(p) for topic, p in positions.items()}}
        return [Send(ws.Reply(ref=request.ref, data=data))]

    def succeed(self, ref: str | None, data: ws.Part | dict[str, Any]) -> list[Action]:
        """A request succeeded: reply with its result."""
        if isinstance(data, ws.AuthResult):
            self.authenticated = True
            self.auth_deadline = math.inf
        payload = data if isinstance(data, dict) else _builtins(data)
        return [Send(ws.Reply(ref=ref, data=payload))]

    def fail(self, request: Request, error: ProtocolError) -> list[Action]:
        """A request failed: an error frame, or a close when the error demands it."""
        if isinstance(request, SubscribeRequest):
            self._settle(request)
        if isinstance(request, AuthenticateRequest) and not self.authenticated:
            return self.close(CloseCode.UNAUTHORIZED, error.message[:120])
        if error.close_code is not None:
            return self.close(error.close_code, error.message[:120])
        return self._error(error, request.ref)

    def add_subscription(self, topic: str) -> bool:
        """Subscribe on the server's initiative (`execute` with `subscribe`), within the limit."""
        if topic in self.subscriptions:
            return True
        if len(self.subscriptions) + self._reserved >= self.limits.max_subscriptions:
            return False
        self.subscriptions.add(topic)
        return True

    def _settle(self, request: SubscribeRequest) -> None:
        self._reserved -= request.reserved

    def _error(self, error: ProtocolError, ref: str | None) -> list[Action]:
        return [Send(error.to_frame(ref))]


def _builtins(part: ws.Part) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(part)
    return data


def _position(position: ws.TopicPosition) -> dict[str, Any]:
    return {"epoch": position.epoch, "seq": position.seq, "recovered": position.recovered}
