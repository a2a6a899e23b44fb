"""The fold of events into execution state, rule by rule."""

from __future__ import annotations

import msgspec

import wsproto_schema as ws
from asgi_plugin import ExecutionState, Materializer
from asgi_plugin.core.materializer import OUTPUT_KEPT_BYTES
from asgi_plugin.core.streamed import LOG_BYTES_KEPT, LOGS_KEPT, TEXT_BYTES_KEPT, TOKENS_KEPT

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


def test_tokens_and_logs_are_kept_apart_and_move_no_state() -> None:
    """Tokens and logs go into the snapshot without touching the folded state (its
    last_seq and ts, what the Redis broker rewrites per event): a snapshot reflects the
    topic position through its last_seq anyway."""
    m = Materializer()
    c = {**COMMON, "execution_id": "x"}
    events = published(
        run(
            "x",
            ws.NodeToken(**c, node_id="b", delta="hi "),
            ws.NodeToken(**c, node_id="b", delta="there"),
            ws.ExecutionLog(**c, level="info", message="m", node_id="b"),
        )
    )
    results = [m.apply(event) for event in events]
    assert results[-3:] == [None, None, None]
    state = m.get("x")
    assert state is not None and (state.last_seq, state.ts) == (6, 1006)
    snapshot = m.snapshot("x", topic_seq=9)
    assert snapshot is not None
    assert (snapshot.nodes["b"].text, snapshot.nodes["b"].tokens_omitted) == ("hi there", None)
    assert snapshot.logs == [ws.LogLine(seq=9, ts=1009, level="info", message="m", node_id="b")]
    assert snapshot.last_seq == 9
    stray = ws.NodeToken(**{**c, "execution_id": "new"}, node_id="a", delta="x")
    assert m.apply(msgspec.structs.replace(stray, seq=10, ts=10)) is None
    assert m.get("new") is None, "tokens of an execution that never started are not kept"
    assert ExecutionState.from_json(state.to_json()) == state


def test_a_snapshot_carries_what_a_client_needs_to_render_the_run() -> None:
    """Outputs, usage, the input a node waits for, the summary: a late joiner can answer
    the input and show the totals at once."""
    m = Materializer()
    c = {**COMMON, "execution_id": "x"}

    def usage(node_id: str | None, cost: float | None) -> ws.NodeUsage:
        return ws.NodeUsage(
            **c,
            node_id=node_id,
            prompt_tokens=10,
            completion_tokens=5,
            total_tokens=15,
            cost=cost,
        )

    events = published(
        [
            *run("x"),
            ws.NodeStatus(**c, node_id="b", status="running"),
            usage("b", 0.5),
            usage("b", None),
            usage(None, 0.25),
            ws.InputRequested(**c, node_id="b", prompt="Ship it?"),
            ws.NodeStatus(**c, node_id="a", status="succeeded", output={"rows": 3}),
        ]
    )
    for event in events:
        m.apply(event)
    snapshot = m.snapshot("x")
    assert snapshot is not None
    assert snapshot.nodes["a"].output == {"rows": 3}
    assert snapshot.nodes["b"].usage == ws.UsageTotals(
        prompt_tokens=20, completion_tokens=10, total_tokens=30, cost=0.5
    ), "a usage without a cost keeps the cost so far"
    assert snapshot.usage == ws.UsageTotals(
        prompt_tokens=30, completion_tokens=15, total_tokens=45, cost=0.75
    )
    assert snapshot.inputs == [ws.PendingInput(node_id="b", prompt="Ship it?", ts=1011)]
    answered = ws.InputReceived(**c, node_id="b", by="ada")
    m.apply(msgspec.structs.replace(answered, seq=13, ts=1013))
    assert m.snapshot("x").inputs == []  # type: ignore[union-attr]
    summary = ws.Summary(total=2, succeeded=2, failed=0, skipped=0)
    done = ws.ExecutionCompleted(**c, duration_ms=40, outputs={"b": "ok"}, summary=summary)
    m.apply(msgspec.structs.replace(done, seq=14, ts=1014))
    final = m.snapshot("x")
    assert final is not None
    assert (final.duration_ms, final.outputs, final.summary) == (40, {"b": "ok"}, summary)


def test_token_text_and_logs_are_bounded_and_say_what_they_leave_out() -> None:
    m = Materializer()
    c = {**COMMON, "execution_id": "x"}
    extra: list[ws.Event] = [
        ws.NodeToken(**c, node_id="b", delta=f"{i} ") for i in range(TOKENS_KEPT + 5)
    ]
    extra += [ws.ExecutionLog(**c, level="info", message=f"{i}") for i in range(LOGS_KEPT + 3)]
    for event in published(run("x", *extra)):
        m.apply(event)
    snapshot = m.snapshot("x")
    assert snapshot is not None
    node = snapshot.nodes["b"]
    assert node.tokens_omitted == 5
    assert node.text == "".join(f"{i} " for i in range(5, TOKENS_KEPT + 5))
    assert snapshot.logs_omitted == 3
    assert [line.message for line in snapshot.logs] == [f"{i}" for i in range(3, LOGS_KEPT + 3)]


def test_token_text_and_logs_are_bounded_in_bytes_too() -> None:
    """Large deltas or log messages (a frame may carry a megabyte) cannot make a snapshot,
    or what the server keeps for it, large."""
    m = Materializer()
    c = {**COMMON, "execution_id": "x"}
    extra: list[ws.Event] = [ws.NodeToken(**c, node_id="b", delta="é" * 500) for _ in range(100)]
    extra += [ws.ExecutionLog(**c, level="info", message="x" * 2000) for _ in range(40)]
    for event in published(run("x", *extra)):
        m.apply(event)
    snapshot = m.snapshot("x")
    assert snapshot is not None
    kept = TEXT_BYTES_KEPT // 1000  # each delta: 500 characters, 1,000 bytes
    assert (snapshot.nodes["b"].text, snapshot.nodes["b"].tokens_omitted) == (
        "é" * 500 * kept,
        100 - kept,
    )
    assert (len(snapshot.logs), snapshot.logs_omitted) == (
        LOG_BYTES_KEPT // 2000,
        40 - LOG_BYTES_KEPT // 2000,
    )


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


def test_a_large_node_output_is_left_out_of_snapshots() -> None:
    """The event carried it whole; a snapshot (and what the Redis broker rewrites per
    state change) would carry every node's: only outputs up to 4 KiB are kept."""
    m = Materializer()
    c = {**COMMON, "execution_id": "x"}
    big = ws.NodeStatus(**c, node_id="a", status="succeeded", output="x" * OUTPUT_KEPT_BYTES)
    small = ws.NodeStatus(**c, node_id="b", status="succeeded", output={"ok": True})
    for event in published(run("x", big, small)):
        m.apply(event)
    snapshot = m.snapshot("x")
    assert snapshot is not None
    assert (snapshot.nodes["a"].output, snapshot.nodes["b"].output) == (None, {"ok": True})
