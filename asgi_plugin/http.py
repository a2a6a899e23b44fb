"""HTTP under the mount: `GET stats`, `GET health`, `POST publish`, `GET schema`, `GET asyncapi`."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

import wsproto_schema as ws
from wsproto_schema import ErrorCode, ProtocolError

from .broker import BrokerUnavailable

if TYPE_CHECKING:
    from .app import FlowwireApp

__all__ = ["handle_http", "route_path"]

Headers = list[tuple[bytes, bytes]]

_documents: dict[tuple[str, int], bytes] = {}


def route_path(scope: Mapping[str, Any]) -> str:
    """The path below the mount point, without slashes: `stats`, `publish`, ``."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "").rstrip("/")
    # Starlette ≥ 0.33 keeps the full path and sets root_path; other routers (Litestar)
    # hand over the path below the mount. Strip only a whole leading segment.
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    return path.strip("/")


async def _respond(send: Any, status: int, body: bytes, headers: Headers | None = None) -> None:
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Any, status: int, data: Any, headers: Headers | None = None) -> None:
    await _respond(send, status, msgspec.json.encode(data), headers)


async def _error(
    send: Any, status: int, code: ErrorCode, message: str, path: str | None = None, **extra: Any
) -> None:
    error: dict[str, Any] = {"code": code.value, "message": message}
    if path is not None:
        error["path"] = path
    await _json(send, status, {"error": error}, **extra)


async def _read_body(receive: Any, limit: int) -> bytes | None:
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


def _header(scope: Mapping[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _document(name: str) -> bytes:
    """A generated document for the current registry (app events included), built once."""
    key = (name, ws.registry.version)
    if key not in _documents:
        from flowwire_codegen import Catalog, asyncapi_document, bundle_schema

        catalog = Catalog.build(ws.registry)
        document = bundle_schema(catalog) if name == "schema" else asyncapi_document(catalog)
        _documents[key] = json.dumps(document, indent=2).encode()
    return _documents[key]


async def handle_http(app: FlowwireApp, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
    route = route_path(scope)
    method = scope.get("method", "GET")
    routes = {
        "stats": "GET",
        "health": "GET",
        "schema": "GET",
        "asyncapi": "GET",
        "publish": "POST",
    }
    if route == "":
        await _error(
            send,
            426,
            ErrorCode.INVALID_FRAME,
            "this is a flowwire WebSocket endpoint: connect with a WebSocket client",
            headers=[(b"upgrade", b"websocket")],
        )
        return
    if route not in routes:
        await _error(send, 404, ErrorCode.NOT_FOUND, f"no such endpoint: {route!r}")
        return
    if method != routes[route] and not (method == "HEAD" and routes[route] == "GET"):
        await _error(
            send,
            405,
            ErrorCode.INVALID_FRAME,
            f"{route} takes {routes[route]}",
            headers=[(b"allow", routes[route].encode())],
        )
        return
    if route == "stats":
        await _json(send, 200, app.snapshot_stats())
    elif route == "health":
        health = app.broker.health()
        await _json(
            send, 200 if health.get("ok") else 503, {"ok": bool(health.get("ok")), "broker": health}
        )
    elif route in ("schema", "asyncapi"):
        await _respond(send, 200, _document(route))
    else:
        await _publish(app, scope, receive, send)


async def _publish(app: FlowwireApp, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
    key = app.options.api_key
    if key is None:
        await _error(
            send, 403, ErrorCode.FORBIDDEN, "publishing over HTTP is disabled: set api_key"
        )
        return
    scheme, _, token = _header(scope, b"authorization").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key.encode()):
        await _error(
            send,
            401,
            ErrorCode.UNAUTHORIZED,
            "send `Authorization: Bearer <api_key>`",
            headers=[(b"www-authenticate", b'Bearer realm="flowwire"')],
        )
        return
    body = await _read_body(receive, app.options.max_frame_bytes)
    if body is None:
        limit = app.options.max_frame_bytes
        await _error(send, 413, ErrorCode.TOO_LARGE, f"$: body is larger than {limit} bytes", "$")
        return
    codec: ws.Codec = app.msgpack if "msgpack" in _header(scope, b"content-type") else app.json
    try:
        events = codec.decode_events(body) if _is_array(body) else [codec.decode_event(body)]
        published = []
        for event in events:
            published.append(await app.publish_event(event))
            await asyncio.sleep(0)  # let writers drain between events: a batch is not a burst
    except ProtocolError as error:
        await _error(send, 400, error.code, error.message, error.path)
        return
    except BrokerUnavailable as exc:
        await _error(
            send,
            503,
            ErrorCode.INTERNAL,
            f"the broker is unavailable: {exc}",
            headers=[(b"retry-after", b"1")],
        )
        return
    positions = [{"topic": event.topic, "seq": event.seq} for event in published]
    await _json(send, 200, {"published": positions} if _is_array(body) else positions[0])


def _is_array(body: bytes) -> bool:
    """A batch: a JSON array, or a MessagePack array (fixarray, array 16, array 32)."""
    first = body.lstrip()[:1]
    return first == b"[" or (bool(first) and (0x90 <= first[0] <= 0x9F or first[0] in (0xDC, 0xDD)))
