"""The ASGI types, in one place (as Starlette does): what the app, middleware and connection take.

Scopes are read-only mappings so that frameworks whose scopes are TypedDicts
can pass theirs; messages are plain mutable mappings, as servers and
Starlette send and expect them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]

Scope = Mapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
