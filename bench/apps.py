"""The servers under test, one per `BENCH_APP`, each publishing the same ~300-byte frame.

    BENCH_APP=flowwire uvicorn bench.apps:app

Every app serves its WebSocket at `/ws` (python-socketio at `/socket.io/`) and
`POST /bench/run {"count", "rate", "size"}`: publish `count` events at `rate`
per second (0: as fast as it can) from inside the server process, each carrying
`time.time_ns()` at publish for the clients to measure latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

Publish = Callable[[int, int], Awaitable[None]]

TOPIC = "workflow:w"
_tasks: set[asyncio.Task[None]] = set()


def frame(seq: int, pad: int) -> dict[str, Any]:
    """The event every server sends, as flowwire puts it on the wire."""
    return {
        "type": "node.status",
        "topic": TOPIC,
        "seq": seq,
        "ts": time.time_ns() // 1_000_000,
        "workflow_id": "w",
        "execution_id": "bench",
        "node_id": "node-1",
        "status": "running",
        "output": {"t": time.time_ns(), "pad": "x" * pad},
    }


async def run_publisher(
    publish: Publish, count: int, rate: float, pad: int, burst: int = 1
) -> None:
    """`count` events at `rate` per second (0: as fast as possible), `burst` of them at a
    time without yielding to the event loop (an engine emitting several events per step)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(count):
        if rate:
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await publish(i + 1, pad)
        if not rate and (i + 1) % burst == 0:
            await asyncio.sleep(0)


def control(publish: Publish) -> Callable[[Any, Any, Any], Awaitable[bool]]:
    """An ASGI handler for `POST /bench/run`; returns False for other requests."""

    async def handle(scope: Any, receive: Any, send: Any) -> bool:
        if scope["type"] != "http" or scope["path"] != "/bench/run":
            return False
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        options = json.loads(body or b"{}")
        task = asyncio.get_running_loop().create_task(
            run_publisher(
                publish,
                int(options["count"]),
                float(options.get("rate", 0)),
                int(options.get("pad", 150)),
                int(options.get("burst", 1)),
            )
        )
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"started"})
        return True

    return handle


def with_control(publish: Publish, asgi: Any) -> Any:
    """`asgi`, with `POST /bench/run` publishing through `publish` in front of it."""
    handle = control(publish)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if not await handle(scope, receive, send):
            await asgi(scope, receive, send)

    return app


# -- flowwire ---------------------------------------------------------------------------


def flowwire_app() -> Any:
    import wsproto_schema as ws
    from asgi_plugin import FlowwireApp

    # The load clients only count frames and never answer flowwire's application pings:
    # its heartbeat would close them after 35 s (python-socketio's pings they answer).
    options = {
        "heartbeat_ms": 3_600_000,
        **json.loads(os.environ.get("BENCH_FLOWWIRE_OPTIONS", "{}")),
    }
    broker = None
    if os.environ.get("BENCH_REDIS_URL"):
        from flowwire import RedisBroker

        broker = RedisBroker(os.environ["BENCH_REDIS_URL"], prefix=f"bench{os.getpid()}")
    flowwire = FlowwireApp(broker=broker, drain_on_signals=False, **options)

    async def publish(seq: int, pad: int) -> None:
        output = {"t": time.time_ns(), "pad": "x" * pad}
        event = ws.NodeStatus(
            workflow_id="w", execution_id="bench", node_id="node-1", status="running", output=output
        )
        await flowwire.publish(event)

    return with_control(publish, flowwire)


# -- the floor: a raw ASGI loop awaiting send of one pre-encoded str per socket ------------


def raw_app() -> Any:
    sockets: set[Any] = set()

    async def publish(seq: int, pad: int) -> None:
        text = json.dumps(frame(seq, pad), separators=(",", ":"))
        for send in list(sockets):
            await send({"type": "websocket.send", "text": text})

    handle = control(publish)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            sockets.add(send)
            try:
                while (await receive())["type"] != "websocket.disconnect":
                    pass
            finally:
                sockets.discard(send)
        elif not await handle(scope, receive, send):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    return app


# -- the seeds' way: a Starlette manager with a set of sockets (seed 002) -------------------


def manager_app() -> Any:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    class Manager:
        def __init__(self) -> None:
            self.active: dict[int, WebSocket] = {}

        async def broadcast(self, message: dict[str, Any]) -> None:
            for key, websocket in list(self.active.items()):
                try:
                    await websocket.send_text(json.dumps(message))  # seed 002 encodes per send
                except Exception:
                    self.active.pop(key, None)

    manager = Manager()

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        manager.active[id(websocket)] = websocket
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            manager.active.pop(id(websocket), None)

    async def publish(seq: int, pad: int) -> None:
        await manager.broadcast(frame(seq, pad))

    starlette = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
    return with_control(publish, starlette)


# -- python-socketio: ASGIApp, emit to a room ------------------------------------------


def socketio_app() -> Any:
    import socketio

    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", logger=False)

    @sio.event
    async def connect(sid: str, environ: Any) -> None:
        await sio.enter_room(sid, TOPIC)

    async def publish(seq: int, pad: int) -> None:
        await sio.emit("update", frame(seq, pad), room=TOPIC)

    asgi = socketio.ASGIApp(sio)
    return with_control(publish, asgi)


# -- encode/broadcaster with Starlette ----------------------------------------------------


def broadcaster_app() -> Any:
    import anyio
    from broadcaster import Broadcast
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    broadcast = Broadcast("memory://")

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()

        async def receiver() -> None:
            async for _ in websocket.iter_text():
                pass
            tasks.cancel_scope.cancel()

        async def sender() -> None:
            async with broadcast.subscribe(channel=TOPIC) as subscriber:
                async for event in subscriber:  # type: ignore[union-attr]
                    await websocket.send_text(event.message)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(receiver)
            tasks.start_soon(sender)

    async def publish(seq: int, pad: int) -> None:
        await broadcast.publish(channel=TOPIC, message=json.dumps(frame(seq, pad)))

    @contextlib.asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        await broadcast.connect()
        yield
        await broadcast.disconnect()

    starlette = Starlette(routes=[WebSocketRoute("/ws", endpoint)], lifespan=lifespan)
    return with_control(publish, starlette)


FACTORIES = {
    "flowwire": flowwire_app,
    "raw": raw_app,
    "manager": manager_app,
    "socketio": socketio_app,
    "broadcaster": broadcaster_app,
}


def create() -> Any:
    return FACTORIES[os.environ.get("BENCH_APP", "flowwire")]()
