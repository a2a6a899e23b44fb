"""What streams in quantity into an execution's snapshot: token text and log lines, bounded.

`node.token` and `execution.log` events come many per second; a snapshot
carries the most recent of them (per node, `TOKENS_KEPT` deltas of at most
`TEXT_BYTES_KEPT` bytes together; per execution, `LOGS_KEPT` log lines whose
messages take at most `LOG_BYTES_KEPT` bytes) and says how many earlier ones it
leaves out, so a client
that joins mid-run shows what an LLM node has written so far and the log's
tail. They are kept apart from the folded state: the Redis broker appends them
to lists in its publish script instead of rewriting the state for each token.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import wsproto_schema as ws

__all__ = [
    "LOGS_KEPT",
    "LOG_BYTES_KEPT",
    "STREAMED",
    "TEXT_BYTES_KEPT",
    "TOKENS_KEPT",
    "Streamed",
]

TOKENS_KEPT = 2048
"""`node.token` deltas kept per node (the most recent)."""
TEXT_BYTES_KEPT = 64 * 1024
"""…of at most this many bytes (UTF-8) together."""
LOGS_KEPT = 100
"""`execution.log` events kept per execution (the most recent)."""
LOG_BYTES_KEPT = 64 * 1024
"""…whose messages take at most this many bytes (UTF-8) together."""
STREAMED: tuple[type[ws.Event], ...] = (ws.NodeToken, ws.ExecutionLog)
"""The events kept here rather than folded into the state."""


@dataclass
class Streamed:
    """One execution's token deltas (per node) and log lines, the most recent kept."""

    tokens: dict[str, deque[str]] = field(default_factory=dict)
    tokens_omitted: dict[str, int] = field(default_factory=dict)
    text_bytes: dict[str, int] = field(default_factory=dict)
    logs: deque[ws.LogLine] = field(default_factory=deque)
    logs_omitted: int = 0
    log_bytes: int = 0

    def add(self, event: ws.Event) -> None:
        """Keep a `node.token` or an `execution.log` (other events are ignored); drop the
        oldest past the bounds. The Redis broker's script applies the same rule."""
        if isinstance(event, ws.NodeToken):
            node = event.node_id
            deltas = self.tokens.get(node)
            if deltas is None:
                deltas = self.tokens[node] = deque()
                self.tokens_omitted[node] = 0
            deltas.append(event.delta)
            size = self.text_bytes.get(node, 0) + len(event.delta.encode())
            while deltas and (len(deltas) > TOKENS_KEPT or size > TEXT_BYTES_KEPT):
                size -= len(deltas.popleft().encode())
                self.tokens_omitted[node] += 1
            self.text_bytes[node] = size
        elif isinstance(event, ws.ExecutionLog):
            self.logs.append(ws.LogLine.of(event))
            self.log_bytes += len(event.message.encode())
            while self.logs and (len(self.logs) > LOGS_KEPT or self.log_bytes > LOG_BYTES_KEPT):
                self.log_bytes -= len(self.logs.popleft().message.encode())
                self.logs_omitted += 1

    def text(self, node_id: str) -> tuple[str | None, int | None]:
        """A node's kept text and how many deltas it leaves out (None: nothing, none)."""
        deltas = self.tokens.get(node_id)
        text = "".join(deltas) or None if deltas else None
        return text, self.tokens_omitted.get(node_id) or None
