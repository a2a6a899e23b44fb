"""`flowwire demo`: uvicorn, a FlowwireApp with the reference runner, sample workflows, a page.

flowwire demo --port 8000        # then open http://127.0.0.1:8000/
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
from collections.abc import Sequence

import msgspec

from asgi_plugin.brokers.base import Broker
from asgi_plugin.transport.dashboard import Dashboard
from asgi_plugin.transport.logs import redact_server_logs
from asgi_plugin.transport.middleware import FlowwireMiddleware
from asgi_plugin.transport.types import Receive, Scope, Send

from .samples import SAMPLES, demo_runner

__all__ = ["DemoSite", "add_arguments", "create_app", "run"]


class DemoSite:
    """The demo's own pages: `/` (the dashboard, with buttons that run the samples; its
    files, built and committed, are `/dashboard.js` and `/dashboard.css`) and
    `/api/workflows` (the samples)."""

    def __init__(self) -> None:
        self.dashboard = Dashboard({"endpoint": "ws", "samples": "api/workflows"})
        self.workflows = msgspec.json.encode(
            [msgspec.to_builtins(spec) for spec in SAMPLES.values()]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        path = scope["path"]
        if path in ("/", "/dashboard.js", "/dashboard.css"):
            await self.dashboard.respond(send, path.strip("/"), scope.get("method", "GET"))
            return
        routes = {"/api/workflows": (b"application/json", self.workflows)}
        content_type, body = routes.get(path, (b"text/plain", b"not found"))
        status = 200 if path in routes else 404
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""The demo answers to these Host names only, unless told otherwise (`--allowed-hosts`)."""


def create_app(
    *,
    broker: Broker | None = None,
    api_key: str | None = None,
    allowed_hosts: Sequence[str] | None = LOOPBACK,
    allowed_origins: Sequence[str] | None = None,
) -> FlowwireMiddleware:
    """The demo application: the site, with flowwire and the sample runner at /ws."""
    return FlowwireMiddleware(
        DemoSite(),
        path="/ws",
        handler=demo_runner(),
        broker=broker,
        api_key=api_key,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to bind (8000; 0 picks a free one and prints it)",
    )
    parser.add_argument("--api-key", default=None, help="enable POST /ws/publish with this key")
    parser.add_argument(
        "--allowed-hosts",
        default=",".join(LOOPBACK),
        metavar="HOSTS",
        help="comma-separated Host names to answer to (loopback only by default; * for any)",
    )
    parser.add_argument(
        "--allowed-origins",
        default=None,
        metavar="ORIGINS",
        help="comma-separated page origins that may connect, e.g. http://localhost:5173 "
        "(default: the demo's own origin)",
    )
    parser.add_argument(
        "--redis",
        default=None,
        metavar="URL",
        help="use Redis (redis://host:6379/0) so several demo processes share runs and clients",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="of the server's and flowwire's logs (info; debug shows every connection and command)",
    )


def _listed(value: str | None) -> list[str] | None:
    return None if value is None else [item.strip() for item in value.split(",") if item.strip()]


def _show_flowwire_logs(level: str) -> None:
    """flowwire's own lines (started, Redis lost and back, …) on stderr, like uvicorn's."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    flowwire = logging.getLogger("flowwire")
    flowwire.addHandler(handler)
    flowwire.setLevel(level)
    flowwire.propagate = False


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - the `server` extra
        raise SystemExit("the demo needs uvicorn: pip install 'flowwire[server]'") from None
    broker: Broker | None = None
    if args.redis:
        from asgi_plugin.brokers.redis_broker import RedisBroker

        broker = RedisBroker(args.redis)
    app = create_app(
        broker=broker,
        api_key=args.api_key,
        allowed_hosts=_listed(args.allowed_hosts),
        allowed_origins=_listed(args.allowed_origins),
    )
    # Bound here, not by uvicorn, so that `--port 0` can say which port it got.
    sock = socket.create_server((args.host, args.port))
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"flowwire demo: open http://{shown}:{port}/  (WebSocket at /ws)", flush=True)
    # Configuring uvicorn configures logging: redact it after. ws_ping_interval=None:
    # flowwire's heartbeat checks every connection already, and uvicorn's own pings
    # would double that work (docs/benchmarks.md, section 10).
    config = uvicorn.Config(app, log_level=args.log_level, ws_ping_interval=None)
    _show_flowwire_logs(args.log_level.upper())
    redact_server_logs()
    server = uvicorn.Server(config)
    # Like `uvicorn.run`: after a graceful shutdown uvicorn re-raises the SIGINT it caught.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    return 0
