"""RedisBroker against a real redis-server: several apps (processes) sharing one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

import wsproto_schema as ws
from asgi_plugin import BrokerUnavailable, FlowwireApp, Materializer
from asgi_plugin.demo.samples import demo_runner
from flowwire import RedisBroker
from tests.engine.streams import execution_events
from tests.plugin.clients import AsgiClient, collect, eventually, http
from tests.redis_server import RedisServer

pytestmark = [pytest.mark.redis]

TOPIC = "workflow:w"


@pytest.fixture
async def apps(redis_server: RedisServer) -> AsyncIterator[list[FlowwireApp]]:
    """Two apps on one Redis, as two processes would be."""
    started = [
        FlowwireApp(
            broker=RedisBroker(redis_server.url, reconnect_max_ms=200),
            handler=demo_runner(),
            drain_on_signals=False,
            api_key="k",
        )
        for _ in range(2)
    ]
    for app in started:
        await app.start()
    yield started
    for app in started:
        await app.shutdown()


async def subscriber(
    app: FlowwireApp, *topics: str, **fields: Any
) -> tuple[AsgiClient, dict[str, Any]]:
    client = AsgiClient(app)
    await client.connect()
    reply = await client.request(
        {"type": "subscribe", "ref": "s", "topics": list(topics), **fields}, timeout=5
    )
    assert reply["type"] == "reply", reply
    return client, reply["data"]["topics"]


def status(i: int, workflow: str = "w", execution: str = "e") -> ws.NodeStatus:
    return ws.NodeStatus(
        workflow_id=workflow, execution_id=execution, node_id=f"n{i}", status="running"
    )


async def test_events_from_several_publishers_arrive_everywhere_in_seq_order(
    apps: list[FlowwireApp],
) -> None:
    a, b = apps
    on_b, _ = await subscriber(b, TOPIC)
    on_a, _ = await subscriber(a, "workflow:*", snapshot=False)

    async def publish(app: FlowwireApp, tag: str) -> list[int]:
        return [await app.publish(status(i, execution=tag)) for i in range(100)]

    seqs = await asyncio.gather(publish(a, "from-a"), publish(b, "from-b"), publish(a, "again-a"))
    assert sorted(s for part in seqs for s in part) == list(range(1, 301)), (
        "one gap-free seq across processes"
    )
    for client in (on_b, on_a):
        got = await collect(client, 300, timeout=5)
        assert [f["seq"] for f in got] == list(range(1, 301))
        for tag, part in zip(("from-a", "from-b", "again-a"), seqs, strict=True):
            assert [f["seq"] for f in got if f["execution_id"] == tag] == part
        assert await client.nothing(0.1)


async def test_http_publish_on_one_process_reaches_the_other(apps: list[FlowwireApp]) -> None:
    a, b = apps
    on_b, _ = await subscriber(b, TOPIC)
    events = [msgspec.to_builtins(status(i)) for i in range(20)]
    code, _, body = await http(
        a, "POST", "/publish", msgspec.json.encode(events), [(b"authorization", b"Bearer k")]
    )
    assert code == 200 and [p["seq"] for p in msgspec.json.decode(body)["published"]] == list(
        range(1, 21)
    )
    assert [f["seq"] for f in await collect(on_b, 20, timeout=5)] == list(range(1, 21))


async def test_resume_on_another_process(apps: list[FlowwireApp]) -> None:
    a, b = apps
    client, positions = await subscriber(a, TOPIC, snapshot=False)
    epoch = positions[TOPIC]["epoch"]
    for i in range(50):
        await a.publish(status(i))
    seen = [f["seq"] for f in await collect(client, 50, timeout=5)]
    await client.disconnect()

    async def keep_publishing() -> None:
        for i in range(50, 300):
            await a.publish(status(i))
            await asyncio.sleep(0)

    publisher = asyncio.create_task(keep_publishing())
    await asyncio.sleep(0.05)
    resumed, positions = await subscriber(
        b, TOPIC, since={TOPIC: {"seq": seen[-1], "epoch": epoch}}
    )
    assert positions[TOPIC]["recovered"] is True
    await publisher
    while len(seen) < 300:
        seen.append((await resumed.recv(5))["seq"])
    assert seen == list(range(1, 301))
    assert await resumed.nothing(0.1)


async def test_snapshots_are_the_same_on_every_process(apps: list[FlowwireApp]) -> None:
    a, b = apps
    published = [await a.publish_event(e) for e in execution_events("x1", 300, seed=5)[:-1]]
    published += [await b.publish_event(e) for e in execution_events("x2", 40, seed=6)]
    expected = Materializer()
    for event in published:
        expected.apply(event)
    want = [
        msgspec.to_builtins(s)
        for s in expected.snapshots(TOPIC, live_only=True, topic_seq=len(published))
    ]
    for app in (a, b):
        client, _ = await subscriber(app, TOPIC)
        [snapshot] = await collect(client, 1)  # x1 still runs; x2 completed
        assert [snapshot] == want
    late, _ = await subscriber(b, TOPIC, since={TOPIC: {"seq": 3, "epoch": "elsewhere"}})
    everything = await collect(late, 2)
    assert everything == [
        msgspec.to_builtins(s)
        for s in expected.snapshots(TOPIC, live_only=False, topic_seq=len(published))
    ]


async def test_trimmed_history_gives_a_snapshot_not_a_partial_replay(
    redis_server: RedisServer,
) -> None:
    app = FlowwireApp(
        broker=RedisBroker(redis_server.url, history_size=100), drain_on_signals=False
    )
    await app.start()
    events = execution_events("x", 1000)[:-1]
    for event in events:
        await app.publish(event)
    epoch = (await app.broker.position(TOPIC)).epoch
    assert await app.broker.replay(TOPIC, 10, epoch) is None
    recent = await app.broker.replay(TOPIC, 950, epoch)
    assert recent is not None and [e.seq for e in recent] == list(range(951, 1000))
    client, positions = await subscriber(app, TOPIC, since={TOPIC: {"seq": 10, "epoch": epoch}})
    assert positions[TOPIC]["recovered"] is False
    assert (await client.recv())["type"] == "execution.snapshot"
    await app.shutdown()


async def test_history_is_trimmed_by_age(redis_server: RedisServer) -> None:
    app = FlowwireApp(
        broker=RedisBroker(redis_server.url, history_ttl_ms=300), drain_on_signals=False
    )
    await app.start()
    for i in range(20):
        await app.publish(status(i))
    await asyncio.sleep(0.4)
    for i in range(20, 130):  # the trim runs every 64th event
        await app.publish(status(i))
    epoch = (await app.broker.position(TOPIC)).epoch
    assert await app.broker.replay(TOPIC, 5, epoch) is None, (
        "events older than history_ttl are gone"
    )
    kept = await app.broker.replay(TOPIC, 100, epoch)
    assert kept is not None and len(kept) == 30
    await app.shutdown()


async def test_outage_fails_loudly_and_delivery_resumes_by_itself(start_redis: Any) -> None:
    redis = start_redis(appendonly=True, appendfsync="always")
    a, b = (
        FlowwireApp(
            broker=RedisBroker(redis.url, reconnect_max_ms=200), api_key="k", drain_on_signals=False
        )
        for _ in range(2)
    )
    for app in (a, b):
        await app.start()
    client, _ = await subscriber(b, TOPIC)
    accepted = [await a.publish(status(i)) for i in range(10)]
    redis.stop()
    with pytest.raises(BrokerUnavailable, match="unavailable"):
        await a.publish(status(99))
    code, _, body = await http(
        a,
        "POST",
        "/publish",
        msgspec.json.encode(msgspec.to_builtins(status(98))),
        [(b"authorization", b"Bearer k")],
    )
    assert code == 503 and b"unavailable" in body
    await eventually(lambda: not b.broker.health()["ok"], timeout=5)
    code, _, _ = await http(b, "GET", "/health")
    assert code == 503
    redis.start()
    await eventually(lambda: a.broker.health()["ok"] and b.broker.health()["ok"], timeout=10)
    accepted += [await a.publish(status(i)) for i in range(10, 20)]
    got = [f["seq"] for f in await collect(client, 20, timeout=5)]
    assert got == accepted == list(range(1, 21)), "no accepted event lost, none twice"
    assert b.broker.health()["reconnects"] >= 1
    for app in (a, b):
        await app.shutdown()


async def test_listener_catches_up_after_its_connection_drops(apps: list[FlowwireApp]) -> None:
    a, b = apps
    client, _ = await subscriber(b, TOPIC, snapshot=False)
    for i in range(10):
        await a.publish(status(i))
    assert len(await collect(client, 10, timeout=5)) == 10
    killer = b.broker.client()
    try:
        await killer.execute_command("CLIENT", "KILL", "TYPE", "pubsub")  # every listener drops
        for i in range(10, 60):  # published while B is reconnecting
            await a.publish(status(i))
    finally:
        await killer.aclose()
    got = [f["seq"] for f in await collect(client, 50, timeout=10)]
    assert got == list(range(11, 61))
    assert await client.nothing(0.2)


async def test_lost_stream_resets_its_subscribers(
    redis_server: RedisServer, apps: list[FlowwireApp]
) -> None:
    a, b = apps
    client, positions = await subscriber(b, TOPIC)
    old_epoch = positions[TOPIC]["epoch"]
    for event in execution_events("x", 30)[:-1]:
        await a.publish(event)
    await collect(client, 30 - 1, timeout=5)
    redis_server.restart()  # no persistence: Redis comes back empty
    await eventually(lambda: a.broker.health()["ok"], timeout=10)
    fresh = [await a.publish_event(status(i, execution="x")) for i in range(3)]
    closed = await client.expect_close(timeout=10)
    assert closed.code == 1012
    assert closed.frames[-1]["type"] == "goaway"  # type: ignore[attr-defined]
    again, positions = await subscriber(b, TOPIC, since={TOPIC: {"seq": 29, "epoch": old_epoch}})
    assert positions[TOPIC]["recovered"] is False and positions[TOPIC]["epoch"] != old_epoch
    [snapshot] = await collect(again, 1)
    expected = Materializer()
    for event in fresh:
        expected.apply(event)
    assert snapshot == msgspec.to_builtins(
        expected.snapshots(TOPIC, live_only=False, topic_seq=3)[0]
    )


async def test_commands_follow_the_execution_to_its_process(apps: list[FlowwireApp]) -> None:
    a, b = apps
    runner_side = AsgiClient(b)
    await runner_side.connect()
    workflow = {
        "id": "w",
        "nodes": [
            {"id": "a", "kind": "sleep", "params": {"ms": 400}},
            {"id": "ask", "kind": "input"},
            {"id": "z", "kind": "log", "params": {"message": "done"}},
        ],
        "edges": [{"source": "a", "target": "ask"}, {"source": "ask", "target": "z"}],
    }
    execution = (
        await runner_side.request({"type": "execute", "ref": "e", "workflow": workflow}, timeout=5)
    )["data"]["execution_id"]
    remote, _ = await subscriber(a, TOPIC, snapshot=False)
    pause = await remote.request(
        {"type": "control", "ref": "p", "execution_id": execution, "action": "pause"}, timeout=5
    )
    assert pause == {"type": "reply", "ref": "p", "data": {"status": "paused"}}
    conflict = await remote.request(
        {"type": "control", "ref": "p2", "execution_id": execution, "action": "pause"}, timeout=5
    )
    assert (conflict["code"], conflict["message"]) == (
        "conflict",
        f"cannot pause execution {execution!r}: it is paused",
    )
    resume = await remote.request(
        {"type": "control", "ref": "r", "execution_id": execution, "action": "resume"}, timeout=5
    )
    assert resume["data"] == {"status": "running"}
    while (frame := await remote.recv(5))["type"] != "input.requested":
        pass
    answer = await remote.request(
        {"type": "input", "ref": "i", "execution_id": execution, "node_id": "ask", "value": "go"},
        timeout=5,
    )
    assert answer["data"] == {"accepted": True}
    while (frame := await remote.recv(5))["type"] != "execution.completed":
        pass
    assert frame["execution_id"] == execution
    finished = await remote.request(
        {"type": "control", "ref": "s", "execution_id": execution, "action": "stop"}, timeout=5
    )
    assert finished["code"] == "conflict"


async def test_command_for_a_vanished_process(
    apps: list[FlowwireApp], redis_server: RedisServer
) -> None:
    a, b = apps
    ghost = a.broker
    assert isinstance(ghost, RedisBroker)
    client = await ghost.client().hset(
        ghost.key("exec", "orphan"), mapping={"owner": "gone-process", "topic": TOPIC}
    )
    del client
    remote = AsgiClient(b)
    await remote.connect()
    error = await remote.request(
        {"type": "control", "ref": "c", "execution_id": "orphan", "action": "stop"}, timeout=5
    )
    assert (error["code"], error["path"]) == ("not_found", "$.execution_id")
    assert "is gone" in error["message"]


async def test_list_shows_every_process_the_same_executions(apps: list[FlowwireApp]) -> None:
    """`list` reads the per-topic live set and finished list in Redis: a run started on one
    process is listed on the other, live and then finished."""
    workflow = {"id": "w", "nodes": [{"id": "a", "kind": "log", "params": {"message": "hi"}}]}
    runner = AsgiClient(apps[0])
    await runner.connect()
    reply = await runner.request({"type": "execute", "ref": "x", "workflow": workflow}, timeout=5)
    execution = reply["data"]["execution_id"]
    while (await runner.recv(5))["type"] != "execution.completed":
        pass
    watcher = AsgiClient(apps[1])
    await watcher.connect()
    answer = await watcher.request({"type": "list", "ref": "l", "nodes": True}, timeout=5)
    [listed] = answer["data"]["executions"]
    assert (listed["execution_id"], listed["status"]) == (execution, "completed")
    assert listed["nodes"]["a"]["status"] == "succeeded"
    assert listed["topic"] == TOPIC


async def test_token_text_and_logs_in_snapshots_match_the_memory_broker(
    redis_server: RedisServer,
) -> None:
    """Kept in lists by the publish script, bounded the same way; a new run under the same
    id starts with none; a finished execution that is no longer kept leaves no key."""
    from asgi_plugin.core.streamed import LOGS_KEPT, TOKENS_KEPT

    app = FlowwireApp(broker=RedisBroker(redis_server.url, finished_snapshots=1))
    await app.start()
    try:
        common = {"workflow_id": "w", "execution_id": "x"}
        started = ws.ExecutionStarted(
            **common, nodes=[ws.NodeInfo(id="llm"), ws.NodeInfo(id="llm2")], edges=[], name="first"
        )
        events: list[ws.Event] = [started]
        events += [
            ws.NodeToken(**common, node_id="llm", delta=f"{i} ") for i in range(TOKENS_KEPT + 5)
        ]
        events += [
            ws.ExecutionLog(**common, level="info", message=f"{i}") for i in range(LOGS_KEPT + 3)
        ]
        # …and bounded in bytes: large deltas on another node, large log messages.
        events += [ws.NodeToken(**common, node_id="llm2", delta="é" * 500) for _ in range(100)]
        events += [ws.ExecutionLog(**common, level="info", message="x" * 2000) for _ in range(40)]
        expected = Materializer(finished_snapshots=1)
        for event in events:
            expected.apply(await app.publish_event(event))

        async def agree(topic_seq: int) -> ws.ExecutionSnapshot:
            [got] = await app.broker.snapshots(TOPIC, live_only=False)
            assert got == expected.snapshot("x", topic_seq)
            return got

        first = await agree(len(events))
        assert first.nodes["llm"].tokens_omitted == 5
        assert first.nodes["llm2"].tokens_omitted == 100 - 65
        assert first.logs_omitted and len(first.logs) < LOGS_KEPT, "bounded in bytes"
        again = [
            msgspec.structs.replace(started, name="second"),
            ws.NodeToken(**common, node_id="llm", delta="fresh"),
        ]
        for event in again:
            expected.apply(await app.publish_event(event))
        second = await agree(len(events) + 2)
        assert (second.nodes["llm"].text, second.nodes["llm2"].text, second.logs) == (
            "fresh",
            None,
            [],
        )
        summary = ws.Summary(total=1, succeeded=1, failed=0, skipped=0)
        for execution in ("x", "y"):  # y finishes after x: x is no longer kept
            ids = {**common, "execution_id": execution}
            for event in (
                ws.ExecutionStarted(**ids, nodes=[ws.NodeInfo(id="llm")], edges=[]),
                ws.NodeToken(**ids, node_id="llm", delta="t"),
                ws.ExecutionLog(**ids, level="info", message="m"),
                ws.ExecutionCompleted(**ids, duration_ms=1, summary=summary),
            ):
                expected.apply(await app.publish_event(event))
        [kept] = await app.broker.snapshots(TOPIC, live_only=False)
        assert kept == expected.snapshot("y", kept.last_seq)
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(redis_server.url)
        keys = {k.decode() for k in await client.keys("*")}
        await client.aclose()
        broker = app.broker
        assert isinstance(broker, RedisBroker)
        gone = {
            broker.key("tokn", "x"),
            broker.key("tokz", "x"),
            broker.key("logs", "x"),
            broker.key("tok", "1:x:llm"),
        }
        assert broker.key("tok", "1:y:llm") in keys, "y is kept, with its text"
        assert not keys & gone, keys & gone
    finally:
        await app.shutdown()


async def test_an_execution_id_used_on_two_topics_does_not_hide_live_events(
    apps: list[FlowwireApp],
) -> None:
    """An execution's state is kept by its id; when one id publishes on two topics, the
    snapshot for one topic must not claim the other topic's position (it did: its
    last_seq was the other topic's, and the live events up to there were dropped as
    covered by it; found by the fault suite, whose executions share an id)."""
    app, other = apps
    for i in range(2):
        await app.publish(status(i, workflow="a", execution="shared"))
    for i in range(5):
        await app.publish(status(i, workflow="b", execution="shared"))
    client, positions = await subscriber(other, "workflow:a")
    [snapshot] = await collect(client, 1)
    assert positions["workflow:a"]["seq"] == snapshot["last_seq"] == 2
    await app.publish(status(9, workflow="a", execution="shared"))
    [live] = await collect(client, 1)
    assert (live["topic"], live["seq"], live["node_id"]) == ("workflow:a", 3, "n9")
