"""The exit codes of `flowwire watch` and `flowwire run`: the outcome of the execution."""

from __future__ import annotations

import enum

from flowwire.client import ExecutionView

__all__ = ["RUNNER_LOST", "Exit", "exit_code"]

RUNNER_LOST = "runner_lost"
"""The `error.code` of an `execution.failed` whose runner process was lost."""


class Exit(enum.IntEnum):
    COMPLETED = 0
    FAILED = 1
    """The execution failed (or the workflow was refused: invalid, unknown kind)."""
    USAGE = 2
    """argparse's: the command line is wrong."""
    STOPPED = 3
    LOST = 4
    """The execution's runner was lost, or the connection could not be (re)established."""
    NOT_FOUND = 5
    """No such live execution to watch."""
    INTERRUPTED = 130
    """Ctrl-C."""


def exit_code(view: ExecutionView) -> Exit:
    """The exit code of a finished execution."""
    if view.status == "completed":
        return Exit.COMPLETED
    if view.status == "stopped":
        return Exit.STOPPED
    if view.error is not None and view.error.code == RUNNER_LOST:
        return Exit.LOST
    return Exit.FAILED
