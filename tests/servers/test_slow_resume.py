"""A client on a slow link resumes, slowly: the replay is paced by its queue, not a burst.

A resume used to be pushed as one burst: 2,500 events of 1.1 kB to a client that
takes `batch` frames (so they queue) against a queue of 1,000 frames closed the
client 4008, so a client on a slow network could
never catch up. Now the replay fills the queue to half, waits for it to drain,
and goes on; live events published meanwhile follow it, in order.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable

import pytest

from tests.servers.harness import SERVERS, ServerProcess, WsClient, get_json, node_status, publish

pytestmark = [pytest.mark.slow]

Start = Callable[..., ServerProcess]
OPTIONS = {"heartbeat_ms": 3_600_000}
HISTORY = 2500
PAD = "x" * 1000  # ~1.1 kB events


@pytest.mark.parametrize(
    ("server", "batch"),
    [*((server, True) for server in SERVERS), ("uvicorn-sansio", False)],
)
async def test_a_slow_client_resumes_a_long_history(
    server: str, batch: bool, start_server: Start
) -> None:
    process = start_server(
        server,
        "tests.servers.apps:app",
        FLOWWIRE_OPTIONS=json.dumps(OPTIONS),
        FLOWWIRE_MEMORY_BROKER=json.dumps({"history_size": HISTORY + 100}),
    )
    first = await WsClient.connect(process.url())
    epoch = (await first.subscribe("workflow:w"))["data"]["topics"]["workflow:w"]["epoch"]
    await first.close()
    for start in range(0, HISTORY, 500):
        await publish(process, [node_status(i, output=PAD) for i in range(start, start + 500)])

    # A slow link: a small receive window (no autotuning) and a reader that keeps up only
    # so far, so what the server sends piles up on its side, not in the kernel's buffers.
    link = socket.socket()
    link.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    link.connect(("127.0.0.1", process.port))
    client = await WsClient.connect(process.url(), sock=link, max_queue=2)
    reply = await client.request(
        {
            "type": "subscribe",
            "ref": "r",
            "topics": ["workflow:w"],
            "since": {"workflow:w": {"epoch": epoch, "seq": 0}},
            "batch": batch,
        }
    )
    assert reply["data"]["topics"]["workflow:w"]["recovered"] is True, reply
    total = HISTORY + 50
    live = asyncio.create_task(
        publish(process, [node_status(i, output=PAD) for i in range(HISTORY, total)])
    )
    seqs = []
    while len(seqs) < total:
        seqs.append((await client.recv_event(30))["seq"])
        if len(seqs) % 50 == 0:
            await asyncio.sleep(0.005)  # a slow link: ~10,000 frames a second at best
    await live
    assert seqs == list(range(1, total + 1)), (
        "the replay, then the live events, each once, in order"
    )
    assert (client.batches > 0) is batch
    stats = await get_json(process, "/ws/stats")
    assert stats["slow_consumer_closes"] == 0
    await client.close()
