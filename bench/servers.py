"""The server matrix: flowwire and the raw ASGI floor on every ASGI server, side by side.

For each server in `bench.server.SERVERS` (uvicorn with websockets-sansio, uvicorn
with wsproto, hypercorn, daphne, granian), two processes: the raw floor and
flowwire. Fan-out: one server at a time, its two processes at once with N
clients each, their bursts interleaved (as in bench/fanout.py), medians
compared, flowwire against its own server's floor. One server at a time, so
that only the two processes compared share the server core.
Memory per idle connection: one process at a time, RSS after N more idle
connections minus before, divided by N.
A server that fails to start or to deliver is recorded with its error, and the
others still run.
"""

from __future__ import annotations

import statistics
import traceback
from typing import Any

from bench.load import Load
from bench.memory import WARMUP
from bench.progress import Progress
from bench.server import SERVERS, BenchServer

APPS = ["raw", "flowwire"]


def _error(exc: BaseException) -> str:
    """The last lines of what went wrong, for the report."""
    lines = "".join(traceback.format_exception_only(exc)).strip().splitlines()
    return " ".join(line.strip() for line in lines[-3:])[:500]


async def _fanout_one(
    server: str, clients: int, reps: int, events: int, progress: Progress
) -> dict[str, list[dict[str, Any]]]:
    """The floor and flowwire on `server`, at once, their bursts interleaved."""
    running: dict[str, BenchServer] = {}
    try:
        loads = {}
        for app in APPS:
            running[app] = BenchServer(app, server=server).start()
            loads[app] = await Load(running[app], clients).connect()
        bursts: dict[str, list[dict[str, Any]]] = {app: [] for app in APPS}
        for rep in range(reps):
            for app in APPS[rep % 2 :] + APPS[: rep % 2]:
                bursts[app].append((await loads[app].phase(events, 0)).summary())
                progress.step(f"{server}, {app}, burst {rep + 1}/{reps}")
        for load in loads.values():
            await load.close()
        return bursts
    finally:
        for process in running.values():
            process.stop()


async def _fanout(
    servers: list[str], clients: int, reps: int, burst_deliveries: int, progress: Progress
) -> dict[str, Any]:
    events = max(5, burst_deliveries // clients)
    result: dict[str, Any] = {
        "clients": clients,
        "events_per_burst": events,
        "servers": {},
        "failed": {},
    }
    for server in servers:
        try:
            bursts = await _fanout_one(server, clients, reps, events, progress)
        except Exception as exc:  # reported, and the other servers still run
            result["failed"][server] = _error(exc)
            for _ in range(reps * len(APPS)):
                progress.step(f"{server}: failed")
            continue
        result["servers"][server] = {
            app: {
                "us_per_delivery": statistics.median(b["us_per_delivery"] for b in runs),
                "deliveries_per_s": statistics.median(b["deliveries_per_s"] for b in runs),
                "client_bound_runs": sum(b["client_bound"] for b in runs),
                "bursts": runs,
            }
            for app, runs in bursts.items()
        }
    return result


async def _memory_one(server: str, app: str, clients: int, pause: float) -> dict[str, Any]:
    import asyncio

    with BenchServer(app, server=server) as process:
        warm = await Load(process, WARMUP, probes=0).connect()  # first-use allocations
        await asyncio.sleep(pause / 2)
        before = process.sample().rss
        load = await Load(process, clients, probes=0).connect()
        await asyncio.sleep(pause)
        after = process.sample().rss
        await load.close()
        await warm.close()
    return {
        "kib_per_connection": round((after - before) / clients / 1024, 2),
        "rss_mib": round(after / 2**20, 1),
    }


async def run(
    servers: list[str] = SERVERS,
    *,
    clients: int = 100,
    reps: int = 3,
    burst_deliveries: int = 100_000,
    memory_clients: int = 1000,
    pause: float = 1.0,
) -> dict[str, Any]:
    """`clients` per process for fan-out, `memory_clients` idle ones for memory; `pause`:
    how long each server settles before its RSS is read."""
    progress = Progress("servers", len(servers) * len(APPS) * (reps + 1))
    fanout = await _fanout(servers, clients, reps, burst_deliveries, progress)
    memory: dict[str, Any] = {"clients": memory_clients, "servers": {}, "failed": {}}
    for server in servers:
        for app in APPS:
            if server in fanout["failed"] or server in memory["failed"]:
                progress.step(f"{server}, {app}: skipped, it failed to run")
                continue
            try:
                measured = await _memory_one(server, app, memory_clients, pause)
                memory["servers"].setdefault(server, {})[app] = measured
            except Exception as exc:  # reported, and the other servers still run
                memory["failed"][server] = f"{app}: {_error(exc)}"
            progress.step(f"{server}, {app}, {memory_clients} idle connections")
    return {"fanout": fanout, "memory": memory}
