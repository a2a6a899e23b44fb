"""The engine side of the protocol: a workflow engine in another process or language.

An engine connects to `…/engine` under the server's mount with the engine
credential (`Authorization: Bearer <engine_key>`), never a user's. It says which
workflows it serves (`engine.serve`), holds the executions it runs (`engine.claim`,
or by publishing their events with `engine.publish`), and answers each
`engine.command` the server sends it with one `engine.result`. Users' commands
for its executions reach it as `engine.command`; its result is the user's reply.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from .base import Command, Frame, JsonValue, Part, StrictPart
from .codes import ErrorCode

__all__ = [
    "CommandFailure",
    "EngineClaim",
    "EngineClaimResult",
    "EngineCommand",
    "EnginePublish",
    "EnginePublishResult",
    "EngineResult",
    "EngineServe",
    "EngineServeResult",
]

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
PublishKey = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=128,
        description="Sent again with the same key (after a reconnect), it is stored once.",
    ),
]


class EngineServe(Command, tag="engine.serve", frozen=True, kw_only=True):
    """Engine → server: send me the `execute` commands of these workflow ids (replaces any
    earlier list; `[]` serves none). The reply's data is `EngineServeResult`."""

    workflows: Annotated[list[Id], msgspec.Meta(max_length=1000)]


class EngineClaim(Command, tag="engine.claim", frozen=True, kw_only=True):
    """Engine → server: I run these executions (after a reconnect, say): send me their
    `control` and `input` commands, and keep their runner lease while I am connected.
    The reply's data is `EngineClaimResult`."""

    executions: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=1000)]


class EnginePublish(Command, tag="engine.publish", frozen=True, kw_only=True):
    """Engine → server: publish one event, validated like `POST publish`. Publishing an
    event of an execution claims it for this engine. The reply's data is
    `EnginePublishResult`."""

    event: Annotated[
        dict[str, JsonValue],
        msgspec.Meta(description="A stream event, as `POST publish` takes it."),
    ]
    idempotency_key: PublishKey | None = None


class CommandFailure(StrictPart, frozen=True, kw_only=True):
    """Why an engine could not carry out a command: the user gets it as an `error` frame."""

    code: ErrorCode
    message: str
    path: str | None = None


class EngineResult(Command, tag="engine.result", frozen=True, kw_only=True):
    """Engine → server: the outcome of one `engine.command`, by its `id`: `data` (the
    command's result shape: `ExecuteResult`, `ControlResult` or `InputResult`), or
    `error`. Exactly one of them."""

    id: Id
    data: dict[str, JsonValue] | None = None
    error: CommandFailure | None = None


class EngineCommand(Frame, tag="engine.command", frozen=True, kw_only=True):
    """Server → engine: a user's `execute`, `control` or `input` for this engine. Answer it
    with `engine.result` of the same `id` within the server's `engine_command_timeout_ms`;
    past that the user gets an `unavailable` error."""

    id: str
    command: Annotated[
        dict[str, JsonValue],
        msgspec.Meta(description="The user's `execute`, `control` or `input`, without `ref`."),
    ]
    principal: Annotated[
        JsonValue,
        msgspec.Meta(description="Who sent it, as the `auth` reply shows a principal."),
    ] = None


class EngineServeResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `engine.serve`."""

    workflows: list[str]


class EngineClaimResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `engine.claim`: the executions now held by this engine, and
    those it can no longer hold (they ended meanwhile, `runner_lost` perhaps, or are
    unknown): stop running these."""

    claimed: list[str]
    lost: list[str]


class EnginePublishResult(Part, frozen=True, kw_only=True):
    """`data` of the reply to `engine.publish`: where the event was stored."""

    topic: str
    seq: Annotated[int, msgspec.Meta(ge=1)]
    duplicate: bool = False
