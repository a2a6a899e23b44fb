"""Integers beyond 64 bits are refused where they enter, before an event gets a seq.

JSON carries any integer, MessagePack only -2**63 … 2**64-1: an event holding a
larger one used to be stored, then fail to encode for MessagePack clients (a
gap for them, and a topic whose resume closed 1011 from then on).
"""

from __future__ import annotations

import json

import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from asgi_plugin.demo.samples import demo_runner
from tests.plugin.clients import AsgiClient, http

KEY = [(b"authorization", b"Bearer k")]
HUGE = 10**30


def event(**output: object) -> dict[str, object]:
    return {
        "type": "node.status",
        "workflow_id": "w",
        "execution_id": "e",
        "node_id": "n",
        "status": "succeeded",
        "output": output,
    }


async def subscribed(app: FlowwireApp, protocol: str) -> AsgiClient:
    client = AsgiClient(app, subprotocols=[protocol])
    await client.connect()
    await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    return client


async def test_http_publish_refuses_a_huge_integer_before_it_gets_a_seq() -> None:
    app = FlowwireApp(api_key="k")
    clients = [await subscribed(app, p) for p in ("flowwire.v1.json", "flowwire.v1.msgpack")]
    status, _, body = await http(
        app, "POST", "/publish", json.dumps(event(x=[1, HUGE])).encode(), KEY
    )
    assert status == 400
    error = json.loads(body)["error"]
    assert (error["code"], error["path"]) == ("invalid_frame", "$.output.x[1]")
    assert "integer out of range" in error["message"]
    assert app.stats.published == 0 and (await app.broker.position("workflow:w")).seq == 0
    edges = event(big=2**64 - 1, small=-(2**63))
    status, _, body = await http(app, "POST", "/publish", json.dumps(edges).encode(), KEY)
    assert (status, json.loads(body)["seq"]) == (200, 1), "the next event takes seq 1: no gap"
    for client in clients:
        frame = await client.recv()
        assert (frame["seq"], frame["output"]) == (1, {"big": 2**64 - 1, "small": -(2**63)})


async def test_publish_from_python_names_the_field() -> None:
    app = FlowwireApp()
    bad = ws.NodeStatus(
        workflow_id="w", execution_id="e", node_id="n", status="succeeded", output={"rows": [HUGE]}
    )
    with pytest.raises(ws.ProtocolError) as caught:
        await app.publish(bad)
    assert caught.value.path == "$.output.rows[0]"
    assert (await app.broker.position("workflow:w")).seq == 0


async def test_a_command_with_a_huge_integer_is_an_invalid_frame() -> None:
    app = FlowwireApp(handler=demo_runner())
    client = AsgiClient(app)
    await client.connect()
    workflow = {"id": "w", "nodes": [{"id": "a", "kind": "sleep", "params": {"ms": 1}}]}
    error = await client.request(
        {"type": "execute", "ref": "x", "workflow": workflow, "inputs": {"n": -HUGE}}
    )
    assert (error["type"], error["code"], error["path"]) == ("error", "invalid_frame", "$.inputs.n")
    assert app.stats.published == 0
