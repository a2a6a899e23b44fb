"""Many idle connections in one process: memory per connection, what heartbeats cost,
and the time to fan one event out to all of them.

Clients connect to one server process (the raw floor, then flowwire with its
default 25 s heartbeat, answered by every client as a real one would, with and
without uvicorn's own protocol pings), sit
idle while the server's CPU is read over `idle_seconds` (about a heartbeat
interval: every connection's ping and pong fall in it), then one event at a
time is published and timed from its publish (the timestamp it carries) until
the last client has it. The open-files limit
is raised to its hard limit first (`python -m bench` does it for the servers
it starts too).
"""

from __future__ import annotations

import asyncio
import json
import statistics
from typing import Any

from bench.load import Load
from bench.procstat import raise_fd_limit
from bench.progress import Progress
from bench.server import BenchServer

NO_SERVER_PINGS = "flowwire, no server pings"
APPS = ["raw", "flowwire", NO_SERVER_PINGS]
"""The floor and flowwire on uvicorn as it comes (its own protocol pings every 20 s),
and flowwire with uvicorn's pings off (`--ws-ping-interval 0`): its heartbeat already
checks every connection, so the server's pings only double the work."""
HEARTBEAT_MS = 25_000
WARMUP = 20


async def one(
    app: str, clients: int, *, idle_seconds: float, heartbeat_ms: int, fanouts: int
) -> dict[str, Any]:
    # The default limit is 10,000 connections per process: room for the warm-up ones too.
    options = json.dumps({"heartbeat_ms": heartbeat_ms, "max_connections": clients + WARMUP})
    kind = app.partition(", ")[0]
    pings = app != NO_SERVER_PINGS
    with BenchServer(kind, env={"BENCH_FLOWWIRE_OPTIONS": options}, server_pings=pings) as server:
        warm = await Load(server, WARMUP, probes=0, answers_pings=True).connect()
        before = server.sample().rss
        load = await Load(server, clients, probes=1, answers_pings=True).connect()
        after = server.sample().rss
        idle_start = server.sample().cpu
        await asyncio.sleep(idle_seconds)  # the measurement window itself, not a wait
        idle_cpu = server.sample().cpu - idle_start
        pongs = sum(c.pings for c in load.clients)
        times = []
        for _ in range(fanouts):
            await load.phase(1, 0)
            # From the publish (its timestamp, read by the probe) to the last client's receipt.
            sent = max(c.sent_ns for c in load.clients)
            times.append((max(c.last_ns for c in load.clients) - sent) / 1e6)
        dropped = sum(c.closed.done() for c in load.clients)
        await load.close()
        await warm.close()
    return {
        "clients": clients,
        "kib_per_connection": round((after - before) / clients / 1024, 2),
        "rss_mib": round(after / 2**20, 1),
        "idle_cpu_percent": round(idle_cpu / idle_seconds * 100, 2),
        "pings_answered": pongs,
        "fanout_ms": round(statistics.median(times), 2),
        "fanout_runs_ms": [round(t, 2) for t in times],
        "dropped": dropped,
    }


async def run(
    sizes: tuple[int, ...] = (1000, 10_000),
    *,
    apps: list[str] = APPS,
    idle_seconds: float = 30,
    heartbeat_ms: int = HEARTBEAT_MS,
    fanouts: int = 5,
) -> dict[str, Any]:
    limit = raise_fd_limit()
    progress = Progress("idle", len(sizes) * len(apps))
    results: dict[str, dict[str, Any]] = {}
    for clients in sizes:
        results[str(clients)] = {}
        for app in apps:
            results[str(clients)][app] = await one(
                app,
                clients,
                idle_seconds=idle_seconds,
                heartbeat_ms=heartbeat_ms,
                fanouts=fanouts,
            )
            progress.step(f"{app}, {clients} idle connections")
    return {
        "open_files_limit": limit,
        "heartbeat_ms": heartbeat_ms,
        "idle_seconds": idle_seconds,
        "results": results,
    }
