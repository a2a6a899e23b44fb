"""Counters an operator reads at `GET …/stats` (JSON) and `GET …/metrics` (Prometheus)."""

from __future__ import annotations

import time
from collections import Counter
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
    refusals: Counter[str] = field(default_factory=Counter)
    """Handshakes refused, by reason (`origin`, `host`, `too_many_connections`, …)."""
    commands: Counter[str] = field(default_factory=Counter)
    """Commands received, by type (`subscribe`, `execute`, …)."""
    errors: Counter[str] = field(default_factory=Counter)
    """`error` frames sent, by code."""
    disconnects: Counter[int] = field(default_factory=Counter)
    """Connections ended, by close code."""
    hook_failures: Counter[str] = field(default_factory=Counter)
    """Lifecycle hooks (`on_connect`, …) that raised."""

    def uptime(self) -> float:
        return time.monotonic() - self.started
