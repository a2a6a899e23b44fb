"""Where a request may come from: the Host it was sent to, and the Origin of the page.

- `allowed_hosts` (as Django's `ALLOWED_HOSTS`): the Host header must name one of
  them, or DNS rebinding lets any site reach a server on a private address
  (`Host` = `Origin` = the attacker's domain). None means no check (a library
  cannot know its hosts); `flowwire demo` allows loopback names only.
- Same origin (`allowed_origins=None`): the page's scheme, host and port must be
  the server's own, as the request reached it.
- `allowed_origins` entries are matched per URL component: scheme exactly, host
  exactly or by a leading `*.` (subdomains), port exactly (or the scheme's
  default); nothing in a pattern can match `/ ? # @`.
- Behind TLS-terminating proxies, the request's own scheme and host are in
  `X-Forwarded-Proto` / `X-Forwarded-Host` (or `Forwarded`): they are believed
  only from the addresses in `trusted_proxies`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .handshake import Handshake

__all__ = ["Site", "host_allowed", "origin_allowed", "request_site"]

DEFAULT_PORTS = {"http": 80, "https": 443}
WEB_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


@dataclass(frozen=True)
class Site:
    """A scheme (http or https), a lower-case host and a port."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Site | None:
        """`https://Example.com:8443` → Site("https", "example.com", 8443); None if it is
        not a plain origin (a path, user info, a query or an unknown scheme)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = WEB_SCHEMES.get(parts.scheme.lower())
        if scheme is None or not parts.hostname or parts.username or parts.password:
            return None
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            return None
        return cls(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


def split_host(value: str, scheme: str) -> tuple[str, int]:
    """A Host header (`example.com:8080`, `[::1]:8000`) → (host, port)."""
    site = Site.parse(f"{scheme}://{value.strip()}")
    if site is None:
        return value.strip().lower(), DEFAULT_PORTS[scheme]
    return site.host, site.port


def request_site(handshake: Handshake, trusted_proxies: Sequence[str] = ()) -> Site:
    """The scheme, host and port the client addressed, as far as it can be trusted."""
    scheme = WEB_SCHEMES.get(str(handshake.scope.get("scheme", "http")).lower(), "http")
    host_header = handshake.header("host") or ""
    if _from_trusted_proxy(handshake, trusted_proxies):
        forwarded = _forwarded(handshake)
        scheme = WEB_SCHEMES.get(forwarded.get("proto", "").lower(), scheme)
        host_header = forwarded.get("host", host_header)
    host, port = split_host(host_header, scheme)
    return Site(scheme, host, port)


def _from_trusted_proxy(handshake: Handshake, trusted: Sequence[str]) -> bool:
    client = handshake.client
    if not trusted or client is None:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _forwarded(handshake: Handshake) -> dict[str, str]:
    """`Forwarded: proto=https;host=app.example.com` (RFC 7239) or the X-Forwarded-* pair;
    the first (client-side) entry wins."""
    found: dict[str, str] = {}
    if header := handshake.header("forwarded"):
        for pair in header.split(",")[0].split(";"):
            name, _, value = pair.strip().partition("=")
            if name.lower() in ("proto", "host") and value:
                found[name.lower()] = value.strip('"')
        return found
    if proto := handshake.header("x-forwarded-proto"):
        found["proto"] = proto.split(",")[0].strip()
    if host := handshake.header("x-forwarded-host"):
        found["host"] = host.split(",")[0].strip()
    return found


def host_allowed(host: str, allowed: Sequence[str] | None) -> bool:
    """Whether the host the request was sent to is one of `allowed` (None: no check).
    Entries: `example.com`; `.example.com` for it and its subdomains; `*` for any."""
    if allowed is None:
        return True
    host = host.lower().rstrip(".")
    for entry in allowed:
        pattern = entry.lower().rstrip(".")
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith(".") and (host == pattern[1:] or host.endswith(pattern)):
            return True
    return False


def origin_allowed(origin: str | None, site: Site, allowed: Sequence[str] | None) -> bool:
    """Whether a page from `origin` may connect to `site`.

    No Origin (not a browser): yes. `allowed=None`: the same scheme, host and port
    only. Otherwise an entry must match each component; `["*"]` allows any origin.
    """
    if origin is None:
        return True
    page = Site.parse(origin)
    if page is None:
        return False  # `null` (a sandboxed page, a file) or something that is no origin
    if allowed is None:
        return page == site
    return any(entry == "*" or _matches(entry, page) for entry in allowed)


def _matches(entry: str, page: Site) -> bool:
    wildcard = "://*." in entry
    pattern = Site.parse(entry.replace("://*.", "://wildcard.", 1) if wildcard else entry)
    if pattern is None:
        return False
    if (pattern.scheme, pattern.port) != (page.scheme, page.port):
        return False
    if not wildcard:
        return page.host == pattern.host
    domain = pattern.host[len("wildcard.") :]
    return page.host.endswith("." + domain)
