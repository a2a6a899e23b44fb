"""Targeted delivery (one connection, a principal's connections, everyone), app events not
tied to a workflow, and `control`/`input` naming a workflow: over the ASGI app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from asgi_plugin.demo.samples import demo_runner
from tests.plugin import clients
from tests.plugin.clients import AsgiClient
from wsproto_schema.contract import Contract

SLOW = {"id": "w", "nodes": [{"id": "a", "kind": "sleep", "params": {"ms": 60_000}}]}
ASK = {"id": "ask", "nodes": [{"id": "approve", "kind": "input", "params": {"prompt": "ok?"}}]}


class Notice(ws.AppEvent, tag="notice", frozen=True, kw_only=True):
    """An app event for one user, not tied to a run."""

    text: str


@pytest.fixture
def notices() -> Iterator[None]:
    ws.register_event(Notice)
    previous = clients.CONTRACT
    clients.CONTRACT = Contract.from_registry()  # the app's own schema, with `notice`
    yield
    clients.CONTRACT = previous
    ws.registry.unregister(Notice)


def user(handshake: Any) -> dict[str, Any] | None:
    name = handshake.query_param("user")
    return None if name is None else {"id": name}


async def as_user(app: FlowwireApp, name: str) -> AsgiClient:
    client = AsgiClient(app, query=f"user={name}".encode())
    await client.connect()
    return client


async def test_send_to_a_connection_a_principal_or_everyone(notices: None) -> None:
    app = FlowwireApp(authenticate=user)
    ada1, ada2, bob = [await as_user(app, n) for n in ("ada", "ada", "bob")]
    watcher = await as_user(app, "eve")
    await watcher.request({"type": "subscribe", "ref": "s", "topics": ["*"], "snapshot": False})

    await app.send_to_connection(ada2.welcome["connection_id"], Notice(text="just you"))
    event = await ada2.recv()
    assert (event["type"], event["text"], event["seq"]) == ("notice", "just you", 1)
    assert event["topic"] == f"@connection:{ada2.welcome['connection_id']}"
    assert "workflow_id" not in event and "execution_id" not in event

    await app.send_to_principal("ada", Notice(text="both of ada's"))
    for client in (ada1, ada2):
        event = await client.recv()
        assert (event["topic"], event["text"]) == ("@principal:ada", "both of ada's")

    await app.broadcast_all(Notice(text="everyone"))
    for client in (ada1, ada2, bob, watcher):
        assert (await client.recv())["topic"] == "@all"
    for client in (ada1, ada2, bob, watcher):
        assert await client.nothing(), "a `*` pattern reaches no private topic"
    assert app.hub.subscription_count() == 1, "private topics are not counted as subscriptions"


async def test_a_principal_resumes_its_topic_and_may_not_take_anothers(notices: None) -> None:
    app = FlowwireApp(authenticate=user)
    ada = await as_user(app, "ada")
    await app.send_to_principal("ada", Notice(text="one"))
    assert (await ada.recv())["seq"] == 1
    epoch = (await ada.request({"type": "subscribe", "ref": "p", "topics": ["@principal:ada"]}))[
        "data"
    ]["topics"]["@principal:ada"]["epoch"]
    await ada.disconnect()
    await app.send_to_principal("ada", Notice(text="two"))  # while she is away
    back = await as_user(app, "ada")
    since = {"@principal:ada": {"seq": 1, "epoch": epoch}}
    reply = await back.request(
        {"type": "subscribe", "ref": "r", "topics": ["@principal:ada"], "since": since}
    )
    assert reply["data"]["topics"]["@principal:ada"]["recovered"] is True
    missed = await back.recv()
    assert (missed["seq"], missed["text"]) == (2, "two")
    await app.send_to_principal("ada", Notice(text="three"))
    assert (await back.recv())["seq"] == 3, "delivered once, explicit and implicit alike"
    assert await back.nothing()

    bob = await as_user(app, "bob")
    for topic in ("@principal:ada", f"@connection:{back.welcome['connection_id']}", "@*"):
        refused = await bob.request({"type": "subscribe", "ref": "x", "topics": [topic]})
        assert (refused["code"], refused["path"]) == ("forbidden", "$.topics[0]"), topic


async def test_an_app_event_names_its_topic(notices: None) -> None:
    app = FlowwireApp()
    client = AsgiClient(app)
    await client.connect()
    await client.request({"type": "subscribe", "ref": "s", "topics": ["session:s1"]})
    seq = await app.publish(Notice(topic="session:s1", text="hello"))
    event = await client.recv()
    assert (event["type"], event["topic"], event["seq"], event["text"]) == (
        "notice",
        "session:s1",
        seq,
        "hello",
    )
    with pytest.raises(ws.ProtocolError, match="must name its topic"):
        await app.publish(Notice(text="where to?"))


async def test_control_and_input_by_workflow_id() -> None:
    app = FlowwireApp(handler=demo_runner(), authenticate=user)
    ada = await as_user(app, "ada")
    missing = await ada.request(
        {"type": "control", "ref": "m", "workflow_id": "w", "action": "pause"}
    )
    assert (missing["code"], missing["path"]) == ("not_found", "$.workflow_id")

    first = (await ada.request({"type": "execute", "ref": "x", "workflow": SLOW}))["data"]
    paused = await ada.request(
        {"type": "control", "ref": "p", "workflow_id": "w", "action": "pause"}
    )
    assert paused["data"] == {"status": "paused"}

    bob = await as_user(app, "bob")
    await bob.request({"type": "execute", "ref": "y", "workflow": SLOW})
    resume = {"type": "control", "ref": "r", "workflow_id": "w", "action": "resume"}
    assert (await ada.request(resume))["data"] == {"status": "running"}, "bob's is not hers"

    second = (await ada.request({"type": "execute", "ref": "z", "workflow": SLOW}))["data"]
    conflict = await ada.request({**resume, "action": "stop"})
    assert (conflict["code"], conflict["path"]) == ("conflict", "$.workflow_id")
    candidates = {c["execution_id"] for c in conflict["details"]["candidates"]}
    assert candidates == {first["execution_id"], second["execution_id"]}, (
        "only those she may act on"
    )

    both = await ada.request({**resume, "execution_id": first["execution_id"]})
    assert (both["code"], both["path"]) == ("invalid_frame", "$.execution_id")
    neither = await ada.request({"type": "control", "ref": "n", "action": "stop"})
    assert (neither["code"], neither["path"]) == ("invalid_frame", "$.execution_id")

    await ada.request({"type": "execute", "ref": "a", "workflow": ASK})
    while (await ada.recv())["type"] != "input.requested":
        pass
    answer = {
        "type": "input",
        "ref": "i",
        "workflow_id": "ask",
        "node_id": "approve",
        "value": True,
    }
    assert (await ada.request(answer))["data"] == {"accepted": True}
