"""Nobody acts where they don't belong: an execute that subscribes is a subscription, only the
starter (or an admin) controls a run, and clients are told no secrets."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from asgi_plugin.demo.samples import demo_runner
from flowwire import DagRunner, NodeContext
from tests.plugin.clients import AsgiClient

SLOW = {"id": "w", "nodes": [{"id": "a", "kind": "sleep", "params": {"ms": 60_000}}]}


def user(handshake: Any) -> dict[str, Any] | None:
    name = handshake.query_param("user")
    return None if name is None else {"id": name, "admin": name == "root"}


async def as_user(app: FlowwireApp, name: str) -> AsgiClient:
    client = AsgiClient(app, query=f"user={name}".encode())
    await client.connect()
    return client


async def test_an_execute_that_subscribes_is_asked_for_as_a_subscription() -> None:
    def authorize(principal: Any, action: str, topic: str) -> bool:
        return not (principal["id"] == "eve" and action == "subscribe")

    app = FlowwireApp(handler=demo_runner(), authenticate=user, authorize=authorize)
    eve = await as_user(app, "eve")
    refused = await eve.request({"type": "execute", "ref": "x", "workflow": SLOW})
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    assert "subscribe" in refused["message"]
    assert app.hub.subscription_count() == 0, "and she did not get its events"
    quiet = await eve.request({"type": "execute", "ref": "y", "workflow": SLOW, "subscribe": False})
    assert quiet["type"] == "reply", "she may still run it without watching"


async def test_only_the_starter_or_an_admin_controls_an_execution() -> None:
    app = FlowwireApp(handler=demo_runner(), authenticate=user)
    ada, bob, root = [await as_user(app, n) for n in ("ada", "bob", "root")]
    run = (await ada.request({"type": "execute", "ref": "x", "workflow": SLOW}))["data"]
    pause = {"type": "control", "ref": "p", "execution_id": run["execution_id"], "action": "pause"}
    refused = await bob.request(pause)
    assert (refused["code"], refused["message"]) == (
        "forbidden",
        "not allowed to control this execution",
    )
    assert run["topic"] not in refused["message"], "the refusal names nothing of ada's"
    assert (await ada.request(pause))["data"] == {"status": "paused"}
    resume = {**pause, "action": "resume"}
    assert (await root.request(resume))["data"] == {"status": "running"}, "an admin may"


async def test_an_authorize_command_hook_sees_the_command_and_its_starter() -> None:
    seen: list[tuple[str, str, str | None]] = []

    def authorize_command(
        principal: Any, command: ws.Control | ws.Input, started_by: str | None
    ) -> bool:
        seen.append((principal["id"], ws.frame_tag(type(command)), started_by))
        return principal["id"] in ("ada", "ops")

    app = FlowwireApp(handler=demo_runner(), authenticate=user, authorize_command=authorize_command)
    ada, ops = await as_user(app, "ada"), await as_user(app, "ops")
    run = (await ada.request({"type": "execute", "ref": "x", "workflow": SLOW}))["data"]
    stop = {"type": "control", "ref": "s", "execution_id": run["execution_id"], "action": "stop"}
    assert (await ops.request(stop))["data"] == {"status": "stopped"}
    assert seen == [("ops", "control", "ada")]


async def test_a_node_exception_is_logged_not_broadcast(caplog: pytest.LogCaptureFixture) -> None:
    runner = DagRunner()

    @runner.kind("leaky")
    async def leaky(node: NodeContext) -> None:
        raise RuntimeError("connect to postgres://admin:hunter2@db.internal failed")

    app = FlowwireApp(handler=runner)
    client = AsgiClient(app)
    await client.connect()
    workflow = {"id": "w", "nodes": [{"id": "a", "kind": "leaky"}]}
    await client.request({"type": "execute", "ref": "x", "workflow": workflow})
    frames = []
    while not frames or frames[-1]["type"] != "execution.failed":
        frames.append(await client.recv())
    shown = [f for f in frames if f.get("status") == "failed" or f["type"] == "execution.failed"]
    assert shown and all("hunter2" not in str(f) for f in frames)
    assert (
        frames[-1]["error"]["message"] == "the node failed on the server (its log has the details)"
    )
    assert frames[-1]["error"]["code"] == "node_failed"
    assert any("hunter2" in str(r.exc_info[1]) for r in caplog.records if r.exc_info), (
        "it is logged"
    )
    caplog.set_level(logging.WARNING)


async def test_expose_errors_shows_node_exceptions_deliberately() -> None:
    runner = DagRunner(expose_errors=True)

    @runner.kind("chatty")
    async def chatty(node: NodeContext) -> None:
        raise ValueError("row 7 is malformed")

    client = AsgiClient(FlowwireApp(handler=runner))
    await client.connect()
    await client.request(
        {
            "type": "execute",
            "ref": "x",
            "workflow": {"id": "w", "nodes": [{"id": "a", "kind": "chatty"}]},
        }
    )
    while (frame := await client.recv())["type"] != "execution.failed":
        pass
    assert frame["error"]["message"] == "row 7 is malformed"


async def test_events_name_who_acted_by_id_and_nothing_else_of_the_principal() -> None:
    """`execution.paused`'s `by` (and `input.received`'s) used to be `str(principal)`: with
    a token's claims as the principal, every watcher read them all."""
    app = FlowwireApp(handler=demo_runner(), authenticate=user)
    ada = await as_user(app, "ada")
    run = (await ada.request({"type": "execute", "ref": "x", "workflow": SLOW}))["data"]
    pause = {"type": "control", "ref": "p", "execution_id": run["execution_id"], "action": "pause"}
    assert (await ada.request(pause))["type"] == "reply"
    while (frame := await ada.recv())["type"] != "execution.paused":
        pass
    assert frame["by"] == "ada"
