"""A real client stops reading while events keep coming: it is closed with 4008, the others
receive everything in order, and the server's memory stays bounded."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from tests.servers.harness import SERVERS, ServerProcess, WsClient, get_json, node_status, publish

Start = Callable[..., ServerProcess]
POOL = secrets.token_urlsafe(1_200_000)  # random text: permessage-deflate must not shrink it
EVENT_SIZE = 8000  # ~8 KB events fill socket buffers quickly
BATCH = 100
MiB = 1024 * 1024


@pytest.mark.parametrize("server", SERVERS)
async def test_frozen_client(server: str, start_server: Start) -> None:
    process = start_server(
        server, "tests.servers.apps:app", FLOWWIRE_OPTIONS=json.dumps({"max_queued_frames": 64})
    )
    healthy = [await WsClient.connect(process.url(), max_size=None) for _ in range(2)]
    frozen = await WsClient.connect(process.url(), max_queue=4)
    for client in (*healthy, frozen):
        await client.subscribe("workflow:w")
    received: list[list[int]] = [[] for _ in healthy]

    async def read(index: int, client: WsClient) -> None:
        while True:
            received[index].append((await client.recv(30))["seq"])

    readers = [asyncio.create_task(read(i, c)) for i, c in enumerate(healthy)]
    rss_before = process.rss()
    published = 0

    async def publish_batch() -> None:
        nonlocal published
        offsets = (((published + i) * 7919) % (len(POOL) - EVENT_SIZE) for i in range(BATCH))
        events = [
            node_status(published + i, output=POOL[o : o + EVENT_SIZE])
            for i, o in enumerate(offsets)
        ]
        await publish(process, events)
        published += BATCH

    for _ in range(200):  # at most 160 MB; stops once the frozen client is closed
        await publish_batch()
        stats = await get_json(process, "/ws/stats")
        assert stats["queue_depth_now"] <= 64
        if stats["slow_consumer_closes"]:
            break
    assert stats["slow_consumer_closes"] == 1, stats
    for _ in range(40):  # 32 MB more after the close: none of it may pile up for the frozen client
        await publish_batch()
    rss_growth = process.rss() - rss_before

    while min(map(len, received)) < published:
        await asyncio.sleep(0.05)
        assert not any(r.done() for r in readers), [r.exception() for r in readers if r.done()]
    for task in readers:
        task.cancel()
    for seqs in received:
        assert seqs == list(range(1, published + 1)), (
            "every event, in order, to every healthy client"
        )

    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await frozen.recv(30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
    stats = await get_json(process, "/ws/stats")
    assert stats["connections"] == 2 and stats["frames_dropped"] >= 1
    print(
        f"{server}: published {published} events ({published * EVENT_SIZE / MiB:.0f} MiB), frozen client closed 4008, server RSS grew {rss_growth / MiB:.1f} MiB"
    )
    assert rss_growth < 24 * MiB, (
        f"server RSS grew {rss_growth / MiB:.1f} MiB over {published * EVENT_SIZE / MiB:.0f} MiB published"
    )
    for client in healthy:
        await client.close()
