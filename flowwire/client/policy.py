"""When to reconnect: exponential backoff with full jitter, shaped by the close code.

Pure: the caller passes the attempt number and a random number in [0, 1).

| close | what the client does |
|---|---|
| 1000 | done: the server ended the stream on purpose; no reconnect |
| 1001 (after `goaway`) | after `goaway.reconnect_ms` plus up to `goaway_jitter_ms`; backoff reset |
| 1008, 4001, HTTP 401/403/400 | no reconnect, unless a fresh token can be had (then once more) |
| 1012 | `restart_floor_ms`, then the backoff |
| 1013, 4029 | `slow_floor_ms`, then the backoff (overload, flooding) |
| 4002, 4008 | at once, with up to `quick_ms` of jitter; the backoff if it repeats |
| other (1006, 1009, 1011, 4000…) | the backoff: uniform in [0, min(cap, base * 2**attempt)) |
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AUTH_CODES",
    "FLOOD",
    "STOP_CODES",
    "ReconnectPolicy",
    "close_code_of_http_status",
]

FLOOD = 4029
"""The close code of a flooding client (the server's limits)."""
AUTH_CODES = frozenset({1008, 4001})
"""Credentials refused: reconnecting with the same ones would loop."""
STOP_CODES = frozenset({1000})
"""The server ended the stream on purpose."""
_QUICK = frozenset({4002, 4008})
_SLOW = frozenset({1013, FLOOD})
_RESTART = 1012
_GOING_AWAY = 1001


def close_code_of_http_status(status: int) -> int:
    """A refused upgrade as the close code a browser-side client would act on."""
    if status in (401, 403):
        return 4001 if status == 401 else 1008
    if status == 400:
        return 1008  # an offer this server cannot speak (another protocol version)
    if status in (429,):
        return FLOOD
    if status == 503:
        return 1013
    return 1011 if status >= 500 else 1006


@dataclass(frozen=True)
class ReconnectPolicy:
    """The delays between reconnects, in milliseconds."""

    base_ms: float = 500
    cap_ms: float = 30_000
    quick_ms: float = 250
    restart_floor_ms: float = 1_000
    slow_floor_ms: float = 5_000
    goaway_jitter_ms: float = 1_000

    def backoff(self, attempt: int, random: float) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt))."""
        ceiling: float = min(self.cap_ms, self.base_ms * 2.0 ** min(attempt, 30))
        return random * ceiling

    def delay(
        self, code: int | None, attempt: int, random: float, *, goaway_ms: int | None = None
    ) -> float | None:
        """How long to wait before reconnect number `attempt` (0 for the first after a
        good connection), or None: do not reconnect."""
        if code in STOP_CODES or code in AUTH_CODES:
            return None
        if code == _GOING_AWAY and goaway_ms is not None:
            return goaway_ms + random * self.goaway_jitter_ms
        if code in _QUICK and attempt == 0:
            return random * self.quick_ms
        if code == _RESTART:
            return self.restart_floor_ms + self.backoff(attempt, random)
        if code in _SLOW:
            return self.slow_floor_ms + self.backoff(attempt, random)
        return self.backoff(attempt, random)
