"""The WebSocket upgrade request as the auth hooks see it, and the subprotocol it gets.

(Where a request may come from, its Host and Origin, is origins.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from wsproto_schema import SUBPROTOCOLS

from .types import Scope

__all__ = ["Handshake", "pick_subprotocol"]


class Handshake:
    """What a client sent to open the WebSocket: headers, query, cookies, subprotocols.

    Read from the ASGI scope when first asked for: a connection whose hooks never
    look at its headers keeps no decoded copy of them (a kilobyte or more each).
    """

    __slots__ = ("_cookies", "_headers", "_query", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._headers: dict[str, str] | None = None
        self._query: dict[str, list[str]] | None = None
        self._cookies: dict[str, str] | None = None

    @classmethod
    def from_scope(cls, scope: Scope) -> Handshake:
        return cls(scope)

    def __repr__(self) -> str:
        return f"Handshake(path={self.path!r}, client={self.client!r})"

    @property
    def path(self) -> str:
        return str(self.scope.get("path", ""))

    @property
    def subprotocols(self) -> list[str]:
        return list(self.scope.get("subprotocols", []))

    @property
    def client(self) -> tuple[str, int] | None:
        client = self.scope.get("client")
        return (str(client[0]), int(client[1])) if client else None

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; repeated headers joined with ", "."""
        if self._headers is None:
            headers: dict[str, str] = {}
            for raw_name, raw_value in self.scope.get("headers", []):
                name = raw_name.decode("latin-1").lower()
                value = raw_value.decode("latin-1")
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            self._headers = headers
        return self._headers

    def header(self, name: str) -> str | None:
        """One header by its lower-case name, without decoding the others."""
        if self._headers is not None:
            return self._headers.get(name)
        wanted = name.encode("latin-1")
        values = [
            value.decode("latin-1")
            for raw_name, value in self.scope.get("headers", [])
            if raw_name.lower() == wanted
        ]
        return ", ".join(values) if values else None

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            raw = self.scope.get("query_string", b"").decode("latin-1")
            self._query = parse_qs(raw, keep_blank_values=True)
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            cookies: dict[str, str] = {}
            header = self.header("cookie")
            if header is not None:
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(header)
                except Exception:  # a malformed Cookie header is the client's problem
                    jar = SimpleCookie()
                cookies = {key: morsel.value for key, morsel in jar.items()}
            self._cookies = cookies
        return self._cookies

    @property
    def origin(self) -> str | None:
        return self.header("origin")

    def query_param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def bearer_token(self) -> str | None:
        """The token of an `Authorization: Bearer …` header, if any."""
        scheme, _, token = (self.header("authorization") or "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None


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
