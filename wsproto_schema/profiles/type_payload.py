"""The `type-payload` profile: `{id, type, timestamp, workflowId, payload}`, statuses as types.

The shape of reference system 000 (a TypeScript workflow server and client): node
statuses are separate types (`node.pending`, `node.running`, `node.success`,
`node.error`, `node.skipped`), then `execution.progress`, `execution.log`,
`execution.complete`, `execution.error`, `system.status` and `heartbeat`;
timestamps are milliseconds (a number); payload fields are camelCase. Its clients
command by workflow: `workflow.start` (`{nodes, edges, config}`), `workflow.pause`,
`workflow.resume`, `workflow.stop` (the workflow's one live execution), and may send
`heartbeat`; the server echoes `workflow.start`/`pause`/`resume`/`stop` to every
watcher when the execution does so. Dropped (no name in it): `node.token`,
`node.usage`, `edge.flow`, `branch.started`, `input.requested`/`received`,
`execution.snapshot`, `goaway`, and application events.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

import msgspec

from wsproto_schema import events as ev
from wsproto_schema.base import Event, Frame, JsonValue
from wsproto_schema.codes import ErrorCode
from wsproto_schema.commands import Control, EdgeSpec, Execute, NodeSpec, PingCommand, WorkflowSpec
from wsproto_schema.control import ErrorFrame, Ping, Pong, Reply, Welcome
from wsproto_schema.errors import ProtocolError
from wsproto_schema.registry import ClientFrame

from .base import Profile

__all__ = [
    "ExecutionCompletePayload",
    "ExecutionErrorPayload",
    "ExecutionLogPayload",
    "ExecutionProgressPayload",
    "HeartbeatMessage",
    "NodeStatusPayload",
    "SystemStatusPayload",
    "TypePayloadProfile",
    "WorkflowControlMessage",
    "WorkflowStartMessage",
    "WorkflowStartPayload",
]

NodeState = Literal["pending", "running", "success", "error", "skipped"]


class _Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    id: str
    timestamp: int
    """Milliseconds since the epoch."""
    workflowId: str


class NodeStatusPayload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    nodeId: str
    status: NodeState
    data: JsonValue = None
    error: str | None = None
    duration: int | None = None
    """Milliseconds."""
    progress: float | None = None
    executionId: str | None = None


class NodePending(_Message, tag="node.pending", frozen=True, kw_only=True):
    """`node.status` pending."""

    payload: NodeStatusPayload


class NodeRunning(_Message, tag="node.running", frozen=True, kw_only=True):
    """`node.status` running."""

    payload: NodeStatusPayload


class NodeSuccess(_Message, tag="node.success", frozen=True, kw_only=True):
    """`node.status` succeeded."""

    payload: NodeStatusPayload


class NodeError(_Message, tag="node.error", frozen=True, kw_only=True):
    """`node.status` failed or cancelled."""

    payload: NodeStatusPayload


class NodeSkipped(_Message, tag="node.skipped", frozen=True, kw_only=True):
    """`node.status` skipped."""

    payload: NodeStatusPayload


class ExecutionProgressPayload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    totalNodes: int
    completedNodes: int
    currentNode: str
    progress: float
    """Percent, 0..100."""
    estimatedTimeRemaining: int | None = None
    executionId: str | None = None


class ExecutionProgressMessage(_Message, tag="execution.progress", frozen=True, kw_only=True):
    """`execution.progress`."""

    payload: ExecutionProgressPayload


class ExecutionLogPayload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    level: Literal["info", "warn", "error", "debug"]
    message: str
    nodeId: str | None = None
    context: dict[str, JsonValue] | None = None
    executionId: str | None = None


class ExecutionLogMessage(_Message, tag="execution.log", frozen=True, kw_only=True):
    """`execution.log` (`warning` is `warn`)."""

    payload: ExecutionLogPayload


class ExecutionCompletePayload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    executionId: str
    duration: int
    outputs: dict[str, JsonValue] | None = None


class ExecutionCompleteMessage(_Message, tag="execution.complete", frozen=True, kw_only=True):
    """`execution.completed`."""

    payload: ExecutionCompletePayload


class ExecutionErrorPayload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    executionId: str
    error: str
    nodeId: str | None = None
    code: str | None = None
    duration: int = 0


class ExecutionErrorMessage(_Message, tag="execution.error", frozen=True, kw_only=True):
    """`execution.failed`."""

    payload: ExecutionErrorPayload


class WorkflowNode(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A node of `workflow.start`: `type` (or `kind`) picks the server's handler, `data`
    (or `params`) configures it."""

    id: str
    type: str | None = None
    kind: str | None = None
    name: str | None = None
    data: dict[str, JsonValue] | None = None
    params: dict[str, JsonValue] | None = None


class WorkflowEdge(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    source: str
    target: str
    id: str | None = None


class WorkflowStartPayload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    nodes: list[WorkflowNode]
    edges: list[WorkflowEdge] = []
    config: dict[str, JsonValue] | None = None
    executionId: str | None = None


class WorkflowStartMessage(_Message, tag="workflow.start", frozen=True, kw_only=True):
    """Client: run the workflow. Server: an execution of it started (`execution.started`)."""

    payload: WorkflowStartPayload


class WorkflowControlPayload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    executionId: str | None = None
    reason: str | None = None
    by: str | None = None


class WorkflowPause(_Message, tag="workflow.pause", frozen=True, kw_only=True):
    """Client: pause the workflow's live execution. Server: it was paused."""

    payload: WorkflowControlPayload = WorkflowControlPayload()


class WorkflowResume(_Message, tag="workflow.resume", frozen=True, kw_only=True):
    """Client: resume it. Server: it was resumed."""

    payload: WorkflowControlPayload = WorkflowControlPayload()


class WorkflowStop(_Message, tag="workflow.stop", frozen=True, kw_only=True):
    """Client: stop it. Server: it was stopped."""

    payload: WorkflowControlPayload = WorkflowControlPayload()


WorkflowControlMessage = WorkflowPause | WorkflowResume | WorkflowStop


class SystemStatusPayload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: Literal["connected", "ok", "error"]
    message: str | None = None
    code: str | None = None
    data: dict[str, JsonValue] | None = None


class SystemStatus(_Message, tag="system.status", frozen=True, kw_only=True):
    """The connection is open (`welcome`), a command was done (`reply`) or refused
    (`error`)."""

    payload: SystemStatusPayload


class HeartbeatMessage(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="heartbeat"
):
    """Either way: the server's heartbeat, its answer to the client's (which needs no
    `id` or `workflowId`)."""

    id: str | None = None
    timestamp: int | None = None
    workflowId: str | None = None


_NODE = {
    "pending": NodePending,
    "running": NodeRunning,
    "succeeded": NodeSuccess,
    "failed": NodeError,
    "cancelled": NodeError,
    "skipped": NodeSkipped,
}
_STATE: dict[str, NodeState] = {
    "pending": "pending",
    "running": "running",
    "succeeded": "success",
    "failed": "error",
    "cancelled": "error",
    "skipped": "skipped",
}
_BACK: dict[str, ev.NodeStatusValue] = {
    "pending": "pending",
    "running": "running",
    "success": "succeeded",
    "error": "failed",
    "skipped": "skipped",
}
_CONTROL = {"workflow.pause": "pause", "workflow.resume": "resume", "workflow.stop": "stop"}


class TypePayloadProfile(Profile):
    name = "type-payload"
    server_frames = (
        NodePending,
        NodeRunning,
        NodeSuccess,
        NodeError,
        NodeSkipped,
        ExecutionProgressMessage,
        ExecutionLogMessage,
        ExecutionCompleteMessage,
        ExecutionErrorMessage,
        WorkflowStartMessage,
        WorkflowPause,
        WorkflowResume,
        WorkflowStop,
        SystemStatus,
        HeartbeatMessage,
    )
    client_frames = (
        WorkflowStartMessage,
        WorkflowPause,
        WorkflowResume,
        WorkflowStop,
        HeartbeatMessage,
    )
    silence_timeout = False  # its clients send nothing on their own

    def to_wire(self, frame: Frame) -> msgspec.Struct | None:
        if isinstance(frame, (Ping, Pong)):
            return HeartbeatMessage(timestamp=getattr(frame, "ts", None))
        if isinstance(frame, Welcome):
            data = {"connectionId": frame.connection_id}
            return _system(SystemStatusPayload(status="connected", data=data))
        if isinstance(frame, Reply):
            return _system(SystemStatusPayload(status="ok", data=dict(frame.data)))
        if isinstance(frame, ErrorFrame):
            payload = SystemStatusPayload(status="error", message=frame.message, code=frame.code)
            return _system(payload)
        if not isinstance(frame, Event):
            return None
        common: dict[str, Any] = {
            "id": f"{frame.topic}:{frame.seq}",
            "timestamp": frame.ts,
            "workflowId": frame.workflow_id,
        }
        execution = frame.execution_id
        if isinstance(frame, ev.NodeStatus):
            error = frame.error.message if frame.error is not None else None
            status = NodeStatusPayload(
                nodeId=frame.node_id,
                status=_STATE[frame.status],
                data=frame.output,
                error=error if frame.status != "cancelled" else (error or "cancelled"),
                duration=frame.duration_ms,
                progress=frame.progress,
                executionId=execution,
            )
            message: msgspec.Struct = _NODE[frame.status](**common, payload=status)
            return message
        if isinstance(frame, ev.ExecutionProgress):
            progress = ExecutionProgressPayload(
                totalNodes=frame.total,
                completedNodes=frame.completed,
                currentNode=frame.running[0] if frame.running else "",
                progress=frame.percent,
                estimatedTimeRemaining=frame.eta_ms,
                executionId=execution,
            )
            return ExecutionProgressMessage(**common, payload=progress)
        if isinstance(frame, ev.ExecutionLog):
            log = ExecutionLogPayload(
                level="warn" if frame.level == "warning" else frame.level,
                message=frame.message,
                nodeId=frame.node_id,
                context=frame.context,
                executionId=execution,
            )
            return ExecutionLogMessage(**common, payload=log)
        if isinstance(frame, ev.ExecutionCompleted):
            done = ExecutionCompletePayload(
                executionId=execution, duration=frame.duration_ms, outputs=frame.outputs
            )
            return ExecutionCompleteMessage(**common, payload=done)
        if isinstance(frame, ev.ExecutionFailed):
            error_info = frame.error
            failed = ExecutionErrorPayload(
                executionId=execution,
                error=error_info.message,
                nodeId=error_info.node_id,
                code=error_info.code,
                duration=frame.duration_ms,
            )
            return ExecutionErrorMessage(**common, payload=failed)
        if isinstance(frame, ev.ExecutionStarted):
            nodes = [WorkflowNode(id=n.id, kind=n.kind, name=n.name) for n in frame.nodes]
            edges = [WorkflowEdge(id=e.id, source=e.source, target=e.target) for e in frame.edges]
            start = WorkflowStartPayload(nodes=nodes, edges=edges, executionId=execution)
            return WorkflowStartMessage(**common, payload=start)
        for kind, cls in (
            (ev.ExecutionPaused, WorkflowPause),
            (ev.ExecutionResumed, WorkflowResume),
            (ev.ExecutionStopped, WorkflowStop),
        ):
            if isinstance(frame, kind):
                said = WorkflowControlPayload(
                    executionId=execution,
                    reason=getattr(frame, "reason", None),
                    by=getattr(frame, "by", None),
                )
                control: msgspec.Struct = cls(**common, payload=said)
                return control
        return None

    def from_wire(self, command: msgspec.Struct) -> ClientFrame:
        if isinstance(command, HeartbeatMessage):
            return PingCommand(ts=command.timestamp)
        if isinstance(command, WorkflowStartMessage):
            nodes = []
            for node in command.payload.nodes:
                kind = node.kind or node.type
                if not kind:
                    raise ProtocolError(
                        ErrorCode.INVALID_FRAME,
                        f"$.payload.nodes: node {node.id!r} names no `type`",
                        path="$.payload.nodes",
                    )
                params = node.params if node.params is not None else node.data
                nodes.append(NodeSpec(id=node.id, kind=kind, name=node.name, params=params))
            edges = [
                EdgeSpec(source=e.source, target=e.target, id=e.id) for e in command.payload.edges
            ]
            spec = WorkflowSpec(id=command.workflowId, nodes=nodes, edges=edges)
            return Execute(ref=command.id, workflow=spec, inputs=command.payload.config)
        assert isinstance(command, (WorkflowPause, WorkflowResume, WorkflowStop))
        action: Any = _CONTROL[type(command).__struct_config__.tag]  # type: ignore[index]
        return Control(ref=command.id, workflow_id=command.workflowId, action=action)

    def to_canonical(self, frame: msgspec.Struct) -> Frame | None:
        if isinstance(frame, HeartbeatMessage):
            return Pong(ts=frame.timestamp)
        if isinstance(frame, SystemStatus):
            said = frame.payload
            if said.status == "error":
                code = ErrorCode(said.code) if said.code in set(ErrorCode) else ErrorCode.INTERNAL
                return ErrorFrame(code=code, message=said.message or "")
            if said.status == "ok":
                return Reply(data=dict(said.data or {}))
            return None  # `connected`: a welcome's other fields are not carried
        if not isinstance(frame, _Message):
            return None
        common: dict[str, Any] = {"ts": frame.timestamp, "workflow_id": frame.workflowId}
        payload: Any = getattr(frame, "payload", None)
        execution = getattr(payload, "executionId", None) or ""
        common["execution_id"] = execution
        if isinstance(payload, NodeStatusPayload):
            error = ev.ErrorInfo(message=payload.error) if payload.error is not None else None
            return ev.NodeStatus(
                **common,
                node_id=payload.nodeId,
                status=_BACK[payload.status],
                output=payload.data,
                error=error,
                duration_ms=payload.duration,
                progress=payload.progress,
            )
        if isinstance(payload, ExecutionProgressPayload):
            return ev.ExecutionProgress(
                **common,
                completed=payload.completedNodes,
                total=payload.totalNodes,
                percent=payload.progress,
                running=[payload.currentNode] if payload.currentNode else [],
                eta_ms=payload.estimatedTimeRemaining,
            )
        if isinstance(payload, ExecutionLogPayload):
            level: Any = "warning" if payload.level == "warn" else payload.level
            return ev.ExecutionLog(
                **common,
                level=level,
                message=payload.message,
                node_id=payload.nodeId,
                context=payload.context,
            )
        if isinstance(payload, ExecutionCompletePayload):
            summary = ev.Summary(total=0, succeeded=0, failed=0, skipped=0)
            return ev.ExecutionCompleted(
                **common, duration_ms=payload.duration, outputs=payload.outputs, summary=summary
            )
        if isinstance(payload, ExecutionErrorPayload):
            info = ev.ErrorInfo(code=payload.code, message=payload.error, node_id=payload.nodeId)
            summary = ev.Summary(total=0, succeeded=0, failed=0, skipped=0)
            return ev.ExecutionFailed(
                **common, error=info, duration_ms=payload.duration, summary=summary
            )
        if isinstance(payload, WorkflowStartPayload):
            nodes = [ev.NodeInfo(id=n.id, kind=n.kind, name=n.name) for n in payload.nodes]
            edges = [ev.EdgeInfo(id=e.id, source=e.source, target=e.target) for e in payload.edges]
            return ev.ExecutionStarted(**common, nodes=nodes, edges=edges)
        if isinstance(payload, WorkflowControlPayload):
            back = {
                WorkflowPause: ev.ExecutionPaused,
                WorkflowResume: ev.ExecutionResumed,
                WorkflowStop: ev.ExecutionStopped,
            }[type(frame)]
            return back(**common, reason=payload.reason, by=payload.by)
        return None


def _system(payload: SystemStatusPayload) -> SystemStatus:
    return SystemStatus(id=uuid.uuid4().hex, timestamp=_now_ms(), workflowId="", payload=payload)


def _now_ms() -> int:
    return int(time.time() * 1000)
