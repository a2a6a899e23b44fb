"""publish→receive latency through Redis against the embedded memory broker, side by side."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.load import Load
from bench.progress import Progress
from bench.server import BenchServer


def redis_server(directory: Path) -> Any:
    from tests.redis_server import RedisServer

    return RedisServer(directory, tcp=True).start()  # the network path, as deployed


async def run(
    *, clients: int = 100, rate: float = 200, seconds: float = 5, reps: int = 3
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        redis = redis_server(Path(tmp))
        try:
            servers = {
                "memory": BenchServer("flowwire").start(),
                "redis": BenchServer("flowwire", env={"BENCH_REDIS_URL": redis.url}).start(),
            }
            loads = {
                name: await Load(server, clients, probes=20).connect()
                for name, server in servers.items()
            }
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
            progress = Progress("redis", reps * len(servers))
            for rep in range(reps):
                for name in list(servers)[rep % 2 :] + list(servers)[: rep % 2]:
                    runs[name].append(
                        (await loads[name].phase(int(rate * seconds), rate)).summary()
                    )
                    progress.step(f"{name}, run {rep + 1}/{reps}")
            for load in loads.values():
                await load.close()
            for server in servers.values():
                server.stop()
        finally:
            redis.kill()
    return {
        "clients": clients,
        "rate": rate,
        **{
            name: {
                "p50_ms": statistics.median(r["p50_ms"] for r in samples),
                "p99_ms": statistics.median(r["p99_ms"] for r in samples),
                "us_per_delivery": statistics.median(r["us_per_delivery"] for r in samples),
                "runs": samples,
            }
            for name, samples in runs.items()
        },
    }
