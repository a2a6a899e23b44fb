"""The dashboard: a live view of workflow runs in the browser, served from package data.

`FlowwireApp(dashboard=True)` serves it under its mount at `…/dashboard/` (the page,
`dashboard.js`, `dashboard.css`); `flowwire demo` serves it at `/`. The files are built
from clients/dashboard by esbuild and committed (see docs/dashboard.md): nothing is
fetched from a CDN and no Node runs here. The page connects to the same endpoint, so the
app's origin check and auth hooks apply to it as to any client; when the app
authenticates handshakes, the page itself is served only to a handshake the hook accepts.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .handshake import Handshake
from .hooks import resolve
from .runtime import Runtime
from .types import Scope, Send

__all__ = ["PREFIX", "Dashboard", "assets", "local_path", "page", "serve_dashboard"]

PREFIX = "dashboard"
"""The path of the dashboard below the mount."""

CONFIG_SLOT = b'<script id="flowwire-config" type="application/json">{}</script>'

# The page runs only its own script, talks only to its own server, and may be framed only
# by pages of its own origin.
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]

TYPES = {
    "dashboard.js": b"text/javascript; charset=utf-8",
    "dashboard.css": b"text/css; charset=utf-8",
}


@cache
def assets() -> dict[str, bytes]:
    """The built files: `dashboard.html`, `dashboard.js`, `dashboard.css`."""
    static = resources.files(__package__ or "asgi_plugin.transport").joinpath("static")
    return {name: static.joinpath(name).read_bytes() for name in ("dashboard.html", *TYPES)}


def page(config: dict[str, Any]) -> bytes:
    """The page, told where its endpoint is (and what else the server offers)."""
    data = json.dumps(config, separators=(",", ":")).replace("<", "\\u003c").encode()
    html = assets()["dashboard.html"]
    assert CONFIG_SLOT in html, "dashboard.html has lost its config slot"
    return html.replace(CONFIG_SLOT, CONFIG_SLOT.replace(b"{}", data))


class Dashboard:
    """Answers the requests for the dashboard's files: the page at `index`, the assets by
    name. `config` is what the page is told (its `endpoint`, relative to the page)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.page = page(config)

    async def respond(self, send: Send, name: str, method: str) -> bool:
        """Send the file `name` (`` is the page); False when there is no such file."""
        if name == "":
            body, content_type = self.page, b"text/html; charset=utf-8"
        elif name in TYPES:
            body, content_type = assets()[name], TYPES[name]
        else:
            return False
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-cache"),
            *HEADERS,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        return True


def local_path(scope: Scope) -> str:
    """The path below the mount point, its slashes kept (as `route_path` reads it)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "").rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    return path if path.startswith("/") else "/" + path


async def serve_dashboard(runtime: Runtime, scope: Scope, send: Send) -> bool:
    """`GET …/dashboard/…` when the app has `dashboard=True`; False when the path is not
    the dashboard's, or the option is off."""
    local = local_path(scope)
    if not runtime.options.dashboard or local.strip("/").split("/")[0] != PREFIX:
        return False
    method = scope.get("method", "GET")
    if method not in ("GET", "HEAD"):
        return False
    if local.rstrip("/") == "/" + PREFIX and not local.endswith("/"):
        # Relative URLs in the page (its assets, its endpoint `..`) need the slash.
        headers = [(b"location", f"{PREFIX}/".encode()), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 308, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return True
    options = runtime.options
    if options.authenticate is not None:
        # The page is for the people who may open the WebSocket: the same hook decides.
        principal = await resolve(options.authenticate(Handshake.from_scope(scope)))
        if principal is None and options.authenticate_token is None:
            body = b"not allowed"
            head = [(b"content-type", b"text/plain"), (b"content-length", b"11")]
            await send({"type": "http.response.start", "status": 403, "headers": head})
            await send({"type": "http.response.body", "body": body})
            return True
    name = local.strip("/")[len(PREFIX) :].strip("/")
    return await _mounted(options.authenticate_token is not None).respond(send, name, method)


@cache
def _mounted(token_auth: bool) -> Dashboard:
    """The dashboard under a mount: its endpoint is the mount itself, one level up."""
    return Dashboard({"endpoint": "..", "tokenAuth": token_auth})
