"""Execution state folded from events on the client: the same fold as the server's.

`ExecutionStore` keeps one `ExecutionView` per execution: replaced by an
`execution.snapshot`, updated by each event after it, dropped with its topic on
a reset. The part a snapshot carries (status, nodes, edges, progress, times,
error, `last_seq`) is folded exactly as the server's materializer folds it, so
`view.to_snapshot()` equals the snapshot a server would send at the same point
(tests/clients/test_fold.py checks it on the same streams). On top, a view keeps
what only streams: each node's token text and usage, the log tail, the pending
input requests, the outputs and summary.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

import wsproto_schema as ws

__all__ = ["ExecutionStore", "ExecutionView", "NodeView", "Reset"]

TERMINAL_NODE = frozenset({"succeeded", "failed", "skipped", "cancelled"})
FINISHED = frozenset({"completed", "failed", "stopped"})
LOG_TAIL = 200

_NODE_FIELDS = ("attempt", "progress", "duration_ms", "error")


@dataclass(frozen=True)
class Reset:
    """The client lost its place in `topic` (`recovered: false`): what it held for the
    topic was dropped; snapshots of its executions follow."""

    topic: str
    seq: int = 0
    """The topic's position after the reset: events with a higher seq follow."""
    epoch: str = ""


@dataclass
class NodeView:
    """One node: the snapshot's fields, plus what streamed since the view began."""

    status: ws.NodeStatusValue = "pending"
    name: str | None = None
    kind: str | None = None
    attempt: int | None = None
    progress: float | None = None
    started_ts: int | None = None
    finished_ts: int | None = None
    duration_ms: int | None = None
    error: ws.ErrorInfo | None = None

    def to_snapshot(self) -> ws.NodeSnapshot:
        return ws.NodeSnapshot(
            status=self.status,
            name=self.name,
            kind=self.kind,
            attempt=self.attempt,
            progress=self.progress,
            started_ts=self.started_ts,
            finished_ts=self.finished_ts,
            duration_ms=self.duration_ms,
            error=self.error,
        )

    @classmethod
    def from_snapshot(cls, node: ws.NodeSnapshot) -> NodeView:
        return cls(**msgspec.structs.asdict(node))


@dataclass
class Streamed:
    """What streams past the state: kept across a snapshot of the same execution."""

    text: dict[str, str] = field(default_factory=dict)
    """Each node's tokens, joined."""
    usage: dict[str, ws.NodeUsage] = field(default_factory=dict)
    """Each node's token usage, summed (key "" when the event named no node)."""
    logs: deque[ws.ExecutionLog] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))
    inputs: dict[str, ws.InputRequested] = field(default_factory=dict)
    """Input requests not answered yet, by node."""


@dataclass
class ExecutionView:
    """The state of one execution as this client knows it."""

    topic: str
    workflow_id: str
    execution_id: str
    status: ws.ExecutionStatusValue = "running"
    name: str | None = None
    nodes: dict[str, NodeView] = field(default_factory=dict)
    edges: list[ws.EdgeInfo] = field(default_factory=list)
    reported_progress: ws.ProgressSnapshot | None = None
    started_ts: int | None = None
    finished_ts: int | None = None
    error: ws.ErrorInfo | None = None
    last_seq: int = 0
    ts: int = 0
    order: list[str] | None = None
    outputs: dict[str, Any] | None = None
    summary: ws.Summary | None = None
    duration_ms: int | None = None
    streamed: Streamed = field(default_factory=Streamed)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def node(self, node_id: str) -> NodeView:
        node = self.nodes.get(node_id)
        if node is None:
            node = self.nodes[node_id] = NodeView()
        return node

    def progress(self) -> ws.ProgressSnapshot:
        """The engine's last `execution.progress`, else what the node statuses say."""
        return self.reported_progress or self.computed_progress()

    def computed_progress(self) -> ws.ProgressSnapshot:
        total = len(self.nodes)
        done = sum(node.status in TERMINAL_NODE for node in self.nodes.values())
        running = [node_id for node_id, node in self.nodes.items() if node.status == "running"]
        percent = round(100 * done / total, 2) if total else 0.0
        return ws.ProgressSnapshot(completed=done, total=total, percent=percent, running=running)

    def to_snapshot(self) -> ws.ExecutionSnapshot:
        """This state as the `execution.snapshot` a server would send for it."""
        return ws.ExecutionSnapshot(
            topic=self.topic,
            workflow_id=self.workflow_id,
            execution_id=self.execution_id,
            ts=self.ts,
            status=self.status,
            name=self.name,
            nodes={node_id: node.to_snapshot() for node_id, node in self.nodes.items()},
            edges=list(self.edges),
            progress=self.progress(),
            started_ts=self.started_ts,
            finished_ts=self.finished_ts,
            error=self.error,
            last_seq=self.last_seq,
        )

    @classmethod
    def from_snapshot(
        cls, snapshot: ws.ExecutionSnapshot, streamed: Streamed | None = None
    ) -> ExecutionView:
        view = cls(
            topic=snapshot.topic,
            workflow_id=snapshot.workflow_id,
            execution_id=snapshot.execution_id,
            status=snapshot.status,
            name=snapshot.name,
            nodes={k: NodeView.from_snapshot(n) for k, n in snapshot.nodes.items()},
            edges=list(snapshot.edges),
            started_ts=snapshot.started_ts,
            finished_ts=snapshot.finished_ts,
            error=snapshot.error,
            last_seq=snapshot.last_seq,
            ts=snapshot.ts,
            streamed=streamed or Streamed(),
        )
        # A snapshot does not say whether its progress was reported by the engine or
        # derived from the nodes: derived when it is exactly what the nodes say.
        if snapshot.progress != view.computed_progress():
            view.reported_progress = snapshot.progress
        return view

    # -- the fold ---------------------------------------------------------------------

    def apply(self, event: ws.Event) -> None:
        """Fold one event: the state part as the server's materializer does, and what streams."""
        if isinstance(event, _STATEFUL):
            self.last_seq = event.seq
            self.ts = event.ts
        streamed = self.streamed
        if isinstance(event, ws.ExecutionStarted):
            self._started(event)
        elif isinstance(event, ws.NodeStatus):
            self._node_status(event)
        elif isinstance(event, ws.ExecutionProgress):
            self.reported_progress = ws.ProgressSnapshot(
                completed=event.completed,
                total=event.total,
                percent=event.percent,
                running=list(event.running),
                eta_ms=event.eta_ms,
            )
        elif isinstance(event, ws.ExecutionPaused):
            self.status = "paused"
        elif isinstance(event, ws.ExecutionResumed):
            self.status = "running"
        elif isinstance(event, (ws.ExecutionStopped, ws.ExecutionCompleted, ws.ExecutionFailed)):
            self._finished(event)
        elif isinstance(event, ws.NodeToken):
            streamed.text[event.node_id] = streamed.text.get(event.node_id, "") + event.delta
        elif isinstance(event, ws.NodeUsage):
            self._usage(event)
        elif isinstance(event, ws.ExecutionLog):
            streamed.logs.append(event)
        elif isinstance(event, ws.InputRequested):
            streamed.inputs[event.node_id] = event

    def _started(self, event: ws.ExecutionStarted) -> None:
        self.status = "running"
        self.name = event.name
        self.started_ts = event.ts
        self.finished_ts = None
        self.error = None
        self.reported_progress = None
        self.nodes = {n.id: NodeView(name=n.name, kind=n.kind) for n in event.nodes}
        self.edges = list(event.edges)
        self.order = list(event.order) if event.order is not None else None

    def _node_status(self, event: ws.NodeStatus) -> None:
        node = self.node(event.node_id)
        if event.status == "running" and node.status != "running":
            node.started_ts = event.ts
            node.finished_ts = None
            node.error = None
            node.duration_ms = None
        node.status = event.status
        for name in _NODE_FIELDS:
            value = getattr(event, name)
            if value is not None:
                setattr(node, name, value)
        if event.status in TERMINAL_NODE:
            node.finished_ts = event.ts
            if event.status == "succeeded":
                node.progress = 1.0
        if event.status != "running":
            self.streamed.inputs.pop(event.node_id, None)

    def _finished(
        self, event: ws.ExecutionStopped | ws.ExecutionCompleted | ws.ExecutionFailed
    ) -> None:
        self.finished_ts = event.ts
        self.streamed.inputs.clear()
        if isinstance(event, ws.ExecutionStopped):
            self.status = "stopped"
            return
        self.summary = event.summary
        self.duration_ms = event.duration_ms
        if isinstance(event, ws.ExecutionCompleted):
            self.status = "completed"
            self.outputs = event.outputs
        else:
            self.status = "failed"
            self.error = event.error

    def _usage(self, event: ws.NodeUsage) -> None:
        key = event.node_id or ""
        before = self.streamed.usage.get(key)
        if before is not None:
            event = msgspec.structs.replace(
                event,
                prompt_tokens=before.prompt_tokens + event.prompt_tokens,
                completion_tokens=before.completion_tokens + event.completion_tokens,
                total_tokens=before.total_tokens + event.total_tokens,
                cost=None if event.cost is None else (before.cost or 0) + event.cost,
            )
        self.streamed.usage[key] = event

    def total_usage(self) -> tuple[int, int, float | None]:
        """(prompt tokens, completion tokens, cost) over every node."""
        usage = self.streamed.usage.values()
        costs = [u.cost for u in usage if u.cost is not None]
        return (
            sum(u.prompt_tokens for u in usage),
            sum(u.completion_tokens for u in usage),
            sum(costs) if costs else None,
        )


_STATEFUL: tuple[type[ws.Event], ...] = (
    ws.ExecutionStarted,
    ws.NodeStatus,
    ws.ExecutionProgress,
    ws.ExecutionPaused,
    ws.ExecutionResumed,
    ws.ExecutionStopped,
    ws.ExecutionCompleted,
    ws.ExecutionFailed,
)
"""The events that change the state part; the others only stream (as on the server)."""


class ExecutionStore:
    """Every execution the client has seen, by `execution_id`."""

    def __init__(self) -> None:
        self.views: dict[str, ExecutionView] = {}
        self._carried: dict[str, tuple[str, Streamed]] = {}
        """What streamed, of executions dropped by a reset: (topic, streamed) by id."""

    def get(self, execution_id: str) -> ExecutionView | None:
        return self.views.get(execution_id)

    def executions(self, topic: str | None = None) -> list[ExecutionView]:
        return [v for v in self.views.values() if topic is None or v.topic == topic]

    def apply_snapshot(self, snapshot: ws.ExecutionSnapshot) -> ExecutionView:
        """Replace what is held for the snapshot's execution (what streamed stays)."""
        before = self.views.get(snapshot.execution_id)
        streamed = before.streamed if before is not None else None
        if streamed is None and (carried := self._carried.pop(snapshot.execution_id, None)):
            streamed = carried[1]
        view = self.views[snapshot.execution_id] = ExecutionView.from_snapshot(snapshot, streamed)
        return view

    def apply_event(self, event: ws.Event) -> ExecutionView | None:
        """Fold an event into its execution; None when a snapshot already covers it."""
        view = self.views.get(event.execution_id)
        if view is None:
            view = self.views[event.execution_id] = ExecutionView(
                event.topic, event.workflow_id, event.execution_id
            )
        elif event.seq <= view.last_seq and view.topic == event.topic:
            return None
        view.apply(event)
        return view

    def reset(self, topic: str) -> None:
        """Drop the topic's executions: snapshots rebuild them (what streamed is kept
        for an execution whose snapshot comes)."""
        for execution_id in [k for k, (t, _) in self._carried.items() if t == topic]:
            del self._carried[execution_id]  # from an older reset: no snapshot came for it
        for execution_id in [k for k, v in self.views.items() if v.topic == topic]:
            self._carried[execution_id] = (topic, self.views.pop(execution_id).streamed)
