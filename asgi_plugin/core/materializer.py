"""Execution state folded from events: what a client that joins mid-run must see first.

`Materializer.apply(event)` folds one published event into the state of its
execution; `snapshots(topic)` renders each execution of a topic as an
`execution.snapshot` frame. The fold is deterministic: the same events give the
same state on every process, and the clients fold them the same way
(clients/typescript/src/store.ts, flowwire/client/state.py; tests/clients
compare them). Token text and log lines are kept apart, bounded (streamed.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

import wsproto_schema as ws

from .streamed import STREAMED, Streamed

__all__ = [
    "OUTPUT_KEPT_BYTES",
    "STATEFUL",
    "TERMINAL_NODE",
    "ExecutionState",
    "Materializer",
    "fold",
    "summarize",
]

OUTPUT_KEPT_BYTES = 4096
"""A node's output is kept for snapshots up to this size, encoded as JSON (the event
itself carried it whole)."""
TERMINAL_NODE = frozenset({"succeeded", "failed", "skipped", "cancelled"})
FINISHED = frozenset({"completed", "failed", "stopped"})
STATEFUL: tuple[type[ws.Event], ...] = (
    ws.ExecutionStarted,
    ws.NodeStatus,
    ws.ExecutionProgress,
    ws.ExecutionPaused,
    ws.ExecutionResumed,
    ws.ExecutionStopped,
    ws.ExecutionCompleted,
    ws.ExecutionFailed,
    ws.NodeUsage,
    ws.InputRequested,
    ws.InputReceived,
)
"""The events that change an execution's state (and its `last_seq` and `ts`). Tokens and
logs are kept apart (`Streamed`); the others only stream."""


@dataclass
class ExecutionState:
    """The mutable state of one execution, as folded so far."""

    topic: str
    workflow_id: str
    execution_id: str
    status: ws.ExecutionStatusValue = "running"
    name: str | None = None
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[ws.EdgeInfo] = field(default_factory=list)
    reported_progress: ws.ProgressSnapshot | None = None
    started_ts: int | None = None
    finished_ts: int | None = None
    error: ws.ErrorInfo | None = None
    last_seq: int = 0
    ts: int = 0
    usage: dict[str, ws.UsageTotals] = field(default_factory=dict)
    """Each node's `node.usage` summed (nodes of the graph; the others count in the total)."""
    usage_total: ws.UsageTotals | None = None
    """Every `node.usage` summed in seq order (as the clients sum them)."""
    inputs: dict[str, ws.PendingInput] = field(default_factory=dict)
    """Input requests not answered yet, by node, oldest first."""
    outputs: dict[str, Any] | None = None
    final_summary: ws.Summary | None = None
    duration_ms: int | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_json(self) -> bytes:
        return _ENCODER.encode(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> ExecutionState:
        return _DECODER.decode(data)

    def node(self, node_id: str) -> dict[str, Any]:
        return self.nodes.setdefault(node_id, {"status": "pending"})

    def progress(self) -> ws.ProgressSnapshot:
        """The engine's last `execution.progress`, else what the node statuses say."""
        if self.reported_progress is not None:
            return self.reported_progress
        total = len(self.nodes)
        done = sum(node["status"] in TERMINAL_NODE for node in self.nodes.values())
        running = [node_id for node_id, node in self.nodes.items() if node["status"] == "running"]
        percent = round(100 * done / total, 2) if total else 0.0
        return ws.ProgressSnapshot(completed=done, total=total, percent=percent, running=running)

    def summary(self) -> ws.Summary:
        """Node counts, as `execution.completed` and `execution.failed` report them."""
        return summarize(node["status"] for node in self.nodes.values())

    def snapshot(
        self, topic_seq: int | None = None, streamed: Streamed | None = None
    ) -> ws.ExecutionSnapshot:
        """This state as a frame; `last_seq` is the topic position it reflects."""
        nodes = {}
        for node_id, node in self.nodes.items():
            text, omitted = streamed.text(node_id) if streamed is not None else (None, None)
            nodes[node_id] = ws.NodeSnapshot(
                **node, text=text, tokens_omitted=omitted, usage=self.usage.get(node_id)
            )
        return ws.ExecutionSnapshot(
            topic=self.topic,
            workflow_id=self.workflow_id,
            execution_id=self.execution_id,
            ts=self.ts,
            status=self.status,
            name=self.name,
            nodes=nodes,
            edges=list(self.edges),
            progress=self.progress(),
            started_ts=self.started_ts,
            finished_ts=self.finished_ts,
            error=self.error,
            duration_ms=self.duration_ms,
            summary=self.final_summary,
            outputs=self.outputs,
            usage=self.usage_total,
            inputs=list(self.inputs.values()),
            logs=list(streamed.logs) if streamed is not None else [],
            logs_omitted=streamed.logs_omitted or None if streamed is not None else None,
            last_seq=self.last_seq if topic_seq is None else max(topic_seq, self.last_seq),
        )


def summarize(node_statuses: Iterable[str]) -> ws.Summary:
    """Node counts by status (cancelled nodes count as skipped)."""
    statuses = list(node_statuses)
    return ws.Summary(
        total=len(statuses),
        succeeded=statuses.count("succeeded"),
        failed=statuses.count("failed"),
        skipped=statuses.count("skipped") + statuses.count("cancelled"),
    )


def _pending(node: ws.NodeInfo) -> dict[str, Any]:
    state: dict[str, Any] = {"status": "pending"}
    if node.name is not None:
        state["name"] = node.name
    if node.kind is not None:
        state["kind"] = node.kind
    return state


def fold(state: ExecutionState, event: ws.Event) -> None:
    """Apply one stateful event (see `STATEFUL`) to its execution's state.

    A finished execution does not move: only a new `execution.started` (a new run
    under the same id) changes it. Events an engine publishes after the end are
    still delivered, but they change nothing a late joiner is shown.
    """
    if state.finished and not isinstance(event, ws.ExecutionStarted):
        return
    state.last_seq = event.seq
    state.ts = event.ts
    if isinstance(event, ws.ExecutionStarted):
        state.status = "running"
        state.name = event.name
        state.started_ts = event.ts
        state.finished_ts = None
        state.error = None
        state.reported_progress = None
        state.nodes = {node.id: _pending(node) for node in event.nodes}
        state.edges = list(event.edges)
        state.usage, state.usage_total, state.inputs = {}, None, {}
        state.outputs = state.final_summary = state.duration_ms = None
    elif isinstance(event, ws.NodeStatus):
        node = state.node(event.node_id)
        if event.status == "running" and node["status"] != "running":
            node["started_ts"] = event.ts
            node.pop("finished_ts", None)
            node.pop("error", None)
            node.pop("duration_ms", None)
        node["status"] = event.status
        for name in ("attempt", "progress", "duration_ms", "error"):
            value = getattr(event, name)
            if value is not None:
                node[name] = value
        if event.output is not None:
            if len(_ENCODER.encode(event.output)) <= OUTPUT_KEPT_BYTES:
                node["output"] = event.output
            else:  # a snapshot is no place for a large result: the event carried it
                node.pop("output", None)
        if event.status in TERMINAL_NODE:
            node["finished_ts"] = event.ts
            if event.status == "succeeded":
                node["progress"] = 1.0
        if event.status != "running":
            state.inputs.pop(event.node_id, None)
    elif isinstance(event, ws.ExecutionProgress):
        state.reported_progress = ws.ProgressSnapshot.of(event)
    elif isinstance(event, ws.ExecutionPaused):
        state.status = "paused"
    elif isinstance(event, ws.ExecutionResumed):
        state.status = "running"
    elif isinstance(event, (ws.ExecutionStopped, ws.ExecutionCompleted, ws.ExecutionFailed)):
        state.status = {
            ws.ExecutionStopped: "stopped",
            ws.ExecutionCompleted: "completed",
            ws.ExecutionFailed: "failed",
        }[type(event)]  # type: ignore[assignment]
        state.finished_ts = event.ts
        state.inputs = {}
        if isinstance(event, ws.ExecutionFailed):
            state.error = event.error
        if not isinstance(event, ws.ExecutionStopped):
            state.final_summary = event.summary
            state.duration_ms = event.duration_ms
        if isinstance(event, ws.ExecutionCompleted):
            state.outputs = event.outputs
    elif isinstance(event, ws.NodeUsage):
        if event.node_id in state.nodes:  # a node of the graph: shown on the node too
            state.usage[event.node_id] = ws.UsageTotals.add(state.usage.get(event.node_id), event)
        state.usage_total = ws.UsageTotals.add(state.usage_total, event)
    elif isinstance(event, ws.InputRequested):
        state.inputs.pop(event.node_id, None)  # asked again: the latest request, last
        state.inputs[event.node_id] = ws.PendingInput.of(event)
    elif isinstance(event, ws.InputReceived):
        state.inputs.pop(event.node_id, None)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(ExecutionState)


class Materializer:
    """The state of every execution of every topic, within retention limits.

    Running and paused executions are kept until they finish; of finished ones,
    the `finished_snapshots` most recent per topic are kept.
    """

    def __init__(self, *, finished_snapshots: int = 20) -> None:
        self.finished_snapshots = finished_snapshots
        self._topics: dict[str, OrderedDict[str, ExecutionState]] = {}
        self._topic_of: dict[str, str] = {}
        self._streamed: dict[str, Streamed] = {}

    def apply(self, event: ws.Event) -> ExecutionState | None:
        """Fold a published event; None when the state did not change (tokens and logs
        are kept for the snapshot, while the execution runs)."""
        if isinstance(event, STREAMED):
            state = self.get(event.execution_id)
            if state is not None and not state.finished:
                streamed = self._streamed.get(event.execution_id)
                if streamed is None:
                    streamed = self._streamed[event.execution_id] = Streamed()
                streamed.add(event)
            return None
        if not isinstance(event, STATEFUL):
            return None
        executions = self._topics.setdefault(event.topic, OrderedDict())
        state = executions.get(event.execution_id)
        if state is None:
            state = executions[event.execution_id] = ExecutionState(
                event.topic, event.workflow_id, event.execution_id
            )
            self._topic_of[event.execution_id] = event.topic
        if isinstance(event, ws.ExecutionStarted):
            self._streamed.pop(event.execution_id, None)  # a new run: its own text and logs
        fold(state, event)
        if state.finished:
            executions.move_to_end(event.execution_id)
            self._trim(executions)
        return state

    def _trim(self, executions: OrderedDict[str, ExecutionState]) -> None:
        finished = [key for key, state in executions.items() if state.finished]
        for key in finished[: max(0, len(finished) - self.finished_snapshots)]:
            del executions[key]
            self._topic_of.pop(key, None)
            self._streamed.pop(key, None)

    def get(self, execution_id: str) -> ExecutionState | None:
        topic = self._topic_of.get(execution_id)
        return None if topic is None else self._topics[topic].get(execution_id)

    def topic_of(self, execution_id: str) -> str | None:
        return self._topic_of.get(execution_id)

    def topics(self) -> list[str]:
        return list(self._topics)

    def executions(self, topic: str) -> list[ExecutionState]:
        return list(self._topics.get(topic, {}).values())

    def snapshot(
        self, execution_id: str, topic_seq: int | None = None
    ) -> ws.ExecutionSnapshot | None:
        """One execution's snapshot (None when it is not kept)."""
        state = self.get(execution_id)
        if state is None:
            return None
        return state.snapshot(topic_seq, self._streamed.get(execution_id))

    def snapshots(
        self, topic: str, *, live_only: bool, topic_seq: int | None = None
    ) -> list[ws.ExecutionSnapshot]:
        return [
            state.snapshot(topic_seq, self._streamed.get(state.execution_id))
            for state in self.executions(topic)
            if not (live_only and state.finished)
        ]

    def forget(self, topic: str) -> None:
        for execution_id in self._topics.pop(topic, {}):
            self._topic_of.pop(execution_id, None)
            self._streamed.pop(execution_id, None)
