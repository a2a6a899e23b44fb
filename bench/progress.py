"""What a benchmark is doing now, and about how long it has left, on stderr.

Each benchmark counts its steps (one server's burst, one memory reading...)
and calls `step` as each ends; the time left is the mean time of the steps so
far times the steps still to run: rough for the first step, better each step.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"


class Progress:
    """The steps of one benchmark, printed as they finish."""

    def __init__(self, name: str, total: int, stream: TextIO | None = None) -> None:
        self.name = name
        self.total = max(1, total)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()

    def step(self, what: str) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.done * max(0, self.total - self.done)
        print(
            f"   {self.name} [{self.done}/{self.total}] {what}: {_duration(elapsed)} so far, "
            f"about {_duration(left)} left",
            file=self.stream,
            flush=True,
        )
