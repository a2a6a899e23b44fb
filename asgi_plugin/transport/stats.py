"""Counters an operator reads at `GET …/stats` (JSON) and `GET …/metrics` (Prometheus)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from wsproto_schema import CloseCode

__all__ = ["KNOWN_CLOSE_CODES", "Stats"]

KNOWN_CLOSE_CODES = frozenset(range(1000, 1016)) | {int(code) for code in CloseCode}
"""The standard close codes (RFC 6455) and flowwire's."""


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
    disconnects: Counter[str] = field(default_factory=Counter)
    """Connections ended, by close code (`other` for a code a client made up)."""
    hook_failures: Counter[str] = field(default_factory=Counter)
    """Lifecycle hooks (`on_connect`, …) that raised."""

    def disconnected(self, close_code: int) -> None:
        # A client chooses its own close code: keep the metric's labels to a known set.
        known = close_code in KNOWN_CLOSE_CODES
        self.disconnects[str(close_code) if known else "other"] += 1

    def uptime(self) -> float:
        return time.monotonic() - self.started
