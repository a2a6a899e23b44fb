"""What a `Session` asks its driver to do: send, close, leave topics, or carry out a request.

Work that needs I/O (checking a token, subscribing through the broker, running
a command handler) leaves the session as a request; its outcome comes back
through `Session.succeed` / `Session.fail`, which turn it into a reply or an
error frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import wsproto_schema as ws
from wsproto_schema import CloseCode, WireData

__all__ = [
    "Action",
    "AuthenticateRequest",
    "Close",
    "CommandRequest",
    "EngineRequest",
    "Leave",
    "ListRequest",
    "Request",
    "Send",
    "SendEncoded",
    "SubscribeRequest",
]


@dataclass(frozen=True)
class Send:
    """Send this frame to the client."""

    frame: ws.Frame


@dataclass(frozen=True)
class SendEncoded:
    """Send this already-encoded frame (a live event held during a catch-up)."""

    data: WireData


@dataclass(frozen=True)
class Close:
    """Close the connection (after the frames sent before it)."""

    code: CloseCode
    reason: str


@dataclass(frozen=True)
class Leave:
    """Stop delivering these topics to the connection; the session already forgot them."""

    topics: tuple[str, ...]


@dataclass(frozen=True)
class AuthenticateRequest:
    """Check this token; answer with `succeed(request, AuthResult)` or `fail(request, error)`."""

    ref: str | None
    token: str


@dataclass(frozen=True)
class SubscribeRequest:
    """Authorize these topics (`forbid` the first refused), deliver them, and answer with
    `subscribed(request, catch_ups)` or `fail(request, error)`.

    The session holds their live events from now until the answer, so that they
    follow the catch-up in order and without duplicates.
    """

    ref: str | None
    topics: tuple[str, ...]
    since: dict[str, ws.SincePosition]
    snapshot: bool
    reserved: int = 0
    batch: bool = False


@dataclass(frozen=True)
class CommandRequest:
    """Run an `execute`, `control` or `input` command through the app's handler.

    An `execute` that subscribes names its `topic`; the session holds the topic's
    live events until the reply is sent, so that the reply comes first.
    """

    command: ws.Execute | ws.Control | ws.Input
    topic: str | None = None
    reserved: int = 0

    @property
    def ref(self) -> str | None:
        return self.command.ref


@dataclass(frozen=True)
class ListRequest:
    """List the recent executions of the topics matching `topics` that the principal may
    subscribe to (the others are left out); answer with `listed(request, executions)` or
    `fail(request, error)`."""

    ref: str | None
    topics: tuple[str, ...]
    limit: int
    nodes: bool


@dataclass(frozen=True)
class EngineRequest:
    """An engine connection's frame to carry out (serve, claim, publish, or the result of a
    command it was sent); answer with `succeed` or `fail` (a result needs no answer)."""

    frame: ws.EngineFrame

    @property
    def ref(self) -> str | None:
        return self.frame.ref


Request = Union[AuthenticateRequest, SubscribeRequest, CommandRequest, ListRequest, EngineRequest]
Action = Union[Send, SendEncoded, Close, Leave, Request]
