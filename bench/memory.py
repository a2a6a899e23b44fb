"""Memory per idle connection: server RSS delta / N, permessage-deflate off and on."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.fanout import APPS
from bench.load import Load
from bench.progress import Progress
from bench.server import BenchServer

WARMUP = 20


async def one(app: str, clients: int, deflate: bool, pause: float) -> dict[str, Any]:
    with BenchServer(app, deflate=deflate) as server:
        warm = await Load(
            server, WARMUP, probes=0, deflate=deflate
        ).connect()  # first-use allocations
        await asyncio.sleep(pause / 2)
        before = server.sample().rss
        load = await Load(server, clients, probes=0, deflate=deflate).connect()
        await asyncio.sleep(pause)
        after = server.sample().rss
        await load.close()
        await warm.close()
    return {
        "kib_per_connection": round((after - before) / clients / 1024, 2),
        "rss_mib": round(after / 2**20, 1),
    }


async def run(apps: list[str] = APPS, *, clients: int = 1000, pause: float = 1.0) -> dict[str, Any]:
    """`pause`: how long to let each server settle before reading its RSS."""
    progress = Progress("memory", 2 * len(apps))
    result: dict[str, Any] = {"clients": clients}
    for deflate in (False, True):
        key = "deflate_on" if deflate else "deflate_off"
        result[key] = {}
        for app in apps:
            result[key][app] = await one(app, clients, deflate, pause)
            progress.step(f"{app}, {clients} clients, deflate {'on' if deflate else 'off'}")
    return result
