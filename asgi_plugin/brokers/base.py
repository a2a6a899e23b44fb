"""The broker interface: sequence numbers, history, execution state and delivery to this process.

A broker owns the order of each topic: it assigns `seq` (from 1, gap-free) and
keeps a bounded history per topic stream, identified by an `epoch` that changes
whenever that history is lost. The hub owns local fan-out.

As in python-socketio's manager layering, the base holds the shared logic
(stamping events, handing them to the sink, deciding what a new subscriber
gets) and a subclass implements a few I/O methods: `_append`, `position`,
`replay`, `snapshots`, `topics` and `execution_topic`. Brokers that span
several processes also implement `watch`/`unwatch` (which topics this process
needs) and `claim`/`forward` (commands go to the process that runs the execution).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

import wsproto_schema as ws
from asgi_plugin.core.catchup import CatchUp
from asgi_plugin.core.encoded import EncodedEvent
from asgi_plugin.core.materializer import ExecutionState
from asgi_plugin.core.topics import default_topic, is_pattern, pattern_prefix
from wsproto_schema import Event

__all__ = [
    "PENDING_TTL_MS",
    "RUNNER_LOST",
    "Broker",
    "BrokerSink",
    "BrokerUnavailable",
    "StreamPosition",
    "runner_lost",
    "stamp",
    "summary",
]

PENDING_TTL_MS = 60_000
"""How long a command's idempotency key stays reserved when its run never ended (its
connection died mid-command): a retry after that runs the command again."""


RUNNER_LOST = "runner_lost"
"""The error code of an execution failed because the process (or the engine) running it
stopped and did not come back within the lease."""


@dataclass(frozen=True)
class StreamPosition:
    """A topic stream's identity and its latest seq (0 before the first event)."""

    epoch: str
    seq: int


class BrokerUnavailable(RuntimeError):
    """The broker cannot accept events now; nothing was published."""


class BrokerSink(Protocol):
    """Where a broker hands what arrives for this process (the app binds itself)."""

    def deliver(self, event: Event) -> None:
        """A published event of a watched topic, in seq order per topic."""
        ...

    def deliver_encoded(self, event: EncodedEvent) -> None:
        """`deliver`, for an event that arrived as its JSON frame (fanned out as is)."""
        ...

    def reset(self, topic: str) -> None:
        """The topic's stream was lost and its seq started again (a new epoch)."""
        ...

    async def run_forwarded(
        self, command: ws.Execute | ws.Control | ws.Input, principal: Any
    ) -> dict[str, Any]:
        """A command another process forwarded here: the reply data, or `ProtocolError`."""
        ...


class _Unbound:
    """The sink of a broker nobody bound: events go nowhere, commands find no runner."""

    def deliver(self, event: Event) -> None:
        return None

    def deliver_encoded(self, event: EncodedEvent) -> None:
        return None

    def reset(self, topic: str) -> None:
        return None

    async def run_forwarded(
        self, command: ws.Execute | ws.Control | ws.Input, principal: Any
    ) -> dict[str, Any]:
        raise ws.ProtocolError(ws.ErrorCode.NOT_FOUND, "this process runs no workflows")


class Broker(ABC):
    """Base of every broker: stamping, delivery to the sink, catch-ups and lifecycle."""

    def __init__(self) -> None:
        self.sink: BrokerSink = _Unbound()
        self._deliver = self.sink.deliver  # the hot path skips one attribute lookup

    def bind(self, sink: BrokerSink) -> None:
        """Hand this process's events, stream resets and forwarded commands to `sink`."""
        if not isinstance(self.sink, _Unbound) and self.sink is not sink:
            # Rebinding would silently take the first app's deliveries away.
            raise ValueError(
                "this broker already serves another flowwire app: give each app its own "
                "broker (several apps share events through one Redis, each with a RedisBroker)"
            )
        self.sink = sink
        self._deliver = sink.deliver

    async def start(self) -> None:
        """Connect and begin delivering; called once at application startup."""

    async def stop(self) -> None:
        """Stop delivering and release connections; called once at shutdown."""

    # -- publishing -------------------------------------------------------------------

    async def publish(self, event: Event, *, idempotency_key: str | None = None) -> Event:
        """Append the event to its topic; return it as published, with its `seq`.

        With an `idempotency_key`, a publish retried after an error that left its
        outcome unknown (a timeout) is stored once: the retry returns the first
        one's seq and delivers nothing (see `publish_once`).
        """
        return (await self.publish_once(event, idempotency_key=idempotency_key))[0]

    async def publish_once(
        self, event: Event, *, idempotency_key: str | None = None
    ) -> tuple[Event, bool]:
        """`publish`, and whether the key was seen before (the event was not stored again)."""
        return await self._append(stamp(event), idempotency_key)

    @abstractmethod
    async def _append(self, event: Event, idempotency_key: str | None) -> tuple[Event, bool]:
        """Assign the next seq of the event's topic, store it, and deliver it; unless
        the key was seen within `idempotency_ttl_ms`: then the event as first stored
        (its topic and seq), and True."""

    # -- commands sent more than once ------------------------------------------------------

    @abstractmethod
    async def begin_command(self, key: str) -> dict[str, Any] | None:
        """Reserve an idempotency key of a command: None (run it, then `end_command`), or
        the reply data of the run that already used the key. `ProtocolError(conflict)`
        while that run is still under way."""

    @abstractmethod
    async def end_command(self, key: str, reply: dict[str, Any] | None) -> None:
        """Store the reply data of a command run under `key` (None: it failed, and the key
        may be used again)."""

    # -- reading ------------------------------------------------------------------------

    @abstractmethod
    async def position(self, topic: str) -> StreamPosition:
        """The topic stream's epoch and latest seq."""

    @abstractmethod
    async def replay(self, topic: str, after: int, epoch: str) -> list[Event] | None:
        """Every event of the topic with seq > `after`, or None when history cannot
        give all of them (another epoch, trimmed history): never a partial replay."""

    @abstractmethod
    async def snapshots(self, topic: str, *, live_only: bool) -> list[ws.ExecutionSnapshot]:
        """The state of the topic's executions (only running and paused ones with
        `live_only`), each with the topic position it reflects as `last_seq`."""

    @abstractmethod
    async def topics(self, prefix: str) -> list[str]:
        """Topics with known executions whose name starts with `prefix` (for patterns)."""

    @abstractmethod
    async def execution_topic(self, execution_id: str) -> str | None:
        """The topic an execution publishes on, if the broker has seen it."""

    async def executions(self, topic: str, *, nodes: bool) -> list[ws.ExecutionSummary]:
        """The executions of one topic the broker still keeps, live and finished (the latest
        `finished_snapshots`), for `list`; with their nodes and edges if `nodes`."""
        return [summary(s, nodes=nodes) for s in await self.snapshots(topic, live_only=False)]

    async def catch_up(
        self, topic: str, since: ws.SincePosition | None, *, snapshot: bool
    ) -> CatchUp:
        """What a new subscriber of `topic` (or a `prefix*` pattern) gets: the position for
        the reply, then the replay after `since` (recovered), or snapshots of the
        executions when there is no `since` to honour (never both, never a partial replay).
        """
        if is_pattern(topic):
            snapshots: list[ws.ExecutionSnapshot] = []
            if snapshot:
                for match in await self.topics(pattern_prefix(topic)):
                    snapshots += await self.snapshots(match, live_only=True)
            return CatchUp(ws.TopicPosition(epoch="", seq=0, recovered=False), (), snapshots)
        position = await self.position(topic)
        events = None
        if since is not None:
            events = await self.replay(topic, since.seq, since.epoch)
        reply = ws.TopicPosition(
            epoch=position.epoch, seq=position.seq, recovered=events is not None
        )
        if events is not None:
            return CatchUp(reply, events)
        if since is not None or snapshot:
            # A client that lost its place gets every execution it may have shown.
            snapshots = await self.snapshots(topic, live_only=since is None)
            # Events may have come between the two reads, folded into the snapshots: the
            # reply's seq must cover them, or the live events seem to skip them.
            seq = max((s.last_seq for s in snapshots), default=reply.seq)
            if seq > reply.seq:
                reply = ws.TopicPosition(epoch=reply.epoch, seq=seq, recovered=False)
            return CatchUp(reply, (), snapshots)
        return CatchUp(reply)

    async def catch_ups(
        self, topics: tuple[str, ...], since: Mapping[str, ws.SincePosition], *, snapshot: bool
    ) -> dict[str, CatchUp]:
        """`catch_up` of every topic of one subscribe."""
        return {t: await self.catch_up(t, since.get(t), snapshot=snapshot) for t in topics}

    # -- several processes ----------------------------------------------------------------

    async def watch(self, topic: str) -> None:
        """Deliver this topic's (or `prefix*` pattern's) events to this process from now on.
        A single-process broker delivers everything and ignores it."""

    async def unwatch(self, topic: str) -> None:
        """This process has no subscriber of `topic` any more."""

    async def claim(self, execution_id: str, *, started_by: str | None = None) -> None:
        """This process runs the execution (its `control` and `input` commands come here);
        `started_by` is the id of the principal that executed it."""

    async def release(self, execution_id: str) -> None:
        """This process no longer runs the execution (its engine disconnected): stop keeping
        its lease. Unless it is claimed again within the lease, it fails as `runner_lost`."""

    @abstractmethod
    async def started_by(self, execution_id: str) -> str | None:
        """The id of the principal that executed it (None: anonymous, or not known here)."""

    async def forward(
        self, command: ws.Control | ws.Input, principal: Any
    ) -> dict[str, Any] | None:
        """Run the command on the process that runs its execution and return the reply
        data; None when that process is this one (or nobody claimed the execution)."""
        return None

    async def advertise(self, workflows: Collection[str]) -> None:
        """This process's engines serve these workflow ids (and no others): other processes
        may forward their `execute` here. A single-process broker ignores it."""

    async def forward_execute(self, command: ws.Execute, principal: Any) -> dict[str, Any] | None:
        """Run an `execute` on another process whose engines serve its workflow and return
        the reply data; None when no other process does."""
        return None

    def health(self) -> dict[str, Any]:
        """The broker's state for the health and stats endpoints."""
        return {"kind": type(self).__name__, "ok": True}


def summary(snapshot: ws.ExecutionSnapshot, *, nodes: bool) -> ws.ExecutionSummary:
    """An execution's snapshot as a `list` reply shows it."""
    return ws.ExecutionSummary(
        topic=snapshot.topic,
        workflow_id=snapshot.workflow_id,
        execution_id=snapshot.execution_id,
        ts=snapshot.ts,
        status=snapshot.status,
        name=snapshot.name,
        nodes=dict(snapshot.nodes) if nodes else None,
        edges=list(snapshot.edges) if nodes and snapshot.edges else None,
        progress=snapshot.progress,
        started_ts=snapshot.started_ts,
        finished_ts=snapshot.finished_ts,
        error=snapshot.error,
        last_seq=snapshot.last_seq,
    )


def runner_lost(state: ExecutionState, now_ms: int) -> ws.ExecutionFailed:
    """The event that fails a live execution whose runner's lease lapsed."""
    return ws.ExecutionFailed(
        topic=state.topic,
        workflow_id=state.workflow_id,
        execution_id=state.execution_id,
        error=ws.ErrorInfo(
            code=RUNNER_LOST,
            message="the process running this execution stopped; it cannot go on",
        ),
        duration_ms=max(0, now_ms - (state.started_ts or now_ms)),
        summary=state.node_counts(),
    )


def stamp(event: Event) -> Event:
    """Fill in what a publisher may leave out: the default topic and the time."""
    changes: dict[str, Any] = {}
    if not event.topic:
        if not event.workflow_id:
            raise ws.ProtocolError(
                ws.ErrorCode.INVALID_FRAME,
                "$.topic: an event without a `workflow_id` must name its topic",
                path="$.topic",
            )
        changes["topic"] = default_topic(event.workflow_id)
    if not event.ts:
        changes["ts"] = int(time.time() * 1000)
    return msgspec.structs.replace(event, **changes) if changes else event
