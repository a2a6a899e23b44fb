"""Stream events (published on topics, numbered by `seq`) and the execution snapshot."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .base import Event, Frame, JsonValue, Part, Timestamp

__all__ = [
    "BranchStarted",
    "EdgeFlow",
    "EdgeInfo",
    "ErrorInfo",
    "ExecutionCompleted",
    "ExecutionFailed",
    "ExecutionLog",
    "ExecutionPaused",
    "ExecutionProgress",
    "ExecutionResumed",
    "ExecutionSnapshot",
    "ExecutionStarted",
    "ExecutionStatusValue",
    "ExecutionStopped",
    "InputReceived",
    "InputRequested",
    "LogLevel",
    "LogLine",
    "NodeInfo",
    "NodeSnapshot",
    "NodeStatus",
    "NodeStatusValue",
    "NodeToken",
    "NodeUsage",
    "PendingInput",
    "ProgressSnapshot",
    "Summary",
    "UsageTotals",
]

NodeStatusValue = Literal["pending", "running", "succeeded", "failed", "skipped", "cancelled"]
ExecutionStatusValue = Literal["running", "paused", "completed", "failed", "stopped"]
LogLevel = Literal["debug", "info", "warning", "error"]

Count = Annotated[int, msgspec.Meta(ge=0)]
DurationMs = Annotated[int, msgspec.Meta(ge=0)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]


class NodeInfo(Part, frozen=True, kw_only=True):
    """A node of the workflow graph, as announced by `execution.started`."""

    id: str
    name: str | None = None
    kind: str | None = None


class EdgeInfo(Part, frozen=True, kw_only=True):
    """An edge of the workflow graph: data flows from `source` to `target`."""

    id: str | None = None
    source: str
    target: str


class ErrorInfo(Part, frozen=True, kw_only=True):
    """What went wrong, fit to show to a user."""

    code: str | None = None
    message: str
    node_id: str | None = None
    details: JsonValue = None


class Summary(Part, frozen=True, kw_only=True):
    """Node counts at the end of an execution."""

    total: Count
    succeeded: Count
    failed: Count
    skipped: Count


class ExecutionStarted(Event, tag="execution.started", frozen=True, kw_only=True):
    """An execution began; carries the graph so a client can draw it."""

    name: str | None = None
    nodes: list[NodeInfo]
    edges: list[EdgeInfo]
    order: Annotated[
        list[str] | None, msgspec.Meta(description="Node ids in the order they will run.")
    ] = None
    inputs: dict[str, JsonValue] | None = None


class ExecutionPaused(Event, tag="execution.paused", frozen=True, kw_only=True):
    """No new node starts until the execution is resumed."""

    reason: str | None = None
    by: str | None = None


class ExecutionResumed(Event, tag="execution.resumed", frozen=True, kw_only=True):
    """A paused execution continues."""

    reason: str | None = None
    by: str | None = None


class ExecutionStopped(Event, tag="execution.stopped", frozen=True, kw_only=True):
    """The execution was stopped; running nodes were cancelled."""

    reason: str | None = None
    by: str | None = None


class ExecutionCompleted(Event, tag="execution.completed", frozen=True, kw_only=True):
    """Every node finished; the execution succeeded."""

    duration_ms: DurationMs
    outputs: dict[str, JsonValue] | None = None
    summary: Summary


class ExecutionFailed(Event, tag="execution.failed", frozen=True, kw_only=True):
    """The execution failed; `error` says where and why."""

    error: ErrorInfo
    duration_ms: DurationMs
    summary: Summary


class ExecutionProgress(Event, tag="execution.progress", frozen=True, kw_only=True):
    """How far the execution has come."""

    completed: Count
    total: Count
    percent: Percent
    running: list[str]
    eta_ms: DurationMs | None = None


class ExecutionLog(Event, tag="execution.log", frozen=True, kw_only=True):
    """A log line of the execution or one of its nodes."""

    level: LogLevel
    message: str
    node_id: str | None = None
    context: dict[str, JsonValue] | None = None


class NodeStatus(Event, tag="node.status", frozen=True, kw_only=True):
    """A node changed status, or reported progress while running."""

    node_id: str
    status: NodeStatusValue
    attempt: Annotated[int, msgspec.Meta(ge=1)] | None = None
    progress: Fraction | None = None
    duration_ms: DurationMs | None = None
    output: JsonValue = None
    error: ErrorInfo | None = None


class NodeToken(Event, tag="node.token", frozen=True, kw_only=True):
    """A piece of text streamed by a node (an LLM token)."""

    node_id: str
    delta: str
    index: Count | None = None


class NodeUsage(Event, tag="node.usage", frozen=True, kw_only=True):
    """Tokens (and cost) an LLM call used."""

    node_id: str | None = None
    model: str | None = None
    prompt_tokens: Count
    completion_tokens: Count
    total_tokens: Count
    cost: Annotated[float, msgspec.Meta(ge=0)] | None = None


class EdgeFlow(Event, tag="edge.flow", frozen=True, kw_only=True):
    """A node's output passed along an edge to the next node."""

    source: str
    target: str
    edge_id: str | None = None
    preview: JsonValue = None


class BranchStarted(Event, tag="branch.started", frozen=True, kw_only=True):
    """Several nodes started in parallel."""

    node_ids: list[str]
    parent_id: str | None = None


class InputRequested(Event, tag="input.requested", frozen=True, kw_only=True):
    """A node waits for the user: answer with an `input` command."""

    node_id: str
    prompt: str
    input_schema: dict[str, JsonValue] | None = None


class InputReceived(Event, tag="input.received", frozen=True, kw_only=True):
    """A node's input request was answered (by `by`): nobody else needs to answer it."""

    node_id: str
    by: str | None = None


class UsageTotals(Part, frozen=True, kw_only=True):
    """`node.usage` events summed (`cost` summed over the events that gave one)."""

    prompt_tokens: Count
    completion_tokens: Count
    total_tokens: Count
    cost: Annotated[float, msgspec.Meta(ge=0)] | None = None

    @classmethod
    def add(cls, before: UsageTotals | None, event: NodeUsage) -> UsageTotals:
        """Usage so far plus one `node.usage`, as servers and clients sum it (in seq
        order; the cost sums the events that gave one)."""
        if before is None:
            return cls(
                prompt_tokens=event.prompt_tokens,
                completion_tokens=event.completion_tokens,
                total_tokens=event.total_tokens,
                cost=event.cost,
            )
        return cls(
            prompt_tokens=before.prompt_tokens + event.prompt_tokens,
            completion_tokens=before.completion_tokens + event.completion_tokens,
            total_tokens=before.total_tokens + event.total_tokens,
            cost=before.cost if event.cost is None else (before.cost or 0.0) + event.cost,
        )


class PendingInput(Part, frozen=True, kw_only=True):
    """An `input.requested` nobody has answered yet, inside an `execution.snapshot`."""

    node_id: str
    prompt: str
    input_schema: dict[str, JsonValue] | None = None
    ts: Annotated[Timestamp, msgspec.Meta(description="When it was requested.")]

    @classmethod
    def of(cls, event: InputRequested) -> PendingInput:
        return cls(
            node_id=event.node_id,
            prompt=event.prompt,
            input_schema=event.input_schema,
            ts=event.ts,
        )


class LogLine(Part, frozen=True, kw_only=True):
    """An `execution.log` event inside an `execution.snapshot`."""

    seq: Annotated[int, msgspec.Meta(ge=1)]
    ts: Timestamp
    level: LogLevel
    message: str
    node_id: str | None = None
    context: dict[str, JsonValue] | None = None

    @classmethod
    def of(cls, event: ExecutionLog) -> LogLine:
        return cls(
            seq=event.seq,
            ts=event.ts,
            level=event.level,
            message=event.message,
            node_id=event.node_id,
            context=event.context,
        )


class NodeSnapshot(Part, frozen=True, kw_only=True):
    """One node's state inside an `execution.snapshot`."""

    status: NodeStatusValue
    name: str | None = None
    kind: str | None = None
    attempt: Annotated[int, msgspec.Meta(ge=1)] | None = None
    progress: Fraction | None = None
    started_ts: Timestamp | None = None
    finished_ts: Timestamp | None = None
    duration_ms: DurationMs | None = None
    error: ErrorInfo | None = None
    output: Annotated[JsonValue, msgspec.Meta(description="From its `succeeded` status.")] = None
    text: Annotated[
        str | None,
        msgspec.Meta(description="Its `node.token` deltas joined: the most recent 2,048 deltas."),
    ] = None
    tokens_omitted: Annotated[
        Count | None,
        msgspec.Meta(description="How many earlier deltas `text` leaves out (absent: none)."),
    ] = None
    usage: UsageTotals | None = None


class ProgressSnapshot(Part, frozen=True, kw_only=True):
    """The execution's progress inside an `execution.snapshot`."""

    completed: Count
    total: Count
    percent: Percent
    running: list[str] = []
    eta_ms: DurationMs | None = None

    @classmethod
    def of(cls, event: ExecutionProgress) -> ProgressSnapshot:
        """An engine's `execution.progress`, as a snapshot shows it."""
        return cls(
            completed=event.completed,
            total=event.total,
            percent=event.percent,
            running=list(event.running),
            eta_ms=event.eta_ms,
        )


class ExecutionSnapshot(Frame, tag="execution.snapshot", frozen=True, kw_only=True):
    """The whole state of one execution, sent on subscribe (no `seq` of its own).

    Events of the topic with `seq > last_seq` follow it; render the snapshot,
    then apply them.
    """

    topic: str
    workflow_id: str
    execution_id: str
    ts: Timestamp
    status: ExecutionStatusValue
    name: str | None = None
    nodes: dict[str, NodeSnapshot]
    edges: list[EdgeInfo] = []
    progress: ProgressSnapshot
    started_ts: Timestamp | None = None
    finished_ts: Timestamp | None = None
    error: ErrorInfo | None = None
    duration_ms: DurationMs | None = None
    summary: Summary | None = None
    outputs: dict[str, JsonValue] | None = None
    usage: Annotated[
        UsageTotals | None, msgspec.Meta(description="Every `node.usage` of the execution.")
    ] = None
    inputs: Annotated[
        list[PendingInput],
        msgspec.Meta(description="The input requests not answered yet, oldest first."),
    ] = []
    logs: Annotated[
        list[LogLine], msgspec.Meta(description="The most recent 100 `execution.log` events.")
    ] = []
    logs_omitted: Annotated[
        Count | None,
        msgspec.Meta(description="How many earlier log events `logs` leaves out (absent: none)."),
    ] = None
    last_seq: Annotated[
        int, msgspec.Meta(ge=0, description="The seq of the last event folded into this state.")
    ]
