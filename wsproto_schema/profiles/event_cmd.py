"""The `event-cmd` profile: `{event, data, timestamp, node_id}` down, `{cmd, data}` up.

The shape of reference system 003 (a Go/Gin hub and a TypeScript router):
`token_stream`, `node_state_change`, `node:parallel_start`, `token_usage`,
`execution:paused`, `execution:completed`, `error`; RFC 3339 timestamps; commands
`start_session`, `pause_session`, `resume_session`, `user_input` (by
`execution_id`, or by `workflow_id` for its one live execution) and `ping`
(answered `{"event": "pong"}`). Dropped (no name in it): `execution.started`,
`execution.resumed`, `execution.stopped`, `execution.progress`, `execution.log`,
`edge.flow`, `input.requested`/`received`, `execution.snapshot`, `welcome`,
replies, the server's `ping`, `goaway`, and application events.
"""

from __future__ import annotations

from typing import Any

import msgspec

from wsproto_schema import events as ev
from wsproto_schema.base import Event, Frame, JsonValue
from wsproto_schema.codes import ErrorCode
from wsproto_schema.commands import (
    Control,
    EdgeSpec,
    Execute,
    Input,
    NodeSpec,
    PingCommand,
    WorkflowSpec,
)
from wsproto_schema.control import ErrorFrame, Pong
from wsproto_schema.errors import ProtocolError
from wsproto_schema.registry import ClientFrame

from .base import Profile, iso_ts, ms_of_iso

__all__ = ["EventCmdProfile"]


class _Down(msgspec.Struct, frozen=True, kw_only=True, tag_field="event", omit_defaults=True):
    timestamp: str | None = None
    """RFC 3339, UTC."""
    node_id: str | None = None


class _Ids(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    workflow_id: str
    execution_id: str


class TokenStreamData(_Ids, frozen=True, kw_only=True):
    delta: str
    index: int | None = None


class TokenStream(_Down, tag="token_stream", frozen=True, kw_only=True):
    """`node.token`: append `delta` to the node's text."""

    data: TokenStreamData


class NodeStateChangeData(_Ids, frozen=True, kw_only=True):
    status: ev.NodeStatusValue
    attempt: int | None = None
    progress: float | None = None
    duration_ms: int | None = None
    output: JsonValue = None
    error: str | None = None


class NodeStateChange(_Down, tag="node_state_change", frozen=True, kw_only=True):
    """`node.status`."""

    data: NodeStateChangeData


class ParallelStartData(_Ids, frozen=True, kw_only=True):
    node_ids: list[str]
    parent_id: str | None = None


class ParallelStart(_Down, tag="node:parallel_start", frozen=True, kw_only=True):
    """`branch.started`."""

    data: ParallelStartData


class TokenUsageData(_Ids, frozen=True, kw_only=True):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    model: str | None = None
    cost: float | None = None


class TokenUsage(_Down, tag="token_usage", frozen=True, kw_only=True):
    """`node.usage`."""

    data: TokenUsageData


class PausedData(_Ids, frozen=True, kw_only=True):
    reason: str | None = None
    by: str | None = None


class ExecutionPaused(_Down, tag="execution:paused", frozen=True, kw_only=True):
    """`execution.paused`."""

    data: PausedData


class CompletedData(_Ids, frozen=True, kw_only=True):
    duration_ms: int
    outputs: dict[str, JsonValue] | None = None


class ExecutionCompleted(_Down, tag="execution:completed", frozen=True, kw_only=True):
    """`execution.completed`."""

    data: CompletedData


class ErrorData(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    error: str
    code: str | None = None
    workflow_id: str | None = None
    execution_id: str | None = None


class EventError(_Down, tag="error", frozen=True, kw_only=True):
    """`execution.failed` (with its ids, `node_id` the failing node), or a refused command."""

    data: ErrorData


class EventPong(_Down, tag="pong", frozen=True, kw_only=True):
    """The answer to `{"cmd": "ping"}`."""


class _Up(msgspec.Struct, frozen=True, kw_only=True, tag_field="cmd", forbid_unknown_fields=True):
    pass


class SessionNode(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    kind: str
    name: str | None = None
    params: dict[str, JsonValue] | None = None


class SessionEdge(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    source: str
    target: str
    id: str | None = None


class SessionWorkflow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    name: str | None = None
    nodes: list[SessionNode]
    edges: list[SessionEdge] = []


class StartData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    workflow: SessionWorkflow
    inputs: dict[str, JsonValue] | None = None


class StartSession(_Up, tag="start_session", frozen=True, kw_only=True):
    data: StartData


class Target(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    execution_id: str | None = None
    workflow_id: str | None = None


class PauseSession(_Up, tag="pause_session", frozen=True, kw_only=True):
    data: Target


class ResumeSession(_Up, tag="resume_session", frozen=True, kw_only=True):
    data: Target


class UserInputData(Target, frozen=True, kw_only=True):
    node_id: str
    value: JsonValue


class UserInput(_Up, tag="user_input", frozen=True, kw_only=True):
    data: UserInputData


class PingCmd(_Up, tag="ping", frozen=True, kw_only=True):
    data: JsonValue = None


class EventCmdProfile(Profile):
    name = "event-cmd"
    tag_field = "cmd"
    server_frames = (
        TokenStream,
        NodeStateChange,
        ParallelStart,
        TokenUsage,
        ExecutionPaused,
        ExecutionCompleted,
        EventError,
        EventPong,
    )
    client_frames = (StartSession, PauseSession, ResumeSession, UserInput, PingCmd)
    silence_timeout = True  # its clients send `ping` every 30 s
    reconnects_after_clean_close = False  # its store retries only when `wasClean` is false

    def to_wire(self, frame: Frame) -> msgspec.Struct | None:
        if isinstance(frame, Pong):
            return EventPong()
        if isinstance(frame, ErrorFrame):
            return EventError(data=ErrorData(error=frame.message, code=frame.code))
        if not isinstance(frame, Event):
            return None
        ids: dict[str, Any] = {"workflow_id": frame.workflow_id, "execution_id": frame.execution_id}
        at = iso_ts(frame.ts)
        if isinstance(frame, ev.NodeToken):
            data = TokenStreamData(**ids, delta=frame.delta, index=frame.index)
            return TokenStream(timestamp=at, node_id=frame.node_id, data=data)
        if isinstance(frame, ev.NodeStatus):
            state = NodeStateChangeData(
                **ids,
                status=frame.status,
                attempt=frame.attempt,
                progress=frame.progress,
                duration_ms=frame.duration_ms,
                output=frame.output,
                error=frame.error.message if frame.error is not None else None,
            )
            return NodeStateChange(timestamp=at, node_id=frame.node_id, data=state)
        if isinstance(frame, ev.BranchStarted):
            branch = ParallelStartData(
                **ids, node_ids=list(frame.node_ids), parent_id=frame.parent_id
            )
            return ParallelStart(timestamp=at, data=branch)
        if isinstance(frame, ev.NodeUsage):
            usage = TokenUsageData(
                **ids,
                prompt_tokens=frame.prompt_tokens,
                completion_tokens=frame.completion_tokens,
                total_tokens=frame.total_tokens,
                model=frame.model,
                cost=frame.cost,
            )
            return TokenUsage(timestamp=at, node_id=frame.node_id, data=usage)
        if isinstance(frame, ev.ExecutionPaused):
            return ExecutionPaused(
                timestamp=at, data=PausedData(**ids, reason=frame.reason, by=frame.by)
            )
        if isinstance(frame, ev.ExecutionCompleted):
            done = CompletedData(**ids, duration_ms=frame.duration_ms, outputs=frame.outputs)
            return ExecutionCompleted(timestamp=at, data=done)
        if isinstance(frame, ev.ExecutionFailed):
            why = frame.error
            failed = ErrorData(error=why.message, code=why.code, **ids)
            return EventError(timestamp=at, node_id=why.node_id, data=failed)
        return None

    def from_wire(self, command: msgspec.Struct) -> ClientFrame:
        if isinstance(command, PingCmd):
            return PingCommand()
        if isinstance(command, StartSession):
            flow = command.data.workflow
            spec = WorkflowSpec(
                id=flow.id,
                name=flow.name,
                nodes=[
                    NodeSpec(id=n.id, kind=n.kind, name=n.name, params=n.params) for n in flow.nodes
                ],
                edges=[EdgeSpec(source=e.source, target=e.target, id=e.id) for e in flow.edges],
            )
            return Execute(workflow=spec, inputs=command.data.inputs)
        assert isinstance(command, (PauseSession, ResumeSession, UserInput))
        target = _target(command)
        if isinstance(command, UserInput):
            return Input(**target, node_id=command.data.node_id, value=command.data.value)
        action: Any = "pause" if isinstance(command, PauseSession) else "resume"
        return Control(**target, action=action)

    def to_canonical(self, frame: msgspec.Struct) -> Frame | None:
        if isinstance(frame, EventPong):
            return Pong()
        data: Any = getattr(frame, "data", None)
        if not isinstance(frame, _Down):
            return None
        if isinstance(frame, EventError) and data.execution_id is None:
            code = ErrorCode(data.code) if data.code in set(ErrorCode) else ErrorCode.INTERNAL
            return ErrorFrame(code=code, message=data.error)
        common: dict[str, Any] = {
            "ts": ms_of_iso(frame.timestamp) if frame.timestamp else 0,
            "workflow_id": data.workflow_id,
            "execution_id": data.execution_id,
        }
        node = frame.node_id
        if isinstance(data, TokenStreamData):
            return ev.NodeToken(**common, node_id=node or "", delta=data.delta, index=data.index)
        if isinstance(data, NodeStateChangeData):
            error = ev.ErrorInfo(message=data.error) if data.error is not None else None
            return ev.NodeStatus(
                **common,
                node_id=node or "",
                status=data.status,
                attempt=data.attempt,
                progress=data.progress,
                duration_ms=data.duration_ms,
                output=data.output,
                error=error,
            )
        if isinstance(data, ParallelStartData):
            return ev.BranchStarted(
                **common, node_ids=list(data.node_ids), parent_id=data.parent_id
            )
        if isinstance(data, TokenUsageData):
            return ev.NodeUsage(
                **common,
                node_id=node,
                model=data.model,
                prompt_tokens=data.prompt_tokens,
                completion_tokens=data.completion_tokens,
                total_tokens=data.total_tokens,
                cost=data.cost,
            )
        if isinstance(data, PausedData):
            return ev.ExecutionPaused(**common, reason=data.reason, by=data.by)
        if isinstance(data, CompletedData):
            summary = ev.Summary(total=0, succeeded=0, failed=0, skipped=0)
            return ev.ExecutionCompleted(
                **common, duration_ms=data.duration_ms, outputs=data.outputs, summary=summary
            )
        if isinstance(data, ErrorData):
            info = ev.ErrorInfo(code=data.code, message=data.error, node_id=node)
            summary = ev.Summary(total=0, succeeded=0, failed=0, skipped=0)
            return ev.ExecutionFailed(**common, error=info, duration_ms=0, summary=summary)
        return None


def _target(command: PauseSession | ResumeSession | UserInput) -> dict[str, Any]:
    """`execution_id`, or `workflow_id`: the server's own check says when neither or both."""
    data = command.data
    if data.execution_id is not None:
        if data.workflow_id is not None:
            raise ProtocolError(
                ErrorCode.INVALID_FRAME,
                "$.data: give either `execution_id` or `workflow_id`",
                path="$.data",
            )
        return {"execution_id": data.execution_id}
    if data.workflow_id is None:
        raise ProtocolError(
            ErrorCode.INVALID_FRAME,
            "$.data: name the session by `execution_id` or `workflow_id`",
            path="$.data",
        )
    return {"workflow_id": data.workflow_id}
