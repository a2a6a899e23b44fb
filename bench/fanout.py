"""Fan-out: N clients on one topic, ~300-byte events; every server side by side.

All servers run at once, each in its own process on the server core, with N
clients each; bursts are interleaved across them (A B C D E, B C D E A, …) so
that drift on a shared machine hits every contender alike, and medians are
compared. Server CPU per delivery comes from /proc; the load generator's own
CPU is recorded, and a run it could not keep up with is flagged client-bound.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.load import Load
from bench.progress import Progress
from bench.server import BenchServer

APPS = ["raw", "flowwire", "manager", "socketio", "broadcaster"]


async def run(
    sizes: tuple[int, ...] = (100, 500, 1000),
    *,
    reps: int = 5,
    burst_deliveries: int = 200_000,
    rate_deliveries: int = 10_000,
    latency_seconds: float = 4.0,
    apps: list[str] = APPS,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    progress = Progress("fanout", len(sizes) * (reps + 1) * len(apps))
    for clients in sizes:
        servers = {app: BenchServer(app).start() for app in apps}
        try:
            loads = {app: await Load(server, clients).connect() for app, server in servers.items()}
            events = max(5, burst_deliveries // clients)
            bursts: dict[str, list[dict[str, Any]]] = {app: [] for app in apps}
            for rep in range(reps):
                for app in apps[rep % len(apps) :] + apps[: rep % len(apps)]:
                    bursts[app].append((await loads[app].phase(events, 0)).summary())
                    progress.step(f"{clients} clients, {app}, burst {rep + 1}/{reps}")
            rate = max(1.0, rate_deliveries / clients)
            latency = {}
            for app in apps:
                phase = await loads[app].phase(max(5, int(rate * latency_seconds)), rate)
                latency[app] = phase.summary()
                progress.step(f"{clients} clients, {app}, latency at {rate:.0f} events/s")
            results[str(clients)] = {
                app: {
                    "us_per_delivery": statistics.median(b["us_per_delivery"] for b in bursts[app]),
                    "deliveries_per_s": statistics.median(
                        b["deliveries_per_s"] for b in bursts[app]
                    ),
                    "client_bound_runs": sum(b["client_bound"] for b in bursts[app]),
                    "bursts": bursts[app],
                    "rate_per_s": rate,
                    "p50_ms": latency[app]["p50_ms"],
                    "p99_ms": latency[app]["p99_ms"],
                    "latency_client_bound": latency[app]["client_bound"],
                }
                for app in apps
            }
            for load in loads.values():
                await load.close()
        finally:
            for server in servers.values():
                server.stop()
    return results
