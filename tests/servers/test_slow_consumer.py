"""A real client stops reading while events keep coming: it is closed with 4008, the others
receive everything in order, and the server's memory stays bounded.

The frozen client's socket buffers fill, so the server cannot even send it the
close frame until it reads again: it keeps trying for `close_timeout_ms` (long
here, so that the outcome does not depend on how fast this machine is), and
the client, once it reads again, finds everything that was already in flight
and then the 4008 close. Heartbeats are off (an hour): this test is about
queues, not liveness.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from tests.servers.harness import SERVERS, ServerProcess, WsClient, get_json, node_status, publish

pytestmark = [pytest.mark.slow]

Start = Callable[..., ServerProcess]
POOL = secrets.token_urlsafe(1_200_000)  # random text: permessage-deflate must not shrink it
EVENT_SIZE = 8000  # ~8 KB events fill socket buffers quickly
BATCH = 100
MiB = 1024 * 1024
OPTIONS = {"max_queued_frames": 64, "close_timeout_ms": 120_000, "heartbeat_ms": 3_600_000}


class Reader:
    """Reads a healthy client's events in the background; `until(n)` waits for the n-th."""

    def __init__(self, client: WsClient) -> None:
        self.client = client
        self.seqs: list[int] = []
        self._target = 0
        self._reached = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            self.seqs.append((await self.client.recv_event(60))["seq"])
            if self._target and len(self.seqs) >= self._target:
                self._reached.set()

    async def until(self, count: int) -> list[int]:
        self._target = count
        if len(self.seqs) < count:
            waiter = asyncio.ensure_future(self._reached.wait())
            done, _ = await asyncio.wait([waiter, self.task], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if self.task in done:
                raise AssertionError(f"the reader stopped: {self.task.exception()!r}")
        self.task.cancel()
        return self.seqs


@pytest.mark.parametrize("server", SERVERS)
async def test_frozen_client(server: str, start_server: Start) -> None:
    process = start_server(server, "tests.servers.apps:app", FLOWWIRE_OPTIONS=json.dumps(OPTIONS))
    healthy = [await WsClient.connect(process.url(), max_size=None) for _ in range(2)]
    frozen = await WsClient.connect(process.url(), max_queue=4)
    for client in (*healthy, frozen):
        await client.subscribe("workflow:w")
    readers = [Reader(client) for client in healthy]
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

    # The frozen client reads again: what was in flight, then the close.
    frozen_seqs: list[int] = []

    async def drain_frozen() -> int:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frozen_seqs.append((await frozen.recv_event(60))["seq"])
        assert closed.value.rcvd is not None, "the close frame reached the client"
        return closed.value.rcvd.code

    frozen_close = asyncio.create_task(drain_frozen())
    for _ in range(40):  # 32 MB more after the close: none of it may pile up for the frozen client
        await publish_batch()
    rss_growth = process.rss() - rss_before

    for reader in readers:
        seqs = await reader.until(published)
        assert seqs == list(range(1, published + 1)), (
            "every event, in order, to every healthy client"
        )
    assert await asyncio.wait_for(frozen_close, 120) == 4008
    assert frozen_seqs == list(range(1, len(frozen_seqs) + 1)), "in order, up to where it was cut"
    assert len(frozen_seqs) < published
    stats = await get_json(process, "/ws/stats")
    assert stats["subscriptions"] == 2, "the frozen connection left the hub when it was closed"
    assert stats["frames_dropped"] >= 1
    print(
        f"{server}: published {published} events ({published * EVENT_SIZE / MiB:.0f} MiB), "
        f"frozen client read {len(frozen_seqs)} then 4008, server RSS grew {rss_growth / MiB:.1f} MiB"
    )
    assert rss_growth < 24 * MiB, (
        f"server RSS grew {rss_growth / MiB:.1f} MiB over {published * EVENT_SIZE / MiB:.0f} MiB published"
    )
    for client in healthy:
        await client.close()
