"""An application's own events, as an app would declare them (seed 001's `session.update`).

Imported only by `flowwire codegen --module tests.protocol.app_events` in a
subprocess, so the process-wide registry of the test session stays built-in only.
"""

from __future__ import annotations

from typing import Literal

import wsproto_schema as ws

__all__ = ["SessionStatus", "SessionUpdate", "TaskUpdate"]

SessionStatus = Literal["running", "completed", "failed", "paused"]


@ws.register_event
class SessionUpdate(ws.Event, tag="session.update", frozen=True, kw_only=True):
    """The agent session changed."""

    session_id: str
    status: SessionStatus
    completed_tasks: int
    total_tasks: int


@ws.register_event
class TaskUpdate(ws.Event, tag="task.update", frozen=True, kw_only=True):
    """A task of the agent session changed."""

    task_id: str
    status: Literal["pending", "running", "completed", "failed"]
    result: str | None = None
