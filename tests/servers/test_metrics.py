"""`GET …/metrics` over a real server, read with Prometheus's own text parser while clients
connect, subscribe, receive, misbehave and leave: every counter moves as it should."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import InvalidStatus

from asgi_plugin import FlowwireApp
from tests.plugin.clients import AsgiClient, eventually, http
from tests.plugin.conftest import status
from tests.plugin.test_slow_consumer import FrozenClient
from tests.servers.harness import ServerProcess, WsClient, node_status, publish

Start = Callable[..., ServerProcess]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(server: ServerProcess, key: str = "watch") -> Samples:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(
            server.http_url("/ws/metrics"), headers={"authorization": f"Bearer {key}"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def until(server: ServerProcess, check: Callable[[Samples], bool]) -> Samples:
    """Scrape until `check` holds: the server notices a disconnect a moment after the client."""
    deadline = time.monotonic() + 20
    while True:
        samples = await scrape(server)
        if check(samples) or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.05)


async def test_metrics_follow_clients_through_their_lives(start_server: Start) -> None:
    options = {"monitor_key": "watch", "allowed_origins": ["https://app.example.com"]}
    server = start_server(
        "uvicorn-sansio", "tests.servers.apps:app", FLOWWIRE_OPTIONS=json.dumps(options)
    )
    before = await scrape(server)
    assert value(before, "flowwire_connections") == 0
    assert value(before, "flowwire_broker_up") == 1

    clients = [await WsClient.connect(server.url()) for _ in range(3)]
    for client in clients:
        await client.subscribe("workflow:w")
    connected = await scrape(server)
    assert value(connected, "flowwire_connections") == 3
    assert value(connected, "flowwire_connections_opened_total") == 3
    assert value(connected, "flowwire_subscriptions") == 3
    assert value(connected, "flowwire_topics") == 1
    assert value(connected, "flowwire_commands_total", command="subscribe") == 3

    await publish(server, [node_status(i) for i in range(5)])
    for client in clients:
        assert [(await client.recv_event())["seq"] for _ in range(5)] == [1, 2, 3, 4, 5]
    received = await scrape(server)
    assert value(received, "flowwire_events_published_total") == 5
    assert value(received, "flowwire_events_delivered_total") == 15
    # welcome + reply + 5 events, for each of the 3
    assert value(received, "flowwire_frames_sent_total") >= 21
    assert value(received, "flowwire_bytes_sent_total") > value(
        connected, "flowwire_bytes_sent_total"
    )
    assert value(received, "flowwire_delivery_latency_seconds_count") == 5
    assert value(received, "flowwire_delivery_latency_seconds_bucket", le="+Inf") == 5

    # Misbehaviour: a frame that is not JSON, an empty topic, a refused origin,
    # a subprotocol the server does not speak.
    await clients[0].send("{not json")
    assert (await clients[0].recv())["code"] == "invalid_json"
    answer = await clients[0].request({"type": "subscribe", "ref": "bad", "topics": [""]})
    assert answer["code"] == "invalid_frame"
    with pytest.raises(InvalidStatus):
        await websockets.connect(server.url(), origin="https://evil.example")  # type: ignore[arg-type]
    with pytest.raises(InvalidStatus):
        await websockets.connect(server.url(), subprotocols=["flowwire.v9.json"])  # type: ignore[list-item]
    misbehaved = await scrape(server)
    assert value(misbehaved, "flowwire_command_errors_total", code="invalid_json") == 1
    assert value(misbehaved, "flowwire_command_errors_total", code="invalid_frame") == 1
    assert (
        value(misbehaved, "flowwire_commands_total", command="subscribe") == 3
    )  # invalid: not counted
    assert value(misbehaved, "flowwire_handshakes_refused_total", reason="origin") == 1
    assert value(misbehaved, "flowwire_handshakes_refused_total", reason="subprotocol") == 1
    assert value(misbehaved, "flowwire_connections_opened_total") == 3

    for client in clients:
        await client.close()
    left = await until(server, lambda s: value(s, "flowwire_connections") == 0)
    assert value(left, "flowwire_connections") == 0
    assert value(left, "flowwire_subscriptions") == 0
    assert value(left, "flowwire_disconnects_total", code="1000") == 3
    assert value(left, "flowwire_events_published_total") == 5


async def test_metrics_take_the_monitor_key(start_server: Start) -> None:
    options = {"monitor_key": "watch"}
    server = start_server(
        "uvicorn-sansio", "tests.servers.apps:app", FLOWWIRE_OPTIONS=json.dumps(options)
    )
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(server.http_url("/ws/metrics"))
    assert response.status_code == 401
    assert "flowwire_connections" not in response.text


def test_two_apps_in_one_process_have_their_own_registries() -> None:
    first, second = FlowwireApp(), FlowwireApp()
    first.stats.published = 7
    assert first.runtime.metrics is not None
    assert second.runtime.metrics is not None
    assert first.runtime.metrics.registry is not second.runtime.metrics.registry
    assert b"flowwire_events_published_total 7.0" in first.runtime.metrics.exposition()
    assert b"flowwire_events_published_total 0.0" in second.runtime.metrics.exposition()


async def test_without_prometheus_client_metrics_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import fails, as uninstalled
    monkeypatch.delitem(sys.modules, "asgi_plugin.transport.metrics", raising=False)
    app = FlowwireApp()
    assert app.runtime.metrics is None
    status, _, raw = await http(app, "GET", "/metrics")
    assert status == 404
    assert "pip install 'flowwire[metrics]'" in json.loads(raw)["error"]["message"]
    status, _, _ = await http(app, "GET", "/stats")
    assert status == 200


async def test_a_slow_consumer_shows_in_the_metrics() -> None:
    """A client that stops reading is closed 4008: counted as a slow-consumer close, its
    dropped frames and its close code."""
    app = FlowwireApp(max_queued_frames=10, drain_on_signals=False)
    healthy = AsgiClient(app)
    await healthy.connect()
    await healthy.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    frozen = FrozenClient(app)
    await frozen.subscribe("workflow:w")
    frozen.thawed.clear()
    for i in range(50):
        await app.publish(status(i))
        await asyncio.sleep(0)
    frozen.thawed.set()
    await eventually(lambda: frozen.sent[-1]["type"] == "websocket.close")
    await frozen.inbox.put({"type": "websocket.disconnect", "code": 4008})
    await eventually(lambda: len(app.connections) == 1)
    assert app.runtime.metrics is not None
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(app.runtime.metrics.exposition().decode())
        for s in family.samples
    }
    assert samples[("flowwire_slow_consumer_closes_total", ())] == 1
    assert samples[("flowwire_frames_dropped_total", ())] >= 1
    assert samples[("flowwire_disconnects_total", (("code", "4008"),))] == 1
    assert samples[("flowwire_events_published_total", ())] == 50
    assert samples[("flowwire_connections", ())] == 1
