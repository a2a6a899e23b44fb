"""The client's protocol logic, without I/O: what to send, deliver and settle, and when.

`ClientCore` is driven by what happens to its connection (`opened`, `receive`,
`closed`) and by the clock (`tick`, with the time passed in), like the sans-I/O
cores of h11 and python-websockets. It answers with actions, taken by the I/O
layer (`FlowwireClient`) in order with `take_actions()`:

- `SendFrame`: a command to write on the current connection;
- `Deliver`: an event, a snapshot or a `Reset`, already folded into `store`;
- `Settle`: a user command's reply, or why it has none (typed errors);
- `Subscribed` / `SubscribeFailed`: the topics of a subscribe reply;
- `Abort`: close the socket now (the heartbeat watchdog);
- `Report`: something the application should hear of (an error frame without a
  command, a gap, a frame that did not decode): it goes to `on_error`;
- `StatusChanged`, `Stopped`.

What it does: answers `ping`, probes a silent server with its own `ping`, and
gives up on a connection silent for `heartbeat_ms` + slack (half-open); sends
`auth` and one `subscribe` with `since` for every topic after each `welcome`,
then the commands queued meanwhile; deduplicates, detects gaps (resubscribe with
`since`), resets on `recovered: false`; times commands out; and decides after
each close whether and when to reconnect (`ReconnectPolicy`, `give_up_after_ms`).
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Union

import msgspec

import wsproto_schema as ws

from .decoding import Undecodable
from .errors import (
    ClientClosed,
    ClientError,
    CommandError,
    CommandInterrupted,
    CommandTimeout,
    ConnectionLost,
    Unauthorized,
)
from .pending import PendingCommands
from .policy import AUTH_CODES, ReconnectPolicy
from .positions import Positions, Verdict, is_pattern
from .state import ExecutionStore, ExecutionView, Reset

__all__ = [
    "Abort",
    "Action",
    "ClientCore",
    "Deliver",
    "Delivery",
    "GapError",
    "Report",
    "SendFrame",
    "Settle",
    "Status",
    "StatusChanged",
    "Stopped",
    "SubscribeFailed",
    "Subscribed",
]

Delivery = Union[ws.Event, ws.ExecutionSnapshot, Reset]
"""What a listener gets: an event (each seq once, in order), a snapshot, a reset."""

DEFAULT_HEARTBEAT_MS = 25_000


class GapError(ClientError):
    """Events of a topic went missing on the connection (reported; a resumable topic is
    resubscribed with `since`, so nothing is lost)."""


@dataclass(frozen=True)
class Status:
    """The connection as a status line shows it."""

    state: str
    """`connecting`, `connected`, `reconnecting` or `closed`."""
    attempt: int = 0
    close_code: int | None = None
    reason: str = ""
    retry_ms: float | None = None
    recovered: bool | None = None
    """After a resume: True when every topic resumed by replay, False after a reset."""


@dataclass(frozen=True)
class SendFrame:
    frame: ws.Command


@dataclass(frozen=True)
class Deliver:
    item: Delivery
    view: ExecutionView | None = None


@dataclass(frozen=True)
class Settle:
    ref: str
    result: ws.Reply | ClientError


@dataclass(frozen=True)
class Subscribed:
    topics: dict[str, ws.TopicPosition]


@dataclass(frozen=True)
class SubscribeFailed:
    topics: tuple[str, ...]
    error: CommandError


@dataclass(frozen=True)
class Abort:
    reason: str


@dataclass(frozen=True)
class Report:
    error: Exception


@dataclass(frozen=True)
class StatusChanged:
    status: Status


@dataclass(frozen=True)
class Stopped:
    error: ClientError | None


Action = Union[
    SendFrame, Deliver, Settle, Subscribed, SubscribeFailed, Abort, Report, StatusChanged, Stopped
]


class ClientCore:
    """One client's protocol state across all its connections."""

    def __init__(
        self,
        *,
        policy: ReconnectPolicy | None = None,
        command_timeout_ms: float = 30_000,
        heartbeat_slack_ms: float = 10_000,
        give_up_after_ms: float | None = None,
        batch: bool = False,
        fresh_tokens: bool = False,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.policy = policy or ReconnectPolicy()
        self.command_timeout_ms = command_timeout_ms
        self.heartbeat_slack_ms = heartbeat_slack_ms
        self.give_up_after_ms = give_up_after_ms
        self.batch = batch
        self.fresh_tokens = fresh_tokens
        self.random = random
        self.positions = Positions()
        self.store = ExecutionStore()
        self.commands = PendingCommands()
        self.topics: dict[str, tuple[str, ...] | None] = {}
        """The topics and patterns wanted, in order, each with its event-type filter (None:
        every type): (re)subscribed on every connection."""
        self.subscribed: set[str] = set()
        """Topics the current connection has a subscribe reply for."""
        self.state = "idle"
        self.attempt = 0
        self.heartbeat_ms = DEFAULT_HEARTBEAT_MS
        self.status = Status("connecting")
        self._actions: list[Action] = []
        self._subscribes: dict[str, tuple[str, ...]] = {}
        self._internal = 0
        self._token: str | None = None
        self._auth_ref: str | None = None
        self._auth_failures = 0
        self._connection_id = ""
        self._last_received = 0.0
        self._pinged = False
        self._goaway_ms: int | None = None
        self._lost_since: float | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def stopped(self) -> bool:
        return self.state == "stopped"

    def take_actions(self) -> list[Action]:
        actions, self._actions = self._actions, []
        return actions

    # -- the application's calls -------------------------------------------------------

    def subscribe(self, topics: list[str], types: Sequence[str] | None = None) -> list[str]:
        """Want `topics` from now on (only events of `types`, when given); returns those
        that need a subscribe reply."""
        wanted = tuple(types) if types else None
        new = [t for t in dict.fromkeys(topics) if self.topics.get(t, ()) != wanted]
        for topic in new:
            self.topics[topic] = wanted
            self.subscribed.discard(topic)
        if self.ready and new:
            self._send_subscribe(new)
        return [t for t in topics if t not in self.subscribed]

    def forget(self, topics: list[str]) -> None:
        """Stop wanting `topics` (the `unsubscribe` command is the caller's to send)."""
        for topic in topics:
            self.topics.pop(topic, None)
            self.subscribed.discard(topic)
        self.positions.forget(topics)

    def command(self, command: ws.Command, now: float, timeout_ms: float | None = None) -> str:
        """Send a command now, or after the next `welcome`; its answer comes as `Settle`."""
        if self.stopped:
            raise ClientClosed("the client is closed")
        timeout = self.command_timeout_ms if timeout_ms is None else timeout_ms
        pending = self.commands.add(command, now, timeout)
        if self.ready:
            self._send(pending.command)
            pending.sent = True
        return pending.ref

    def stop(self, error: ClientError | None = None) -> None:
        """No more connections; every waiting command fails with `error` (or ClientClosed)."""
        if self.stopped:
            return
        self.state = "stopped"
        failure = error or ClientClosed("the client was closed")
        for pending in self.commands.drain():
            self._emit(Settle(pending.ref, failure))
        self._set_status(Status("closed", self.attempt, self.status.close_code, str(failure)))
        self._emit(Stopped(error))

    # -- the connection's events -------------------------------------------------------

    def connecting(self) -> None:
        self.state = "connecting"

    def opened(self, now: float, token: str | None = None) -> None:
        """The WebSocket is open; `welcome` comes next."""
        self.state = "open"
        self._token = token
        self._last_received = now
        self._pinged = False

    def receive(self, frame: ws.Frame | Undecodable, now: float) -> None:
        self._last_received = now
        self._pinged = False
        if isinstance(frame, ws.Event):
            self._event(frame)
        elif isinstance(frame, ws.ExecutionSnapshot):
            self.positions.snapshot(frame)
            self._emit(Deliver(frame, self.store.apply_snapshot(frame)))
        elif isinstance(frame, ws.Reply):
            self._reply(frame)
        elif isinstance(frame, ws.ErrorFrame):
            self._error(frame)
        elif isinstance(frame, ws.Ping):
            self._send(ws.PongCommand(ts=frame.ts))
        elif isinstance(frame, ws.Welcome):
            self._welcome(frame)
        elif isinstance(frame, ws.Goaway):
            self._goaway_ms = frame.reconnect_ms
        elif isinstance(frame, Undecodable):
            if frame.topic is not None and frame.seq is not None:
                self.positions.skip(frame.topic, frame.seq)
            self._emit(Report(frame.error))

    def closed(self, code: int | None, reason: str, now: float) -> float | None:
        """The connection is gone (`code` None: no close frame). The delay before the next
        connection in milliseconds, or None: the client stopped (see `Stopped`)."""
        was_ready = self.ready
        if self.stopped:
            return None
        self.state = "waiting"
        self.subscribed.clear()
        self._subscribes.clear()
        self.positions.interrupted()
        for pending in self.commands.interrupted():
            message = (
                f"the connection closed ({code or 'abnormally'}) before the answer to "
                f"`{pending.tag}`: it may or may not have run"
            )
            self._emit(Settle(pending.ref, CommandInterrupted(message)))
        if self._lost_since is None:
            self._lost_since = now
        goaway, self._goaway_ms = self._goaway_ms, None
        if code in AUTH_CODES:
            self._auth_failures += 1
            delay = (
                self.policy.backoff(self.attempt, self.random())
                if self.fresh_tokens and self._auth_failures < 2
                else None
            )
            if delay is None:
                self.stop(
                    Unauthorized(
                        f"the server refused the credentials ({code}: {reason})", code=code
                    )
                )
                return None
        else:
            delay = self.policy.delay(code, self.attempt, self.random(), goaway_ms=goaway)
            if delay is None:
                self.stop(
                    ConnectionLost(f"the server closed the stream ({code}: {reason})", code=code)
                )
                return None
        self.attempt = 0 if goaway is not None and code == 1001 else self.attempt + 1
        limit = self.give_up_after_ms
        if limit is not None and now + delay - self._lost_since > limit:
            last = f"{code or 'abnormal'} {reason}".rstrip()
            message = f"gave up reconnecting after {limit / 1000:g} s (last close: {last})"
            self.stop(ConnectionLost(message, code=code))
            return None
        state = "reconnecting" if was_ready or self.status.state != "connecting" else "connecting"
        self._set_status(Status(state, self.attempt, code, reason, delay))
        return delay

    def tick(self, now: float) -> None:
        """Fire what is due: command timeouts, the heartbeat probe and watchdog."""
        for pending in self.commands.expired(now):
            where = "" if self.ready else " (not connected: the client is reconnecting)"
            seconds = pending.timeout_ms / 1000
            message = f"no answer to `{pending.tag}` within {seconds:g} s{where}"
            self._emit(Settle(pending.ref, CommandTimeout(message)))
        if self.state not in ("open", "ready") or self.heartbeat_ms <= 0:
            return
        silent = now - self._last_received
        if silent >= self.heartbeat_ms + self.heartbeat_slack_ms:
            self.state = "aborting"
            self._emit(Abort(f"nothing from the server for {silent / 1000:.1f} s"))
        elif self.ready and silent >= self.heartbeat_ms and not self._pinged:
            self._pinged = True
            self._send(ws.PingCommand(ts=max(0, int(now))))

    def next_deadline(self) -> float | None:
        """When `tick` has something to do next (None: nothing is timed)."""
        deadlines = [d for d in (self.commands.next_deadline(),) if d is not None]
        if self.state in ("open", "ready") and self.heartbeat_ms > 0:
            deadlines.append(self._last_received + self.heartbeat_ms + self.heartbeat_slack_ms)
            if self.ready and not self._pinged:
                deadlines.append(self._last_received + self.heartbeat_ms)
        return min(deadlines, default=None)

    # -- frames ------------------------------------------------------------------------

    def _welcome(self, welcome: ws.Welcome) -> None:
        self.state = "ready"
        self.heartbeat_ms = welcome.heartbeat_ms
        self.attempt = 0
        self._lost_since = None
        self._auth_ref = None
        if self._token is not None:
            self._auth_ref = self._ref("a")
            self._send(ws.Auth(ref=self._auth_ref, token=self._token))
        else:
            self._auth_failures = 0
        if self.topics:
            self._send_subscribe(list(self.topics))
        for pending in self.commands.unsent():
            self._send(pending.command)
            pending.sent = True
        self._connection_id = welcome.connection_id
        if self._auth_ref is None:
            self._set_status(Status("connected", 0, None, welcome.connection_id))

    def _event(self, event: ws.Event) -> None:
        verdict = self.positions.check(event.topic, event.seq)
        if verdict is Verdict.GAP:
            position = self.positions.get(event.topic)
            seen = position.seq if position is not None else 0
            self._emit(Report(GapError(f"{event.topic}: seq {event.seq} after {seen}; resuming")))
            self._send_subscribe([event.topic])
            return
        if verdict is Verdict.UNRESUMABLE_GAP:
            self._emit(Report(GapError(f"{event.topic}: seq {event.seq} after a gap (pattern)")))
        elif verdict is not Verdict.APPLY:
            return
        view = self.store.apply_event(event)
        if view is not None:
            self._emit(Deliver(event, view))

    def _reply(self, reply: ws.Reply) -> None:
        ref = reply.ref
        if ref is not None and ref in self._subscribes:
            topics = self._subscribes.pop(ref)
            try:
                result = msgspec.convert(reply.data, ws.SubscribeResult)
            except msgspec.ValidationError as exc:
                self._emit(Report(exc))
                return
            self._subscribed(topics, result)
        elif ref is not None and ref == self._auth_ref:
            self._auth_failures = 0  # connected only now: the token was taken
            self._set_status(Status("connected", 0, None, self._connection_id))
        elif (pending := self.commands.settle(ref)) is not None:
            self._emit(Settle(pending.ref, reply))

    def _error(self, frame: ws.ErrorFrame) -> None:
        error = CommandError.from_frame(frame)
        ref = frame.ref
        if ref is not None and ref in self._subscribes:
            topics = self._subscribes.pop(ref)
            self.forget(list(topics))
            self._emit(SubscribeFailed(topics, error))
            self._emit(Report(error))
        elif (pending := self.commands.settle(ref)) is not None:
            self._emit(Settle(pending.ref, error))
        else:
            self._emit(Report(error))

    def _subscribed(self, topics: tuple[str, ...], result: ws.SubscribeResult) -> None:
        exact = {t for t in self.topics if not is_pattern(t)}
        recovered: bool | None = None
        for topic in topics:
            position = result.topics.get(topic)
            if position is None:
                continue
            if is_pattern(topic):
                resets = self.positions.pattern_subscribed(topic, exact)
            else:
                held = self.positions.get(topic)
                if held is not None and held.epoch is not None:  # a resume, not a first look
                    recovered = position.recovered and recovered is not False
                resets = [topic] if self.positions.subscribed(topic, position) else []
            for reset in resets:
                self.store.reset(reset)
                where = self.positions.get(reset)
                seq, epoch = (where.seq, where.epoch or "") if where is not None else (0, "")
                self._emit(Deliver(Reset(reset, seq, epoch)))
        self.subscribed.update(t for t in topics if t in self.topics)
        self._emit(Subscribed({t: p for t, p in result.topics.items() if t in topics}))
        if self.status.state == "connected" and recovered is not None:
            self._set_status(Status("connected", 0, None, self.status.reason, None, recovered))

    # -- helpers -------------------------------------------------------------------------

    def _send_subscribe(self, topics: list[str]) -> None:
        """One `subscribe` per event-type filter among `topics`."""
        by_filter: dict[tuple[str, ...] | None, list[str]] = {}
        for topic in topics:
            by_filter.setdefault(self.topics.get(topic), []).append(topic)
        for types, group in by_filter.items():
            ref = self._ref("s")
            since = self.positions.since([t for t in group if not is_pattern(t)])
            self._subscribes[ref] = tuple(group)
            subscribe = ws.Subscribe(
                ref=ref,
                topics=group,
                since=since or None,
                batch=self.batch,
                types=list(types) if types else None,
            )
            self._send(subscribe)

    def _ref(self, prefix: str) -> str:
        self._internal += 1
        return f"{prefix}{self._internal}"

    def _send(self, frame: ws.Command) -> None:
        self._emit(SendFrame(frame))

    def _emit(self, action: Action) -> None:
        self._actions.append(action)

    def _set_status(self, status: Status) -> None:
        self.status = status
        self._emit(StatusChanged(status))
