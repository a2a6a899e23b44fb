"""Batch frames: when events come in bursts, CPU per event with batches against frames
one by one, and against the per-frame floor (the raw ASGI loop)."""

from __future__ import annotations

import statistics
from typing import Any

from bench.load import Load
from bench.progress import Progress
from bench.server import BenchServer


async def run(
    *, clients: int = 500, events: int = 400, burst: int = 10, reps: int = 5
) -> dict[str, Any]:
    cases = {
        "raw floor": ("raw", False),
        "flowwire": ("flowwire", False),
        "flowwire + batch": ("flowwire", True),
    }
    servers = {name: BenchServer(app).start() for name, (app, _) in cases.items()}
    try:
        loads = {
            name: await Load(servers[name], clients, probes=0, batch=batch).connect()
            for name, (_, batch) in cases.items()
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        received: dict[str, list[int]] = {name: [] for name in cases}
        names = list(cases)
        progress = Progress("batch", reps * len(names))
        for rep in range(reps):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                phase = await loads[name].phase(events, 0, burst=burst)
                # Events counted by the clients, inside batch frames too: what arrived.
                samples[name].append(phase.server_cpu_s / max(1, phase.received) * 1e6)
                received[name].append(phase.received)
                progress.step(f"{name}, run {rep + 1}/{reps}")
        for load in loads.values():
            await load.close()
    finally:
        for server in servers.values():
            server.stop()
    return {
        "clients": clients,
        "events": events,
        "burst": burst,
        "us_per_event": {name: statistics.median(values) for name, values in samples.items()},
        "samples": samples,
        "received": received,
    }
