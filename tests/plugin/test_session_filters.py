"""The session's side of issue 15, without sockets: event-type filters, private topics,
subscriptions from the URL, and commands naming a workflow."""

from __future__ import annotations

import json

import wsproto_schema as ws
from asgi_plugin.core.actions import CommandRequest, Send, SubscribeRequest
from asgi_plugin.core.catchup import CatchUp
from asgi_plugin.core.session import Session

JSON = ws.JsonCodec()


def session() -> Session:
    s = Session(codec=JSON, connection_id="c", now=0.0)
    s.private = frozenset({"@connection:c", "@all", "@principal:ada"})
    return s


def event(cls: type[ws.Event], topic: str, seq: int, **fields: object) -> ws.Event:
    return cls(topic=topic, seq=seq, ts=1, workflow_id="w", execution_id="e", **fields)  # type: ignore[arg-type]


def test_a_filtered_subscription_accepts_its_types_only_and_echoes_them() -> None:
    s = session()
    frame = {"type": "subscribe", "ref": "s", "topics": ["workflow:w"], "types": ["node.*"]}
    [request] = s.receive(json.dumps(frame), 0.0)
    assert isinstance(request, SubscribeRequest)
    s.hold(request.topics)  # as the connection does while the broker works
    status = event(ws.NodeStatus, "workflow:w", 1, node_id="a", status="running")
    log = event(ws.ExecutionLog, "workflow:w", 2, level="info", message="m")
    assert s.accepts(status) and not s.accepts(log), "held events are filtered too"
    replay = CatchUp(ws.TopicPosition(epoch="E", seq=2, recovered=True), (status, log))
    actions = s.subscribed(request, {"workflow:w": replay})
    frames = [a.frame for a in actions if isinstance(a, Send)]
    reply = frames[0]
    assert isinstance(reply, ws.Reply)
    assert reply.data["topics"]["workflow:w"]["types"] == ["node.*"]
    assert frames[1:] == [status], "the replay is filtered the same way"


def test_an_unfiltered_subscription_covering_the_topic_lets_everything_through() -> None:
    s = session()
    s.receive('{"type":"subscribe","topics":["workflow:w"],"types":["node.*"]}', 0.0)
    s.receive('{"type":"subscribe","topics":["workflow:*"]}', 0.0)
    log = event(ws.ExecutionLog, "workflow:w", 2, level="info", message="m")
    assert s.accepts(log)


def test_only_its_own_private_topics_and_never_a_private_pattern() -> None:
    s = session()
    for topic in ("@principal:bob", "@connection:other", "@*", "@principal:*"):
        [answer] = s.receive(json.dumps({"type": "subscribe", "topics": [topic]}), 0.0)
        assert isinstance(answer, Send) and isinstance(answer.frame, ws.ErrorFrame), topic
        assert answer.frame.code == "forbidden" and answer.frame.path == "$.topics[0]"
    [mine] = s.receive('{"type":"subscribe","topics":["@principal:ada"]}', 0.0)
    assert isinstance(mine, SubscribeRequest)


def test_the_url_subscription_is_a_subscribe_with_its_ref() -> None:
    [request] = session().subscribe_from_url("url", ("workflow:a", "workflow:b"), ("node.*",))
    assert isinstance(request, SubscribeRequest)
    assert (request.ref, request.topics) == ("url", ("workflow:a", "workflow:b"))


def test_control_names_an_execution_or_a_workflow_never_both() -> None:
    s = session()
    [by_workflow] = s.receive('{"type":"control","workflow_id":"w","action":"stop"}', 0.0)
    assert isinstance(by_workflow, CommandRequest)
    for frame in (
        '{"type":"control","action":"stop"}',
        '{"type":"control","execution_id":"e","workflow_id":"w","action":"stop"}',
        '{"type":"input","node_id":"n","value":1}',
    ):
        [answer] = s.receive(frame, 0.0)
        assert isinstance(answer, Send) and isinstance(answer.frame, ws.ErrorFrame)
        assert (answer.frame.code, answer.frame.path) == ("invalid_frame", "$.execution_id")
