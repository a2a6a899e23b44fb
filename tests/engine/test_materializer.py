"""The fold of events into execution state, rule by rule."""

from __future__ import annotations

import msgspec

import wsproto_schema as ws
from asgi_plugin import ExecutionState, Materializer

COMMON = {"topic": "workflow:w", "workflow_id": "w"}


def published(events: list[ws.Event]) -> list[ws.Event]:
    return [msgspec.structs.replace(e, seq=i, ts=1000 + i) for i, e in enumerate(events, start=1)]


def run(execution: str = "x", *extra: ws.Event) -> list[ws.Event]:
    c = {**COMMON, "execution_id": execution}
    return [
        ws.ExecutionStarted(
            **c,
            name="N",
            nodes=[ws.NodeInfo(id="a", kind="sleep"), ws.NodeInfo(id="b", name="B")],
            edges=[ws.EdgeInfo(source="a", target="b")],
        ),
        ws.NodeStatus(**c, node_id="a", status="running", attempt=1),
        ws.NodeStatus(**c, node_id="a", status="running", progress=0.5),
        ws.NodeStatus(
            **c, node_id="a", status="failed", attempt=1, error=ws.ErrorInfo(message="x")
        ),
        ws.NodeStatus(**c, node_id="a", status="running", attempt=2),
        ws.NodeStatus(**c, node_id="a", status="succeeded", attempt=2, duration_ms=7),
        *extra,
    ]


def test_nodes_fold_through_retries() -> None:
    m = Materializer()
    for event in published(run()):
        m.apply(event)
    [snapshot] = m.snapshots("workflow:w", live_only=True)
    assert snapshot.nodes == {
        "a": ws.NodeSnapshot(
            status="succeeded",
            kind="sleep",
            attempt=2,
            progress=1.0,
            started_ts=1005,
            finished_ts=1006,
            duration_ms=7,
        ),
        "b": ws.NodeSnapshot(status="pending", name="B"),
    }
    assert snapshot.progress == ws.ProgressSnapshot(completed=1, total=2, percent=50.0, running=[])
    assert (snapshot.status, snapshot.name, snapshot.started_ts, snapshot.last_seq) == (
        "running",
        "N",
        1001,
        6,
    )
    assert snapshot.edges == [ws.EdgeInfo(source="a", target="b")]


def test_reported_progress_wins_and_statuses_follow_control_events() -> None:
    c = {**COMMON, "execution_id": "x"}
    m = Materializer()
    extra = [
        ws.ExecutionProgress(**c, completed=1, total=2, percent=50.0, running=["b"], eta_ms=900),
        ws.ExecutionPaused(**c),
    ]
    for event in published(run("x", *extra)):
        state = m.apply(event)
    assert state.status == "paused"
    assert state.snapshot().progress == ws.ProgressSnapshot(
        completed=1, total=2, percent=50.0, running=["b"], eta_ms=900
    )
    for kind, status in ((ws.ExecutionResumed, "running"), (ws.ExecutionStopped, "stopped")):
        state = m.apply(msgspec.structs.replace(kind(**c), seq=20, ts=2000))
        assert state.status == status
    assert state.finished and state.finished_ts == 2000
    ended = ws.ExecutionFailed(
        **{**c, "execution_id": "y"},
        error=ws.ErrorInfo(message="boom"),
        duration_ms=1,
        summary=ws.Summary(total=0, succeeded=0, failed=0, skipped=0),
    )
    failed = m.apply(msgspec.structs.replace(ended, seq=21, ts=2001))
    assert (failed.status, failed.error) == ("failed", ws.ErrorInfo(message="boom"))


def test_streaming_events_leave_the_state_alone() -> None:
    """Tokens, logs, usage, flows: streamed, not folded (a snapshot reflects the topic
    position through its last_seq anyway)."""
    m = Materializer()
    c = {**COMMON, "execution_id": "x"}
    events = published(
        run(
            "x",
            ws.NodeToken(**c, node_id="a", delta="hi"),
            ws.ExecutionLog(**c, level="info", message="m"),
        )
    )
    results = [m.apply(event) for event in events]
    assert results[-2:] == [None, None]
    state = m.get("x")
    assert state is not None and (state.last_seq, state.ts) == (6, 1006)
    assert (
        m.apply(
            msgspec.structs.replace(
                ws.NodeToken(**{**c, "execution_id": "new"}, node_id="a", delta="x"), seq=9, ts=9
            )
        )
        is None
    )
    assert m.get("new") is None
    assert ExecutionState.from_json(state.to_json()) == state


def test_retention_keeps_live_runs_and_the_latest_finished() -> None:
    m = Materializer(finished_snapshots=2)
    done = ws.ExecutionCompleted(
        **{**COMMON, "execution_id": "?"},
        duration_ms=1,
        summary=ws.Summary(total=0, succeeded=0, failed=0, skipped=0),
    )
    seq = 0
    for execution in ("live", "f1", "f2", "f3"):
        for event in run(execution):
            seq += 1
            m.apply(msgspec.structs.replace(event, seq=seq, ts=seq))
        if execution != "live":
            seq += 1
            m.apply(msgspec.structs.replace(done, execution_id=execution, seq=seq, ts=seq))
    assert [s.execution_id for s in m.executions("workflow:w")] == ["live", "f2", "f3"]
    assert [s.execution_id for s in m.snapshots("workflow:w", live_only=True)] == ["live"]
    assert m.topic_of("f1") is None and m.topic_of("f3") == "workflow:w"
    assert m.get("live") is not None and m.get("f1") is None
