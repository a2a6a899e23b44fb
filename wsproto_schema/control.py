"""Server → client control frames, and the `data` each command's reply carries."""

from __future__ import annotations

from typing import Annotated

import msgspec

from .base import Frame, JsonValue, Part, Timestamp
from .codes import ErrorCode
from .events import EdgeInfo, ErrorInfo, ExecutionStatusValue, NodeSnapshot, ProgressSnapshot

__all__ = [
    "FRAME_UNION",
    "AuthResult",
    "Batch",
    "ControlResult",
    "ErrorFrame",
    "ExecuteResult",
    "ExecutionSummary",
    "Goaway",
    "InputResult",
    "ListResult",
    "Ping",
    "Pong",
    "Reply",
    "SubscribeResult",
    "TopicPosition",
    "UnsubscribeResult",
    "Welcome",
]


class Welcome(Frame, tag="welcome", frozen=True, kw_only=True):
    """The first frame on every connection."""

    protocol: Annotated[str, msgspec.Meta(description="Protocol version, `flowwire.v1`.")]
    connection_id: str
    heartbeat_ms: Annotated[
        int, msgspec.Meta(ge=0, description="The server pings this often; answer with `pong`.")
    ]
    max_frame_bytes: Annotated[
        int, msgspec.Meta(ge=1, description="Larger client frames close the connection (1009).")
    ]
    server: Annotated[str, msgspec.Meta(description='Server name and version, "flowwire/0.1.0".')]


class Reply(Frame, tag="reply", frozen=True, kw_only=True):
    """The answer to a command; `data` has the command's result shape (`SubscribeResult`, …)."""

    ref: str | None = None
    data: dict[str, JsonValue]


class ErrorFrame(Frame, tag="error", frozen=True, kw_only=True):
    """A command failed, or a frame could not be decoded. The connection stays open."""

    ref: str | None = None
    code: ErrorCode
    message: str
    path: Annotated[
        str | None,
        msgspec.Meta(description="JSON path of the offending field, `$.topics[2]`."),
    ] = None
    retry_after_ms: Annotated[int, msgspec.Meta(ge=0)] | None = None
    details: Annotated[
        JsonValue,
        msgspec.Meta(
            description="More about the error, by code: with `conflict` on a command naming a "
            '`workflow_id`, `{"candidates": [...]}`, the live executions it could mean.'
        ),
    ] = None


class Ping(Frame, tag="ping", frozen=True, kw_only=True):
    """Heartbeat from the server: answer `{"type": "pong", "ts": <same ts>}`."""

    ts: Timestamp


class Pong(Frame, tag="pong", frozen=True, kw_only=True):
    """The server's answer to a client `ping`, echoing its `ts` if it had one."""

    ts: Timestamp | None = None


class Goaway(Frame, tag="goaway", frozen=True, kw_only=True):
    """The server is about to close the connection (shutdown); reconnect after `reconnect_ms`."""

    reason: str
    reconnect_ms: Annotated[int, msgspec.Meta(ge=0)]


FRAME_UNION = "flowwire_items"
"""Field metadata key: the items of this list are frames of the named union."""


class Batch(Frame, tag="batch", frozen=True, kw_only=True):
    """Several frames at once, in order: sent instead of them to a client that asked for
    batches (`subscribe` with `batch`) when they were queued together. Handle each
    frame as if it had come alone."""

    frames: Annotated[
        list[JsonValue],
        msgspec.Meta(min_length=1, extra={FRAME_UNION: "ServerFrame"}),
    ]


class TopicPosition(Part, frozen=True, kw_only=True):
    """Where a topic stands for this subscriber."""

    epoch: Annotated[
        str,
        msgspec.Meta(description="Identity of the topic's stream; changes when history is lost."),
    ]
    seq: Annotated[int, msgspec.Meta(ge=0, description="The topic's latest seq at subscription.")]
    recovered: Annotated[
        bool,
        msgspec.Meta(description="True when every event after `since` was replayed."),
    ]
    types: Annotated[
        list[str] | None,
        msgspec.Meta(
            description="The event-type filter of this subscription: only matching events "
            "come, so seqs skip (not a loss); resume with the last seq received."
        ),
    ] = None


class SubscribeResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `subscribe`."""

    topics: dict[str, TopicPosition]


class UnsubscribeResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `unsubscribe`."""

    topics: list[str]


class AuthResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `auth`."""

    principal: JsonValue = None


class ExecuteResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `execute`; it arrives before the execution's first event."""

    execution_id: str
    topic: str


class ControlResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `control`: the execution's status after the action."""

    status: ExecutionStatusValue


class InputResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `input`."""

    accepted: bool


class ExecutionSummary(Part, frozen=True, kw_only=True):
    """One execution in the reply to `list`: its state as an `execution.snapshot` has it,
    with `nodes` and `edges` only when the command asked for them."""

    topic: str
    workflow_id: str
    execution_id: str
    ts: Timestamp
    status: ExecutionStatusValue
    name: str | None = None
    nodes: dict[str, NodeSnapshot] | None = None
    edges: list[EdgeInfo] | None = None
    progress: ProgressSnapshot
    started_ts: Timestamp | None = None
    finished_ts: Timestamp | None = None
    error: ErrorInfo | None = None
    last_seq: Annotated[int, msgspec.Meta(ge=0)]


class ListResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `list`: newest first (by `started_ts`)."""

    executions: list[ExecutionSummary]
