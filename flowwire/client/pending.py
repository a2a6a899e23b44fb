"""Commands waiting for their answer: `ref`s, deadlines, queued while disconnected.

Pure: the caller passes the time (milliseconds, any monotonic origin).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

import wsproto_schema as ws

__all__ = ["Pending", "PendingCommands"]


@dataclass
class Pending:
    ref: str
    command: ws.Command
    deadline: float
    timeout_ms: float
    sent: bool = False

    @property
    def tag(self) -> str:
        return ws.frame_tag(type(self.command))


class PendingCommands:
    """User commands by `ref`, in the order they were issued."""

    def __init__(self, prefix: str = "c") -> None:
        self._prefix = prefix
        self._next = 0
        self._pending: dict[str, Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __iter__(self) -> Iterator[Pending]:
        return iter(list(self._pending.values()))

    def add(self, command: ws.Command, now: float, timeout_ms: float) -> Pending:
        """File a command under a fresh `ref` (set on the command itself)."""
        self._next += 1
        ref = f"{self._prefix}{self._next}"
        pending = Pending(
            ref, msgspec.structs.replace(command, ref=ref), now + timeout_ms, timeout_ms
        )
        self._pending[ref] = pending
        return pending

    def unsent(self) -> list[Pending]:
        return [p for p in self._pending.values() if not p.sent]

    def settle(self, ref: str | None) -> Pending | None:
        """The command answered by `ref`, no longer pending (None if it is not ours)."""
        return self._pending.pop(ref, None) if ref is not None else None

    def expired(self, now: float) -> list[Pending]:
        gone = [p for p in self._pending.values() if p.deadline <= now]
        for pending in gone:
            del self._pending[pending.ref]
        return gone

    def interrupted(self) -> list[Pending]:
        """The connection closed: commands sent on it will get no answer. Those with an
        idempotency key run once however often they are sent: they wait for the next
        connection (within their deadline), to be sent again with the same key. The
        others are returned: whether they ran cannot be known."""
        gone = []
        for pending in [p for p in self._pending.values() if p.sent]:
            if getattr(pending.command, "idempotency_key", None) is not None:
                pending.sent = False
            else:
                del self._pending[pending.ref]
                gone.append(pending)
        return gone

    def drain(self) -> list[Pending]:
        gone = list(self._pending.values())
        self._pending.clear()
        return gone

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self._pending.values()), default=None)
