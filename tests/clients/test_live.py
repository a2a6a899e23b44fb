"""The Python client against real servers (uvicorn, the memory broker): the scenarios of
tests/clients/SCENARIOS.md. Faults come from a TCP proxy the test owns (proxy.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import msgspec
import pytest

import wsproto_schema as ws
from asgi_plugin.demo.samples import SAMPLES
from flowwire.client import CommandTimeout, ExecutionStore, Reset, Unauthorized
from tests.clients.proxy import Proxy
from tests.clients.recorder import APP, Recorder, sleeper, streaming
from tests.servers.harness import ServerProcess, WsClient, publish

Start = Callable[..., ServerProcess]
SERVER = "uvicorn-sansio"


@pytest.fixture
async def proxy_for() -> AsyncIterator[Callable[[ServerProcess], Any]]:
    proxies: list[Proxy] = []

    async def start(server: ServerProcess) -> Proxy:
        proxies.append(await Proxy(("127.0.0.1", server.port)).start())
        return proxies[-1]

    yield start
    for proxy in proxies:
        await proxy.close()


async def server_snapshots(server: ServerProcess, topic: str) -> dict[str, dict[str, Any]]:
    """Every execution of `topic` as the server renders it (a resume from an unknown
    epoch gets finished executions too)."""
    raw = await WsClient.connect(server.url())
    since = {topic: {"seq": 0, "epoch": "unknown"}}
    reply = await raw.request({"type": "subscribe", "ref": "s", "topics": [topic], "since": since})
    assert reply["data"]["topics"][topic]["recovered"] is False
    await raw.request({"type": "unsubscribe", "ref": "u", "topics": [topic]})  # after the snapshots
    snapshots = {}
    while raw.skipped:
        frame = raw.skipped.popleft()
        snapshots[frame["execution_id"]] = frame
    await raw.close()
    return snapshots


@pytest.mark.slow
async def test_every_sample_runs_to_its_end_and_the_store_equals_the_server(
    start_server: Start,
) -> None:
    """Scenario 1, over MessagePack."""
    server = start_server(SERVER, APP)
    seen = Recorder()
    async with seen.client(server.url(), protocol="msgpack") as client:
        answers: list[asyncio.Future[Any]] = []

        def answer(item: Any) -> None:
            if isinstance(item, ws.InputRequested):
                answers.append(
                    asyncio.ensure_future(client.input(item.execution_id, item.node_id, "yes"))
                )

        client.add_listener(answer)
        runs = {name: await client.execute(SAMPLES[name]) for name in SAMPLES}
        finals = {
            name: await client.wait(run.execution_id, timeout=30) for name, run in runs.items()
        }
        assert {name: view.status for name, view in finals.items()} == {
            "parallel": "completed",
            "llm": "completed",
            "failing": "failed",
            "approval": "completed",
            "legacy": "completed",
        }
        for name, run in runs.items():
            expected = (await server_snapshots(server, run.topic))[run.execution_id]
            assert msgspec.to_builtins(finals[name].to_snapshot()) == expected, name
            seqs = seen.seqs(run.topic)
            assert seqs == list(range(1, len(seqs) + 1)), name
        assert finals["llm"].streamed.text["review"] == "Looks good."
        assert [(await a).accepted for a in answers] == [True]
    assert seen.errors == []


@pytest.mark.slow
async def test_a_sigkilled_server_is_rejoined_and_the_store_rebuilt(start_server: Start) -> None:
    """Scenario 2: the memory broker loses everything; the client resets, no exception."""
    server = start_server(SERVER, APP)
    seen = Recorder()
    async with seen.client(server.url(), give_up_after=30) as client:
        run = await client.execute(streaming(words=400, delay_ms=20))
        await seen.until(lambda: len(seen.events(run.topic)) >= 20)
        server.kill()
        server.restart()
        await seen.until(lambda: seen.statuses[-1].state == "connected" and len(seen.resets()) >= 2)
        assert seen.statuses[-1].recovered is False
        assert any(s.state == "reconnecting" for s in seen.statuses)
        assert client.store.get(run.execution_id) is None, "the restarted server has no such run"
        again = await client.execute(streaming(words=5, delay_ms=1))
        assert (await client.wait(again.execution_id, timeout=20)).status == "completed"
    assert seen.errors == []


async def test_a_dropped_connection_resumes_with_no_gap_and_no_duplicate(
    start_server: Start, proxy_for: Any
) -> None:
    """Scenario 4."""
    server = start_server(SERVER, APP)
    proxy = await proxy_for(server)
    seen = Recorder()
    async with seen.client(proxy.url(), random=lambda: 0.1) as client:
        run = await client.execute(streaming(words=150, delay_ms=10))
        await seen.until(lambda: len(seen.events(run.topic)) >= 30)
        proxy.drop()
        view = await client.wait(run.execution_id, timeout=30)
    assert view.status == "completed"
    seqs = seen.seqs(run.topic)
    assert seqs == list(range(1, seqs[-1] + 1)), "every seq once, in order"
    assert proxy.connections == 2 and len(seen.resets()) == 1, "resumed by replay"
    assert [s.recovered for s in seen.statuses if s.recovered is not None] == [True]


@pytest.mark.slow
async def test_a_silent_connection_is_detected_by_the_heartbeat_and_replaced(
    start_server: Start, proxy_for: Any
) -> None:
    """Scenario 5: the proxy stalls (half-open); the watchdog from `welcome` fires."""
    server = start_server(SERVER, APP, FLOWWIRE_OPTIONS=json.dumps({"heartbeat_ms": 300}))
    proxy = await proxy_for(server)
    seen = Recorder()
    async with seen.client(proxy.url(), heartbeat_slack=0.5, random=lambda: 0.1) as client:
        assert client.heartbeat_ms == 300
        run = await client.execute(streaming(words=200, delay_ms=10))
        await seen.until(lambda: len(seen.events(run.topic)) >= 20)
        proxy.stall()
        view = await client.wait(run.execution_id, timeout=30)
    assert view.status == "completed"
    lost = [s for s in seen.statuses if s.state == "reconnecting"]
    assert lost and "nothing from the server for" in lost[0].reason
    seqs = seen.seqs(run.topic)
    assert seqs == list(range(1, seqs[-1] + 1))


async def test_history_overflow_while_away_resets_to_a_correct_state(
    start_server: Start, proxy_for: Any
) -> None:
    """Scenario 6: `recovered: false` → a reset, then the state from snapshots."""
    server = start_server(SERVER, APP, FLOWWIRE_HISTORY_SIZE="5")
    proxy = await proxy_for(server)
    seen = Recorder()
    async with seen.client(proxy.url(), give_up_after=60) as client:
        run = await client.execute(streaming(words=60, delay_ms=5))
        await seen.until(lambda: len(seen.events(run.topic)) >= 3)
        proxy.refuse()
        proxy.drop()
        await seen.until(lambda: seen.statuses[-1].state == "reconnecting")
        async with Recorder().client(server.url()) as direct:  # the run ends meanwhile
            await direct.subscribe(run.topic)
            await direct.wait(run.execution_id, timeout=20)
        proxy.resume()
        view = await client.wait(run.execution_id, timeout=30)
        assert view.status == "completed"
        assert [s.recovered for s in seen.statuses if s.recovered is not None] == [False]
        assert len(seen.resets()) == 2, "one at the first subscribe, one on the resume"
        expected = (await server_snapshots(server, run.topic))[run.execution_id]
        assert msgspec.to_builtins(view.to_snapshot()) == expected


async def test_commands_while_disconnected_are_sent_after_the_reconnect_or_time_out(
    start_server: Start, proxy_for: Any
) -> None:
    """Scenario 7."""
    server = start_server(SERVER, APP)
    proxy = await proxy_for(server)
    seen = Recorder()
    async with seen.client(proxy.url(), random=lambda: 0.1) as client:
        run = await client.execute(sleeper())
        proxy.refuse()
        proxy.drop()
        await seen.until(lambda: seen.statuses[-1].state == "reconnecting")
        with pytest.raises(CommandTimeout, match=r"within 0.3 s \(not connected"):
            await client.control(run.execution_id, "pause", timeout=0.3)
        pause = asyncio.ensure_future(client.control(run.execution_id, "pause"))
        await seen.until(lambda: seen.statuses[-1].state == "reconnecting")
        assert not pause.done()
        proxy.resume()
        assert (await pause).status == "paused"
        assert (await client.control(run.execution_id, "stop")).status == "stopped"
        assert (await client.wait(run.execution_id, timeout=10)).status == "stopped"


async def test_a_refused_token_does_not_loop_and_a_fresh_one_is_used(start_server: Start) -> None:
    """Scenario 8 (first-message auth: close 4001)."""
    server = start_server(SERVER, APP, FLOWWIRE_TOKEN="good")
    refused = Recorder().client(server.url(), token="bad")
    with pytest.raises(Unauthorized, match="4001"):
        await refused.connect()
    assert refused.connections == 1, "no reconnect loop"
    tokens = iter(["expired", "good"])
    fresh = Recorder().client(server.url(), token=lambda: next(tokens), random=lambda: 0.0)
    async with fresh:
        assert fresh.connections == 2
        await fresh.subscribe("workflow:w")


async def test_batches_are_unpacked_in_order(start_server: Start) -> None:
    """Scenario 9: a burst published in the server's process comes as `batch` frames."""
    server = start_server(SERVER, APP)
    seen = Recorder()
    async with seen.client(server.url(), batch=True) as client:
        await client.subscribe("workflow:w")
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(server.http_url("/emit?n=400"))
            assert response.json() == list(range(1, 401))
        await seen.until(lambda: len(seen.events()) == 400)
        assert seen.seqs("workflow:w") == list(range(1, 401))
        assert client.batches_received >= 1
        assert client.frames_received < 400


async def test_a_listener_that_raises_harms_nothing_else(start_server: Start) -> None:
    """Scenario 10."""
    server = start_server(SERVER, APP)
    seen = Recorder()
    async with seen.client(server.url()) as client:

        def broken(item: object) -> None:
            raise RuntimeError("a bug in the app's handler")

        client.add_listener(broken)
        run = await client.execute(streaming(words=5, delay_ms=1))
        assert (await client.wait(run.execution_id, timeout=10)).status == "completed"
        assert len(seen.events(run.topic)) > 5
        assert {str(e) for e in seen.errors} == {"a bug in the app's handler"}
        again = await client.execute(streaming(words=2, delay_ms=1))
        assert (await client.wait(again.execution_id, timeout=10)).status == "completed"


@pytest.mark.slow
async def test_a_late_joiner_renders_the_run_at_once_and_answers_its_input(
    start_server: Start,
) -> None:
    """Issue 11, defect 11: a client that subscribes mid-run gets, in its snapshot, the
    tokens an LLM node streamed so far and the input a node waits for; it answers that
    input, and every watcher sees it answered (`input.received`)."""
    server = start_server(SERVER, APP)
    first, late = Recorder(), Recorder()
    async with first.client(server.url()) as starter:
        talk = await starter.execute(streaming("talk", words=200, delay_ms=5))
        approval = await starter.execute(SAMPLES["approval"])
        await first.until(
            lambda: (
                any(isinstance(e, ws.InputRequested) for e in first.events(approval.topic))
                and len([e for e in first.events(talk.topic) if isinstance(e, ws.NodeToken)]) >= 20
            )
        )
        async with late.client(server.url()) as joiner:
            await joiner.subscribe(talk.topic, approval.topic)
            await joiner.roundtrip()  # the snapshots are in the store
            joined = joiner.store.get(approval.execution_id)
            assert joined is not None and list(joined.inputs) == ["approve"]
            text = joiner.store.get(talk.execution_id).streamed.text["talk"]  # type: ignore[union-attr]
            assert text.startswith("w0 w1 "), "what streamed before it joined"
            assert (
                await joiner.input(approval.execution_id, "approve", {"approved": True})
            ).accepted
            done = await joiner.wait(approval.execution_id, timeout=30)
            assert done.status == "completed" and not done.inputs
            spoken = await joiner.wait(talk.execution_id, timeout=30)
            assert spoken.streamed.text["talk"] == " ".join(f"w{i}" for i in range(200))
        answered = [e for e in first.events(approval.topic) if isinstance(e, ws.InputReceived)]
        assert [e.node_id for e in answered] == ["approve"]
        mine = await starter.wait(approval.execution_id, timeout=30)
        assert mine.to_snapshot() == done.to_snapshot()
    assert first.errors == late.errors == []


async def test_a_consumer_that_falls_behind_gets_resets_and_snapshots_not_unbounded_memory(
    start_server: Start,
) -> None:
    """`events()` used to queue without bound for a consumer that stopped iterating."""
    server = start_server(SERVER, APP)
    seen = Recorder()
    async with seen.client(server.url()) as client:
        run = await client.execute(streaming("behind", words=60, delay_ms=1))
        stream = client.events(run.topic, max_queued=5)
        done = await client.wait(run.execution_id, timeout=30)
        assert stream.overflows >= 1 and stream._queue.qsize() <= 5 + 2
        first, second = await anext(stream), await anext(stream)
        assert first == Reset(run.topic)
        assert isinstance(second, ws.ExecutionSnapshot)
        # What the consumer rebuilds from the snapshot and the rest is the run's end.
        rebuilt = ExecutionStore()
        rebuilt.apply_snapshot(second)
        while stream._queue.qsize():
            item = await anext(stream)
            assert isinstance(item, ws.Event), item
            rebuilt.apply_event(item)
        assert rebuilt.get(run.execution_id).to_snapshot() == done.to_snapshot()  # type: ignore[union-attr]
        await stream.aclose()
    assert seen.errors == []


def mixed(start: int, stop: int) -> list[dict[str, Any]]:
    """node.status at even positions, execution.log at odd ones (seqs start + 1 …)."""
    common = {"workflow_id": "filtered", "execution_id": "x"}
    return [
        {"type": "execution.log", **common, "level": "info", "message": f"line {i}"}
        if i % 2
        else {"type": "node.status", **common, "node_id": f"n{i}", "status": "running"}
        for i in range(start, stop)
    ]


async def test_a_filtered_subscription_takes_skipped_seqs_for_no_gap_and_resumes_filtered(
    start_server: Start, proxy_for: Any
) -> None:
    """Issue 15: `subscribe(types=…)`; the seqs of the events left out are not a loss."""
    server = start_server(SERVER, APP)
    proxy = await proxy_for(server)
    seen = Recorder()
    topic = "workflow:filtered"
    async with seen.client(proxy.url(), random=lambda: 0.1) as client:
        await client.subscribe(topic, types=["node.*"])
        await publish(server, mixed(0, 10))
        await seen.until(lambda: len(seen.events(topic)) == 5)
        proxy.refuse()
        proxy.drop()
        await seen.until(lambda: seen.statuses[-1].state == "reconnecting")
        await publish(server, mixed(10, 20))  # while away
        proxy.resume()
        await seen.until(lambda: len(seen.events(topic)) == 10)
    assert seen.seqs(topic) == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    assert all(isinstance(e, ws.NodeStatus) for e in seen.events(topic))
    assert seen.errors == [], "no gap reported"
    assert [s.recovered for s in seen.statuses if s.recovered is not None] == [True]
