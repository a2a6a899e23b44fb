"""A Redis restart that brings back an older state must never reuse seq numbers silently.

With RDB snapshots (or `appendfsync everysec`) a restarted Redis can come back
with a topic's seq counter behind what clients already saw; the events published
next get seq numbers clients already have. Each topic remembers the Redis run it
was written under: the first touch under another run gives it a new epoch, so
every client resynchronises (`recovered: false`, snapshots) instead of
dropping the new events as duplicates.
"""

from __future__ import annotations

from typing import Any

import pytest

from asgi_plugin import FlowwireApp
from flowwire import RedisBroker
from tests.plugin.clients import AsgiClient, Closed, collect, eventually
from tests.redis.test_broker import TOPIC, status, subscriber

pytestmark = [pytest.mark.redis]


async def test_restart_from_an_older_rdb_snapshot_changes_the_epoch(start_redis: Any) -> None:
    redis = start_redis()  # no AOF: what survives a crash is the last RDB snapshot
    a, b = (
        FlowwireApp(broker=RedisBroker(redis.url, reconnect_max_ms=200), drain_on_signals=False)
        for _ in range(2)
    )
    for app in (a, b):
        await app.start()
    live, topics = await subscriber(b, TOPIC, snapshot=False)
    epoch = topics[TOPIC]["epoch"]
    for i in range(10):
        await a.publish(status(i))
    snapshot = a.broker.client()
    await snapshot.save()  # dump.rdb holds seq 10
    await snapshot.aclose()
    for i in range(10, 30):
        await a.publish(status(i))
    assert [f["seq"] for f in await collect(live, 30, timeout=5)] == list(range(1, 31))

    redis.kill()
    redis.start()  # back at seq 10, same epoch key
    await eventually(lambda: a.broker.health()["ok"] and b.broker.health()["ok"], timeout=10)
    after = [await a.publish(status(i)) for i in range(30, 35)]
    assert after == [11, 12, 13, 14, 15], "Redis gives out seq 11.. again"

    with pytest.raises(Closed) as closed:
        while True:
            await live.recv(5)  # before the fix: nothing at all (11..15 dropped as seen)
    assert closed.value.code == 1012, "the stream was reset: resubscribe"

    client = AsgiClient(b)
    await client.connect()
    reply = await client.request(
        {
            "type": "subscribe",
            "ref": "r",
            "topics": [TOPIC],
            "since": {TOPIC: {"epoch": epoch, "seq": 30}},
        }
    )
    position = reply["data"]["topics"][TOPIC]
    assert (position["recovered"], position["seq"]) == (False, 15)
    assert position["epoch"] != epoch
    snapshot = await client.recv(5)
    assert (snapshot["type"], snapshot["last_seq"]) == ("execution.snapshot", 15)
    seq = await a.publish(status(99))
    frame = await client.recv(5)
    assert (frame["seq"], frame["node_id"]) == (seq, "n99")
    for app in (a, b):
        await app.shutdown()


async def test_restart_of_a_redis_that_persists_every_write_keeps_the_epoch(
    start_redis: Any,
) -> None:
    redis = start_redis(appendonly=True, appendfsync="always")
    app = FlowwireApp(broker=RedisBroker(redis.url, reconnect_max_ms=200), drain_on_signals=False)
    await app.start()
    assert app.broker.health()["durable"] is True
    for i in range(5):
        await app.publish(status(i))
    before = await app.broker.position(TOPIC)
    redis.kill()  # even a crash: every acknowledged write is on disk
    redis.start()
    await eventually(lambda: app.broker.health()["ok"], timeout=10)
    assert await app.broker.position(TOPIC) == before
    assert await app.publish(status(5)) == 6
    await app.shutdown()
