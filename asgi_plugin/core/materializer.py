"""Execution state folded from events: what a client that joins mid-run must see first.

`Materializer.apply(event)` folds one published event into the state of its
execution; `snapshots(topic)` renders each execution of a topic as an
`execution.snapshot` frame. The fold itself is the protocol's
(`wsproto_schema.fold`), shared with the Python client; the TypeScript store
folds the same way (tests/clients compare them). Token text and log lines are
kept apart, bounded (streamed.py).
"""

from __future__ import annotations

from collections import OrderedDict

import wsproto_schema as ws
from wsproto_schema.fold import STATEFUL, TERMINAL_NODE, ExecutionState, summarize

from .streamed import STREAMED, Streamed

__all__ = [
    "OUTPUT_KEPT_BYTES",
    "STATEFUL",
    "TERMINAL_NODE",
    "ExecutionState",
    "Materializer",
    "fold",
    "render",
    "summarize",
]

OUTPUT_KEPT_BYTES = 4096
"""A node's output is kept for snapshots up to this size, encoded as JSON (the event
itself carried it whole)."""


def fold(state: ExecutionState, event: ws.Event) -> None:
    """Fold one event into its execution's state as every server process does (node
    outputs kept up to `OUTPUT_KEPT_BYTES`)."""
    state.apply(event, output_limit=OUTPUT_KEPT_BYTES)


def render(
    state: ExecutionState, streamed: Streamed | None, topic_seq: int | None = None
) -> ws.ExecutionSnapshot:
    """An execution's snapshot: its state, the text and log tail kept for it, and
    `last_seq` the topic position it reflects (the topic's own: an execution id that
    also published on another topic has that topic's seq in its state)."""
    return state.snapshot(
        text=streamed.text if streamed is not None else None,
        logs=streamed.logs if streamed is not None else (),
        logs_omitted=streamed.logs_omitted if streamed is not None else None,
        last_seq=state.last_seq if topic_seq is None else topic_seq,
    )


class Materializer:
    """The state of every execution of every topic, within retention limits.

    Running and paused executions are kept until they finish; of finished ones,
    the `finished_snapshots` most recent per topic are kept.
    """

    def __init__(self, *, finished_snapshots: int = 20) -> None:
        self.finished_snapshots = finished_snapshots
        self._topics: dict[str, OrderedDict[str, ExecutionState]] = {}
        self._topic_of: dict[str, str] = {}
        self._streamed: dict[str, Streamed] = {}

    def apply(self, event: ws.Event) -> ExecutionState | None:
        """Fold a published event; None when the state did not change (tokens and logs
        are kept for the snapshot, while the execution runs)."""
        if isinstance(event, STREAMED):
            state = self.get(event.execution_id)
            if state is not None and not state.finished:
                streamed = self._streamed.get(event.execution_id)
                if streamed is None:
                    streamed = self._streamed[event.execution_id] = Streamed()
                streamed.add(event)
            return None
        if not isinstance(event, STATEFUL):
            return None
        executions = self._topics.setdefault(event.topic, OrderedDict())
        state = executions.get(event.execution_id)
        if state is None:
            state = executions[event.execution_id] = ExecutionState(
                event.topic, event.workflow_id, event.execution_id
            )
            self._topic_of[event.execution_id] = event.topic
        if isinstance(event, ws.ExecutionStarted):
            self._streamed.pop(event.execution_id, None)  # a new run: its own text and logs
        fold(state, event)
        if state.finished:
            executions.move_to_end(event.execution_id)
            self._trim(executions)
        return state

    def _trim(self, executions: OrderedDict[str, ExecutionState]) -> None:
        finished = [key for key, state in executions.items() if state.finished]
        for key in finished[: max(0, len(finished) - self.finished_snapshots)]:
            del executions[key]
            self._topic_of.pop(key, None)
            self._streamed.pop(key, None)

    def get(self, execution_id: str) -> ExecutionState | None:
        topic = self._topic_of.get(execution_id)
        return None if topic is None else self._topics[topic].get(execution_id)

    def topic_of(self, execution_id: str) -> str | None:
        return self._topic_of.get(execution_id)

    def topics(self) -> list[str]:
        return list(self._topics)

    def executions(self, topic: str) -> list[ExecutionState]:
        return list(self._topics.get(topic, {}).values())

    def snapshot(
        self, execution_id: str, topic_seq: int | None = None
    ) -> ws.ExecutionSnapshot | None:
        """One execution's snapshot (None when it is not kept)."""
        state = self.get(execution_id)
        if state is None:
            return None
        return render(state, self._streamed.get(execution_id), topic_seq)

    def snapshots(
        self, topic: str, *, live_only: bool, topic_seq: int | None = None
    ) -> list[ws.ExecutionSnapshot]:
        return [
            render(state, self._streamed.get(state.execution_id), topic_seq)
            for state in self.executions(topic)
            if not (live_only and state.finished)
        ]

    def forget(self, topic: str) -> None:
        for execution_id in self._topics.pop(topic, {}):
            self._topic_of.pop(execution_id, None)
            self._streamed.pop(execution_id, None)
