"""Execution state folded from events on the client: the same fold as the server's.

`ExecutionStore` keeps one `ExecutionView` per execution: replaced by an
`execution.snapshot`, updated by each event after it, dropped with its topic on
a reset. Everything a snapshot carries (status, nodes and their outputs, edges,
progress, times, error, usage, the pending input requests, the log tail, each
node's token text) is folded exactly as the server's materializer folds it, so
`view.to_snapshot()` equals the snapshot a server would send at the same point
while the text and logs are within the server's bounds (tests/clients/test_fold.py
checks it on the same streams). The fold is the server's own
(`wsproto_schema.fold.ExecutionState.apply`). A client that joins mid-run renders
the same state at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import wsproto_schema as ws
from wsproto_schema.fold import ExecutionState, NodeState

__all__ = ["ExecutionStore", "ExecutionView", "NodeView", "Reset", "Streamed"]

LOG_TAIL = 200
SNAPSHOT_LOGS = 100
"""The log lines a server's snapshot carries (asgi_plugin/core/streamed.py)."""

NodeView = NodeState
"""One node: the fields of its snapshot but the streamed ones (text, usage: see
`ExecutionView.streamed` and `ExecutionView.usage`)."""


@dataclass(frozen=True)
class Reset:
    """The client lost its place in `topic` (`recovered: false`): what it held for the
    topic was dropped; snapshots of its executions follow."""

    topic: str
    seq: int = 0
    """The topic's position after the reset: events with a higher seq follow."""
    epoch: str = ""


@dataclass
class Streamed:
    """What streams in quantity alongside the state: token text and log lines."""

    text: dict[str, str] = field(default_factory=dict)
    """Each node's tokens, joined."""
    tokens_omitted: dict[str, int] = field(default_factory=dict)
    """Per node, the deltas before `text` this client never got (its snapshot left them out)."""
    logs: deque[ws.LogLine] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))
    logs_omitted: int = 0
    """Log lines before `logs` this client does not hold."""

    def add(self, event: ws.Event) -> None:
        if isinstance(event, ws.NodeToken):
            self.text[event.node_id] = self.text.get(event.node_id, "") + event.delta
        elif isinstance(event, ws.ExecutionLog):
            if len(self.logs) == self.logs.maxlen:
                self.logs_omitted += 1
            self.logs.append(ws.LogLine.of(event))

    def text_of(self, node_id: str) -> tuple[str | None, int | None]:
        return self.text.get(node_id) or None, self.tokens_omitted.get(node_id)

    @classmethod
    def from_snapshot(cls, snapshot: ws.ExecutionSnapshot) -> Streamed:
        streamed = cls(logs_omitted=snapshot.logs_omitted or 0)
        streamed.logs.extend(snapshot.logs)
        for node_id, node in snapshot.nodes.items():
            if node.text is not None:
                streamed.text[node_id] = node.text
            if node.tokens_omitted is not None:
                streamed.tokens_omitted[node_id] = node.tokens_omitted
        return streamed


@dataclass
class ExecutionView(ExecutionState):
    """The state of one execution as this client knows it: the server's fold
    (`wsproto_schema.fold`), plus the token text and log lines it streamed."""

    streamed: Streamed = field(default_factory=Streamed)

    def to_snapshot(self) -> ws.ExecutionSnapshot:
        """This state as the `execution.snapshot` a server would send for it."""
        streamed = self.streamed
        logs = list(streamed.logs)[-SNAPSHOT_LOGS:]
        omitted = streamed.logs_omitted + len(streamed.logs) - len(logs)
        return self.snapshot(text=streamed.text_of, logs=logs, logs_omitted=omitted)

    @classmethod
    def from_snapshot(cls, snapshot: ws.ExecutionSnapshot) -> ExecutionView:
        view = cls(snapshot.topic, snapshot.workflow_id, snapshot.execution_id)
        view.restore(snapshot)
        view.streamed = Streamed.from_snapshot(snapshot)
        return view

    def apply(self, event: ws.Event, *, output_limit: int | None = None) -> None:
        """Fold one event as the server does; keep the tokens and logs it streams. A
        finished execution does not move: only a new `execution.started` changes it."""
        if self.finished and not isinstance(event, ws.ExecutionStarted):
            return
        if isinstance(event, ws.ExecutionStarted):
            self.streamed = Streamed()  # a new run: its own text and logs
        self.streamed.add(event)
        super().apply(event, output_limit=output_limit)

    def total_usage(self) -> tuple[int, int, float | None]:
        """(prompt tokens, completion tokens, cost) over every node."""
        total = self.usage_total
        if total is None:
            return 0, 0, None
        return total.prompt_tokens, total.completion_tokens, total.cost


class ExecutionStore:
    """Every execution the client has seen, by `execution_id`."""

    def __init__(self) -> None:
        self.views: dict[str, ExecutionView] = {}

    def get(self, execution_id: str) -> ExecutionView | None:
        return self.views.get(execution_id)

    def executions(self, topic: str | None = None) -> list[ExecutionView]:
        return [v for v in self.views.values() if topic is None or v.topic == topic]

    def apply_snapshot(self, snapshot: ws.ExecutionSnapshot) -> ExecutionView:
        """Replace what is held for the snapshot's execution: it carries everything."""
        view = self.views[snapshot.execution_id] = ExecutionView.from_snapshot(snapshot)
        return view

    def apply_event(self, event: ws.Event) -> ExecutionView | None:
        """Fold an event into its execution; None when a snapshot already covers it."""
        view = self.views.get(event.execution_id)
        if view is None:
            view = self.views[event.execution_id] = ExecutionView(
                event.topic, event.workflow_id, event.execution_id
            )
        elif event.seq <= view.last_seq and view.topic == event.topic:
            return None
        view.apply(event)
        return view

    def reset(self, topic: str) -> None:
        """Drop the topic's executions: the snapshots that follow rebuild them."""
        for execution_id in [k for k, v in self.views.items() if v.topic == topic]:
            del self.views[execution_id]
