"""Every option of a flowwire app, with its type, its default and what it does: in one place.

`FlowwireApp(**options)` and `FlowwireMiddleware(app, **options)` take these as
keyword arguments, typed (`OptionArgs`), so mypy and IDEs know each one; a
wrong name or a wrong type fails at construction with a `TypeError`, a value
out of range with a `ValueError`. Every duration is in milliseconds (`_ms`).
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, TypedDict, Union

import wsproto_schema
from asgi_plugin.brokers.base import Broker
from asgi_plugin.core.session import SessionLimits
from asgi_plugin.engine.handlers import CommandHandler
from wsproto_schema.profiles import profile_named

from .hooks import (
    AuthenticateHook,
    AuthorizeCommandHook,
    AuthorizeHook,
    OnCommandHook,
    OnConnectHook,
    OnDisconnectHook,
    TokenHook,
)
from .url_topics import UrlSubscription

__all__ = ["OptionArgs", "Options"]


@dataclass(frozen=True, kw_only=True)
class Options:
    """Keyword arguments of `FlowwireApp` and `FlowwireMiddleware`."""

    heartbeat_ms: int = 25_000
    """The server pings every connection this often."""
    heartbeat_timeout_ms: int = 10_000
    """A client silent for heartbeat + timeout is closed with 4002."""
    max_frame_bytes: int = 1_048_576
    """Larger client frames close the connection with 1009."""
    max_queued_frames: int = 1_000
    """Frames waiting for one connection; past this it is closed with 4008 (slow consumer)."""
    max_queued_bytes: int = 16 * 1024 * 1024
    """Bytes waiting for one connection (one frame always fits); past this, 4008 too."""
    max_subscriptions: int = 100
    """Topics and patterns one connection may subscribe to."""
    max_invalid_frames: int = 10
    """Invalid frames in a row before the connection is closed with 4000."""
    commands_per_second: float = 50.0
    """Sustained commands per connection; more get `rate_limited` errors."""
    command_burst: int = 100
    """Commands a connection may send at once before the rate applies."""
    frames_per_second: float = 100.0
    """Sustained frames of any kind (pings and invalid ones too) per connection; a client
    that sends more than `frame_burst` beyond this is closed with 4029 (flooding)."""
    frame_burst: int = 200
    """Frames a connection may send at once before `frames_per_second` applies."""
    allowed_origins: Sequence[str] | None = None
    """Origins browsers may connect from (`https://app.example.com`, `https://*.example.com`);
    None = same origin only (scheme, host and port), ["*"] = any."""
    allowed_hosts: Sequence[str] | None = None
    """Host names the server answers to (`example.com`, `.example.com` with subdomains,
    `*`): a request for another Host is refused (DNS rebinding). None = no check."""
    trusted_proxies: Sequence[str] = ()
    """Addresses or networks (`10.0.0.0/8`) of proxies whose `Forwarded` / `X-Forwarded-Proto`
    and `X-Forwarded-Host` headers say the scheme and host the client used."""
    authenticate: AuthenticateHook | None = None
    """handshake → principal, or None to refuse the upgrade (HTTP 403 / close 1008)."""
    authenticate_token: TokenHook | None = None
    """Enables first-message auth: token of an `auth` command → principal, or None (4001)."""
    auth_timeout_ms: int = 10_000
    """How long a connection may wait before its `auth` command (then 4001)."""
    authorize: AuthorizeHook | None = None
    """(principal, action, topic) → allowed, asked on every subscribe and command."""
    authorize_command: AuthorizeCommandHook | None = None
    """(principal, command, started_by) → allowed, asked on every control and input; by
    default only who started the execution, or an admin, may (see `may_command`)."""
    api_key: str | None = None
    """Bearer key of `POST …/publish`; publishing over HTTP is off without one."""
    engine_key: str | None = None
    """Bearer key of engine connections (`…/engine`: engines in other processes, see
    docs/engine.md); engines cannot connect without one. Not a user's credential."""
    engine_command_timeout_ms: int = 10_000
    """How long a user's command waits for the engine's answer (then `unavailable`)."""
    monitor_key: str | None = None
    """Bearer key of `GET …/stats` (and metrics); None leaves them open. `GET …/health`
    stays open for load balancers."""
    max_connections: int = 10_000
    """Connections this process holds at once; past this, new ones get `goaway` and 1013."""
    max_connections_per_principal: int = 100
    """Connections one principal (by id) holds at once in this process; then `goaway`, 1013."""
    broker: Broker | None = None
    """Where seq numbers and history live; a MemoryBroker by default."""
    handler: CommandHandler | None = None
    """Your engine: takes `execute`, `control` and `input` commands (see `CommandHandler`)."""
    close_timeout_ms: int = 5_000
    """How long closing may wait for a connection's writer before giving up on it."""
    send_timeout_ms: int = 10_000
    """A send that waits longer (the client stopped reading) gives the connection up."""
    reconnect_ms: int = 1_000
    """The `reconnect_ms` hint of the `goaway` frame sent on shutdown."""
    server_name: str = f"flowwire/{wsproto_schema.__version__}"
    """Sent as `welcome.server`."""
    eager_send: bool = True
    """Send at once, without a task switch, to a connection whose writer is idle (see writer.py)."""
    drain_on_signals: bool = True
    """On SIGTERM/SIGINT, send `goaway` and close 1001 before the server closes sockets."""
    dashboard: bool = False
    """Serve the live dashboard at `…/dashboard/` under the mount (same auth and origins)."""
    on_connect: OnConnectHook | None = None
    """(connection) → called once a connection is accepted (presence, audit logs)."""
    on_disconnect: OnDisconnectHook | None = None
    """(connection, close_code) → called once a connection has ended."""
    on_command: OnCommandHook | None = None
    """(connection, command) → called for every command a client sends but `auth`. A hook
    that raises is logged and the connection goes on (docs/operating.md)."""
    asyncapi_title: str = "flowwire"
    """The `info.title` of the AsyncAPI document served at `GET …/asyncapi`."""
    asyncapi_version: str | None = None
    """Its `info.version`: your API's version; None = flowwire's."""
    refuse_split_workers: bool = True
    """Refuse to start in one of several worker processes (`uvicorn --workers 4`) with the
    memory broker, which each worker would have its own of (see workers.py); False logs
    an error and starts anyway."""
    wire_profile: str | None = None
    """Speak a wire profile (`type-data`, …: see docs/migrating.md) to every connection of
    the mount that does not offer a flowwire subprotocol; None = the canonical protocol."""
    url_subscriptions: Sequence[UrlSubscription] = ()
    """Paths under the mount (`/workflow/{workflow_id}`) and query parameters (`?topics=a,b`)
    that subscribe a connection to topics when it connects (see `UrlSubscription`)."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(Options)
        for option in fields(self):
            value = getattr(self, option.name)
            if not _fits(value, hints[option.name]):
                expected = _describe(hints[option.name])
                hint = " (a list, not one string)" if isinstance(value, str) else ""
                raise TypeError(f"option {option.name} takes {expected}, got {value!r}{hint}")
        for profile in [self.wire_profile, *(u.profile for u in self.url_subscriptions)]:
            if profile is not None:
                profile_named(profile)  # ValueError naming the profiles there are
        for name in _POSITIVE:
            if getattr(self, name) <= 0:
                raise ValueError(f"option {name} must be positive, got {getattr(self, name)!r}")

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    @classmethod
    def from_args(cls, owner: str, args: dict[str, Any]) -> Options:
        """`Options(**args)`, with an unknown name named as an option of `owner`."""
        unknown = set(args) - cls.names()
        if unknown:
            raise TypeError(f"unknown {owner} option(s): {', '.join(sorted(unknown))}")
        return cls(**args)

    def limits(self) -> SessionLimits:
        return SessionLimits(
            heartbeat_ms=self.heartbeat_ms,
            heartbeat_timeout_ms=self.heartbeat_timeout_ms,
            max_frame_bytes=self.max_frame_bytes,
            max_subscriptions=self.max_subscriptions,
            max_invalid_frames=self.max_invalid_frames,
            commands_per_second=self.commands_per_second,
            command_burst=self.command_burst,
            frames_per_second=self.frames_per_second,
            frame_burst=self.frame_burst,
            auth_timeout_ms=self.auth_timeout_ms,
            max_held_frames=self.max_queued_frames,
        )

    def engine_limits(self) -> SessionLimits:
        """An engine's connection: its heartbeat is a user's, its rates an event stream's."""
        return replace(
            self.limits(),
            commands_per_second=ENGINE_FRAMES_PER_SECOND,
            command_burst=ENGINE_FRAME_BURST,
            frames_per_second=ENGINE_FRAMES_PER_SECOND,
            frame_burst=ENGINE_FRAME_BURST,
        )


ENGINE_FRAMES_PER_SECOND = 10_000.0
"""What one engine connection may send, sustained: its events come one frame each."""
ENGINE_FRAME_BURST = 20_000


class OptionArgs(TypedDict, total=False):
    """The keyword arguments of `FlowwireApp` and `FlowwireMiddleware`; each is documented,
    with its default, on `Options` (a test keeps the two in step)."""

    heartbeat_ms: int
    heartbeat_timeout_ms: int
    max_frame_bytes: int
    max_queued_frames: int
    max_queued_bytes: int
    max_subscriptions: int
    max_invalid_frames: int
    commands_per_second: float
    command_burst: int
    frames_per_second: float
    frame_burst: int
    allowed_origins: Sequence[str] | None
    allowed_hosts: Sequence[str] | None
    trusted_proxies: Sequence[str]
    authenticate: AuthenticateHook | None
    authenticate_token: TokenHook | None
    auth_timeout_ms: int
    authorize: AuthorizeHook | None
    authorize_command: AuthorizeCommandHook | None
    api_key: str | None
    engine_key: str | None
    engine_command_timeout_ms: int
    monitor_key: str | None
    max_connections: int
    max_connections_per_principal: int
    broker: Broker | None
    handler: CommandHandler | None
    close_timeout_ms: int
    send_timeout_ms: int
    reconnect_ms: int
    server_name: str
    eager_send: bool
    drain_on_signals: bool
    dashboard: bool
    on_connect: OnConnectHook | None
    on_disconnect: OnDisconnectHook | None
    on_command: OnCommandHook | None
    asyncapi_title: str
    asyncapi_version: str | None
    refuse_split_workers: bool
    wire_profile: str | None
    url_subscriptions: Sequence[UrlSubscription]


_POSITIVE = (
    "heartbeat_ms",
    "heartbeat_timeout_ms",
    "max_frame_bytes",
    "max_queued_frames",
    "max_queued_bytes",
    "max_subscriptions",
    "max_invalid_frames",
    "commands_per_second",
    "command_burst",
    "frames_per_second",
    "frame_burst",
    "auth_timeout_ms",
    "engine_command_timeout_ms",
    "close_timeout_ms",
    "send_timeout_ms",
    "max_connections",
    "max_connections_per_principal",
)


def _fits(value: Any, hint: Any) -> bool:
    """Whether `value` fits the option's annotation (the kinds of types options use)."""
    origin = typing.get_origin(hint)
    if origin is Union or type(hint).__name__ == "UnionType":
        return any(_fits(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is Sequence:
        (item,) = typing.get_args(hint)
        return (
            isinstance(value, Sequence)
            and not isinstance(value, (str, bytes))
            and all(_fits(v, item) for v in value)
        )
    if origin is Callable or hint is Callable:
        return callable(value)
    if hint is CommandHandler:
        return all(
            callable(getattr(value, m, None)) for m in ("on_execute", "on_control", "on_input")
        )
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # pragma: no cover - an annotation this checker does not know


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is Union or type(hint).__name__ == "UnionType":
        return ", or ".join(_describe(arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return "None"
    if typing.get_origin(hint) is Sequence:
        return "a list of " + str(typing.get_args(hint)[0].__name__)
    if typing.get_origin(hint) is Callable:
        return "a function"
    if hint is CommandHandler:
        return "a CommandHandler (on_execute, on_control, on_input)"
    return f"{'an' if hint.__name__[0] in 'aeiouAEIOU' else 'a'} {hint.__name__}"
