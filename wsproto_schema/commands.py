"""Client → server commands. Every command may carry `ref`, echoed by its reply or error."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .base import Command, JsonValue, StrictPart, Timestamp

__all__ = [
    "Auth",
    "Control",
    "ControlAction",
    "EdgeSpec",
    "Execute",
    "Input",
    "ListExecutions",
    "NodeSpec",
    "PingCommand",
    "PongCommand",
    "SincePosition",
    "Subscribe",
    "Unsubscribe",
    "WorkflowSpec",
]

ControlAction = Literal["pause", "resume", "stop"]

Topic = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
EventTypePattern = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
WorkflowId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=256,
        description="Instead of `execution_id`: the workflow whose one live execution is meant "
        "(a `conflict` error, listing the candidates in `details`, when several are live).",
    ),
]


class Auth(Command, tag="auth", frozen=True, kw_only=True):
    """Authenticate on an open connection (when the server asks for a first-message token)."""

    token: str


class SincePosition(StrictPart, frozen=True, kw_only=True):
    """The last event a client saw on a topic, to resume after it."""

    # Bounded within 64 bits by its type, so a resume needs no scan for long integers.
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    epoch: str


class Subscribe(Command, tag="subscribe", frozen=True, kw_only=True):
    """Receive a topic's events. A topic ending in `*` matches every topic with that prefix."""

    topics: Annotated[list[Topic], msgspec.Meta(min_length=1)]
    since: Annotated[
        dict[str, SincePosition] | None,
        msgspec.Meta(description="Resume: replay each topic's events after this position."),
    ] = None
    snapshot: Annotated[
        bool, msgspec.Meta(description="Send an `execution.snapshot` per live execution first.")
    ] = True
    batch: Annotated[
        bool,
        msgspec.Meta(
            description="Accept `batch` frames: several queued frames in one (this connection)."
        ),
    ] = False
    types: Annotated[
        Annotated[list[EventTypePattern], msgspec.Meta(min_length=1)] | None,
        msgspec.Meta(
            description="Deliver only events whose `type` matches one of these (`*` matches "
            "any run of characters: `node.*`). Seq stays per topic: a filtered stream skips "
            "the seqs of the events it leaves out.",
        ),
    ] = None


class Unsubscribe(Command, tag="unsubscribe", frozen=True, kw_only=True):
    """Stop receiving topics' events."""

    topics: Annotated[list[Topic], msgspec.Meta(min_length=1)]


class NodeSpec(StrictPart, frozen=True, kw_only=True):
    """A node of a workflow to run: its `kind` picks the handler, `params` configure it."""

    id: Id
    kind: Id
    name: str | None = None
    params: dict[str, JsonValue] | None = None


class EdgeSpec(StrictPart, frozen=True, kw_only=True):
    """An edge of a workflow to run: `target` starts after `source` succeeded."""

    source: Id
    target: Id
    id: str | None = None


class WorkflowSpec(StrictPart, frozen=True, kw_only=True):
    """A workflow to run: a DAG of nodes."""

    id: Id
    name: str | None = None
    nodes: list[NodeSpec]
    edges: list[EdgeSpec] = []


IdempotencyKey = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=128,
        description=(
            "Chosen by the client, unique per command (a UUID): a command sent again with "
            "the same key (after a reconnect) is run once; the retry gets the first reply."
        ),
    ),
]


class Execute(Command, tag="execute", frozen=True, kw_only=True):
    """Run a workflow. The reply names the execution and its topic."""

    workflow: WorkflowSpec
    inputs: dict[str, JsonValue] | None = None
    subscribe: Annotated[
        bool, msgspec.Meta(description="Subscribe this connection to the execution's topic.")
    ] = True
    idempotency_key: IdempotencyKey | None = None


class Control(Command, tag="control", frozen=True, kw_only=True):
    """Pause, resume or stop an execution (named by `execution_id`, or by `workflow_id`)."""

    execution_id: Id = ""
    workflow_id: WorkflowId | None = None
    action: ControlAction
    idempotency_key: IdempotencyKey | None = None


class Input(Command, tag="input", frozen=True, kw_only=True):
    """Answer an `input.requested` event (of `execution_id`, or of `workflow_id`'s live run)."""

    execution_id: Id = ""
    workflow_id: WorkflowId | None = None
    node_id: Id
    value: JsonValue
    idempotency_key: IdempotencyKey | None = None


class ListExecutions(Command, tag="list", frozen=True, kw_only=True):
    """The recent executions, live and finished, of topics the principal may subscribe to,
    newest first (a dashboard's runs list)."""

    topics: Annotated[
        list[Topic],
        msgspec.Meta(
            min_length=1,
            description="Topics or `prefix*` patterns to look in; each topic found is "
            "authorized like a subscribe, and left out when refused.",
        ),
    ] = msgspec.field(default_factory=lambda: ["*"])
    limit: Annotated[
        int, msgspec.Meta(ge=1, le=1000, description="At most this many executions.")
    ] = 100
    nodes: Annotated[
        bool, msgspec.Meta(description="Include each execution's `nodes` and `edges`.")
    ] = False


class PingCommand(Command, tag="ping", frozen=True, kw_only=True):
    """Client heartbeat: the server answers `pong` with the same `ts`."""

    ts: Timestamp | None = None


class PongCommand(Command, tag="pong", frozen=True, kw_only=True):
    """The answer to a server `ping`, echoing its `ts`."""

    ts: Timestamp
