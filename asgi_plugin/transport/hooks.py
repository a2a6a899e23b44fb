"""The application's hooks: authentication, authorization. Each may be sync or async."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, Union

import wsproto_schema as ws
from asgi_plugin.core.principals import is_admin, principal_id

from .handshake import Handshake

__all__ = [
    "ACTIONS",
    "AuthenticateHook",
    "AuthorizeCommandHook",
    "AuthorizeHook",
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
