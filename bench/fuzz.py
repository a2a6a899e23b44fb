"""Fuzz a real server, long: `python -m bench.fuzz [--frames 100000] [--clients 8]`.

A uvicorn process serves flowwire with its default limits. Fuzz clients send
junk of every kind (random bytes and text, JSON values, valid commands with one
thing broken, deep nesting, huge integers, floods), reconnecting whenever they
are closed; meanwhile a healthy client receives a steady stream of published
events. It runs in rounds; at the end: no traceback in the server's log, no
1011 close, the server's heap (memory blocks the interpreter holds after a full
collection, bench/fuzz_app.py) levelling off from round to round (the growth
over the later half at most a quarter of the earlier half's: a leak grows alike
in both), the healthy stream complete and in order. RSS is reported too; it is
a high-water mark (of the frames a flood makes the server buffer, among others),
so it rises with load and never comes down. It prints the figures and writes
bench/results/fuzz.json. Not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.server import ROOT
from tests.plugin.test_bad_input import random_frame
from tests.servers.harness import ServerProcess, WsClient, node_status, publish
from wsproto_schema.contract import Contract

MiB = 1024 * 1024


def junk(rng: random.Random) -> str | bytes:
    """`random_frame`'s junk, plus the attacks the limits exist for."""
    kind = rng.randrange(10)
    if kind == 0:
        depth = rng.randrange(60, 3000)
        return (
            '{"type":"input","execution_id":"e","node_id":"n","value":'
            + "[" * depth
            + "]" * depth
            + "}"
        )
    if kind == 1:
        return json.dumps(
            {"type": "execute", "workflow": {"id": "w", "nodes": []}, "inputs": {"n": 10**30}}
        )
    return random_frame(rng)


async def fuzzer(
    url: str, rng: random.Random, frames: int, counts: collections.Counter[str]
) -> None:
    sent = 0
    while sent < frames:
        try:
            async with websockets.connect(url, open_timeout=10, max_size=None) as ws:
                reader = asyncio.create_task(_drain(ws, counts))
                try:
                    while sent < frames:
                        await ws.send(junk(rng))
                        sent += 1
                        counts["sent"] += 1
                        if sent % 50 == 0:
                            await asyncio.sleep(0)  # let the reader and the server breathe
                finally:
                    reader.cancel()
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else 1006
            counts[f"closed {code}"] += 1
        except OSError:
            counts["connect failed"] += 1


async def _drain(ws: Any, counts: collections.Counter[str]) -> None:
    async for message in ws:
        frame = json.loads(message) if isinstance(message, str) else {}
        counts[f"frame {frame.get('type')}:{frame.get('code', '')}"] += 1


def levels_off(blocks: list[int]) -> bool:
    """The growth over the later half of the rounds is at most a quarter of the growth
    over the earlier half, give or take a thousand blocks (a leak grows alike in both)."""
    middle = len(blocks) // 2
    early, late = blocks[middle] - blocks[0], blocks[-1] - blocks[middle]
    return late <= max(early // 4, 1000)


async def _heap(server: ServerProcess) -> int:
    async with httpx.AsyncClient(timeout=30) as http:
        return int((await http.get(server.http_url("/heap"))).json()["blocks"])


async def run(frames: int, clients: int, events: int, rounds: int) -> dict[str, Any]:
    from tests.plugin import clients as checked

    # The healthy client checks every frame against the committed schema, as in the tests.
    checked.CONTRACT = Contract.from_directory(ROOT / "schemas")
    directory = Path(tempfile.mkdtemp(prefix="fw-fuzz-"))
    # A bounded history, and a stream that cycles through 50 nodes: after the first
    # round, what the server keeps for the healthy stream does not grow.
    env = {"FLOWWIRE_MEMORY_BROKER": json.dumps({"history_size": 500})}
    server = ServerProcess("uvicorn-sansio", "bench.fuzz_app:app", directory / "server.log", env)
    server.start()
    try:
        healthy = await WsClient.connect(server.url(), max_size=None)
        await healthy.subscribe("workflow:w")
        rss, heap = [server.rss()], [await _heap(server)]
        counts: collections.Counter[str] = collections.Counter()
        rng = random.Random(20261202)
        seqs: list[int] = []
        # In rounds, the memory after each: a leak grows in every round, an allocator's
        # pools and the bounded history grow in the first ones and level off.
        for _ in range(rounds):
            fuzzers = [
                asyncio.create_task(
                    fuzzer(
                        server.url(),
                        random.Random(rng.random()),
                        frames // clients // rounds,
                        counts,
                    )
                )
                for _ in range(clients)
            ]
            first, last = len(seqs), len(seqs) + events // rounds

            async def stream(first: int = first, last: int = last) -> None:
                for start in range(first, last, 10):
                    await publish(
                        server, [node_status(i) for i in range(start, min(start + 10, last))]
                    )
                    await asyncio.sleep(0.02)  # a steady stream, not a burst

            publisher = asyncio.create_task(stream())
            while len(seqs) < last:
                seqs.append((await healthy.recv_event(60))["seq"])
            await publisher
            await asyncio.gather(*fuzzers)
            rss.append(server.rss())
            heap.append(await _heap(server))
        logs = server.logs()
        result = {
            "frames_sent": counts["sent"],
            "closes": {k: v for k, v in counts.items() if k.startswith("closed")},
            "answers": {k: v for k, v in counts.items() if k.startswith("frame")},
            "healthy_events": len(seqs),
            "healthy_in_order": seqs == list(range(1, len(seqs) + 1)),
            "tracebacks": logs.count("Traceback"),
            "closes_1011": counts["closed 1011"],
            "heap_blocks_per_round": heap,
            "rss_mib_per_round": [round(r / MiB, 1) for r in rss],
            "memory_levels_off": levels_off(heap),
        }
    finally:
        server.stop()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fuzz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--events", type=int, default=2_000, help="of the healthy stream")
    parser.add_argument("--rounds", type=int, default=4, help="memory is measured after each")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.frames, args.clients, args.events, args.rounds))
    print(json.dumps(result, indent=1))
    out = ROOT / "bench" / "results" / "fuzz.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    ok = (
        result["tracebacks"] == 0
        and result["closes_1011"] == 0
        and result["healthy_in_order"]
        and result["memory_levels_off"]
    )
    if not ok:
        raise SystemExit("the fuzz run found a problem: see above")


if __name__ == "__main__":
    main()
