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
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, Union

import wsproto_schema as ws
from wsproto_schema import JsonValue

from .broker import default_topic
from .materializer import TERMINAL_NODE

if TYPE_CHECKING:
    from .app import FlowwireApp

__all__ = ["EdgeLike", "NodeLike", "Reporter", "SyncReporter"]

T = TypeVar("T")

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
        statuses = list(self.nodes.values())
        return ws.Summary(
            total=len(statuses),
            succeeded=statuses.count("succeeded"),
            failed=statuses.count("failed"),
            skipped=statuses.count("skipped") + statuses.count("cancelled"),
        )

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


class Reporter:
    """Publishes the events of one execution, in order; every method returns the seq."""

    def __init__(
        self, app: FlowwireApp, workflow_id: str, execution_id: str, *, topic: str | None = None
    ) -> None:
        self.app = app
        self.workflow_id = workflow_id
        self.execution_id = execution_id
        self.topic = topic or default_topic(workflow_id)
        self._track = _Track()
        self.sync = SyncReporter(self)

    async def _publish(self, cls: type[ws.Event], **fields: Any) -> int:
        event = cls(
            topic=self.topic, workflow_id=self.workflow_id, execution_id=self.execution_id, **fields
        )
        return await self.app.publish(event)

    # -- the execution -------------------------------------------------------------

    async def started(
        self,
        nodes: Iterable[NodeLike],
        edges: Iterable[EdgeLike] = (),
        *,
        name: str | None = None,
        order: Sequence[str] | None = None,
        inputs: dict[str, JsonValue] | None = None,
    ) -> int:
        infos = [_node(node) for node in nodes]
        self._track = _Track(nodes={node.id: "pending" for node in infos}, started=time.monotonic())
        return await self._publish(
            ws.ExecutionStarted,
            name=name,
            nodes=infos,
            edges=[_edge(edge) for edge in edges],
            order=list(order) if order is not None else None,
            inputs=inputs,
        )

    async def paused(self, *, reason: str | None = None, by: str | None = None) -> int:
        return await self._publish(ws.ExecutionPaused, reason=reason, by=by)

    async def resumed(self, *, reason: str | None = None, by: str | None = None) -> int:
        return await self._publish(ws.ExecutionResumed, reason=reason, by=by)

    async def stopped(self, *, reason: str | None = None, by: str | None = None) -> int:
        return await self._publish(ws.ExecutionStopped, reason=reason, by=by)

    def _elapsed_ms(self) -> int:
        started = self._track.started
        return round((time.monotonic() - started) * 1000) if started is not None else 0

    async def completed(self, *, outputs: dict[str, JsonValue] | None = None) -> int:
        return await self._publish(
            ws.ExecutionCompleted,
            duration_ms=self._elapsed_ms(),
            outputs=outputs,
            summary=self._track.summary(),
        )

    async def failed(
        self,
        error: str | ws.ErrorInfo | BaseException,
        *,
        node_id: str | None = None,
        code: str | None = None,
        details: JsonValue = None,
    ) -> int:
        info = _error(error, node_id)
        if code is not None or details is not None:
            info = ws.ErrorInfo(
                code=code or info.code, message=info.message, node_id=info.node_id, details=details
            )
        return await self._publish(
            ws.ExecutionFailed,
            error=info,
            duration_ms=self._elapsed_ms(),
            summary=self._track.summary(),
        )

    async def progress(
        self,
        *,
        completed: int | None = None,
        total: int | None = None,
        running: Sequence[str] | None = None,
        eta_ms: int | None = None,
    ) -> int:
        """Progress; what is not given comes from the node statuses reported so far."""
        seen_done, seen_total, seen_running, seen_eta = self._track.progress()
        done = seen_done if completed is None else completed
        count = seen_total if total is None else total
        percent = round(min(100.0, 100 * done / count), 2) if count else 0.0
        return await self._publish(
            ws.ExecutionProgress,
            completed=done,
            total=count,
            percent=percent,
            running=list(seen_running if running is None else running),
            eta_ms=seen_eta if eta_ms is None else eta_ms,
        )

    async def log(
        self,
        message: str,
        *,
        level: ws.LogLevel = "info",
        node_id: str | None = None,
        **context: Any,
    ) -> int:
        return await self._publish(
            ws.ExecutionLog, level=level, message=message, node_id=node_id, context=context or None
        )

    # -- nodes ------------------------------------------------------------------------

    async def _node_status(self, node_id: str, status: ws.NodeStatusValue, **fields: Any) -> int:
        measured = self._track.status(node_id, status, time.monotonic())
        if status in TERMINAL_NODE and fields.get("duration_ms") is None and measured is not None:
            fields["duration_ms"] = measured
        return await self._publish(ws.NodeStatus, node_id=node_id, status=status, **fields)

    async def node_pending(self, node_id: str) -> int:
        return await self._node_status(node_id, "pending")

    async def node_running(self, node_id: str, *, attempt: int | None = None) -> int:
        return await self._node_status(node_id, "running", attempt=attempt)

    async def node_progress(self, node_id: str, progress: float) -> int:
        """A running node's own progress, 0..1."""
        if not 0 <= progress <= 1:
            raise ValueError(f"node progress is a fraction in 0..1, got {progress!r}")
        return await self._publish(
            ws.NodeStatus, node_id=node_id, status="running", progress=progress
        )

    async def node_succeeded(
        self,
        node_id: str,
        *,
        output: JsonValue = None,
        attempt: int | None = None,
        duration_ms: int | None = None,
    ) -> int:
        return await self._node_status(
            node_id, "succeeded", output=output, attempt=attempt, duration_ms=duration_ms
        )

    async def node_failed(
        self,
        node_id: str,
        error: str | ws.ErrorInfo | BaseException,
        *,
        attempt: int | None = None,
        duration_ms: int | None = None,
    ) -> int:
        return await self._node_status(
            node_id, "failed", error=_error(error), attempt=attempt, duration_ms=duration_ms
        )

    async def node_skipped(self, node_id: str) -> int:
        return await self._node_status(node_id, "skipped")

    async def node_cancelled(self, node_id: str) -> int:
        return await self._node_status(node_id, "cancelled")

    async def token(self, node_id: str, delta: str) -> int:
        """A piece of streamed text; `index` counts a node's tokens from 0."""
        index = self._track.tokens.get(node_id, 0)
        self._track.tokens[node_id] = index + 1
        return await self._publish(ws.NodeToken, node_id=node_id, delta=delta, index=index)

    async def usage(
        self,
        node_id: str | None = None,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        model: str | None = None,
        cost: float | None = None,
    ) -> int:
        return await self._publish(
            ws.NodeUsage,
            node_id=node_id,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
            cost=cost,
        )

    async def edge_flow(
        self, source: str, target: str, *, edge_id: str | None = None, preview: JsonValue = None
    ) -> int:
        return await self._publish(
            ws.EdgeFlow, source=source, target=target, edge_id=edge_id, preview=preview
        )

    async def branch_started(self, node_ids: Sequence[str], *, parent_id: str | None = None) -> int:
        return await self._publish(ws.BranchStarted, node_ids=list(node_ids), parent_id=parent_id)

    async def input_requested(
        self, node_id: str, prompt: str, *, input_schema: dict[str, JsonValue] | None = None
    ) -> int:
        return await self._publish(
            ws.InputRequested, node_id=node_id, prompt=prompt, input_schema=input_schema
        )


class SyncReporter:
    """The same methods for engines in threads: each blocks until published (order kept)."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter

    def _wait(self, call: Coroutine[Any, Any, T]) -> T:
        loop = self._reporter.app._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            call.close()  # never scheduled: do not leave it unawaited
            if loop is None:
                raise RuntimeError(
                    "flowwire is not running yet: start it before reporting from threads"
                )
            raise RuntimeError(
                "use `await reporter.<method>()` on the event loop; `.sync` is for threads"
            )
        return asyncio.run_coroutine_threadsafe(call, loop).result()

    def started(
        self,
        nodes: Iterable[NodeLike],
        edges: Iterable[EdgeLike] = (),
        *,
        name: str | None = None,
        order: Sequence[str] | None = None,
        inputs: dict[str, JsonValue] | None = None,
    ) -> int:
        return self._wait(
            self._reporter.started(list(nodes), list(edges), name=name, order=order, inputs=inputs)
        )

    def paused(self, *, reason: str | None = None, by: str | None = None) -> int:
        return self._wait(self._reporter.paused(reason=reason, by=by))

    def resumed(self, *, reason: str | None = None, by: str | None = None) -> int:
        return self._wait(self._reporter.resumed(reason=reason, by=by))

    def stopped(self, *, reason: str | None = None, by: str | None = None) -> int:
        return self._wait(self._reporter.stopped(reason=reason, by=by))

    def completed(self, *, outputs: dict[str, JsonValue] | None = None) -> int:
        return self._wait(self._reporter.completed(outputs=outputs))

    def failed(
        self,
        error: str | ws.ErrorInfo | BaseException,
        *,
        node_id: str | None = None,
        code: str | None = None,
        details: JsonValue = None,
    ) -> int:
        return self._wait(self._reporter.failed(error, node_id=node_id, code=code, details=details))

    def progress(
        self,
        *,
        completed: int | None = None,
        total: int | None = None,
        running: Sequence[str] | None = None,
        eta_ms: int | None = None,
    ) -> int:
        return self._wait(
            self._reporter.progress(
                completed=completed, total=total, running=running, eta_ms=eta_ms
            )
        )

    def log(
        self,
        message: str,
        *,
        level: ws.LogLevel = "info",
        node_id: str | None = None,
        **context: Any,
    ) -> int:
        return self._wait(self._reporter.log(message, level=level, node_id=node_id, **context))

    def node_pending(self, node_id: str) -> int:
        return self._wait(self._reporter.node_pending(node_id))

    def node_running(self, node_id: str, *, attempt: int | None = None) -> int:
        return self._wait(self._reporter.node_running(node_id, attempt=attempt))

    def node_progress(self, node_id: str, progress: float) -> int:
        return self._wait(self._reporter.node_progress(node_id, progress))

    def node_succeeded(
        self,
        node_id: str,
        *,
        output: JsonValue = None,
        attempt: int | None = None,
        duration_ms: int | None = None,
    ) -> int:
        return self._wait(
            self._reporter.node_succeeded(
                node_id, output=output, attempt=attempt, duration_ms=duration_ms
            )
        )

    def node_failed(
        self,
        node_id: str,
        error: str | ws.ErrorInfo | BaseException,
        *,
        attempt: int | None = None,
        duration_ms: int | None = None,
    ) -> int:
        return self._wait(
            self._reporter.node_failed(node_id, error, attempt=attempt, duration_ms=duration_ms)
        )

    def node_skipped(self, node_id: str) -> int:
        return self._wait(self._reporter.node_skipped(node_id))

    def node_cancelled(self, node_id: str) -> int:
        return self._wait(self._reporter.node_cancelled(node_id))

    def token(self, node_id: str, delta: str) -> int:
        return self._wait(self._reporter.token(node_id, delta))

    def usage(
        self,
        node_id: str | None = None,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        model: str | None = None,
        cost: float | None = None,
    ) -> int:
        return self._wait(
            self._reporter.usage(
                node_id,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                model=model,
                cost=cost,
            )
        )

    def edge_flow(
        self, source: str, target: str, *, edge_id: str | None = None, preview: JsonValue = None
    ) -> int:
        return self._wait(
            self._reporter.edge_flow(source, target, edge_id=edge_id, preview=preview)
        )

    def branch_started(self, node_ids: Sequence[str], *, parent_id: str | None = None) -> int:
        return self._wait(self._reporter.branch_started(node_ids, parent_id=parent_id))

    def input_requested(
        self, node_id: str, prompt: str, *, input_schema: dict[str, JsonValue] | None = None
    ) -> int:
        return self._wait(
            self._reporter.input_requested(node_id, prompt, input_schema=input_schema)
        )
