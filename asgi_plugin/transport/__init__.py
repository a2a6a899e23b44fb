"""The ASGI transport: how flowwire meets ASGI servers, frameworks and sockets.

`app` is the ASGI application (WebSocket upgrade, lifespan, HTTP endpoints via
`http`), `middleware` puts it in front of another app, `runtime` is what its
connections share and its lifecycle, `connection` drives one socket's
`Session` and `writer` its sends; `handshake`, `hooks` and `options` are what
users configure (`lifecycle` runs the lifecycle hooks), `signals` drains on
SIGTERM, `workers` refuses a split memory broker, `errors` says what clients
are told, `stats` counts, `metrics` exposes the counts to Prometheus, and
`types` names the ASGI types once.

The transport may import every layer below it (`engine`, `brokers`, `core`,
`wsproto_schema`); only the demo and the command line are above it.
"""

__all__: list[str] = []
