"""The `flat-type` profile: flat `{type, …}` frames, one session per URL (`/ws/{session_id}`).

The shape of reference system 002 (a FastAPI connection manager): after the URL's
subscription, `connection_established {session_id}`; `node_status_update`
(`running`, `completed`, `failed`), `workflow_execution_started`,
`workflow_completed`, `workflow_failed`, `workflow_control_response`,
`subscription_confirmed`, `error {message}`; the server's `heartbeat`, answered
`heartbeat_response`; ISO 8601 timestamps. Its clients send `execute_workflow`
(nodes and `connections`), `control_workflow` (by `workflow_id`), `subscribe` /
`unsubscribe` with `event_types` (broadcasts of those types: `node_status` is
`node.*`, `workflow_status` is `execution.*`, other names are event types), and
`heartbeat_response`. A reply is shaped by the command it answers, named in its
`ref`. Dropped: `edge.flow`, `branch.started`, `node.token`, `node.usage`,
`execution.progress`, `execution.log`, `execution.paused`/`resumed`/`stopped`,
`input.*`, `execution.snapshot`, `goaway`, and application events.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec

from wsproto_schema import events as ev
from wsproto_schema.base import Event, Frame, JsonValue
from wsproto_schema.codes import ErrorCode
from wsproto_schema.commands import (
    Control,
    EdgeSpec,
    Execute,
    NodeSpec,
    PongCommand,
    Subscribe,
    Unsubscribe,
    WorkflowSpec,
)
from wsproto_schema.control import ErrorFrame, Ping, Reply
from wsproto_schema.errors import ProtocolError
from wsproto_schema.registry import ClientFrame

from .base import Profile, iso_ts, ms_of_iso

__all__ = ["FlatTypeProfile"]

ALL = "@all"
SESSION = "session:"
CATEGORIES = {"node_status": "node.*", "workflow_status": "execution.*"}


class _Flat(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    pass


class ConnectionEstablished(_Flat, tag="connection_established", frozen=True, kw_only=True):
    """The URL's session is subscribed."""

    session_id: str
    timestamp: str


class Heartbeat(_Flat, tag="heartbeat", frozen=True, kw_only=True):
    """The server's heartbeat: answer `heartbeat_response`."""

    timestamp: str


class NodeStatusUpdate(_Flat, tag="node_status_update", frozen=True, kw_only=True):
    """`node.status` running, succeeded (`completed`), failed (or cancelled)."""

    node_id: str
    status: Literal["running", "completed", "failed"]
    outputs: JsonValue = None
    error: str | None = None
    timestamp: str
    workflow_id: str
    execution_id: str


class WorkflowCompleted(_Flat, tag="workflow_completed", frozen=True, kw_only=True):
    """`execution.completed`."""

    results: dict[str, JsonValue] = {}
    summary: dict[str, JsonValue] = {}
    timestamp: str
    workflow_id: str
    execution_id: str


class WorkflowFailed(_Flat, tag="workflow_failed", frozen=True, kw_only=True):
    """`execution.failed`."""

    error: str
    summary: dict[str, JsonValue] = {}
    timestamp: str
    workflow_id: str
    execution_id: str


class WorkflowExecutionStarted(_Flat, tag="workflow_execution_started", frozen=True, kw_only=True):
    """The reply to `execute_workflow`."""

    workflow_id: str
    execution_id: str


class WorkflowExecutionError(_Flat, tag="workflow_execution_error", frozen=True, kw_only=True):
    """`execute_workflow` failed."""

    error: str


class WorkflowControlResponse(_Flat, tag="workflow_control_response", frozen=True, kw_only=True):
    """The reply to `control_workflow`: `status` is the execution's after it."""

    workflow_id: str
    action: str
    status: str


class SubscriptionConfirmed(_Flat, tag="subscription_confirmed", frozen=True, kw_only=True):
    """The reply to `subscribe`."""

    subscriptions: list[str]


class SubscriptionUpdated(_Flat, tag="subscription_updated", frozen=True, kw_only=True):
    """The reply to `unsubscribe`."""

    subscriptions: list[str]


class FlatError(_Flat, tag="error", frozen=True, kw_only=True):
    """A command was refused."""

    message: str
    code: str | None = None


class FlatNode(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    type: str
    name: str | None = None
    parameters: dict[str, JsonValue] | None = None


class FlatConnection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    from_node: str
    to_node: str
    from_output: str | None = None
    to_input: str | None = None


class FlatWorkflow(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    nodes: list[FlatNode]
    connections: list[FlatConnection] = []


class ExecuteWorkflow(_Flat, tag="execute_workflow", frozen=True, kw_only=True):
    workflow: FlatWorkflow


class ControlWorkflow(_Flat, tag="control_workflow", frozen=True, kw_only=True):
    workflow_id: str
    action: Literal["pause", "resume", "stop"]


class SubscribeTypes(_Flat, tag="subscribe", frozen=True, kw_only=True):
    event_types: list[str]


class UnsubscribeTypes(_Flat, tag="unsubscribe", frozen=True, kw_only=True):
    event_types: list[str]


class HeartbeatResponse(_Flat, tag="heartbeat_response", frozen=True, kw_only=True):
    timestamp: str | None = None


class FlatTypeProfile(Profile):
    name = "flat-type"
    server_frames = (
        ConnectionEstablished,
        Heartbeat,
        NodeStatusUpdate,
        WorkflowCompleted,
        WorkflowFailed,
        WorkflowExecutionStarted,
        WorkflowExecutionError,
        WorkflowControlResponse,
        SubscriptionConfirmed,
        SubscriptionUpdated,
        FlatError,
    )
    client_frames = (
        ExecuteWorkflow,
        ControlWorkflow,
        SubscribeTypes,
        UnsubscribeTypes,
        HeartbeatResponse,
    )
    silence_timeout = True  # it answers every server heartbeat

    def to_wire(self, frame: Frame) -> msgspec.Struct | None:
        if isinstance(frame, Ping):
            return Heartbeat(timestamp=iso_ts(frame.ts))
        if isinstance(frame, Reply):
            return _reply(frame)
        if isinstance(frame, ErrorFrame):
            if (frame.ref or "").startswith("execute:"):
                return WorkflowExecutionError(error=frame.message)
            return FlatError(message=frame.message, code=frame.code)
        if not isinstance(frame, Event):
            return None
        ids = {"workflow_id": frame.workflow_id, "execution_id": frame.execution_id}
        ts = iso_ts(frame.ts)
        if isinstance(frame, ev.NodeStatus):
            status = {"running": "running", "succeeded": "completed"}.get(frame.status)
            if status is None and frame.status in ("failed", "cancelled"):
                status = "failed"
            if status is None:
                return None  # pending and skipped: it has no name for them
            error = frame.error.message if frame.error is not None else None
            return NodeStatusUpdate(
                **ids,
                node_id=frame.node_id,
                status=status,  # type: ignore[arg-type]
                outputs=frame.output,
                error=error if status == "failed" else None,
                timestamp=ts,
            )
        if isinstance(frame, ev.ExecutionCompleted):
            summary: dict[str, Any] = msgspec.to_builtins(frame.summary)
            summary["duration_ms"] = frame.duration_ms
            return WorkflowCompleted(
                **ids, results=dict(frame.outputs or {}), summary=summary, timestamp=ts
            )
        if isinstance(frame, ev.ExecutionFailed):
            failed: dict[str, Any] = msgspec.to_builtins(frame.summary)
            failed["duration_ms"] = frame.duration_ms
            return WorkflowFailed(**ids, error=frame.error.message, summary=failed, timestamp=ts)
        return None

    def from_wire(self, command: msgspec.Struct) -> ClientFrame:
        if isinstance(command, HeartbeatResponse):
            return PongCommand(ts=0)
        if isinstance(command, ExecuteWorkflow):
            flow = command.workflow
            nodes = [
                NodeSpec(id=n.id, kind=n.type, name=n.name, params=n.parameters) for n in flow.nodes
            ]
            edges = [EdgeSpec(source=c.from_node, target=c.to_node) for c in flow.connections]
            spec = WorkflowSpec(id=flow.id, nodes=nodes, edges=edges)
            return Execute(ref=f"execute:{flow.id}", workflow=spec)
        if isinstance(command, ControlWorkflow):
            ref = f"control:{command.action}:{command.workflow_id}"
            return Control(ref=ref, workflow_id=command.workflow_id, action=command.action)
        if isinstance(command, (SubscribeTypes, UnsubscribeTypes)):
            if not command.event_types:
                raise ProtocolError(
                    ErrorCode.INVALID_FRAME,
                    "$.event_types: name at least one event type",
                    path="$.event_types",
                )
            listed = ",".join(command.event_types)
            if isinstance(command, UnsubscribeTypes):
                return Unsubscribe(ref=f"unsubscribe:{listed}", topics=[ALL])
            types = [CATEGORIES.get(t, t) for t in command.event_types]
            return Subscribe(ref=f"subscribe:{listed}", topics=[ALL], types=types, snapshot=False)
        raise AssertionError(f"unhandled {command!r}")  # pragma: no cover

    def to_canonical(self, frame: msgspec.Struct) -> Frame | None:
        ts_of = getattr(frame, "timestamp", None)
        common: dict[str, Any] = {
            "ts": ms_of_iso(ts_of) if isinstance(ts_of, str) else 0,
            "workflow_id": getattr(frame, "workflow_id", ""),
            "execution_id": getattr(frame, "execution_id", ""),
        }
        if isinstance(frame, Heartbeat):
            return Ping(ts=common["ts"])
        if isinstance(frame, NodeStatusUpdate):
            status: Any = {"completed": "succeeded"}.get(frame.status, frame.status)
            error = ev.ErrorInfo(message=frame.error) if frame.error is not None else None
            return ev.NodeStatus(
                **common, node_id=frame.node_id, status=status, output=frame.outputs, error=error
            )
        if isinstance(frame, (WorkflowCompleted, WorkflowFailed)):
            said = dict(frame.summary)
            duration = int(said.pop("duration_ms", 0))
            summary = msgspec.convert(said, ev.Summary)
            if isinstance(frame, WorkflowFailed):
                info = ev.ErrorInfo(message=frame.error)
                return ev.ExecutionFailed(
                    **common, error=info, duration_ms=duration, summary=summary
                )
            return ev.ExecutionCompleted(
                **common, duration_ms=duration, outputs=dict(frame.results), summary=summary
            )
        if isinstance(frame, FlatError):
            code = ErrorCode(frame.code) if frame.code in set(ErrorCode) else ErrorCode.INTERNAL
            return ErrorFrame(code=code, message=frame.message)
        return None


def _reply(reply: Reply) -> msgspec.Struct | None:
    """A reply in the shape of the command it answers (named by its `ref`)."""
    kind, _, rest = (reply.ref or "").partition(":")
    data = reply.data
    if kind == "url":
        topics = [t for t in data.get("topics", {}) if t.startswith(SESSION)]
        session = topics[0][len(SESSION) :] if topics else ""
        return ConnectionEstablished(session_id=session, timestamp=iso_ts(_now_ms()))
    if kind == "execute":
        return WorkflowExecutionStarted(workflow_id=rest, execution_id=str(data["execution_id"]))
    if kind == "control":
        action, _, workflow = rest.partition(":")
        return WorkflowControlResponse(
            workflow_id=workflow, action=action, status=str(data.get("status"))
        )
    if kind == "subscribe":
        return SubscriptionConfirmed(subscriptions=rest.split(","))
    if kind == "unsubscribe":
        return SubscriptionUpdated(subscriptions=[])
    return None


def _now_ms() -> int:
    return int(time.time() * 1000)
