"""Fault injection: publishers and subscribers run while Redis and the app processes die.

Two flowwire server processes share one real redis-server. Publishers POST
events (each with a unique id and an idempotency key, retried with the same key
until accepted); subscribers hold WebSocket connections to either process and
resume with `since` after every close. Meanwhile faults strike at random: Redis
is SIGKILLed and restarted, an app process is SIGKILLed and restarted on the
same socket, a subscriber's connection is dropped. At the end the faults stop,
a last event per publisher is published, and every subscriber's log is checked
against what was accepted:

- no event delivered twice, none out of seq order within an epoch;
- every accepted event delivered, unless the subscriber was told it may have
  missed it: a resume answered `recovered: false` (it then got snapshots) after
  the event was accepted. There is no third outcome.

`tests/faults/test_faults.py` runs it small in CI; `python -m bench.soak` runs it long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus, InvalidURI

from tests.redis_server import RedisServer
from tests.servers.harness import ServerProcess

__all__ = ["FaultRun", "Report", "run_faults"]

APP = "tests.servers.apps:redis_demo()"
TOPICS = ("workflow:fault-a", "workflow:fault-b")
PERSISTENCE: dict[str, dict[str, Any]] = {
    "aof-always": {"appendonly": True, "appendfsync": "always"},
    "aof-everysec": {"appendonly": True, "appendfsync": "everysec"},
    "rdb": {"appendonly": False, "snapshot_every": 1.0},
    "none": {"appendonly": False},
}


@dataclass
class Accepted:
    id: str
    topic: str
    seq: int
    at: float
    """When the publisher had its answer."""
    sent: float
    """When it first sent the event: it was stored somewhere between the two."""


@dataclass
class Subscriber:
    """A client that reconnects and resumes; it records what it got and when it was told."""

    name: str
    servers: list[ServerProcess]
    rng: random.Random
    positions: dict[str, tuple[str, int]] = field(default_factory=dict)
    received: list[tuple[str, str, int, str]] = field(default_factory=list)
    """(topic, epoch, seq, event id) in arrival order."""
    told: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    """Per topic, when a resume answered `recovered: false` (the client was told it may
    have missed events, and got snapshots instead), and the seq its snapshots reach."""
    connection: Any = None
    reconnects: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the first subscribe was answered: from then on, nothing may be missed."""
    progress: asyncio.Event | None = None
    """Set at every event received (the run waits on it at the end)."""
    errors: list[str] = field(default_factory=list)
    """What went wrong that no injected fault explains."""
    journal: list[str] = field(default_factory=list)
    """What happened to this client, in order (connects, replies, closes, event ranges):
    printed for a client that lost or duplicated events."""

    def note(self, line: str) -> None:
        self.journal.append(f"{time.monotonic():.3f} {line}")

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            server = self.rng.choice(self.servers)
            # The server went away or refused us: back off a little and resume.
            try:
                await self._session(server, stop)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
                self.note(f"closed {code}")
            except (
                OSError,
                InvalidMessage,
                InvalidStatus,
                InvalidURI,
                asyncio.TimeoutError,
            ) as exc:
                # InvalidMessage: the app was killed between accepting and answering.
                self.note(f"failed: {exc!r}")
            except Exception as exc:
                # Not a fault the run injects (a frame out of place, say): it fails the run,
                # and the client goes on, so that one surprise does not read as loss.
                self.note(f"unexpected: {exc!r}")
                self.errors.append(f"{self.name}: {exc!r}")
            self.reconnects += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.rng.uniform(0.05, 0.3))

    async def _session(self, server: ServerProcess, stop: asyncio.Event) -> None:
        async with websockets.connect(server.url(), open_timeout=10, max_size=None) as ws:
            self.connection = ws
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if first["type"] != "welcome":
                raise AssertionError(f"the first frame is not a welcome: {first}")
            since = {t: {"epoch": e, "seq": s} for t, (e, s) in self.positions.items()}
            self.note(f"connected to :{server.port}, since {since}")
            await ws.send(
                json.dumps(
                    {"type": "subscribe", "ref": "s", "topics": list(TOPICS), "since": since}
                )
            )
            while not stop.is_set():
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                kind = frame["type"]
                if kind == "reply" and frame.get("ref") == "s":
                    self.note(f"reply {frame['data']['topics']}")
                    for topic, position in frame["data"]["topics"].items():
                        known = self.positions.get(topic)
                        if position["recovered"] and known is not None:
                            # The replay after our seq follows: we stand where we stood
                            # until it comes (the reply's seq is where it will end).
                            self.positions[topic] = (position["epoch"], known[1])
                            continue
                        if known is not None:
                            told = (time.monotonic(), position["seq"])
                            self.told.setdefault(topic, []).append(told)
                        self.positions[topic] = (position["epoch"], position["seq"])
                    self.ready.set()
                elif kind == "error":
                    self.note(f"error {frame.get('code')}")
                    return  # unavailable during an outage: resume later
                elif kind == "ping":
                    await ws.send(json.dumps({"type": "pong", "ts": frame.get("ts")}))
                elif kind == "goaway":
                    self.note(f"goaway {frame.get('reason')}")
                elif "seq" in frame and frame["topic"] in TOPICS:
                    epoch = self.positions[frame["topic"]][0]
                    last = self.positions[frame["topic"]][1]
                    if frame["seq"] != last + 1:
                        self.note(f"{frame['topic']} jumps {last} -> {frame['seq']}")
                    self.received.append((frame["topic"], epoch, frame["seq"], frame["node_id"]))
                    self.positions[frame["topic"]] = (epoch, frame["seq"])
                    if self.progress is not None:
                        self.progress.set()

    async def drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()


@dataclass
class Report:
    mode: str
    accepted: int = 0
    deliveries: int = 0
    expected_deliveries: int = 0
    told_covered: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0
    errors: list[str] = field(default_factory=list)
    """What went wrong in a client that no injected fault explains."""
    journals: dict[str, list[str]] = field(default_factory=dict)
    """The journal of each client that lost, duplicated or reordered events."""

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.out_of_order or self.errors)

    def line(self) -> str:
        return (
            f"{self.mode}: {self.accepted} events accepted; {self.deliveries} of "
            f"{self.expected_deliveries} deliveries made, {self.told_covered} covered by a "
            f"`recovered: false`; lost {len(self.lost)}, duplicated {len(self.duplicates)}, "
            f"out of order {len(self.out_of_order)}; faults {self.faults}; "
            f"{self.reconnects} client reconnects"
            + (f"; unexpected: {self.errors}" if self.errors else "")
        )


@dataclass
class FaultRun:
    """One run: its size, its faults, and the processes it owns."""

    mode: str
    directory: Path
    start_server: Callable[..., ServerProcess]
    seconds: float = 10.0
    publishers: int = 3
    subscribers: int = 4
    fault_every: tuple[float, float] = (0.6, 1.5)
    min_accepted: int = 0
    """Go on past `seconds` until this many events were accepted and…"""
    min_faults: int = 0
    """…this many faults injected (a loaded machine does less per second; at most
    `patience` times `seconds` in all)."""
    patience: float = 10.0
    seed: int = 20261202
    accepted: list[Accepted] = field(default_factory=list)

    async def run(self) -> Report:
        rng = random.Random(self.seed)
        settings = dict(PERSISTENCE[self.mode])
        snapshot_every = settings.pop("snapshot_every", None)
        redis = RedisServer(self.directory / "redis", **settings).start()
        options = json.dumps({"lease_ms": 3000, "socket_timeout_ms": 1000})
        servers = [
            self.start_server(
                "uvicorn-sansio", APP, FLOWWIRE_REDIS_URL=redis.url, FLOWWIRE_REDIS_OPTIONS=options
            )
            for _ in range(2)
        ]
        stop = asyncio.Event()
        subscribers = [
            Subscriber(f"s{i}", servers, random.Random(rng.random()))
            for i in range(self.subscribers)
        ]
        report = Report(self.mode, faults={"redis": 0, "app": 0, "client": 0})
        progress = asyncio.Event()
        for subscriber in subscribers:
            subscriber.progress = progress
        tasks = [asyncio.create_task(s.run(stop)) for s in subscribers]
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in subscribers)), 30)
        publishing = asyncio.Event()
        publishing.set()
        pubs = [
            asyncio.create_task(self._publish(p, servers, random.Random(rng.random()), publishing))
            for p in range(self.publishers)
        ]
        try:
            deadline = time.monotonic() + self.seconds
            ceiling = time.monotonic() + self.seconds * self.patience
            next_save = time.monotonic() + (snapshot_every or 0)
            while time.monotonic() < deadline or (
                time.monotonic() < ceiling
                and (
                    len(self.accepted) < self.min_accepted
                    or sum(report.faults.values()) < self.min_faults
                )
            ):
                await asyncio.sleep(rng.uniform(*self.fault_every))  # the faults' own schedule
                if snapshot_every and time.monotonic() > next_save:
                    await _redis_save(redis)
                    next_save = time.monotonic() + snapshot_every
                fault = rng.choice(["redis", "app", "client", "client"])
                report.faults[fault] += 1
                if fault == "redis":
                    await asyncio.to_thread(_bounce_redis, redis)
                elif fault == "app":
                    server = rng.choice(servers)
                    server.kill()
                    await asyncio.to_thread(server.restart)
                else:
                    await rng.choice(subscribers).drop()
            publishing.clear()
            await asyncio.gather(*pubs)
            # Calm: one last event per publisher, accepted with Redis and both apps up.
            finals = [
                asyncio.create_task(self._publish_one(f"final-{p}", servers, rng, attempts=200))
                for p in range(self.publishers)
            ]
            await asyncio.gather(*finals)
            finals_ids = {a.id for a in self.accepted if a.id.startswith("final")}
            await self._until_delivered(subscribers, finals_ids, progress)
        finally:
            stop.set()
            for task in (*tasks, *pubs):
                task.cancel()
            await asyncio.gather(*tasks, *pubs, return_exceptions=True)
            for subscriber in subscribers:
                await subscriber.drop()
            for server in servers:
                server.stop()
            redis.kill()
        return self.verify(subscribers, report)

    async def _publish(
        self, index: int, servers: list[ServerProcess], rng: random.Random, on: asyncio.Event
    ) -> None:
        n = 0
        while on.is_set():
            await self._publish_one(f"p{index}-{n}", servers, rng)
            n += 1

    async def _publish_one(
        self, event_id: str, servers: list[ServerProcess], rng: random.Random, attempts: int = 50
    ) -> None:
        """POST one event until it is accepted (same idempotency key every time), or give
        up (then it was not accepted, whatever Redis did: it is not counted)."""
        topic = rng.choice(TOPICS)
        body = {
            "type": "node.status",
            "topic": topic,
            "workflow_id": topic.split(":")[1],
            "execution_id": "faults",
            "node_id": event_id,
            "status": "running",
        }
        key = uuid.uuid4().hex
        sent = time.monotonic()
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(attempts):
                server = rng.choice(servers)
                try:
                    response = await http.post(
                        server.http_url("/ws/publish"),
                        json=body,
                        headers={"authorization": "Bearer test-key", "idempotency-key": key},
                    )
                except httpx.HTTPError:
                    response = None
                if response is not None and response.status_code == 200:
                    answer = response.json()
                    accepted = Accepted(event_id, topic, answer["seq"], time.monotonic(), sent)
                    self.accepted.append(accepted)
                    return
                await asyncio.sleep(0.05)  # the server or Redis is down: try again shortly

    async def _until_delivered(
        self, subscribers: list[Subscriber], ids: set[str], progress: asyncio.Event
    ) -> None:
        """Until every subscriber has the final events (woken by each event received), or a
        minute has passed (then verification says who misses what)."""
        deadline = time.monotonic() + 60
        while not all({r[3] for r in s.received} >= ids for s in subscribers):
            progress.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(progress.wait(), remaining)

    def verify(self, subscribers: list[Subscriber], report: Report) -> Report:
        report.accepted = len(self.accepted)
        report.reconnects = sum(s.reconnects for s in subscribers)
        report.errors = [e for s in subscribers for e in s.errors]
        for subscriber in subscribers:
            seen: set[str] = set()
            within_epoch: set[tuple[str, str, str]] = set()
            last: dict[tuple[str, str], int] = {}
            for topic, epoch, seq, event_id in subscriber.received:
                if (topic, epoch, event_id) in within_epoch:
                    report.duplicates.append(f"{subscriber.name}: {event_id} in {epoch}")
                within_epoch.add((topic, epoch, event_id))
                seen.add(event_id)
                if seq <= last.get((topic, epoch), 0):
                    report.out_of_order.append(f"{subscriber.name}: {topic} {epoch} {seq}")
                last[(topic, epoch)] = max(seq, last.get((topic, epoch), 0))
            for accepted in self.accepted:
                report.expected_deliveries += 1
                told = subscriber.told.get(accepted.topic, ())
                if accepted.id in seen:
                    report.deliveries += 1
                elif any(_covers(moment, seq, accepted) for moment, seq in told):
                    report.told_covered += 1
                else:
                    report.lost.append(f"{subscriber.name}: {accepted}")
        failing = {line.split(":")[0] for line in report.lost + report.duplicates}
        failing |= {line.split(":")[0] for line in report.out_of_order + report.errors}
        report.journals = {s.name: s.journal for s in subscribers if s.name in failing}
        return report


def _covers(moment: float, seq: int, accepted: Accepted) -> bool:
    """Whether a `recovered: false` answer told the subscriber of an accepted event: it
    came after the event was accepted, or after it was sent and its snapshots reach the
    event's seq (the event was stored before the snapshots were read, and its publisher
    had its answer a moment after the subscriber had the reply)."""
    return moment >= accepted.at or (moment >= accepted.sent and seq >= accepted.seq)


def _bounce_redis(redis: RedisServer) -> None:
    if redis.child is not None:
        redis.child.signal(signal.SIGKILL)
        redis.child.wait(10)
    redis.start()


async def _redis_save(redis: RedisServer) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis.url, socket_timeout=2)
    with contextlib.suppress(Exception):
        await client.bgsave()
    await client.aclose()


async def run_faults(
    mode: str, directory: Path, start_server: Callable[..., ServerProcess], **size: Any
) -> Report:
    return await FaultRun(mode, directory, start_server, **size).run()
