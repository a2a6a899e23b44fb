"""The server matrix: flowwire and the raw ASGI floor on every ASGI server, side by side.

For each server in `bench.server.SERVERS` (uvicorn with websockets-sansio, uvicorn
with wsproto, hypercorn, daphne, granian), two processes: the raw floor and
flowwire. Fan-out: all of them run at once with N clients each, bursts
interleaved across them (as in bench/fanout.py), medians compared, each
flowwire against its own server's floor. Memory per idle connection: one
process at a time, RSS after N more idle connections minus before, divided by N.
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


async def _fanout(
    servers: list[str], clients: int, reps: int, burst_deliveries: int, progress: Progress
) -> dict[str, Any]:
    contenders = [(server, app) for server in servers for app in APPS]
    running: dict[tuple[str, str], BenchServer] = {}
    loads: dict[tuple[str, str], Load] = {}
    failed: dict[str, str] = {}
    try:
        for server, app in contenders:
            if server in failed:
                continue
            try:
                running[server, app] = BenchServer(app, server=server).start()
                loads[server, app] = await Load(running[server, app], clients).connect()
            except Exception as exc:  # reported, and the other servers still run
                failed[server] = f"{app}: {_error(exc)}"
        live = [c for c in contenders if c in loads and c[0] not in failed]
        events = max(5, burst_deliveries // clients)
        bursts: dict[tuple[str, str], list[dict[str, Any]]] = {c: [] for c in live}
        for rep in range(reps):
            turn = rep % max(1, len(live))
            for contender in live[turn:] + live[:turn]:
                bursts[contender].append((await loads[contender].phase(events, 0)).summary())
                progress.step(f"{contender[0]}, {contender[1]}, burst {rep + 1}/{reps}")
        for load in loads.values():
            await load.close()
    finally:
        for process in running.values():
            process.stop()
    result: dict[str, Any] = {"clients": clients, "events_per_burst": events, "failed": failed}
    for server, app in live:
        runs = bursts[server, app]
        result.setdefault("servers", {}).setdefault(server, {})[app] = {
            "us_per_delivery": statistics.median(b["us_per_delivery"] for b in runs),
            "deliveries_per_s": statistics.median(b["deliveries_per_s"] for b in runs),
            "client_bound_runs": sum(b["client_bound"] for b in runs),
            "bursts": runs,
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
