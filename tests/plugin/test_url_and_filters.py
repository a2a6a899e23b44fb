"""Subscribing from the URL (`url_subscriptions`) and event-type filters (`subscribe.types`),
over the ASGI app: what a client receives, in order, with seq per topic."""

from __future__ import annotations

from typing import Any

import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp, FlowwireMiddleware
from asgi_plugin.core.filters import TypeFilter
from asgi_plugin.transport.url_topics import UrlSubscription
from tests.plugin.clients import AsgiClient, Refused
from tests.servers.apps import hello


def status(workflow: str, node: str) -> ws.NodeStatus:
    return ws.NodeStatus(workflow_id=workflow, execution_id="e", node_id=node, status="running")


def log(workflow: str, message: str) -> ws.ExecutionLog:
    return ws.ExecutionLog(workflow_id=workflow, execution_id="e", level="info", message=message)


def token(workflow: str, delta: str) -> ws.NodeToken:
    return ws.NodeToken(workflow_id=workflow, execution_id="e", node_id="llm", delta=delta)


def refuse_payroll(principal: Any, action: str, topic: str) -> bool:
    return topic != "workflow:payroll"


def mounted(**options: Any) -> FlowwireMiddleware:
    subscriptions = [
        UrlSubscription("/workflow/{workflow_id}", topics=["workflow:{workflow_id}"]),
        UrlSubscription("/", query="topics", types_query="types"),
    ]
    return FlowwireMiddleware(hello, path="/api/ws", url_subscriptions=subscriptions, **options)


async def test_the_url_path_subscribes_to_its_topic() -> None:
    app = mounted()
    client = AsgiClient(app, path="/api/ws/workflow/etl")
    await client.connect()
    reply = await client.recv()
    assert reply == {
        "type": "reply",
        "ref": "url",
        "data": {
            "topics": {
                "workflow:etl": {
                    "epoch": reply["data"]["topics"]["workflow:etl"]["epoch"],
                    "seq": 0,
                    "recovered": False,
                }
            }
        },
    }
    await app.flowwire.publish(status("other", "x"))
    seq = await app.flowwire.publish(status("etl", "a"))
    event = await client.recv()
    assert (event["topic"], event["seq"], event["node_id"]) == ("workflow:etl", seq, "a")
    assert await client.nothing(), "only the URL's topic"


async def test_query_topics_and_types_and_authorization_as_for_subscribe() -> None:
    app = mounted(authorize=refuse_payroll)
    client = AsgiClient(app, path="/api/ws", query=b"topics=workflow:a,workflow:b&types=node.*")
    await client.connect()
    reply = await client.recv()
    assert reply["ref"] == "url" and set(reply["data"]["topics"]) == {"workflow:a", "workflow:b"}
    assert reply["data"]["topics"]["workflow:a"]["types"] == ["node.*"]
    await app.flowwire.publish(log("a", "left out"))
    await app.flowwire.publish(status("b", "kept"))
    event = await client.recv()
    assert (event["type"], event["topic"], event["seq"]) == ("node.status", "workflow:b", 1)

    refused = AsgiClient(app, path="/api/ws", query=b"topics=workflow:a,workflow:payroll")
    await refused.connect()
    error = await refused.recv()
    assert (error["type"], error["ref"], error["code"], error["path"]) == (
        "error",
        "url",
        "forbidden",
        "$.topics[1]",
    )
    await app.flowwire.publish(status("a", "none for it"))
    assert await refused.nothing(), "all or nothing, as for subscribe"


async def test_a_url_that_would_make_a_pattern_is_refused() -> None:
    client = AsgiClient(mounted(), path="/api/ws/workflow/*")
    with pytest.raises(Refused) as refused:
        await client.connect()
    assert refused.value.status == 400 and b"`*`" in refused.value.body


async def test_without_url_subscriptions_paths_below_the_mount_are_not_flowwire() -> None:
    app = FlowwireMiddleware(hello, path="/ws")
    assert app.flowwire.options.url_subscriptions == ()
    with pytest.raises(AssertionError):  # `hello` is an HTTP app: the scope reached it
        await AsgiClient(app, path="/ws/workflow/etl").connect()


async def test_type_filters_deliver_matching_events_and_echo_the_filter() -> None:
    app = FlowwireApp()
    client = AsgiClient(app)
    await client.connect()
    reply = await client.request(
        {
            "type": "subscribe",
            "ref": "s",
            "topics": ["workflow:w"],
            "types": ["node.*", "execution.log"],
        }
    )
    assert reply["data"]["topics"]["workflow:w"]["types"] == ["node.*", "execution.log"]
    await app.publish(status("w", "a"))  # 1
    await app.publish(ws.EdgeFlow(workflow_id="w", execution_id="e", source="a", target="b"))  # 2
    await app.publish(token("w", "Hel"))  # 3
    await app.publish(log("w", "line"))  # 4
    received = [await client.recv() for _ in range(3)]
    assert [(f["type"], f["seq"]) for f in received] == [
        ("node.status", 1),
        ("node.token", 3),
        ("execution.log", 4),
    ], "seq stays per topic: the filtered stream skips 2"
    assert await client.nothing()


async def test_resume_with_a_filter_replays_only_matching_events() -> None:
    app = FlowwireApp()
    first = AsgiClient(app)
    await first.connect()
    reply = await first.request(
        {"type": "subscribe", "ref": "s", "topics": ["workflow:w"], "types": ["node.status"]}
    )
    epoch = reply["data"]["topics"]["workflow:w"]["epoch"]
    await app.publish(status("w", "a"))
    assert (await first.recv())["seq"] == 1
    await first.disconnect()
    for i in range(3):
        await app.publish(log("w", f"{i}"))  # 2, 3, 4
        await app.publish(status("w", f"n{i}"))  # 3, 5, 7
    again = AsgiClient(app)
    await again.connect()
    resumed = await again.request(
        {
            "type": "subscribe",
            "ref": "r",
            "topics": ["workflow:w"],
            "types": ["node.status"],
            "since": {"workflow:w": {"seq": 1, "epoch": epoch}},
        }
    )
    assert resumed["data"]["topics"]["workflow:w"]["recovered"] is True
    replayed = [await again.recv() for _ in range(3)]
    assert [(f["type"], f["seq"]) for f in replayed] == [("node.status", s) for s in (3, 5, 7)]
    assert await again.nothing()


async def test_an_unfiltered_subscription_of_the_same_topic_through_a_pattern_gets_all() -> None:
    app = FlowwireApp()
    client = AsgiClient(app)
    await client.connect()
    await client.request(
        {"type": "subscribe", "ref": "a", "topics": ["workflow:w"], "types": ["node.status"]}
    )
    await client.request({"type": "subscribe", "ref": "b", "topics": ["workflow:v"]})
    await app.publish(log("v", "unfiltered topic"))
    await app.publish(log("w", "filtered out"))
    await app.publish(status("w", "a"))
    assert [(f["topic"], f["type"]) for f in [await client.recv() for _ in range(2)]] == [
        ("workflow:v", "execution.log"),
        ("workflow:w", "node.status"),
    ]
    await client.request(
        {"type": "subscribe", "ref": "c", "topics": ["workflow:*"], "snapshot": False}
    )
    await app.publish(log("w", "now through the pattern"))
    assert (await client.recv())["message"] == "now through the pattern"


async def test_a_malformed_type_pattern_is_an_invalid_frame() -> None:
    client = AsgiClient(FlowwireApp())
    await client.connect()
    error = await client.request(
        {"type": "subscribe", "ref": "s", "topics": ["workflow:w"], "types": ["node status"]}
    )
    assert (error["code"], error["path"]) == ("invalid_frame", "$.types[0]")
    empty = await client.request({"type": "subscribe", "ref": "t", "topics": ["w"], "types": []})
    assert (empty["code"], empty["path"]) == ("invalid_frame", "$.types")


def test_type_filter_globs() -> None:
    nodes = TypeFilter(["node.*", "execution.completed"])
    assert [nodes.accepts(t) for t in ("node.status", "node.token", "execution.completed")] == [
        True,
        True,
        True,
    ]
    assert not nodes.accepts("execution.log") and not nodes.accepts("nodes.status")
    assert TypeFilter(["*.completed"]).accepts("execution.completed")
    assert TypeFilter(["*"]).accepts("session.update")
