"""The application's hooks: authentication, authorization. Each may be sync or async."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, Union

from .handshake import Handshake

__all__ = [
    "ACTIONS",
    "AuthenticateHook",
    "AuthorizeHook",
    "Principal",
    "TokenHook",
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

ACTIONS = ("subscribe", "execute", "control", "input")


async def resolve(value: T | Awaitable[T]) -> T:
    """The hook's result, awaiting it if the hook was async."""
    if inspect.isawaitable(value):
        return await value
    return value
