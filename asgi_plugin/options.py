"""Every option of a flowwire app, with its default."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import wsproto_schema

from .broker import Broker
from .handlers import CommandHandler
from .hooks import AuthenticateHook, AuthorizeHook, TokenHook
from .session import SessionLimits

__all__ = ["Options"]


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
    max_subscriptions: int = 100
    """Topics and patterns one connection may subscribe to."""
    max_invalid_frames: int = 10
    """Invalid frames in a row before the connection is closed with 4000."""
    commands_per_second: float = 50.0
    """Sustained commands per connection; more get `rate_limited` errors."""
    command_burst: int = 100
    """Commands a connection may send at once before the rate applies."""
    allowed_origins: Sequence[str] | None = None
    """Origins browsers may connect from; None = same origin only, ["*"] = any."""
    authenticate: AuthenticateHook | None = None
    """handshake → principal, or None to refuse the upgrade (HTTP 403 / close 1008)."""
    authenticate_token: TokenHook | None = None
    """Enables first-message auth: token of an `auth` command → principal, or None (4001)."""
    auth_timeout_ms: int = 10_000
    """How long a connection may wait before its `auth` command (then 4001)."""
    authorize: AuthorizeHook | None = None
    """(principal, action, topic) → allowed, asked on every subscribe and command."""
    api_key: str | None = None
    """Bearer key of `POST …/publish`; publishing over HTTP is off without one."""
    broker: Broker | None = None
    """Where seq numbers and history live; a MemoryBroker by default."""
    handler: CommandHandler | None = None
    """Your engine: takes `execute`, `control` and `input` commands (see `CommandHandler`)."""
    close_timeout_ms: int = 5_000
    """How long closing may wait for a connection's writer before giving up on it."""
    reconnect_ms: int = 1_000
    """The `reconnect_ms` hint of the `goaway` frame sent on shutdown."""
    server_name: str = f"flowwire/{wsproto_schema.__version__}"
    """Sent as `welcome.server`."""
    eager_send: bool = True
    """Send at once, without a task switch, to a connection whose writer is idle (see writer.py)."""
    drain_on_signals: bool = True
    """On SIGTERM/SIGINT, send `goaway` and close 1001 before the server closes sockets."""

    def __post_init__(self) -> None:
        positive = (
            "heartbeat_ms",
            "heartbeat_timeout_ms",
            "max_frame_bytes",
            "max_queued_frames",
            "max_subscriptions",
            "max_invalid_frames",
            "commands_per_second",
            "command_burst",
            "auth_timeout_ms",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if isinstance(self.allowed_origins, str):
            raise TypeError("allowed_origins is a list of origins, not one string")

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    def limits(self) -> SessionLimits:
        return SessionLimits(
            heartbeat=self.heartbeat_ms / 1000,
            heartbeat_timeout=self.heartbeat_timeout_ms / 1000,
            max_frame_bytes=self.max_frame_bytes,
            max_subscriptions=self.max_subscriptions,
            max_invalid_frames=self.max_invalid_frames,
            commands_per_second=self.commands_per_second,
            command_burst=self.command_burst,
            auth_timeout=self.auth_timeout_ms / 1000,
        )
