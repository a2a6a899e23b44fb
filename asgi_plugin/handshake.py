"""The WebSocket upgrade request as the auth hooks see it, and the checks made on it."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wsproto_schema import SUBPROTOCOLS

__all__ = ["Handshake", "origin_allowed", "pick_subprotocol"]


@dataclass(frozen=True)
class Handshake:
    """What a client sent to open the WebSocket: headers, query, cookies, subprotocols."""

    path: str
    headers: dict[str, str]
    query: dict[str, list[str]]
    cookies: dict[str, str]
    subprotocols: list[str]
    client: tuple[str, int] | None
    scope: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> Handshake:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", []):
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        cookies: dict[str, str] = {}
        if "cookie" in headers:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:  # a malformed Cookie header is the client's problem, not ours
                jar = SimpleCookie()
            cookies = {key: morsel.value for key, morsel in jar.items()}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        client = scope.get("client")
        return cls(
            path=scope.get("path", ""),
            headers=headers,
            query=query,
            cookies=cookies,
            subprotocols=list(scope.get("subprotocols", [])),
            client=(str(client[0]), int(client[1])) if client else None,
            scope=scope,
        )

    @property
    def origin(self) -> str | None:
        return self.headers.get("origin")

    def query_param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def bearer_token(self) -> str | None:
        """The token of an `Authorization: Bearer …` header, if any."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None


def origin_allowed(handshake: Handshake, allowed: Sequence[str] | None) -> bool:
    """Whether the handshake's Origin may connect.

    Clients that send no Origin (not browsers) always may. `allowed=None` means
    same-origin only: the Origin's host must be the Host the request was sent to.
    Otherwise the Origin must match an entry; entries may use `*` wildcards
    (`https://*.example.com`), and `["*"]` allows every origin.
    """
    origin = handshake.origin
    if origin is None:
        return True
    if allowed is None:
        host = handshake.headers.get("host")
        return host is not None and urlsplit(origin).netloc.lower() == host.lower()
    origin = origin.lower()
    return any(fnmatch.fnmatchcase(origin, pattern.lower()) for pattern in allowed)


def pick_subprotocol(offered: Sequence[str]) -> tuple[str | None, bool]:
    """The subprotocol to accept, and whether the offer is acceptable at all.

    The client's first flowwire subprotocol wins. No offer means JSON without a
    subprotocol. An offer of only other flowwire versions is refused (the client
    speaks a protocol this server does not); other names (an auth token smuggled
    in the header, say) are left to the auth hooks.
    """
    for name in offered:
        if name in SUBPROTOCOLS:
            return name, True
    if any(name.startswith("flowwire.") for name in offered):
        return None, False
    return None, True
