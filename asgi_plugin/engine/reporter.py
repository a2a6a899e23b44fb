"""The engine side: one `Reporter` per execution turns engine steps into events.

    report = flowwire.reporter("etl", "run-1")
    await report.started(["extract", "load"], [("extract", "load")])
    await report.node_running("extract")
    await report.node_succeeded("extract", output={"rows": 10})
    await report.progress()                  # counts and ETA from what it has seen
    await report.completed()

Every method publishes one event and returns its seq. Engines that run in
threads use the twin with the same methods, `report.sync.node_running(...)`: it
blocks until the event is published and keeps the order of calls.

Each method is written once, in `ExecutionEvents`: it builds its event (and
updates what the reporter tracks for progress and the summary), then hands it
to `_emit`, which the async `Reporter` returns as an awaitable and the
`SyncReporter` waits for. Both keep every method's full signature.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, Union

import wsproto_schema as ws
from asgi_plugin.core.materializer import TERMINAL_NODE, summarize
from asgi_plugin.core.topics import default_topic
from wsproto_schema import JsonValue

__all__ = [
    "TERMINAL_EVENTS",
    "EdgeLike",
    "ExecutionEnded",
    "ExecutionEvents",
    "NodeLike",
    "Pending",
    "Publisher",
    "Reporter",
    "SyncReporter",
]

R = TypeVar("R")

Pending = Coroutine[Any, Any, int]
"""What an async `Reporter` method returns: await it for the event's seq."""

TERMINAL_EVENTS: tuple[type[ws.Event], ...] = (
    ws.ExecutionCompleted,
    ws.ExecutionFailed,
    ws.ExecutionStopped,
)


class ExecutionEnded(RuntimeError):
    """The execution already ended (completed, failed or stopped): no event may follow.

    An engine that keeps working after `stop` (a thread that does not check) meets
    this at its next report, which is its cue to stop.
    """


NodeLike = Union[str, ws.NodeInfo, dict[str, Any]]
"""A node: its id, a NodeInfo, or a dict with `id` and optional `name` and `kind`."""
EdgeLike = Union[tuple[str, str], ws.EdgeInfo, dict[str, Any]]
"""An edge: (source, target), an EdgeInfo, or a dict with `source`, `target`, optional `id`."""


def _node(node: NodeLike) -> ws.NodeInfo:
    if isinstance(node, ws.NodeInfo):
        return node
    if isinstance(node, str):
        return ws.NodeInfo(id=node)
    return ws.NodeInfo(id=node["id"], name=node.get("name"), kind=node.get("kind"))


def _edge(edge: EdgeLike) -> ws.EdgeInfo:
    if isinstance(edge, ws.EdgeInfo):
        return edge
    if isinstance(edge, tuple):
        source, target = edge
        return ws.EdgeInfo(source=source, target=target)
    return ws.EdgeInfo(source=edge["source"], target=edge["target"], id=edge.get("id"))


def _error(error: str | ws.ErrorInfo | BaseException, node_id: str | None = None) -> ws.ErrorInfo:
    if isinstance(error, ws.ErrorInfo):
        return error
    if isinstance(error, BaseException):
        return ws.ErrorInfo(
            code=type(error).__name__, message=str(error) or type(error).__name__, node_id=node_id
        )
    return ws.ErrorInfo(message=error, node_id=node_id)


@dataclass
class _Track:
    """What the reporter has seen of the execution, for progress, ETA and the summary."""

    nodes: dict[str, str] = field(default_factory=dict)
    running_since: dict[str, float] = field(default_factory=dict)
    durations: list[float] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)
    started: float | None = None
    ended: str | None = None
    """The terminal event already published (`execution.stopped`, …), if any."""

    def reset(self, nodes: Iterable[str]) -> None:
        """A new run of the execution: every node pending, the clock started."""
        self.ended = None
        self.nodes = dict.fromkeys(nodes, "pending")
        self.running_since.clear()
        self.durations.clear()
        self.tokens.clear()
        self.started = time.monotonic()

    def status(self, node_id: str, status: str, now: float) -> int | None:
        """Record a status change; return the node's measured duration in ms when it ends."""
        self.nodes[node_id] = status
        if status == "running":
            self.running_since[node_id] = now
            return None
        since = self.running_since.pop(node_id, None)
        if status in TERMINAL_NODE and since is not None:
            self.durations.append(now - since)
            return round((now - since) * 1000)
        return None

    def summary(self) -> ws.Summary:
        return summarize(self.nodes.values())

    def progress(self) -> tuple[int, int, list[str], int | None]:
        done = sum(status in TERMINAL_NODE for status in self.nodes.values())
        running = [node for node, status in self.nodes.items() if status == "running"]
        remaining = len(self.nodes) - done
        eta = None
        if self.durations and remaining:
            # Mean duration of finished nodes, for what is left, spread over the
            # parallelism seen now: an estimate, not a promise.
            mean = sum(self.durations) / len(self.durations)
            eta = round(mean * remaining / max(1, len(running)) * 1000)
        return done, len(self.nodes), running, eta


class Publisher(Protocol):
    """What a reporter publishes through: the `FlowwireApp` (or anything that publishes)."""

    async def publish(self, event: ws.Event) -> int:
        """Publish on the event loop; the event's seq."""
        ...

    def publish_threadsafe(self, event: ws.Event) -> concurrent.futures.Future[int]:
        """Publish from another thread; a future of the seq."""
        ...

    def reporter(
        self, workflow_id: str, execution_id: str, *, topic: str | None = None
    ) -> Reporter:
        """A reporter of one execution that publishes here."""
        ...


class ExecutionEvents(Generic[R]):
    """The events of one execution, one method each; `R` is what a method returns."""

    workflow_id: str
    execution_id: str
    topic: str
    _track: _Track

    @property
    def ended(self) -> str | None:
        """The terminal event the execution ended with (`execution.completed`, …), once it
        was published; None while it runs."""
        return self._track.ended

    def _emit(self, event: ws.Event) -> R:
        """Publish a built event."""
        raise NotImplementedError

    def _event(self, cls: type[ws.Event], **fields: Any) -> R:
        if (ended := self._track.ended) is not None and cls is not ws.ExecutionStarted:
            raise ExecutionEnded(
                f"execution {self.execution_id!r} already ended ({ended}): "
                f"no {ws.frame_tag(cls)} after it"
            )
        event = cls(
            topic=self.topic, workflow_id=self.workflow_id, execution_id=self.execution_id, **fields
        )
        return self._emit(event)

    def _published(self, event: ws.Event) -> None:
        """Record a published event: after a terminal one, nothing more is accepted."""
        if isinstance(event, TERMINAL_EVENTS):
            self._track.ended = ws.frame_tag(type(event))

    # -- the execution -------------------------------------------------------------

    def started(
        self,
        nodes: Iterable[NodeLike],
        edges: Iterable[EdgeLike] = (),
        *,
        name: str | None = None,
        order: Sequence[str] | None = None,
        inputs: dict[str, JsonValue] | None = None,
    ) -> R:
        infos = [_node(node) for node in nodes]
        self._track.reset(node.id for node in infos)
        return self._event(
            ws.ExecutionStarted,
            name=name,
            nodes=infos,
            edges=[_edge(edge) for edge in edges],
            order=list(order) if order is not None else None,
            inputs=inputs,
        )

    def paused(self, *, reason: str | None = None, by: str | None = None) -> R:
        return self._event(ws.ExecutionPaused, reason=reason, by=by)

    def resumed(self, *, reason: str | None = None, by: str | None = None) -> R:
        return self._event(ws.ExecutionResumed, reason=reason, by=by)

    def stopped(self, *, reason: str | None = None, by: str | None = None) -> R:
        return self._event(ws.ExecutionStopped, reason=reason, by=by)

    def _elapsed_ms(self) -> int:
        started = self._track.started
        return round((time.monotonic() - started) * 1000) if started is not None else 0

    def completed(self, *, outputs: dict[str, JsonValue] | None = None) -> R:
        return self._event(
            ws.ExecutionCompleted,
            duration_ms=self._elapsed_ms(),
            outputs=outputs,
            summary=self._track.summary(),
        )

    def failed(
        self,
        error: str | ws.ErrorInfo | BaseException,
        *,
        node_id: str | None = None,
        code: str | None = None,
        details: JsonValue = None,
    ) -> R:
        info = _error(error, node_id)
        if code is not None or details is not None:
            info = ws.ErrorInfo(
                code=code or info.code, message=info.message, node_id=info.node_id, details=details
            )
        return self._event(
            ws.ExecutionFailed,
            error=info,
            duration_ms=self._elapsed_ms(),
            summary=self._track.summary(),
        )

    def progress(
        self,
        *,
        completed: int | None = None,
        total: int | None = None,
        running: Sequence[str] | None = None,
        eta_ms: int | None = None,
    ) -> R:
        """Progress; what is not given comes from the node statuses reported so far."""
        seen_done, seen_total, seen_running, seen_eta = self._track.progress()
        done = seen_done if completed is None else completed
        count = seen_total if total is None else total
        percent = round(min(100.0, 100 * done / count), 2) if count else 0.0
        return self._event(
            ws.ExecutionProgress,
            completed=done,
            total=count,
            percent=percent,
            running=list(seen_running if running is None else running),
            eta_ms=seen_eta if eta_ms is None else eta_ms,
        )

    def log(
        self,
        message: str,
        *,
        level: ws.LogLevel = "info",
        node_id: str | None = None,
        **context: Any,
    ) -> R:
        return self._event(
            ws.ExecutionLog, level=level, message=message, node_id=node_id, context=context or None
        )

    # -- nodes ------------------------------------------------------------------------

    def _node_status(self, node_id: str, status: ws.NodeStatusValue, **fields: Any) -> R:
        measured = self._track.status(node_id, status, time.monotonic())
        if status in TERMINAL_NODE and fields.get("duration_ms") is None and measured is not None:
            fields["duration_ms"] = measured
        return self._event(ws.NodeStatus, node_id=node_id, status=status, **fields)

    def node_pending(self, node_id: str) -> R:
        return self._node_status(node_id, "pending")

    def node_running(self, node_id: str, *, attempt: int | None = None) -> R:
        return self._node_status(node_id, "running", attempt=attempt)

    def node_progress(self, node_id: str, progress: float) -> R:
        """A running node's own progress, 0..1."""
        if not 0 <= progress <= 1:
            raise ValueError(f"node progress is a fraction in 0..1, got {progress!r}")
        return self._event(ws.NodeStatus, node_id=node_id, status="running", progress=progress)

    def node_succeeded(
        self,
        node_id: str,
        *,
        output: JsonValue = None,
        attempt: int | None = None,
        duration_ms: int | None = None,
    ) -> R:
        return self._node_status(
            node_id, "succeeded", output=output, attempt=attempt, duration_ms=duration_ms
        )

    def node_failed(
        self,
        node_id: str,
        error: str | ws.ErrorInfo | BaseException,
        *,
        attempt: int | None = None,
        duration_ms: int | None = None,
    ) -> R:
        return self._node_status(
            node_id, "failed", error=_error(error), attempt=attempt, duration_ms=duration_ms
        )

    def node_skipped(self, node_id: str) -> R:
        return self._node_status(node_id, "skipped")

    def node_cancelled(self, node_id: str) -> R:
        return self._node_status(node_id, "cancelled")

    def token(self, node_id: str, delta: str) -> R:
        """A piece of streamed text; `index` counts a node's tokens from 0."""
        index = self._track.tokens.get(node_id, 0)
        self._track.tokens[node_id] = index + 1
        return self._event(ws.NodeToken, node_id=node_id, delta=delta, index=index)

    def usage(
        self,
        node_id: str | None = None,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        model: str | None = None,
        cost: float | None = None,
    ) -> R:
        return self._event(
            ws.NodeUsage,
            node_id=node_id,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
            cost=cost,
        )

    def edge_flow(
        self, source: str, target: str, *, edge_id: str | None = None, preview: JsonValue = None
    ) -> R:
        return self._event(
            ws.EdgeFlow, source=source, target=target, edge_id=edge_id, preview=preview
        )

    def branch_started(self, node_ids: Sequence[str], *, parent_id: str | None = None) -> R:
        return self._event(ws.BranchStarted, node_ids=list(node_ids), parent_id=parent_id)

    def input_requested(
        self, node_id: str, prompt: str, *, input_schema: dict[str, JsonValue] | None = None
    ) -> R:
        return self._event(
            ws.InputRequested, node_id=node_id, prompt=prompt, input_schema=input_schema
        )

    def input_received(self, node_id: str, *, by: str | None = None) -> R:
        """The node's input request was answered: other watchers stop offering the form."""
        return self._event(ws.InputReceived, node_id=node_id, by=by)


class Reporter(ExecutionEvents[Pending]):
    """Publishes the events of one execution, in order; await a method for the event's seq."""

    def __init__(
        self,
        publisher: Publisher,
        workflow_id: str,
        execution_id: str,
        *,
        topic: str | None = None,
    ) -> None:
        self.publisher = publisher
        self.workflow_id = workflow_id
        self.execution_id = execution_id
        self.topic = topic or default_topic(workflow_id)
        self._track = _Track()
        self.sync = SyncReporter(self)
        """The same methods for engines in threads."""

    def _emit(self, event: ws.Event) -> Pending:
        if isinstance(event, TERMINAL_EVENTS):
            return self._publish_terminal(event)
        return self.publisher.publish(event)

    async def _publish_terminal(self, event: ws.Event) -> int:
        # Marked ended once published: a terminal event whose publish failed may be retried.
        seq = await self.publisher.publish(event)
        self._published(event)
        return seq


class SyncReporter(ExecutionEvents[int]):
    """The methods of a `Reporter` for engines in threads: each blocks until the event is
    published (so calls from one thread keep their order) and returns its seq."""

    def __init__(self, reporter: Reporter) -> None:
        self._publisher = reporter.publisher
        self.workflow_id = reporter.workflow_id
        self.execution_id = reporter.execution_id
        self.topic = reporter.topic
        self._track = reporter._track  # one execution, one record, whichever twin reports

    def _emit(self, event: ws.Event) -> int:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            seq = self._publisher.publish_threadsafe(event).result()
            self._published(event)
            return seq
        raise RuntimeError(
            "use `await reporter.<method>()` on the event loop; `.sync` is for threads"
        )
