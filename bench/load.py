"""The load generator's side of a run: clients for each app kind, phases, and their numbers."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from bench.procstat import sample
from bench.server import CLIENT_CORE, BenchServer, pinned
from bench.wsclient import Client, connect_many, json_probe, masked_frame

SUBSCRIBE = json.dumps({"type": "subscribe", "topics": ["workflow:w"], "snapshot": False}).encode()


def client_options(app: str, *, probe: bool = False, batch: bool = False) -> dict[str, Any]:
    """How each kind of server is connected to and subscribed."""
    if app == "socketio":
        return {
            "path": "/socket.io/?EIO=4&transport=websocket",
            "on_open": [masked_frame(b"40")],
            "engineio": True,
            "probe": json_probe(("1", "output", "t"), prefix=2) if probe else None,
        }
    options: dict[str, Any] = {
        "path": "/ws",
        "probe": json_probe(("output", "t")) if probe else None,
    }
    if app == "flowwire":
        subscribe = dict(json.loads(SUBSCRIBE), **({"batch": True} if batch else {}))
        options.update(
            subprotocol="flowwire.v1.json",
            on_open=[masked_frame(json.dumps(subscribe).encode())],
            batched=batch,
        )
    return options


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Phase:
    """What one publishing phase measured."""

    events: int
    clients: int
    wall_s: float
    server_cpu_s: float
    client_cpu_s: float
    received: int
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def deliveries(self) -> int:
        return self.events * self.clients

    @property
    def us_per_delivery(self) -> float:
        return self.server_cpu_s / max(1, self.received) * 1e6

    @property
    def deliveries_per_s(self) -> float:
        return self.received / self.wall_s if self.wall_s else 0.0

    @property
    def client_bound(self) -> bool:
        """The load generator was (nearly) saturated: the numbers say more about it."""
        return self.client_cpu_s > 0.9 * self.wall_s

    def summary(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "latencies_ms"}
        data.update(
            us_per_delivery=round(self.us_per_delivery, 2),
            deliveries_per_s=round(self.deliveries_per_s),
            p50_ms=round(percentile(self.latencies_ms, 0.50), 2),
            p99_ms=round(percentile(self.latencies_ms, 0.99), 2),
            client_bound=self.client_bound,
        )
        return data


class Load:
    """Clients connected to one server: sinks that count, and a few probes that time."""

    def __init__(
        self,
        server: BenchServer,
        clients: int,
        *,
        probes: int = 10,
        deflate: bool = False,
        batch: bool = False,
        answers_pings: bool = False,
    ) -> None:
        self.server = server
        self.answers_pings = answers_pings
        self.count = clients
        self.probes = min(probes, clients)
        self.deflate = deflate
        self.batch = batch
        self.clients: list[Client] = []

    async def connect(self) -> Load:
        if pinned():
            os.sched_setaffinity(0, {CLIENT_CORE})
        app = self.server.app
        common = {
            "host": "127.0.0.1",
            "port": self.server.port,
            "deflate": self.deflate,
            "answers_pings": self.answers_pings,
        }
        sink = client_options(app, batch=self.batch)
        probe = client_options(app, probe=True, batch=self.batch)
        sinks = self.count - self.probes
        chunk = sinks // (self.probes + 1)
        # Probes spread evenly through the connection order: servers that fan out in that
        # order would otherwise always serve them last (and a set-based one at random).
        self.clients = []
        for _ in range(self.probes):
            self.clients += await connect_many(chunk, **common, **sink)
            self.clients += await connect_many(1, **common, **probe)
        self.clients += await connect_many(sinks - chunk * self.probes, **common, **sink)
        await self.settle()
        return self

    async def settle(self, quiet: float = 0.3) -> None:
        """Until no client receives anything for `quiet` seconds (handshake frames done)."""
        last = -1
        while True:
            total = sum(c.frames for c in self.clients)
            if total == last:
                return
            last = total
            await asyncio.sleep(quiet)

    async def phase(
        self, events: int, rate: float, *, pad: int = 150, burst: int = 1, timeout: float = 120
    ) -> Phase:
        for client in self.clients:
            client.latencies_ns.clear()
        before = [c.events for c in self.clients]
        server_before, client_before = self.server.sample(), sample()
        start = time.perf_counter()
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"http://127.0.0.1:{self.server.port}/bench/run",
                json={"count": events, "rate": rate, "pad": pad, "burst": burst},
            )
            response.raise_for_status()
        expected = events
        deadline = time.perf_counter() + timeout
        live = [c for c in self.clients if not c.closed.done()]
        while time.perf_counter() < deadline:
            if all(
                c.events - b >= expected
                for c, b in zip(self.clients, before, strict=True)
                if c in live
            ):
                break
            await asyncio.sleep(0.002)
        wall = time.perf_counter() - start
        server_after, client_after = self.server.sample(), sample()
        received = sum(c.events - b for c, b in zip(self.clients, before, strict=True))
        latencies = [ns / 1e6 for c in self.clients for ns in c.latencies_ns]
        return Phase(
            events=events,
            clients=len(live),
            wall_s=wall,
            server_cpu_s=server_after.cpu - server_before.cpu,
            client_cpu_s=client_after.cpu - client_before.cpu,
            received=received,
            latencies_ms=latencies,
        )

    async def close(self) -> None:
        for client in self.clients:
            if client.transport is not None:
                client.transport.close()
        await asyncio.sleep(0.1)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
