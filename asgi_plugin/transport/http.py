"""HTTP under the mount: `GET stats`, `GET metrics`, `GET health`, `POST publish`, `GET schema`,
`GET asyncapi`, and `GET dashboard/` with `dashboard=True` (dashboard.py)."""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
from typing import Any

import msgspec

import wsproto_schema as ws
from asgi_plugin.brokers.base import BrokerUnavailable
from wsproto_schema import ErrorCode, ProtocolError

from .dashboard import serve_dashboard
from .errors import HTTP_STATUS, wire_error
from .handshake import Handshake
from .origins import DEFAULT_PORTS, request_site
from .runtime import Runtime
from .types import Receive, Scope, Send

__all__ = ["bearer_matches", "handle_http", "mount_path", "refuse_host", "route_path"]

logger = logging.getLogger("flowwire.http")

Headers = list[tuple[bytes, bytes]]

_documents: dict[tuple[str, int], bytes] = {}


def route_path(scope: Scope) -> str:
    """The path below the mount point, without slashes: `stats`, `publish`, ``."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "").rstrip("/")
    # Starlette ≥ 0.33 keeps the full path and sets root_path; other routers (Litestar)
    # hand over the path below the mount. Strip only a whole leading segment.
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    return path.strip("/")


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    headers: Headers | None = None,
    content_type: bytes = b"application/json",
) -> None:
    head = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, data: Any, headers: Headers | None = None) -> None:
    await _respond(send, status, msgspec.json.encode(data), headers)


async def _error(
    send: Send, error: ProtocolError, status: int | None = None, headers: Headers | None = None
) -> None:
    """An error answered over HTTP: `{"error": {...}}`, the fields of the `error` frame."""
    await _json(send, status or HTTP_STATUS[error.code], {"error": error.to_dict()}, headers)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _document(name: str) -> bytes:
    """A generated document for the current registry (app events included), built once."""
    key = (name, ws.registry.version)
    if key not in _documents:
        from wsproto_schema.catalog import Catalog
        from wsproto_schema.json_schema import bundle_schema

        document = bundle_schema(Catalog.build(ws.registry))
        _documents[key] = json.dumps(document, indent=2).encode()
    return _documents[key]


@functools.lru_cache(maxsize=16)
def _page(document: bytes) -> bytes:
    """`GET …/asyncapi.html`: the served document as a page for people (no Node, no script)."""
    from wsproto_schema.asyncapi_html import asyncapi_html

    return asyncapi_html(json.loads(document)).encode()


def _asyncapi(runtime: Runtime, scope: Scope) -> bytes:
    """The AsyncAPI document of this server, as the client reached it: its scheme and host
    (from a trusted proxy's headers, if any) and the path flowwire is mounted at."""
    options = runtime.options
    site = request_site(Handshake.from_scope(scope), options.trusted_proxies)
    host = f"[{site.host}]" if ":" in site.host else site.host
    if site.port != DEFAULT_PORTS[site.scheme]:
        host = f"{host}:{site.port}"
    protocol = "wss" if site.scheme == "https" else "ws"
    title, version = options.asyncapi_title, options.asyncapi_version or ws.__version__
    return _described(ws.registry.version, host, protocol, mount_path(scope), title, version)


@functools.lru_cache(maxsize=16)
def _described(
    registry_version: int, host: str, protocol: str, address: str, title: str, version: str
) -> bytes:
    from wsproto_schema.asyncapi import asyncapi_document
    from wsproto_schema.catalog import Catalog

    document = asyncapi_document(
        Catalog.build(ws.registry),
        host=host,
        protocol=protocol,
        address=address,
        title=title,
        version=version,
        server_description="The server that served this document.",
    )
    return json.dumps(document, indent=2).encode()


def mount_path(scope: Scope) -> str:
    """Where flowwire is mounted: `/live` for a request of `/live/asyncapi`."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "").rstrip("/")
    if root and not (path == root or path.startswith(root + "/")):
        path = root + path  # a router that hands over the path below the mount
    return path.rstrip("/").rpartition("/")[0] or "/"


async def handle_http(runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
    if await serve_dashboard(runtime, scope, send):
        return
    route = route_path(scope)
    method = scope.get("method", "GET")
    routes = {
        "stats": "GET",
        "metrics": "GET",
        "health": "GET",
        "schema": "GET",
        "asyncapi": "GET",
        "asyncapi.html": "GET",
        "publish": "POST",
    }
    if route == "":
        message = "this is a flowwire WebSocket endpoint: connect with a WebSocket client"
        await _error(
            send,
            ProtocolError(ErrorCode.INVALID_FRAME, message),
            426,
            headers=[(b"upgrade", b"websocket")],
        )
        return
    if route not in routes:
        await _error(send, ProtocolError(ErrorCode.NOT_FOUND, f"no such endpoint: {route!r}"))
        return
    if method != routes[route] and not (method == "HEAD" and routes[route] == "GET"):
        await _error(
            send,
            ProtocolError(ErrorCode.INVALID_FRAME, f"{route} takes {routes[route]}"),
            405,
            headers=[(b"allow", routes[route].encode())],
        )
        return
    if route in ("stats", "metrics"):
        monitor_key = runtime.options.monitor_key
        if monitor_key is not None and not _bearer(scope, monitor_key):
            await _unauthorized(send, "monitor_key")
            return
        if route == "stats":
            await _json(send, 200, runtime.snapshot_stats())
        else:
            await _metrics(runtime, send)
    elif route == "health":
        health = runtime.broker.health()
        await _json(
            send, 200 if health.get("ok") else 503, {"ok": bool(health.get("ok")), "broker": health}
        )
    elif route == "schema":
        await _respond(send, 200, _document(route))
    elif route == "asyncapi":
        await _respond(send, 200, _asyncapi(runtime, scope))
    elif route == "asyncapi.html":
        page = _page(_asyncapi(runtime, scope))
        await _respond(send, 200, page, content_type=b"text/html; charset=utf-8")
    else:
        await _publish(runtime, scope, receive, send)


async def _metrics(runtime: Runtime, send: Send) -> None:
    metrics = runtime.metrics
    if metrics is None:
        message = "metrics need prometheus-client: pip install 'flowwire[metrics]'"
        await _error(send, ProtocolError(ErrorCode.NOT_FOUND, message))
        return
    from .metrics import CONTENT_TYPE

    body = metrics.exposition()
    headers = [
        (b"content-type", CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _publish(runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
    key = runtime.options.api_key
    if key is None:
        message = "publishing over HTTP is disabled: set api_key"
        await _error(send, ProtocolError(ErrorCode.FORBIDDEN, message))
        return
    if not _bearer(scope, key):
        await _unauthorized(send, "api_key")
        return
    limit = runtime.options.max_frame_bytes
    body = await _read_body(receive, limit)
    if body is None:
        message = f"$: body is larger than {limit} bytes"
        await _error(send, ProtocolError(ErrorCode.TOO_LARGE, message, path="$"))
        return
    content_type = _header(scope, b"content-type")
    codec: ws.Codec = runtime.msgpack if "msgpack" in content_type else runtime.json
    batch = _is_array(body)
    try:
        events = codec.decode_events(body) if batch else [codec.decode_event(body)]
    except ProtocolError as error:
        await _error(send, error, 400)  # nothing of an invalid request is published
        return
    key = _header(scope, b"idempotency-key") or None
    published: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        event_key = None if key is None else (f"{key}:{index}" if batch else key)
        try:
            stored, duplicate = await runtime.publish_once(event, idempotency_key=event_key)
        except (ProtocolError, BrokerUnavailable) as exc:
            if isinstance(exc, BrokerUnavailable):
                logger.warning("flowwire: publish over HTTP refused: %s", exc)
            await _partial(send, wire_error(exc), published, batch)
            return
        position: dict[str, Any] = {"topic": stored.topic, "seq": stored.seq}
        if duplicate:
            position["duplicate"] = True
        published.append(position)
        await asyncio.sleep(0)  # let writers drain between events: a batch is not a burst
    await _json(send, 200, {"published": published} if batch else published[0])


async def _partial(
    send: Send, error: ProtocolError, published: list[dict[str, Any]], batch: bool
) -> None:
    """An error after part of a batch was stored: the error, and what was stored (the
    first `len(published)` events), so that a retry can start after them, or resend all
    of it with the same `Idempotency-Key`."""
    status = 400 if error.code is not ErrorCode.UNAVAILABLE else HTTP_STATUS[error.code]
    body: dict[str, Any] = {"error": error.to_dict()}
    if batch:
        body["published"] = published
    headers = [(b"retry-after", b"1")] if error.code is ErrorCode.UNAVAILABLE else []
    await _json(send, status, body, headers)


def _bearer(scope: Scope, key: str) -> bool:
    """Whether the request carries `Authorization: Bearer <key>` (compared in constant time)."""
    return bearer_matches(_header(scope, b"authorization"), key)


def bearer_matches(authorization: str, key: str) -> bool:
    """Whether an `Authorization` header is `Bearer <key>` (compared in constant time)."""
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), key.encode())


async def _unauthorized(send: Send, option: str) -> None:
    await _error(
        send,
        ProtocolError(ErrorCode.UNAUTHORIZED, f"send `Authorization: Bearer <{option}>`"),
        headers=[(b"www-authenticate", b'Bearer realm="flowwire"')],
    )


async def refuse_host(send: Send) -> None:
    """The request named a Host this server does not answer to (`allowed_hosts`)."""
    message = "this server does not answer to that Host"
    await _error(send, ProtocolError(ErrorCode.FORBIDDEN, message), 400)


def _is_array(body: bytes) -> bool:
    """A batch: a JSON array, or a MessagePack array (fixarray, array 16, array 32)."""
    first = body.lstrip()[:1]
    return first == b"[" or (bool(first) and (0x90 <= first[0] <= 0x9F or first[0] in (0xDC, 0xDD)))
