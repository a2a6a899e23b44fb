"""The `type-data` profile: `{type, timestamp, data: {…}}`, one topic per workflow in the URL.

The shape of reference system 004 (a FastAPI helper per workflow): `workflow_start`,
`node_status` (`pending`, `running`, `completed`, `error`), `edge_flow`, `progress`,
`log`, `error`, `workflow_complete`; ISO 8601 timestamps; the client's text `ping`
is answered `{"type": "pong"}`. Its clients send no JSON command (runs start over
HTTP). Canonical frames it has no name for are dropped: `welcome`, `reply`, the
server's `ping`, `goaway`, `execution.snapshot`, `execution.paused`/`resumed`,
`node.token`, `node.usage`, `branch.started`, `input.requested`/`received`, and
application events.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec

from wsproto_schema import events as ev
from wsproto_schema.base import Event, Frame, JsonValue
from wsproto_schema.codes import ErrorCode
from wsproto_schema.control import ErrorFrame, Pong

from .base import Profile, iso_ts, ms_of_iso

__all__ = [
    "EdgeFlowData",
    "EdgeFlowFrame",
    "ErrorData",
    "LogData",
    "LogFrame",
    "NodeStatusData",
    "NodeStatusFrame",
    "PongFrame",
    "ProgressData",
    "ProgressFrame",
    "TypeDataErrorFrame",
    "TypeDataProfile",
    "WorkflowCompleteData",
    "WorkflowCompleteFrame",
    "WorkflowStartData",
    "WorkflowStartFrame",
]

TypeDataStatus = Literal["pending", "running", "completed", "error"]


class _Frame(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    timestamp: str
    """ISO 8601, UTC."""


class _Data(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: str
    execution_id: str


class WorkflowStartData(_Data, frozen=True, kw_only=True):
    execution_order: list[str]
    total_nodes: int


class WorkflowStartFrame(_Frame, tag="workflow_start", frozen=True, kw_only=True):
    """An execution began (`execution.started`)."""

    data: WorkflowStartData


class WorkflowCompleteData(_Data, frozen=True, kw_only=True):
    success: bool
    execution_time: float
    """Seconds."""
    errors: list[str]


class WorkflowCompleteFrame(_Frame, tag="workflow_complete", frozen=True, kw_only=True):
    """The execution ended: `execution.completed` (success) or `.stopped` (not)."""

    data: WorkflowCompleteData


class NodeStatusData(_Data, frozen=True, kw_only=True):
    node_id: str
    status: TypeDataStatus
    result: JsonValue = None
    error: str | None = None
    progress: float | None = None


class NodeStatusFrame(_Frame, tag="node_status", frozen=True, kw_only=True):
    """`node.status`: succeeded → `completed`; failed and cancelled → `error`; skipped →
    `pending`."""

    data: NodeStatusData


class EdgeFlowData(_Data, frozen=True, kw_only=True):
    source_node_id: str
    target_node_id: str
    edge_id: str | None = None
    data: JsonValue = None


class EdgeFlowFrame(_Frame, tag="edge_flow", frozen=True, kw_only=True):
    """`edge.flow`: `data` is its preview."""

    data: EdgeFlowData


class ProgressData(_Data, frozen=True, kw_only=True):
    current_step: int
    total_steps: int
    progress: float
    """Percent, 0..100."""
    current_node_id: str | None = None


class ProgressFrame(_Frame, tag="progress", frozen=True, kw_only=True):
    """`execution.progress`."""

    data: ProgressData


class LogData(_Data, frozen=True, kw_only=True):
    level: Literal["debug", "info", "warning", "error"]
    message: str
    node_id: str | None = None


class LogFrame(_Frame, tag="log", frozen=True, kw_only=True):
    """`execution.log`."""

    data: LogData


class ErrorData(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: str | None = None
    execution_id: str | None = None
    error: str
    node_id: str | None = None
    code: str | None = None


class TypeDataErrorFrame(_Frame, tag="error", frozen=True, kw_only=True):
    """The execution failed (`execution.failed`: with its ids and the failing node), or a
    command or subscription was refused (an `error` frame: no ids, its `code`)."""

    data: ErrorData


class PongFrame(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="pong"):
    """The answer to the client's text `ping`."""


_STATUS: dict[str, TypeDataStatus] = {
    "pending": "pending",
    "running": "running",
    "succeeded": "completed",
    "failed": "error",
    "cancelled": "error",
    "skipped": "pending",
}
_BACK: dict[str, ev.NodeStatusValue] = {
    "pending": "pending",
    "running": "running",
    "completed": "succeeded",
    "error": "failed",
}


class TypeDataProfile(Profile):
    name = "type-data"
    server_frames = (
        WorkflowStartFrame,
        WorkflowCompleteFrame,
        NodeStatusFrame,
        EdgeFlowFrame,
        ProgressFrame,
        LogFrame,
        TypeDataErrorFrame,
        PongFrame,
    )
    silence_timeout = True  # its clients send a text `ping` every 30 s

    def to_wire(self, frame: Frame) -> msgspec.Struct | None:
        if isinstance(frame, Pong):
            return PongFrame()
        if isinstance(frame, ErrorFrame):
            return TypeDataErrorFrame(
                timestamp=iso_ts(_now_ms()), data=ErrorData(error=frame.message, code=frame.code)
            )
        if not isinstance(frame, Event):
            return None
        ts = iso_ts(frame.ts)
        ids: dict[str, Any] = {"workflow_id": frame.workflow_id, "execution_id": frame.execution_id}
        if isinstance(frame, ev.ExecutionStarted):
            order = frame.order or [node.id for node in frame.nodes]
            data = WorkflowStartData(**ids, execution_order=order, total_nodes=len(frame.nodes))
            return WorkflowStartFrame(timestamp=ts, data=data)
        if isinstance(frame, ev.NodeStatus):
            error = frame.error.message if frame.error is not None else None
            if frame.status == "cancelled" and error is None:
                error = "cancelled"
            status = NodeStatusData(
                **ids,
                node_id=frame.node_id,
                status=_STATUS[frame.status],
                result=frame.output,
                error=error,
                progress=frame.progress,
            )
            return NodeStatusFrame(timestamp=ts, data=status)
        if isinstance(frame, ev.EdgeFlow):
            edge = EdgeFlowData(
                **ids,
                source_node_id=frame.source,
                target_node_id=frame.target,
                edge_id=frame.edge_id,
                data=frame.preview,
            )
            return EdgeFlowFrame(timestamp=ts, data=edge)
        if isinstance(frame, ev.ExecutionProgress):
            progress = ProgressData(
                **ids,
                current_step=frame.completed,
                total_steps=frame.total,
                progress=frame.percent,
                current_node_id=frame.running[0] if frame.running else None,
            )
            return ProgressFrame(timestamp=ts, data=progress)
        if isinstance(frame, ev.ExecutionLog):
            log = LogData(**ids, level=frame.level, message=frame.message, node_id=frame.node_id)
            return LogFrame(timestamp=ts, data=log)
        if isinstance(frame, ev.ExecutionCompleted):
            seconds = frame.duration_ms / 1000
            done = WorkflowCompleteData(**ids, success=True, execution_time=seconds, errors=[])
            return WorkflowCompleteFrame(timestamp=ts, data=done)
        if isinstance(frame, ev.ExecutionFailed):
            why = frame.error
            failed = ErrorData(**ids, error=why.message, node_id=why.node_id, code=why.code)
            return TypeDataErrorFrame(timestamp=ts, data=failed)
        if isinstance(frame, ev.ExecutionStopped):
            stopped = WorkflowCompleteData(
                **ids, success=False, execution_time=0.0, errors=[frame.reason or "stopped"]
            )
            return WorkflowCompleteFrame(timestamp=ts, data=stopped)
        return None

    def to_canonical(self, frame: msgspec.Struct) -> Frame | None:
        if isinstance(frame, PongFrame):
            return Pong()
        if isinstance(frame, TypeDataErrorFrame):
            said = frame.data
            if said.workflow_id is not None and said.execution_id is not None:
                info = ev.ErrorInfo(code=said.code, message=said.error, node_id=said.node_id)
                return ev.ExecutionFailed(
                    ts=ms_of_iso(frame.timestamp),
                    workflow_id=said.workflow_id,
                    execution_id=said.execution_id,
                    error=info,
                    duration_ms=0,
                    summary=ev.Summary(total=0, succeeded=0, failed=0, skipped=0),
                )
            code = ErrorCode(said.code) if said.code in set(ErrorCode) else ErrorCode.INTERNAL
            return ErrorFrame(code=code, message=said.error)
        data = getattr(frame, "data", None)
        if not isinstance(frame, _Frame) or not isinstance(data, _Data):
            return None
        common: dict[str, Any] = {
            "ts": ms_of_iso(frame.timestamp),
            "workflow_id": data.workflow_id,
            "execution_id": data.execution_id,
        }
        if isinstance(data, WorkflowStartData):
            # The nodes are only counted: those of the order, then unnamed ones.
            ids = data.execution_order[: data.total_nodes]
            ids += [f"#{i}" for i in range(len(ids), data.total_nodes)]
            nodes = [ev.NodeInfo(id=node) for node in ids]
            return ev.ExecutionStarted(
                **common, nodes=nodes, edges=[], order=list(data.execution_order)
            )
        if isinstance(data, NodeStatusData):
            error = ev.ErrorInfo(message=data.error) if data.error is not None else None
            return ev.NodeStatus(
                **common,
                node_id=data.node_id,
                status=_BACK[data.status],
                output=data.result,
                error=error,
                progress=data.progress,
            )
        if isinstance(data, EdgeFlowData):
            return ev.EdgeFlow(
                **common,
                source=data.source_node_id,
                target=data.target_node_id,
                edge_id=data.edge_id,
                preview=data.data,
            )
        if isinstance(data, ProgressData):
            running = [] if data.current_node_id is None else [data.current_node_id]
            return ev.ExecutionProgress(
                **common,
                completed=data.current_step,
                total=data.total_steps,
                percent=data.progress,
                running=running,
            )
        if isinstance(data, LogData):
            return ev.ExecutionLog(
                **common, level=data.level, message=data.message, node_id=data.node_id
            )
        if isinstance(data, WorkflowCompleteData):
            duration = round(data.execution_time * 1000)
            summary = ev.Summary(total=0, succeeded=0, failed=0, skipped=0)
            if data.success:
                return ev.ExecutionCompleted(**common, duration_ms=duration, summary=summary)
            return ev.ExecutionStopped(**common, reason=data.errors[0] if data.errors else None)
        return None


def _now_ms() -> int:
    return int(time.time() * 1000)
