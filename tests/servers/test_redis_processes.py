"""Several app processes on real servers sharing one real Redis."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import pytest
from websockets.exceptions import ConnectionClosed

from asgi_plugin.demo.samples import SAMPLES
from tests.redis_server import RedisServer
from tests.servers.harness import (
    DemoProcess,
    ServerProcess,
    WsClient,
    get_json,
    node_status,
    publish,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]

Start = Callable[..., ServerProcess]
APP = "tests.servers.apps:redis_demo()"
TOPIC = "workflow:w"


def pair(
    start_server: Start,
    redis: RedisServer,
    servers: tuple[str, str] = ("uvicorn-sansio", "hypercorn"),
) -> tuple[ServerProcess, ServerProcess]:
    return tuple(start_server(s, APP, FLOWWIRE_REDIS_URL=redis.url) for s in servers)  # type: ignore[return-value]


async def emit(server: ServerProcess, n: int, execution: str = "emitted") -> list[int]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(server.http_url(f"/emit?n={n}&execution={execution}"))
        assert response.status_code == 200, response.text
        seqs: list[int] = response.json()
        return seqs


async def subscribed(server: ServerProcess, **fields: Any) -> tuple[WsClient, dict[str, Any]]:
    client = await WsClient.connect(server.url())
    reply = await client.request({"type": "subscribe", "ref": "s", "topics": [TOPIC], **fields})
    assert reply["type"] == "reply", reply
    return client, reply["data"]["topics"][TOPIC]


async def test_events_published_on_a_reach_clients_on_b(
    start_server: Start, redis_server: RedisServer
) -> None:
    a, b = pair(start_server, redis_server)
    on_b, _ = await subscribed(b, snapshot=False)
    on_a, _ = await subscribed(a, snapshot=False)
    seqs = await emit(a, 50)  # in-process on A
    http_seqs = [
        p["seq"] for p in (await publish(a, [node_status(i) for i in range(50)]))["published"]
    ]
    seqs += http_seqs
    seqs += await emit(b, 20)  # and some from B itself
    assert seqs == list(range(1, 121))
    for client in (on_b, on_a):
        assert [(await client.recv())["seq"] for _ in range(120)] == seqs
    stats = await get_json(b, "/ws/stats")
    assert stats["broker"]["kind"] == "redis" and stats["broker"]["ok"] is True


async def test_resume_on_the_other_process(start_server: Start, redis_server: RedisServer) -> None:
    a, b = pair(start_server, redis_server)
    client, position = await subscribed(a, snapshot=False)
    await emit(a, 30)
    seen = [(await client.recv())["seq"] for _ in range(30)]
    await client.close()
    await emit(b, 30)  # while the client is away
    client, resumed = await subscribed(
        b, since={TOPIC: {"seq": seen[-1], "epoch": position["epoch"]}}
    )
    assert resumed["recovered"] is True and resumed["epoch"] == position["epoch"]
    await emit(a, 30)
    seen += [(await client.recv())["seq"] for _ in range(60)]
    assert seen == list(range(1, 91)), "no gap, no duplicate"


async def test_redis_restart_loses_nothing_accepted(start_server: Start, start_redis: Any) -> None:
    redis = start_redis(appendonly=True, appendfsync="always")
    a, b = pair(start_server, redis)
    client, _ = await subscribed(b, snapshot=False)
    accepted: list[int] = []
    refused = 0
    restarted = False
    async with httpx.AsyncClient(timeout=10) as http:
        while len(accepted) < 150:
            if len(accepted) == 50 and not restarted:
                redis.stop()  # graceful: with appendonly everything acknowledged is on disk
                restarted = True
                outage_ends = time.monotonic() + 1.0
            if restarted and not redis.child.alive() and time.monotonic() > outage_ends:
                redis.start()
            response = await http.post(
                a.http_url("/ws/publish"),
                json=node_status(len(accepted)),
                headers={"authorization": "Bearer test-key"},
            )
            if response.status_code == 200:
                accepted.append(response.json()["seq"])
            else:
                assert (
                    response.status_code == 503
                    and "unavailable" in response.json()["error"]["message"]
                )
                refused += 1
                await asyncio.sleep(0.02)
    assert refused > 0, "publishes during the outage failed loudly"
    got = [(await client.recv(20))["seq"] for _ in range(150)]
    assert got == accepted == list(range(1, 151)), "every accepted event, once, in order"
    health = await get_json(b, "/ws/health")
    assert health["ok"] is True and health["broker"]["reconnects"] >= 1


async def test_redis_restart_without_persistence_resets_to_a_snapshot(
    start_server: Start, redis_server: RedisServer
) -> None:
    a, b = pair(start_server, redis_server)
    client, position = await subscribed(b)
    seqs = await emit(a, 10, execution="x")
    last = [(await client.recv())["seq"] for _ in range(10)][-1]
    redis_server.restart()  # comes back empty
    deadline = time.monotonic() + 15
    while True:
        try:
            await emit(a, 3, execution="x")
            break
        except AssertionError:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await client.recv(15)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    again, resumed = await subscribed(b, since={TOPIC: {"seq": last, "epoch": position["epoch"]}})
    assert resumed["recovered"] is False and resumed["epoch"] != position["epoch"]
    snapshot = await again.recv()
    assert snapshot["type"] == "execution.snapshot" and snapshot["execution_id"] == "x"
    assert snapshot["last_seq"] == resumed["seq"] == 3
    assert set(snapshot["nodes"]) == {"n0", "n1", "n2"}  # the state Redis has after the restart
    del seqs


async def test_a_client_on_a_controls_an_execution_on_b(
    start_server: Start, redis_server: RedisServer
) -> None:
    """The run waits for an input nobody gives: it cannot end by itself while A's client
    pauses, resumes and stops it (a sample of ~1.5 s of sleeps could, on a loaded
    machine: then a command met a finished run, `conflict`)."""
    a, b = pair(start_server, redis_server)
    controller = await WsClient.connect(a.url())
    await controller.request(
        {"type": "subscribe", "ref": "s", "topics": ["workflow:asks"], "snapshot": False}
    )
    runner = await WsClient.connect(b.url())
    workflow = {"id": "asks", "nodes": [{"id": "approve", "kind": "input"}]}
    reply = await runner.request({"type": "execute", "ref": "e", "workflow": workflow})
    execution = reply["data"]["execution_id"]
    # A knows the execution once its first event went through Redis.
    started = await controller.recv_event()
    assert started["type"] == "execution.started" and started["execution_id"] == execution
    for action, status in (("pause", "paused"), ("resume", "running"), ("stop", "stopped")):
        answer = await controller.request(
            {"type": "control", "ref": action, "execution_id": execution, "action": action}
        )
        assert answer == {"type": "reply", "ref": action, "data": {"status": status}}, answer
    seen = ["execution.started"]
    while seen[-1] != "execution.stopped":
        seen.append((await controller.recv_event())["type"])
    assert [t for t in seen if t.startswith("execution.") and t != "execution.progress"] == [
        "execution.started",
        "execution.paused",
        "execution.resumed",
        "execution.stopped",
    ]
    late = await controller.request(
        {"type": "control", "ref": "x", "execution_id": execution, "action": "resume"}
    )
    assert late["code"] == "conflict"


async def test_sigkill_one_process_and_resume_on_the_other(
    start_server: Start, redis_server: RedisServer
) -> None:
    a, b = pair(start_server, redis_server, ("uvicorn-sansio", "uvicorn-wsproto"))
    client, position = await subscribed(a, snapshot=False)
    stop = asyncio.Event()
    published: list[int] = []

    async def keep_publishing() -> None:
        while not stop.is_set():
            published.extend(await emit(b, 5))
            await asyncio.sleep(0.01)

    publisher = asyncio.create_task(keep_publishing())
    seen: list[int] = []
    while len(seen) < 40:
        seen.append((await client.recv())["seq"])
    a.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    with pytest.raises(ConnectionClosed):
        while True:
            seen.append((await client.recv())["seq"])
    client, resumed = await subscribed(
        b, since={TOPIC: {"seq": seen[-1], "epoch": position["epoch"]}}
    )
    assert resumed["recovered"] is True
    await asyncio.sleep(0.3)
    stop.set()
    await publisher
    while len(seen) < len(published):
        seen.append((await client.recv())["seq"])
    assert seen == published == list(range(1, len(published) + 1))


async def test_two_demo_processes_on_redis(redis_server: RedisServer, tmp_path: Any) -> None:
    """`flowwire demo --redis URL` twice: a run started on one is watched live on the other."""
    demos = [DemoProcess(tmp_path / f"demo{i}.log", "--redis", redis_server.url) for i in range(2)]
    try:
        for demo in demos:
            demo.start()
        watcher = await WsClient.connect(demos[1].url())
        await watcher.request({"type": "subscribe", "ref": "w", "topics": ["workflow:*"]})
        runner = await WsClient.connect(demos[0].url())
        reply = await runner.request(
            {"type": "execute", "ref": "e", "workflow": msgspec.to_builtins(SAMPLES["llm"])}
        )
        frames = []
        while not frames or frames[-1]["type"] != "execution.completed":
            frames.append(await watcher.recv(20))
        assert {f["execution_id"] for f in frames} == {reply["data"]["execution_id"]}
        assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    finally:
        for demo in demos:
            demo.child.stop(signal.SIGTERM, timeout=15)
    for demo in demos:
        assert "Traceback" not in demo.logs()
