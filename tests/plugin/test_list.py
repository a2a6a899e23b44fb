"""`list`: the recent executions, live and finished, of the topics a principal may subscribe to
(the dashboard's runs list). The session validates, the connection asks `authorize` per
topic found, the broker gives what it keeps (`finished_snapshots` finished ones per topic)."""

from __future__ import annotations

from typing import Any

import msgspec

import wsproto_schema as ws
from asgi_plugin import FlowwireApp, MemoryBroker
from asgi_plugin.core.actions import ListRequest
from asgi_plugin.core.session import Session
from tests.plugin.clients import AsgiClient

JSON = ws.JsonCodec()


def started(workflow: str, execution: str, ts: int) -> ws.ExecutionStarted:
    return ws.ExecutionStarted(
        workflow_id=workflow,
        execution_id=execution,
        ts=ts,
        name=f"{workflow} run",
        nodes=[ws.NodeInfo(id="a", kind="sleep"), ws.NodeInfo(id="b")],
        edges=[ws.EdgeInfo(source="a", target="b")],
    )


def completed(workflow: str, execution: str, ts: int) -> ws.ExecutionCompleted:
    summary = ws.Summary(total=2, succeeded=2, failed=0, skipped=0)
    return ws.ExecutionCompleted(
        workflow_id=workflow, execution_id=execution, ts=ts, duration_ms=5, summary=summary
    )


async def history(app: FlowwireApp) -> None:
    """etl: one finished, one live; payroll: one live; chat: one finished."""
    await app.publish(started("etl", "etl-1", 1_000))
    await app.publish(completed("etl", "etl-1", 1_100))
    await app.publish(started("payroll", "pay-1", 2_000))
    await app.publish(started("etl", "etl-2", 3_000))
    await app.publish(started("chat", "chat-1", 4_000))
    await app.publish(completed("chat", "chat-1", 4_500))


async def listed(app: FlowwireApp, **command: Any) -> dict[str, Any]:
    client = AsgiClient(app)
    await client.connect()
    answer = await client.request({"type": "list", "ref": "l1", **command})
    await client.disconnect()
    return answer


def test_session_turns_list_into_a_request_and_the_result_into_a_reply() -> None:
    session = Session(codec=JSON, connection_id="c", now=0.0)
    [request] = session.receive('{"type":"list","ref":"r","topics":["w:*","a","w:*"]}', 0.0)
    assert request == ListRequest("r", ("w:*", "a"), 100, False)
    summary = ws.ExecutionSummary(
        topic="a",
        workflow_id="a",
        execution_id="x",
        ts=5,
        status="running",
        progress=ws.ProgressSnapshot(completed=0, total=1, percent=0.0),
        last_seq=1,
    )
    [send] = session.listed(request, [summary])
    assert msgspec.to_builtins(send.frame) == {  # type: ignore[union-attr]
        "type": "reply",
        "ref": "r",
        "data": {"executions": [msgspec.to_builtins(summary)]},
    }
    [bad] = session.receive('{"type":"list","ref":"b","topics":["w*x"]}', 0.0)
    error = bad.frame  # type: ignore[union-attr]
    assert isinstance(error, ws.ErrorFrame) and error.path == "$.topics[0]"


async def test_list_gives_live_and_finished_executions_newest_first() -> None:
    app = FlowwireApp()
    await history(app)
    answer = await listed(app)  # checked against the generated schema on the way in
    executions = answer["data"]["executions"]
    assert [(e["execution_id"], e["status"]) for e in executions] == [
        ("chat-1", "completed"),
        ("etl-2", "running"),
        ("pay-1", "running"),
        ("etl-1", "completed"),
    ]
    first = executions[-1]
    assert first["topic"] == "workflow:etl" and first["name"] == "etl run"
    assert first["progress"] == {"completed": 0, "total": 2, "percent": 0.0}
    assert (first["started_ts"], first["finished_ts"]) == (1_000, 1_100)
    assert "nodes" not in first and "edges" not in first  # only when asked for


async def test_list_by_topic_or_pattern_with_a_limit_and_the_graph() -> None:
    app = FlowwireApp()
    await history(app)
    answer = await listed(app, topics=["workflow:etl"], limit=1, nodes=True)
    [newest] = answer["data"]["executions"]
    assert newest["execution_id"] == "etl-2"
    assert newest["nodes"] == {
        "a": {"status": "pending", "kind": "sleep"},
        "b": {"status": "pending"},
    }
    assert newest["edges"] == [{"source": "a", "target": "b"}]
    answer = await listed(app, topics=["workflow:p*", "workflow:nothing"])
    assert [e["execution_id"] for e in answer["data"]["executions"]] == ["pay-1"]


async def test_list_leaves_out_topics_the_principal_may_not_subscribe_to() -> None:
    asked: list[tuple[Any, str, str]] = []

    def authorize(principal: Any, action: str, topic: str) -> bool:
        asked.append((principal, action, topic))
        return topic != "workflow:payroll"

    app = FlowwireApp(authorize=authorize, authenticate=lambda handshake: "ada")
    await history(app)
    answer = await listed(app)
    assert "pay-1" not in [e["execution_id"] for e in answer["data"]["executions"]]
    assert len(answer["data"]["executions"]) == 3
    assert sorted(asked) == [
        ("ada", "subscribe", "workflow:chat"),
        ("ada", "subscribe", "workflow:etl"),
        ("ada", "subscribe", "workflow:payroll"),
    ]
    # An exact topic refused is left out the same way: nothing says it exists.
    answer = await listed(app, topics=["workflow:payroll"])
    assert answer["data"] == {"executions": []}


async def test_list_keeps_what_the_broker_keeps() -> None:
    app = FlowwireApp(broker=MemoryBroker(finished_snapshots=2))
    for i in range(4):
        await app.publish(started("etl", f"e{i}", 1_000 + i))
        await app.publish(completed("etl", f"e{i}", 2_000 + i))
    answer = await listed(app)
    assert [e["execution_id"] for e in answer["data"]["executions"]] == ["e3", "e2"]


async def test_list_is_strict_like_every_command() -> None:
    app = FlowwireApp()
    answer = await listed(app, limit=0)
    assert (answer["code"], answer["path"]) == ("invalid_frame", "$.limit")
    answer = await listed(app, topic="workflow:etl")
    assert (answer["code"], answer["path"]) == ("invalid_frame", "$.topic")
