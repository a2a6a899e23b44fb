"""The application's hooks: authentication, authorization, and the lifecycle hooks
(`on_connect`, `on_disconnect`, `on_command`: audit logs, presence). Each may be sync
or async."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, Union

import wsproto_schema as ws
from asgi_plugin.core.principals import is_admin, principal_id

from .handshake import Handshake

__all__ = [
    "ACTIONS",
    "AuthenticateHook",
    "AuthorizeCommandHook",
    "AuthorizeHook",
    "ConnectionInfo",
    "OnCommandHook",
    "OnConnectHook",
    "OnDisconnectHook",
    "Principal",
    "TokenHook",
    "may_command",
    "resolve",
]

T = TypeVar("T")

Principal = Any
"""Whatever your `authenticate` hook returns to stand for the client (a user, a claims dict)."""

AuthenticateHook = Callable[[Handshake], Union[Principal, Awaitable[Principal]]]
"""handshake → principal, or None to refuse the connection."""

TokenHook = Callable[[str, Handshake], Union[Principal, Awaitable[Principal]]]
"""token of an `auth` command → principal, or None to refuse (close 4001)."""

AuthorizeHook = Callable[[Principal, str, str], Union[bool, Awaitable[bool]]]
"""(principal, action, topic) → allowed? `action` is one of ACTIONS."""

AuthorizeCommandHook = Callable[
    [Principal, Union[ws.Control, ws.Input], str | None], Union[bool, Awaitable[bool]]
]
"""(principal, command, started_by) → allowed? Asked for every `control` and `input`, after
`authorize` allowed the action on the execution's topic; `started_by` is the id of the
principal that executed it (None when anonymous). Without it, `may_command` decides."""


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """One connection, as the lifecycle hooks see it."""

    connection_id: str
    """The id the client got in its `welcome` frame."""
    principal: Principal
    """What `authenticate` (or `authenticate_token`) returned; None while anonymous."""
    handshake: Handshake
    """The upgrade request: path, client address, headers, query, cookies."""
    subprotocol: str | None
    """The subprotocol accepted (`flowwire.v1.msgpack`, …), None for plain JSON."""


OnConnectHook = Callable[[ConnectionInfo], Union[Awaitable[None], None]]
"""Called once a connection is accepted, after its `welcome`."""

OnDisconnectHook = Callable[[ConnectionInfo, int], Union[Awaitable[None], None]]
"""(connection, close code) → called once the connection has ended: the server's close
code if it closed first, the client's otherwise (1005 without one, 1006 when it vanished)."""

OnCommandHook = Callable[[ConnectionInfo, ws.ClientFrame], Union[Awaitable[None], None]]
"""(connection, command) → called for every command a client sends (not pings, and not
`auth`, whose token must not reach an audit log), before it is carried out. An async
hook runs beside the connection: it never delays the command."""

ACTIONS = ("subscribe", "execute", "control", "input")


def may_command(principal: Principal, started_by: str | None) -> bool:
    """The default policy for `control` and `input`: only who started the execution, or an
    admin, acts on it. An execution started anonymously (no principal id) is anyone's,
    as on a server without authentication."""
    return started_by is None or principal_id(principal) == started_by or is_admin(principal)


async def resolve(value: T | Awaitable[T]) -> T:
    """The hook's result, awaiting it if the hook was async."""
    if inspect.isawaitable(value):
        return await value
    return value
