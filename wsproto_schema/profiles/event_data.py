"""The `event-data` profile: `{event, data, session_id}`, an agent app's sessions and tasks.

The shape of reference system 001 (a React client of an agent app): an execution is
a session (`session_id` is its `execution_id`), its nodes are tasks.
`session.update` (`running`, `paused`, `completed`, `failed`), `task.update`
(`pending`, `running`, `completed`, `failed`), `progress.update`, `error
{message, code}`; an application's own `session.update`, `task.update` or
`progress.update` events (`AppEvent`s) pass through with their fields as `data`.
Its client's heartbeat (`{"type": "ping"}`, or a text `ping`) is answered
`{"event": "pong"}`; it starts and steers sessions over HTTP. Dropped:
`node.token`, `node.usage`, `edge.flow`, `branch.started`, `execution.log`,
`input.*`, `execution.snapshot`, `welcome`, replies, the server's `ping`, `goaway`,
and other application events.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from wsproto_schema import events as ev
from wsproto_schema.base import Event, Frame, JsonValue
from wsproto_schema.codes import ErrorCode
from wsproto_schema.commands import PingCommand
from wsproto_schema.control import ErrorFrame, Pong
from wsproto_schema.registry import ClientFrame

from .base import Profile

__all__ = ["EventDataProfile"]

PASSED = ("session.update", "task.update", "progress.update")
"""Application events of these types pass through."""


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="event", omit_defaults=True):
    pass


class SessionData(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: Literal["running", "completed", "failed", "paused"]
    completed_tasks: int | None = None
    total_tasks: int | None = None
    workflow_id: str | None = None


class SessionUpdate(_Event, tag="session.update", frozen=True, kw_only=True):
    """The session (an execution) changed status."""

    session_id: str
    data: SessionData


class TaskData(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    task_id: str
    status: Literal["pending", "running", "completed", "failed"]
    result: JsonValue = None
    error: str | None = None


class TaskUpdate(_Event, tag="task.update", frozen=True, kw_only=True):
    """A task (a node) changed status: `result` is its output."""

    session_id: str | None = None
    data: TaskData


class ProgressData(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    total_tasks: int
    completed_tasks: int
    current_task: str | None = None


class ProgressUpdate(_Event, tag="progress.update", frozen=True, kw_only=True):
    """How far the session has come."""

    session_id: str | None = None
    data: ProgressData


class ErrorData(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    message: str
    code: str | None = None


class ErrorEvent(_Event, tag="error", frozen=True, kw_only=True):
    """A refused command or frame."""

    data: ErrorData


class PongEvent(_Event, tag="pong", frozen=True, kw_only=True):
    """The answer to its heartbeat."""


class HeartbeatPing(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="ping"):
    """Its client's heartbeat."""


_SESSION: dict[type[Event], Any] = {
    ev.ExecutionStarted: "running",
    ev.ExecutionResumed: "running",
    ev.ExecutionPaused: "paused",
    ev.ExecutionCompleted: "completed",
    ev.ExecutionFailed: "failed",
    ev.ExecutionStopped: "failed",
}
_TASK: dict[str, Any] = {
    "pending": "pending",
    "running": "running",
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "failed",
    "skipped": "pending",
}


class EventDataProfile(Profile):
    name = "event-data"
    server_frames = (SessionUpdate, TaskUpdate, ProgressUpdate, ErrorEvent, PongEvent)
    client_frames = (HeartbeatPing,)
    silence_timeout = True  # its client's heartbeat every 30 s

    def to_wire(self, frame: Frame) -> msgspec.Struct | None:
        if isinstance(frame, Pong):
            return PongEvent()
        if isinstance(frame, ErrorFrame):
            return ErrorEvent(data=ErrorData(message=frame.message, code=frame.code))
        if not isinstance(frame, Event):
            return None
        tag = type(frame).__struct_config__.tag
        if tag in PASSED and not isinstance(frame, ev.ExecutionProgress):
            return _passed(frame, str(tag))
        session = frame.execution_id
        status = _SESSION.get(type(frame))
        if status is not None:
            counts: dict[str, Any] = {}
            if isinstance(frame, ev.ExecutionStarted):
                counts = {"completed_tasks": 0, "total_tasks": len(frame.nodes)}
            elif isinstance(frame, (ev.ExecutionCompleted, ev.ExecutionFailed)):
                done = frame.summary
                counts = {"completed_tasks": done.succeeded, "total_tasks": done.total}
            data = SessionData(status=status, workflow_id=frame.workflow_id, **counts)
            return SessionUpdate(session_id=session, data=data)
        if isinstance(frame, ev.NodeStatus):
            error = frame.error.message if frame.error is not None else None
            task = TaskData(
                task_id=frame.node_id, status=_TASK[frame.status], result=frame.output, error=error
            )
            return TaskUpdate(session_id=session, data=task)
        if isinstance(frame, ev.ExecutionProgress):
            progress = ProgressData(
                total_tasks=frame.total,
                completed_tasks=frame.completed,
                current_task=frame.running[0] if frame.running else None,
            )
            return ProgressUpdate(session_id=session, data=progress)
        return None

    def from_wire(self, command: msgspec.Struct) -> ClientFrame:
        return PingCommand()

    def to_canonical(self, frame: msgspec.Struct) -> Frame | None:
        if isinstance(frame, PongEvent):
            return Pong()
        if isinstance(frame, ErrorEvent):
            code = (
                ErrorCode(frame.data.code)
                if frame.data.code in set(ErrorCode)
                else ErrorCode.INTERNAL
            )
            return ErrorFrame(code=code, message=frame.data.message)
        if isinstance(frame, TaskUpdate):
            data = frame.data
            error = ev.ErrorInfo(message=data.error) if data.error is not None else None
            status: Any = {"completed": "succeeded"}.get(data.status, data.status)
            return ev.NodeStatus(
                workflow_id="",
                execution_id=frame.session_id or "",
                node_id=data.task_id,
                status=status,
                output=data.result,
                error=error,
            )
        if isinstance(frame, ProgressUpdate):
            p = frame.data
            return ev.ExecutionProgress(
                workflow_id="",
                execution_id=frame.session_id or "",
                completed=p.completed_tasks,
                total=p.total_tasks,
                percent=100.0 * p.completed_tasks / p.total_tasks if p.total_tasks else 0.0,
                running=[] if p.current_task is None else [p.current_task],
            )
        if isinstance(frame, SessionUpdate):
            common: dict[str, Any] = {
                "workflow_id": frame.data.workflow_id or "",
                "execution_id": frame.session_id,
            }
            summary = ev.Summary(
                total=frame.data.total_tasks or 0,
                succeeded=frame.data.completed_tasks or 0,
                failed=0,
                skipped=0,
            )
            if frame.data.status == "paused":
                return ev.ExecutionPaused(**common)
            if frame.data.status == "completed":
                return ev.ExecutionCompleted(**common, duration_ms=0, summary=summary)
            counted = frame.data.total_tasks is not None
            if frame.data.status == "failed" and counted:
                info = ev.ErrorInfo(message="failed")
                return ev.ExecutionFailed(**common, error=info, duration_ms=0, summary=summary)
            if frame.data.status == "failed":
                return ev.ExecutionStopped(**common)  # a stop carries no counts
            if counted:  # a start counts its tasks
                nodes = [ev.NodeInfo(id=f"#{i}") for i in range(frame.data.total_tasks or 0)]
                return ev.ExecutionStarted(**common, nodes=nodes, edges=[])
            return ev.ExecutionResumed(**common)
        return None


def _passed(event: Event, tag: str) -> msgspec.Struct | None:
    """An application's own event of a 001 type: its fields (not the common ones) as data."""
    fields: dict[str, Any] = msgspec.to_builtins(event)
    for common in ("type", "topic", "seq", "ts", "workflow_id", "execution_id"):
        fields.pop(common, None)
    session = fields.pop("session_id", None) or event.execution_id or None
    kinds: dict[str, type[msgspec.Struct]] = {
        "session.update": SessionUpdate,
        "task.update": TaskUpdate,
        "progress.update": ProgressUpdate,
    }
    try:
        passed: msgspec.Struct = msgspec.convert(
            {"event": tag, "session_id": session, "data": fields}, kinds[tag]
        )
        return passed
    except msgspec.ValidationError:
        return None  # its fields are not what a 001 client reads: dropped
