"""Apps the reference frontends' Node tests run against (issue 15): the reference runner
behind one wire profile, with the HTTP routes those systems start runs with.

`type_data()` (reference 004): `ws://…/api/ws/workflow/{workflow_id}` speaks the
`type-data` profile; `POST /api/workflows/{workflow_id}/execute` runs the demo sample
of that id (its sleeps shortened tenfold) with the reference runner.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import msgspec

import wsproto_schema as ws
from asgi_plugin import CommandContext, FlowwireMiddleware, UrlSubscription
from asgi_plugin.demo.samples import SAMPLES, demo_runner

EXECUTE = re.compile(r"^/api/workflows/(?P<workflow_id>[^/]+)/execute$")


def quick(spec: ws.WorkflowSpec) -> ws.WorkflowSpec:
    """The sample with its waits shortened (`ms`, `delay_ms` tenfold)."""
    nodes = []
    for node in spec.nodes:
        params = dict(node.params or {})
        for key in ("ms", "delay_ms"):
            if key in params:
                params[key] = params[key] // 10
        nodes.append(msgspec.structs.replace(node, params=params or None))
    return msgspec.structs.replace(spec, nodes=nodes)


class ExecuteSite:
    """`POST /api/workflows/{workflow_id}/execute`: start a run, answer its execution id."""

    def __init__(self) -> None:
        self.flowwire: Any = None
        self.runner = demo_runner()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        found = EXECUTE.match(scope.get("path", ""))
        if scope["type"] != "http" or found is None or found["workflow_id"] not in SAMPLES:
            await _answer(send, 404, {"error": "not found"})
            return
        spec = quick(SAMPLES[found["workflow_id"]])
        context = CommandContext(self.flowwire, None, "http")
        result = await self.runner.on_execute(ws.Execute(workflow=spec), context)
        await _answer(send, 200, {"execution_id": result.execution_id})


async def _answer(send: Any, status: int, body: dict[str, Any]) -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def type_data() -> FlowwireMiddleware:
    site = ExecuteSite()
    route = UrlSubscription(
        "/workflow/{workflow_id}", topics=["workflow:{workflow_id}"], profile="type-data"
    )
    middleware = FlowwireMiddleware(
        site, path="/api/ws", handler=site.runner, url_subscriptions=[route], reconnect_ms=100
    )
    site.flowwire = middleware.flowwire
    return middleware


def type_payload() -> FlowwireMiddleware:
    """Reference 000: `ws://…/ws` speaks `type-payload`, and every connection follows every
    workflow (that system broadcasts to all its clients); runs start with `workflow.start`."""
    site = ExecuteSite()
    middleware = FlowwireMiddleware(
        site,
        path="/ws",
        handler=site.runner,
        wire_profile="type-payload",
        url_subscriptions=[UrlSubscription("/", topics=["workflow:*"])],
        reconnect_ms=100,
    )
    site.flowwire = middleware.flowwire
    return middleware


def flat_type() -> FlowwireMiddleware:
    """Reference 002: `ws://…/ws/{session_id}` speaks `flat-type` (the session's topic is
    `session:{session_id}`); runs start with `execute_workflow`. FLOWWIRE_OPTIONS (JSON)
    sets options such as `heartbeat_ms`."""
    site = ExecuteSite()
    route = UrlSubscription("/{session_id}", topics=["session:{session_id}"], profile="flat-type")
    options: dict[str, Any] = json.loads(os.environ.get("FLOWWIRE_OPTIONS", "{}"))
    middleware = FlowwireMiddleware(
        site, path="/ws", handler=site.runner, url_subscriptions=[route], **options
    )
    site.flowwire = middleware.flowwire
    return middleware


def event_cmd() -> FlowwireMiddleware:
    """Reference 003: `ws://…/ws` speaks `event-cmd`; every connection follows every
    workflow (its hub broadcasts to all its clients); runs start with `start_session`."""
    site = ExecuteSite()
    middleware = FlowwireMiddleware(
        site,
        path="/ws",
        handler=site.runner,
        wire_profile="event-cmd",
        url_subscriptions=[UrlSubscription("/", topics=["workflow:*"])],
    )
    site.flowwire = middleware.flowwire
    return middleware


def event_data() -> FlowwireMiddleware:
    """Reference 001: `ws://…/ws/ws` speaks `event-data` and follows every workflow; its
    sessions (executions) start over HTTP, as in that system, at
    `POST /api/workflows/{workflow_id}/execute`."""
    site = ExecuteSite()
    middleware = FlowwireMiddleware(
        site,
        path="/ws",
        handler=site.runner,
        url_subscriptions=[UrlSubscription("/ws", topics=["workflow:*"], profile="event-data")],
    )
    site.flowwire = middleware.flowwire
    return middleware
