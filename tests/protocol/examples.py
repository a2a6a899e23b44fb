"""One realistic instance of every frame type, as a publisher or client would build it."""

from __future__ import annotations

import wsproto_schema as ws

COMMON = {
    "topic": "workflow:etl",
    "seq": 7,
    "ts": 1_764_000_000_000,
    "workflow_id": "etl",
    "execution_id": "ex-1",
}

SUMMARY = ws.Summary(total=3, succeeded=2, failed=1, skipped=0)

SERVER_FRAMES: list[ws.Frame] = [
    ws.Welcome(
        protocol="flowwire.v1",
        connection_id="c-1",
        heartbeat_ms=25_000,
        max_frame_bytes=1_048_576,
        server="flowwire/0.1.0",
    ),
    ws.Reply(
        ref="s1", data={"topics": {"workflow:etl": {"epoch": "e1", "seq": 41, "recovered": True}}}
    ),
    ws.ErrorFrame(
        ref="s2",
        code=ws.ErrorCode.INVALID_FRAME,
        message="$.topics[2]: expected str, got int",
        path="$.topics[2]",
    ),
    ws.Ping(ts=1_764_000_000_000),
    ws.Pong(ts=1_764_000_000_001),
    ws.Pong(),
    ws.Goaway(reason="server shutdown", reconnect_ms=1000),
    ws.Batch(frames=[ws.Ping(ts=1), ws.Pong(ts=2)]),
    ws.EngineCommand(
        id="c1",
        command={"type": "control", "execution_id": "ex-1", "action": "pause"},
        principal={"id": "ada"},
    ),
    ws.ExecutionSnapshot(
        topic="workflow:etl",
        workflow_id="etl",
        execution_id="ex-1",
        ts=1_764_000_000_000,
        status="running",
        nodes={
            "extract": ws.NodeSnapshot(
                status="succeeded",
                attempt=1,
                started_ts=1,
                finished_ts=2,
                duration_ms=1,
                output={"rows": 10},
            ),
            "load": ws.NodeSnapshot(
                status="running",
                progress=0.5,
                text="Loading the",
                tokens_omitted=12,
                usage=ws.UsageTotals(prompt_tokens=3, completion_tokens=5, total_tokens=8),
            ),
        },
        edges=[ws.EdgeInfo(source="extract", target="load")],
        progress=ws.ProgressSnapshot(completed=1, total=2, percent=50.0, running=["load"]),
        usage=ws.UsageTotals(prompt_tokens=3, completion_tokens=5, total_tokens=8, cost=0.01),
        inputs=[ws.PendingInput(node_id="approve", prompt="Ship it?", ts=5)],
        logs=[ws.LogLine(seq=4, ts=4, level="info", message="loading", node_id="load")],
        logs_omitted=3,
        last_seq=6,
    ),
    ws.ExecutionStarted(
        **COMMON,
        name="ETL",
        nodes=[ws.NodeInfo(id="extract", kind="sleep"), ws.NodeInfo(id="load", name="Load")],
        edges=[ws.EdgeInfo(id="e1", source="extract", target="load")],
        order=["extract", "load"],
        inputs={"day": "2026-11-24"},
    ),
    ws.ExecutionPaused(**COMMON, reason="user", by="ada"),
    ws.ExecutionResumed(**COMMON, by="ada"),
    ws.ExecutionStopped(**COMMON, reason="user"),
    ws.ExecutionCompleted(**COMMON, duration_ms=1234, outputs={"rows": 10}, summary=SUMMARY),
    ws.ExecutionFailed(
        **COMMON,
        error=ws.ErrorInfo(code="node_failed", message="boom", node_id="load", details={"x": [1]}),
        duration_ms=99,
        summary=SUMMARY,
    ),
    ws.ExecutionProgress(
        **COMMON, completed=1, total=3, percent=33.3, running=["load"], eta_ms=2000
    ),
    ws.ExecutionLog(**COMMON, level="warning", message="slow", node_id="load", context={"ms": 900}),
    ws.NodeStatus(**COMMON, node_id="load", status="running", attempt=2, progress=0.25),
    ws.NodeStatus(
        **COMMON,
        node_id="load",
        status="failed",
        duration_ms=10,
        error=ws.ErrorInfo(message="timeout"),
        output=None,
    ),
    ws.NodeToken(**COMMON, node_id="llm", delta="Hel", index=0),
    ws.NodeUsage(
        **COMMON,
        node_id="llm",
        model="gpt",
        prompt_tokens=3,
        completion_tokens=5,
        total_tokens=8,
        cost=0.001,
    ),
    ws.EdgeFlow(**COMMON, source="extract", target="load", edge_id="e1", preview={"rows": 10}),
    ws.BranchStarted(**COMMON, node_ids=["a", "b"], parent_id="root"),
    ws.InputRequested(
        **COMMON, node_id="approve", prompt="Ship it?", input_schema={"type": "boolean"}
    ),
    ws.InputReceived(**COMMON, node_id="approve", by="ada"),
]

CLIENT_FRAMES: list[ws.Command] = [
    ws.Auth(ref="a1", token="secret"),
    ws.Subscribe(
        ref="s1",
        topics=["workflow:etl", "workflow:*"],
        since={"workflow:etl": ws.SincePosition(seq=40, epoch="e1")},
        snapshot=False,
    ),
    ws.Subscribe(topics=["workflow:etl"], batch=True),
    ws.Unsubscribe(ref="u1", topics=["workflow:etl"]),
    ws.Execute(
        ref="e1",
        workflow=ws.WorkflowSpec(
            id="etl",
            name="ETL",
            nodes=[
                ws.NodeSpec(id="extract", kind="sleep", params={"ms": 10}),
                ws.NodeSpec(id="load", kind="llm", name="Load"),
            ],
            edges=[ws.EdgeSpec(source="extract", target="load", id="e1")],
        ),
        inputs={"day": "2026-11-24"},
        subscribe=False,
    ),
    ws.Control(ref="c1", execution_id="ex-1", action="pause"),
    ws.Input(ref="i1", execution_id="ex-1", node_id="approve", value={"ok": True}),
    ws.ListExecutions(ref="l1"),
    ws.ListExecutions(topics=["workflow:etl", "workflow:*"], limit=10, nodes=True),
    ws.PingCommand(ts=5),
    ws.PingCommand(),
    ws.PongCommand(ts=1_764_000_000_000),
    ws.EngineServe(ref="s1", workflows=["etl"]),
    ws.EngineClaim(ref="c1", executions=["ex-1"]),
    ws.EnginePublish(
        ref="p1",
        event={
            "type": "node.status",
            "workflow_id": "etl",
            "execution_id": "ex-1",
            "node_id": "load",
            "status": "running",
        },
        idempotency_key="k1",
    ),
    ws.EngineResult(id="c1", data={"status": "paused"}),
    ws.EngineResult(
        id="c2", error=ws.CommandFailure(code=ws.ErrorCode.CONFLICT, message="it is paused")
    ),
]
