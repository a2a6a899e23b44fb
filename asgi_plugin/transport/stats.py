"""Counters an operator reads at `GET …/stats`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Stats"]


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    connections_opened: int = 0
    handshakes_refused: int = 0
    published: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    frames_dropped: int = 0
    slow_consumer_closes: int = 0
    stalled_closes: int = 0
    """Connections given up because a send waited longer than `send_timeout_ms`."""
    max_queue_depth: int = 0

    def uptime(self) -> float:
        return time.monotonic() - self.started
