"""Execution state folded from events on the client: the same fold as the server's.

`ExecutionStore` keeps one `ExecutionView` per execution: replaced by an
`execution.snapshot`, updated by each event after it, dropped with its topic on
a reset. Everything a snapshot carries (status, nodes and their outputs, edges,
progress, times, error, usage, the pending input requests, the log tail, each
node's token text) is folded exactly as the server's materializer folds it, so
`view.to_snapshot()` equals the snapshot a server would send at the same point
while the text and logs are within the server's bounds (tests/clients/test_fold.py
checks it on the same streams). A client that joins mid-run renders the same
state at once.
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
SNAPSHOT_LOGS = 100
"""The log lines a server's snapshot carries (asgi_plugin/core/streamed.py)."""

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
    output: Any = None

    def to_snapshot(self, streamed: Streamed, node_id: str) -> ws.NodeSnapshot:
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
            output=self.output,
            text=streamed.text.get(node_id) or None,
            tokens_omitted=streamed.tokens_omitted.get(node_id),
            usage=streamed.usage.get(node_id),
        )

    @classmethod
    def from_snapshot(cls, node: ws.NodeSnapshot) -> NodeView:
        fields = msgspec.structs.asdict(node)
        for name in ("text", "tokens_omitted", "usage"):
            del fields[name]  # kept in the view's `streamed`
        return cls(**fields)


@dataclass
class Streamed:
    """What streams alongside the nodes' statuses (a snapshot carries it too)."""

    text: dict[str, str] = field(default_factory=dict)
    """Each node's tokens, joined."""
    tokens_omitted: dict[str, int] = field(default_factory=dict)
    """Per node, the deltas before `text` this client never got (its snapshot left them out)."""
    usage: dict[str, ws.UsageTotals] = field(default_factory=dict)
    """Each node's token usage, summed (nodes of the graph; the others count in the total)."""
    usage_total: ws.UsageTotals | None = None
    """Every `node.usage` of the execution, summed."""
    logs: deque[ws.LogLine] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))
    logs_omitted: int = 0
    """Log lines before `logs` this client does not hold."""
    inputs: dict[str, ws.PendingInput] = field(default_factory=dict)
    """Input requests not answered yet, by node, oldest first."""

    def log(self, line: ws.LogLine) -> None:
        if len(self.logs) == self.logs.maxlen:
            self.logs_omitted += 1
        self.logs.append(line)

    @classmethod
    def from_snapshot(cls, snapshot: ws.ExecutionSnapshot) -> Streamed:
        streamed = cls(
            usage={k: n.usage for k, n in snapshot.nodes.items() if n.usage is not None},
            usage_total=snapshot.usage,
            logs_omitted=snapshot.logs_omitted or 0,
            inputs={request.node_id: request for request in snapshot.inputs},
        )
        streamed.logs.extend(snapshot.logs)
        for node_id, node in snapshot.nodes.items():
            if node.text is not None:
                streamed.text[node_id] = node.text
            if node.tokens_omitted is not None:
                streamed.tokens_omitted[node_id] = node.tokens_omitted
        return streamed


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
        streamed = self.streamed
        logs = list(streamed.logs)[-SNAPSHOT_LOGS:]
        omitted = streamed.logs_omitted + len(streamed.logs) - len(logs)
        return ws.ExecutionSnapshot(
            topic=self.topic,
            workflow_id=self.workflow_id,
            execution_id=self.execution_id,
            ts=self.ts,
            status=self.status,
            name=self.name,
            nodes={k: node.to_snapshot(streamed, k) for k, node in self.nodes.items()},
            edges=list(self.edges),
            progress=self.progress(),
            started_ts=self.started_ts,
            finished_ts=self.finished_ts,
            error=self.error,
            duration_ms=self.duration_ms,
            summary=self.summary,
            outputs=self.outputs,
            usage=streamed.usage_total,
            inputs=list(streamed.inputs.values()),
            logs=logs,
            logs_omitted=omitted or None,
            last_seq=self.last_seq,
        )

    @classmethod
    def from_snapshot(cls, snapshot: ws.ExecutionSnapshot) -> ExecutionView:
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
            outputs=snapshot.outputs,
            summary=snapshot.summary,
            duration_ms=snapshot.duration_ms,
            streamed=Streamed.from_snapshot(snapshot),
        )
        # A snapshot does not say whether its progress was reported by the engine or
        # derived from the nodes: derived when it is exactly what the nodes say.
        if snapshot.progress != view.computed_progress():
            view.reported_progress = snapshot.progress
        return view

    # -- the fold ---------------------------------------------------------------------

    def apply(self, event: ws.Event) -> None:
        """Fold one event as the server's materializer does. A finished execution does
        not move: only a new `execution.started` (a new run under the same id) changes it."""
        if self.finished and not isinstance(event, ws.ExecutionStarted):
            return
        if isinstance(event, _STATEFUL):
            self.last_seq = event.seq
            self.ts = event.ts
        streamed = self.streamed
        if isinstance(event, ws.ExecutionStarted):
            self._started(event)
        elif isinstance(event, ws.NodeStatus):
            self._node_status(event)
        elif isinstance(event, ws.ExecutionProgress):
            self.reported_progress = ws.ProgressSnapshot.of(event)
        elif isinstance(event, ws.ExecutionPaused):
            self.status = "paused"
        elif isinstance(event, ws.ExecutionResumed):
            self.status = "running"
        elif isinstance(event, (ws.ExecutionStopped, ws.ExecutionCompleted, ws.ExecutionFailed)):
            self._finished(event)
        elif isinstance(event, ws.NodeToken):
            streamed.text[event.node_id] = streamed.text.get(event.node_id, "") + event.delta
        elif isinstance(event, ws.NodeUsage):
            if event.node_id is not None and event.node_id in self.nodes:
                node_usage = streamed.usage.get(event.node_id)
                streamed.usage[event.node_id] = ws.UsageTotals.add(node_usage, event)
            streamed.usage_total = ws.UsageTotals.add(streamed.usage_total, event)
        elif isinstance(event, ws.ExecutionLog):
            streamed.log(ws.LogLine.of(event))
        elif isinstance(event, ws.InputRequested):
            streamed.inputs.pop(event.node_id, None)  # asked again: the latest request, last
            streamed.inputs[event.node_id] = ws.PendingInput.of(event)
        elif isinstance(event, ws.InputReceived):
            streamed.inputs.pop(event.node_id, None)

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
        self.outputs = self.summary = self.duration_ms = None
        self.streamed = Streamed()

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
        if event.output is not None:
            node.output = event.output
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

    def total_usage(self) -> tuple[int, int, float | None]:
        """(prompt tokens, completion tokens, cost) over every node."""
        total = self.streamed.usage_total
        if total is None:
            return 0, 0, None
        return total.prompt_tokens, total.completion_tokens, total.cost


_STATEFUL: tuple[type[ws.Event], ...] = (
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
"""The events that move `last_seq` and `ts` (as on the server); tokens and logs do not."""


class ExecutionStore:
    """Every execution the client has seen, by `execution_id`."""

    def __init__(self) -> None:
        self.views: dict[str, ExecutionView] = {}

    def get(self, execution_id: str) -> ExecutionView | None:
        return self.views.get(execution_id)

    def executions(self, topic: str | None = None) -> list[ExecutionView]:
        return [v for v in self.views.values() if topic is None or v.topic == topic]

    def apply_snapshot(self, snapshot: ws.ExecutionSnapshot) -> ExecutionView:
        """Replace what is held for the snapshot's execution: it carries everything."""
        view = self.views[snapshot.execution_id] = ExecutionView.from_snapshot(snapshot)
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
        """Drop the topic's executions: the snapshots that follow rebuild them."""
        for execution_id in [k for k, v in self.views.items() if v.topic == topic]:
            del self.views[execution_id]
