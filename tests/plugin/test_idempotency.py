"""A publish or a command sent again with its idempotency key is stored or run once."""

from __future__ import annotations

import json
from typing import Any

import wsproto_schema as ws
from asgi_plugin import BrokerUnavailable, FlowwireApp, MemoryBroker
from asgi_plugin.demo.samples import demo_runner
from tests.plugin.clients import AsgiClient, http

KEY = [(b"authorization", b"Bearer k")]


def status(i: int) -> ws.NodeStatus:
    return ws.NodeStatus(workflow_id="w", execution_id="e", node_id=f"n{i}", status="running")


def raw(i: int) -> dict[str, Any]:
    return {
        "type": "node.status",
        "workflow_id": "w",
        "execution_id": "e",
        "node_id": f"n{i}",
        "status": "running",
    }


async def watching(app: FlowwireApp) -> AsgiClient:
    client = AsgiClient(app)
    await client.connect()
    await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    return client


async def test_a_publish_retried_with_its_key_is_stored_once() -> None:
    app = FlowwireApp()
    client = await watching(app)
    first = await app.publish(status(1), idempotency_key="k-1")
    assert await app.publish(status(1), idempotency_key="k-1") == first
    second = await app.publish(status(2), idempotency_key="k-2")
    assert [(await client.recv())["seq"] for _ in range(2)] == [first, second]
    assert await client.nothing(), "the retry was not delivered again"
    assert app.stats.published == 2


class FlakyBroker(MemoryBroker):
    """Fails the appends it is told to, as a broker outage would."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_at: set[int] = set()
        self.calls = 0

    async def _append(self, event: ws.Event, idempotency_key: str | None) -> tuple[ws.Event, bool]:
        self.calls += 1
        if self.calls in self.fail_at:
            raise BrokerUnavailable("down for a moment")
        return await super()._append(event, idempotency_key)


async def test_a_batch_says_what_was_stored_and_its_retry_stores_the_rest_once() -> None:
    broker = FlakyBroker()
    broker.fail_at = {3}
    app = FlowwireApp(api_key="k", broker=broker)
    client = await watching(app)
    batch = json.dumps([raw(i) for i in range(5)]).encode()
    headers = [*KEY, (b"idempotency-key", b"batch-7")]
    status_code, _, body = await http(app, "POST", "/publish", batch, headers)
    answer = json.loads(body)
    assert status_code == 503
    assert answer["error"]["code"] == "unavailable" and answer["error"]["retry_after_ms"] > 0
    assert answer["published"] == [
        {"topic": "workflow:w", "seq": 1},
        {"topic": "workflow:w", "seq": 2},
    ]
    status_code, _, body = await http(
        app, "POST", "/publish", batch, headers
    )  # the same batch again
    assert status_code == 200
    assert json.loads(body)["published"] == [
        {"topic": "workflow:w", "seq": 1, "duplicate": True},
        {"topic": "workflow:w", "seq": 2, "duplicate": True},
        {"topic": "workflow:w", "seq": 3},
        {"topic": "workflow:w", "seq": 4},
        {"topic": "workflow:w", "seq": 5},
    ]
    got = [(await client.recv())["node_id"] for _ in range(5)]
    assert got == [f"n{i}" for i in range(5)] and await client.nothing()


async def test_an_execute_resent_after_a_reconnect_starts_one_run() -> None:
    runner = demo_runner()
    app = FlowwireApp(handler=runner)
    workflow = {"id": "w", "nodes": [{"id": "a", "kind": "sleep", "params": {"ms": 5000}}]}
    frame = {"type": "execute", "ref": "x", "workflow": workflow, "idempotency_key": "run-42"}
    first = AsgiClient(app)
    await first.connect()
    reply = await first.request(frame)
    await first.disconnect()
    again = AsgiClient(app)  # the client reconnected and sends its queued command again
    await again.connect()
    retry = await again.request(frame)
    assert retry["data"] == reply["data"]
    assert list(runner.runs) == [reply["data"]["execution_id"]], "one run"
    stop = {
        "type": "control",
        "ref": "c",
        "execution_id": reply["data"]["execution_id"],
        "action": "stop",
        "idempotency_key": "stop-1",
    }
    stopped = await again.request(stop)
    assert (await again.request(stop))["data"] == stopped["data"] == {"status": "stopped"}
