"""HTTP under the mount: stats, health, publish (bearer key, schema validation), schema, asyncapi."""

from __future__ import annotations

import json

import msgspec
import pytest

import flowwire_codegen
import wsproto_schema as ws
from asgi_plugin import FlowwireApp
from tests.conftest import SCHEMAS
from tests.plugin.clients import AsgiClient, collect, http

KEY = [(b"authorization", b"Bearer s3cret")]
EVENT = {
    "type": "node.status",
    "workflow_id": "w",
    "execution_id": "e",
    "node_id": "n",
    "status": "running",
}


def body(data: object) -> bytes:
    return json.dumps(data).encode()


async def test_publish_requires_the_key() -> None:
    app = FlowwireApp(api_key="s3cret")
    status, headers, raw = await http(app, "POST", "/publish", body(EVENT))
    assert status == 401
    assert headers[b"www-authenticate"] == b'Bearer realm="flowwire"'
    assert json.loads(raw)["error"]["code"] == "unauthorized"
    status, _, _ = await http(
        app, "POST", "/publish", body(EVENT), [(b"authorization", b"Bearer wrong")]
    )
    assert status == 401
    status, _, _ = await http(
        app, "POST", "/publish", body(EVENT), [(b"authorization", b"Basic s3cret")]
    )
    assert status == 401
    assert app.stats.published == 0


async def test_publish_is_off_without_a_key() -> None:
    status, _, raw = await http(FlowwireApp(), "POST", "/publish", body(EVENT), KEY)
    assert status == 403
    assert "set api_key" in json.loads(raw)["error"]["message"]


async def test_publish_delivers_to_subscribers() -> None:
    app = FlowwireApp(api_key="s3cret")
    client = AsgiClient(app)
    await client.connect()
    await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    status, _, raw = await http(app, "POST", "/publish", body(EVENT), KEY)
    assert (status, json.loads(raw)) == (200, {"topic": "workflow:w", "seq": 1})
    batch = [EVENT, {**EVENT, "type": "node.token", "delta": "hi", "topic": "workflow:w"}]
    batch[1].pop("status")
    status, _, raw = await http(app, "POST", "/publish", body(batch), KEY)
    assert json.loads(raw) == {
        "published": [{"topic": "workflow:w", "seq": 2}, {"topic": "workflow:w", "seq": 3}]
    }
    packed = msgspec.msgpack.encode({**EVENT, "node_id": "m"})
    status, _, raw = await http(
        app, "POST", "/publish", packed, [*KEY, (b"content-type", b"application/msgpack")]
    )
    assert json.loads(raw)["seq"] == 4
    got = await collect(client, 4)
    assert [(f["type"], f["seq"]) for f in got] == [
        ("node.status", 1),
        ("node.status", 2),
        ("node.token", 3),
        ("node.status", 4),
    ]


@pytest.mark.parametrize(
    ("event", "code", "path"),
    [
        ({**EVENT, "status": "done"}, "invalid_frame", "$.status"),
        ({k: v for k, v in EVENT.items() if k != "node_id"}, "invalid_frame", "$.node_id"),
        ({**EVENT, "colour": "red"}, "invalid_frame", "$.colour"),
        ({**EVENT, "type": "subscribe"}, "unknown_type", "$.type"),
        ({"event": "node.status"}, "invalid_frame", "$.type"),
        ([EVENT, {**EVENT, "attempt": 0}], "invalid_frame", "$[1].attempt"),
    ],
)
async def test_publish_rejects_invalid_events(event: object, code: str, path: str) -> None:
    app = FlowwireApp(api_key="s3cret")
    status, _, raw = await http(app, "POST", "/publish", body(event), KEY)
    assert status == 400
    error = json.loads(raw)["error"]
    assert (error["code"], error["path"]) == (code, path)
    assert error["message"].startswith(path)
    assert app.stats.published == 0, "nothing of an invalid batch is published"


async def test_publish_body_limit() -> None:
    app = FlowwireApp(api_key="s3cret", max_frame_bytes=200)
    status, _, raw = await http(app, "POST", "/publish", body({**EVENT, "node_id": "x" * 500}), KEY)
    assert status == 413
    assert json.loads(raw)["error"]["code"] == "too_large"


async def test_stats() -> None:
    app = FlowwireApp(api_key="s3cret")
    client = AsgiClient(app)
    await client.connect()
    await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w", "x:*"]})
    await http(app, "POST", "/publish", body(EVENT), KEY)
    await client.recv()
    status, _, raw = await http(app, "GET", "/stats")
    stats = json.loads(raw)
    assert status == 200
    assert {
        k: stats[k] for k in ("connections", "topics", "subscriptions", "published", "deliveries")
    } == {
        "connections": 1,
        "topics": 2,
        "subscriptions": 2,
        "published": 1,
        "deliveries": 1,
    }
    assert stats["frames_sent"] == 3  # welcome, reply, event
    assert stats["bytes_sent"] > 100
    for key in ("frames_dropped", "slow_consumer_closes", "max_queue_depth", "uptime_s", "broker"):
        assert key in stats
    assert stats["broker"]["kind"] == "memory"


async def test_health_schema_and_asyncapi() -> None:
    app = FlowwireApp()
    status, _, raw = await http(app, "GET", "/health")
    assert (status, json.loads(raw)["ok"]) == (200, True)
    status, headers, raw = await http(app, "GET", "/schema")
    assert status == 200 and headers[b"content-type"] == b"application/json"
    assert json.loads(raw) == json.loads((SCHEMAS / "flowwire.schema.json").read_text())
    status, _, raw = await http(app, "GET", "/asyncapi")
    served = json.loads(raw)
    committed = json.loads((SCHEMAS / "asyncapi.json").read_text())
    assert served["components"] == committed["components"]
    assert served["operations"] == committed["operations"]
    assert served["servers"]["flowwire"]["host"] == "testserver"
    assert served["channels"]["flowwire"]["address"] == "/"


async def test_asyncapi_names_the_scheme_host_and_mount_the_client_used() -> None:
    app = FlowwireApp(
        trusted_proxies=["127.0.0.1"], asyncapi_title="Acme runs", asyncapi_version="2.3.0"
    )
    proxied = [(b"x-forwarded-proto", b"https"), (b"x-forwarded-host", b"runs.example.com")]
    status, _, raw = await http(app, "GET", "/live/asyncapi", headers=proxied, root_path="/live")
    document = json.loads(raw)
    assert status == 200
    assert document["servers"]["flowwire"]["host"] == "runs.example.com"
    assert document["servers"]["flowwire"]["protocol"] == "wss"
    assert document["channels"]["flowwire"]["address"] == "/live"
    assert document["info"]["title"] == "Acme runs"
    assert document["info"]["version"] == "2.3.0"
    # A router that hands over the path below the mount (Litestar): the same address.
    _, _, raw = await http(app, "GET", "/asyncapi", root_path="/live")
    assert json.loads(raw)["channels"]["flowwire"]["address"] == "/live"
    assert json.loads(raw)["servers"]["flowwire"] == {
        "host": "testserver",
        "protocol": "ws",
        "description": "The server that served this document.",
    }


async def test_schema_endpoint_includes_registered_app_events() -> None:
    class Checkpoint(ws.Event, tag="test.checkpoint", frozen=True, kw_only=True):
        label: str

    ws.register_event(Checkpoint)
    try:
        _, _, raw = await http(FlowwireApp(), "GET", "/schema")
        assert "Checkpoint" in json.loads(raw)["$defs"]
    finally:
        ws.registry.unregister(Checkpoint)
    bundle = flowwire_codegen.bundle_schema(flowwire_codegen.Catalog.build(ws.registry))
    assert "Checkpoint" not in bundle["$defs"]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [("GET", "/nope", 404), ("POST", "/stats", 405), ("GET", "/publish", 405), ("GET", "/", 426)],
)
async def test_other_requests(method: str, path: str, expected: int) -> None:
    status, _, raw = await http(FlowwireApp(), method, path)
    assert status == expected
    assert "error" in json.loads(raw)


async def test_mounted_paths_are_relative_to_root_path() -> None:
    status, _, raw = await http(FlowwireApp(), "GET", "/api/ws/stats", root_path="/api/ws")
    assert status == 200 and "connections" in json.loads(raw)


async def test_asyncapi_html_is_a_page_of_every_message_for_this_server() -> None:
    """`GET …/asyncapi.html`: the served AsyncAPI document for people, without a script:
    this server's URL, every frame of both directions with its fields, and no broken link."""
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.ids: set[str] = set()
            self.hrefs: set[str] = set()
            self.tags: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.add(tag)
            found = dict(attrs)
            if found.get("id"):
                self.ids.add(str(found["id"]))
            if (found.get("href") or "").startswith("#"):
                self.hrefs.add(str(found["href"])[1:])

    app = FlowwireApp(asyncapi_title="<Acme> runs")
    status, headers, raw = await http(app, "GET", "/live/asyncapi.html", root_path="/live")
    assert status == 200
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    page = raw.decode()
    assert "<code>ws://testserver/live</code>" in page
    assert "&lt;Acme&gt; runs" in page and "<Acme>" not in page
    for frame in [*ws.registry.server_frames(), *ws.registry.client_frames()]:
        assert f"<code>{ws.frame_tag(frame)}</code>" in page, frame
    assert "<code>topics</code>" in page and "<code>heartbeat_ms</code>" in page
    links = Links()
    links.feed(page)
    assert links.hrefs <= links.ids, links.hrefs - links.ids
    assert "script" not in links.tags
