"""Slow consumer: one frozen client among N. Healthy clients' latency and server RSS
over time, with and without the frozen client, flowwire against the seeds' manager and
python-socketio."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from bench.load import Load, percentile
from bench.progress import Progress
from bench.server import BenchServer

APPS = ["flowwire", "manager", "socketio"]
FLOWWIRE = {"max_queued_frames": 256}


async def one(
    app: str, frozen: bool, *, clients: int, seconds: float, rate: float, pad: int
) -> dict[str, Any]:
    env = {"BENCH_FLOWWIRE_OPTIONS": json.dumps(FLOWWIRE)} if app == "flowwire" else {}
    with BenchServer(app, env=env) as server:
        load = await Load(server, clients, probes=10).connect()
        if frozen:
            load.clients[0].freeze()
        count = int(rate * seconds)
        healthy = load.clients[1:]
        before = [c.frames for c in healthy]
        async with httpx.AsyncClient() as http:
            await http.post(
                f"http://127.0.0.1:{server.port}/bench/run",
                json={"count": count, "rate": rate, "pad": pad},
            )
        timeline = []
        start = time.perf_counter()
        seen = 0
        while time.perf_counter() - start < seconds + 5:
            await asyncio.sleep(0.5)
            latencies = [ns / 1e6 for c in healthy for ns in c.latencies_ns]
            window, seen = latencies[seen:], len(latencies)
            received = sum(c.frames - b for c, b in zip(healthy, before, strict=True))
            timeline.append(
                {
                    "t": round(time.perf_counter() - start, 2),
                    "rss_mib": round(server.sample().rss / 2**20, 2),
                    "p99_ms": round(percentile(window, 0.99), 2) if window else None,
                    "delivered": round(received / (count * len(healthy)), 4),
                }
            )
            if received >= count * len(healthy) and time.perf_counter() - start > seconds:
                break
        latencies = [ns / 1e6 for c in healthy for ns in c.latencies_ns]
        result = {
            "p50_ms": round(percentile(latencies, 0.5), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "delivered": timeline[-1]["delivered"],
            "max_rss_mib": max(p["rss_mib"] for p in timeline),
            "timeline": timeline,
        }
        if frozen:
            if app == "flowwire":
                async with httpx.AsyncClient() as http:
                    stats = (await http.get(f"http://127.0.0.1:{server.port}/stats")).json()
                result["slow_consumer_closes"] = stats["slow_consumer_closes"]
                # A client that stops reading is also closed when one send waits longer
                # than `send_timeout_ms`: whichever bound it reaches first.
                result["stalled_closes"] = stats.get("stalled_closes", 0)
            # Not reading, it cannot have seen a close yet: it reads what piled up now.
            result["frozen_close_code"] = await load.clients[0].thaw(10)
        await load.close()
    return result


async def run(
    apps: list[str] = APPS,
    *,
    clients: int = 500,
    seconds: float = 30,
    rate: float = 20,
    pad: int = 20_000,
) -> dict[str, Any]:
    options = {"clients": clients, "seconds": seconds, "rate": rate, "pad": pad}
    progress = Progress("slow", 2 * len(apps))
    results: dict[str, Any] = {}
    for app in apps:
        results[app] = {}
        for frozen in (False, True):
            run_name = "frozen" if frozen else "baseline"
            results[app][run_name] = await one(app, frozen, **options)
            progress.step(f"{app}, {run_name} run")
    return {"options": {**options, "flowwire": FLOWWIRE}, "results": results}
