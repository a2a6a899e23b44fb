"""An execution's state folded from its events: the one fold servers and clients share.

A server folds every published event to answer a late joiner with an
`execution.snapshot` (asgi_plugin/core/materializer.py, and the Redis broker on
every process); the Python client folds what it receives to render the same run
(flowwire/client/state.py). Both use `ExecutionState.apply`, so they cannot
disagree; the TypeScript store folds the same way and the suite compares them.

Only the stateful events (`STATEFUL`) are folded here. Token text and log lines
stream in quantity and each side keeps them its own way (the server bounded,
asgi_plugin/core/streamed.py; the client as it received them); the snapshot is
rendered from the state plus what the caller kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .base import Event
from .events import (
    EdgeInfo,
    ErrorInfo,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionPaused,
    ExecutionProgress,
    ExecutionResumed,
    ExecutionSnapshot,
    ExecutionStarted,
    ExecutionStatusValue,
    ExecutionStopped,
    InputReceived,
    InputRequested,
    LogLine,
    NodeSnapshot,
    NodeStatus,
    NodeStatusValue,
    NodeUsage,
    PendingInput,
    ProgressSnapshot,
    Summary,
    UsageTotals,
)

__all__ = [
    "FINISHED",
    "STATEFUL",
    "TERMINAL_NODE",
    "ExecutionState",
    "NodeState",
    "summarize",
]

TERMINAL_NODE = frozenset({"succeeded", "failed", "skipped", "cancelled"})
FINISHED = frozenset({"completed", "failed", "stopped"})
STATEFUL: tuple[type[Event], ...] = (
    ExecutionStarted,
    NodeStatus,
    ExecutionProgress,
    ExecutionPaused,
    ExecutionResumed,
    ExecutionStopped,
    ExecutionCompleted,
    ExecutionFailed,
    NodeUsage,
    InputRequested,
    InputReceived,
)
"""The events that change an execution's state (and move its `last_seq` and `ts`)."""

_NODE_FIELDS = ("attempt", "progress", "duration_ms", "error")


class NodeState(msgspec.Struct, omit_defaults=True):
    """One node as folded so far: the fields of its snapshot but the streamed ones."""

    status: NodeStatusValue = "pending"
    name: str | None = None
    kind: str | None = None
    attempt: int | None = None
    progress: float | None = None
    started_ts: int | None = None
    finished_ts: int | None = None
    duration_ms: int | None = None
    error: ErrorInfo | None = None
    output: Any = None

    def to_snapshot(
        self, text: str | None = None, tokens_omitted: int | None = None, usage: Any = None
    ) -> NodeSnapshot:
        return NodeSnapshot(
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
            text=text,
            tokens_omitted=tokens_omitted,
            usage=usage,
        )

    @classmethod
    def from_snapshot(cls, node: NodeSnapshot) -> NodeState:
        fields = msgspec.structs.asdict(node)
        for name in ("text", "tokens_omitted", "usage"):
            del fields[name]  # streamed: kept by the caller
        return cls(**fields)


@dataclass
class ExecutionState:
    """The mutable state of one execution, as folded so far."""

    topic: str
    workflow_id: str
    execution_id: str
    status: ExecutionStatusValue = "running"
    name: str | None = None
    nodes: dict[str, NodeState] = field(default_factory=dict)
    edges: list[EdgeInfo] = field(default_factory=list)
    order: list[str] | None = None
    """The engine's planned node order, when `execution.started` gave one."""
    reported_progress: ProgressSnapshot | None = None
    started_ts: int | None = None
    finished_ts: int | None = None
    error: ErrorInfo | None = None
    last_seq: int = 0
    ts: int = 0
    usage: dict[str, UsageTotals] = field(default_factory=dict)
    """Each node's `node.usage` summed (nodes of the graph; the others count in the total)."""
    usage_total: UsageTotals | None = None
    """Every `node.usage` summed in seq order."""
    inputs: dict[str, PendingInput] = field(default_factory=dict)
    """Input requests not answered yet, by node, oldest first."""
    outputs: dict[str, Any] | None = None
    summary: Summary | None = None
    """The node counts the execution's `completed` or `failed` event reported."""
    duration_ms: int | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_json(self) -> bytes:
        return _ENCODER.encode(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> ExecutionState:
        return _STATE_DECODER.decode(data)

    def node(self, node_id: str) -> NodeState:
        node = self.nodes.get(node_id)
        if node is None:
            node = self.nodes[node_id] = NodeState()
        return node

    def progress(self) -> ProgressSnapshot:
        """The engine's last `execution.progress`, else what the node statuses say."""
        return self.reported_progress or self.computed_progress()

    def computed_progress(self) -> ProgressSnapshot:
        total = len(self.nodes)
        done = sum(node.status in TERMINAL_NODE for node in self.nodes.values())
        running = [node_id for node_id, node in self.nodes.items() if node.status == "running"]
        percent = round(100 * done / total, 2) if total else 0.0
        return ProgressSnapshot(completed=done, total=total, percent=percent, running=running)

    def node_counts(self) -> Summary:
        """Node counts by status now (what a `failed` event for this run would report)."""
        return summarize(node.status for node in self.nodes.values())

    def apply(self, event: Event, *, output_limit: int | None = None) -> None:
        """Fold one stateful event (see `STATEFUL`; others are ignored).

        A finished execution does not move: only a new `execution.started` (a new run
        under the same id) changes it. `output_limit`: a node output whose JSON is
        larger is not kept (the event carried it whole; a snapshot is no place for it).
        """
        if not isinstance(event, STATEFUL):
            return
        if self.finished and not isinstance(event, ExecutionStarted):
            return
        self.last_seq = event.seq
        self.ts = event.ts
        if isinstance(event, ExecutionStarted):
            self._started(event)
        elif isinstance(event, NodeStatus):
            self._node_status(event, output_limit)
        elif isinstance(event, ExecutionProgress):
            self.reported_progress = ProgressSnapshot.of(event)
        elif isinstance(event, ExecutionPaused):
            self.status = "paused"
        elif isinstance(event, ExecutionResumed):
            self.status = "running"
        elif isinstance(event, (ExecutionStopped, ExecutionCompleted, ExecutionFailed)):
            self._finished(event)
        elif isinstance(event, NodeUsage):
            if event.node_id is not None and event.node_id in self.nodes:
                self.usage[event.node_id] = UsageTotals.add(self.usage.get(event.node_id), event)
            self.usage_total = UsageTotals.add(self.usage_total, event)
        elif isinstance(event, InputRequested):
            self.inputs.pop(event.node_id, None)  # asked again: the latest request, last
            self.inputs[event.node_id] = PendingInput.of(event)
        elif isinstance(event, InputReceived):
            self.inputs.pop(event.node_id, None)

    def _started(self, event: ExecutionStarted) -> None:
        self.status = "running"
        self.name = event.name
        self.started_ts = event.ts
        self.finished_ts = None
        self.error = None
        self.reported_progress = None
        self.nodes = {n.id: NodeState(name=n.name, kind=n.kind) for n in event.nodes}
        self.edges = list(event.edges)
        self.order = list(event.order) if event.order is not None else None
        self.usage, self.usage_total, self.inputs = {}, None, {}
        self.outputs = self.summary = self.duration_ms = None

    def _node_status(self, event: NodeStatus, output_limit: int | None) -> None:
        node = self.node(event.node_id)
        if event.status == "running" and node.status != "running":
            node.started_ts = event.ts
            node.finished_ts = node.error = node.duration_ms = None
        node.status = event.status
        for name in _NODE_FIELDS:
            value = getattr(event, name)
            if value is not None:
                setattr(node, name, value)
        if event.output is not None:
            fits = output_limit is None or len(_ENCODER.encode(event.output)) <= output_limit
            node.output = event.output if fits else None
        if event.status in TERMINAL_NODE:
            node.finished_ts = event.ts
            if event.status == "succeeded":
                node.progress = 1.0
        if event.status != "running":
            self.inputs.pop(event.node_id, None)

    def _finished(self, event: ExecutionStopped | ExecutionCompleted | ExecutionFailed) -> None:
        self.finished_ts = event.ts
        self.inputs = {}
        if isinstance(event, ExecutionStopped):
            self.status = "stopped"
            return
        self.summary = event.summary
        self.duration_ms = event.duration_ms
        if isinstance(event, ExecutionCompleted):
            self.status = "completed"
            self.outputs = event.outputs
        else:
            self.status = "failed"
            self.error = event.error

    def snapshot(
        self,
        *,
        text: Callable[[str], tuple[str | None, int | None]] | None = None,
        logs: Iterable[LogLine] = (),
        logs_omitted: int | None = None,
        last_seq: int | None = None,
    ) -> ExecutionSnapshot:
        """This state as an `execution.snapshot` frame, with the streamed parts the caller
        kept: `text(node_id)` gives a node's text and the deltas it leaves out."""
        nodes = {}
        for node_id, node in self.nodes.items():
            node_text, omitted = text(node_id) if text is not None else (None, None)
            nodes[node_id] = node.to_snapshot(node_text, omitted, self.usage.get(node_id))
        return ExecutionSnapshot(
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
            summary=self.summary,
            outputs=self.outputs,
            usage=self.usage_total,
            inputs=list(self.inputs.values()),
            logs=list(logs),
            logs_omitted=logs_omitted or None,
            last_seq=self.last_seq if last_seq is None else last_seq,
        )

    def restore(self, snapshot: ExecutionSnapshot) -> None:
        """Take everything but the streamed parts from a snapshot (which carries it all)."""
        self.status, self.name = snapshot.status, snapshot.name
        self.nodes = {k: NodeState.from_snapshot(n) for k, n in snapshot.nodes.items()}
        self.edges = list(snapshot.edges)
        self.started_ts, self.finished_ts = snapshot.started_ts, snapshot.finished_ts
        self.error, self.last_seq, self.ts = snapshot.error, snapshot.last_seq, snapshot.ts
        self.usage = {k: n.usage for k, n in snapshot.nodes.items() if n.usage is not None}
        self.usage_total = snapshot.usage
        self.inputs = {request.node_id: request for request in snapshot.inputs}
        self.outputs, self.summary = snapshot.outputs, snapshot.summary
        self.duration_ms = snapshot.duration_ms
        # A snapshot does not say whether its progress was reported by the engine or
        # derived from the nodes: derived when it is exactly what the nodes say.
        computed = self.computed_progress()
        self.reported_progress = None if snapshot.progress == computed else snapshot.progress


def summarize(node_statuses: Iterable[str]) -> Summary:
    """Node counts by status (cancelled nodes count as skipped)."""
    statuses = list(node_statuses)
    return Summary(
        total=len(statuses),
        succeeded=statuses.count("succeeded"),
        failed=statuses.count("failed"),
        skipped=statuses.count("skipped") + statuses.count("cancelled"),
    )


_ENCODER = msgspec.json.Encoder()
_STATE_DECODER = msgspec.json.Decoder(ExecutionState)
