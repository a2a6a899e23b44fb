"""The upgrade: subprotocols, origins, authentication, refusals (ApplicationCommunicator)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asgi_plugin import FlowwireApp, Handshake
from tests.plugin.clients import AsgiClient, Refused, http


@pytest.mark.parametrize(
    ("offer", "accepted", "binary"),
    [
        ([], None, False),
        (["flowwire.v1.json"], "flowwire.v1.json", False),
        (["flowwire.v1.msgpack"], "flowwire.v1.msgpack", True),
        (["chat", "flowwire.v1.msgpack", "flowwire.v1.json"], "flowwire.v1.msgpack", True),
        (["token.abc"], None, False),
    ],
)
async def test_subprotocol_negotiation(
    offer: list[str], accepted: str | None, binary: bool
) -> None:
    client = AsgiClient(FlowwireApp(), subprotocols=offer)
    welcome = await client.connect()
    assert client.subprotocol == accepted
    assert welcome["protocol"] == "flowwire.v1" and welcome["heartbeat_ms"] == 25_000
    assert welcome["server"].startswith("flowwire/")
    await client.send({"type": "ping", "ts": 7})
    message = await client.comm.receive_output(1)
    assert ("bytes" in message) is binary
    await client.disconnect()


@pytest.mark.parametrize("http_response", [True, False])
async def test_other_protocol_version_is_refused(http_response: bool) -> None:
    client = AsgiClient(
        FlowwireApp(), subprotocols=["flowwire.v2.json"], http_response=http_response
    )
    with pytest.raises(Refused) as info:
        await client.connect()
    if http_response:
        assert info.value.status == 400
        assert b"flowwire.v1.json" in info.value.body
    else:
        assert info.value.code == 1008


@pytest.mark.parametrize(
    ("allowed", "origin", "ok"),
    [
        (None, None, True),  # not a browser
        (None, b"http://testserver", True),  # same origin
        (None, b"https://evil.example", False),
        (["https://app.example.com"], b"https://app.example.com", True),
        (["https://*.example.com"], b"https://eu.example.com", True),
        (["https://*.example.com"], b"https://example.org", False),
        (["*"], b"https://anything.test", True),
    ],
)
@pytest.mark.parametrize("http_response", [True, False])
async def test_origin_check(
    allowed: Any, origin: bytes | None, ok: bool, http_response: bool
) -> None:
    headers = [(b"origin", origin)] if origin else []
    app = FlowwireApp(allowed_origins=allowed)
    client = AsgiClient(app, headers=headers, http_response=http_response)
    if ok:
        await client.connect()
        await client.disconnect()
        return
    with pytest.raises(Refused) as info:
        await client.connect()
    assert (info.value.status, info.value.code) == ((403, None) if http_response else (None, 1008))
    assert app.stats.handshakes_refused == 1


async def test_authenticate_sees_the_handshake() -> None:
    seen: list[Handshake] = []

    async def authenticate(handshake: Handshake) -> Any:
        seen.append(handshake)
        if handshake.query_param("token") == "good" and handshake.cookies.get("sid") == "s1":
            return {"user": "ada"}
        return None

    app = FlowwireApp(authenticate=authenticate)
    headers = [
        (b"cookie", b"sid=s1; theme=dark"),
        (b"authorization", b"Bearer abc"),
        (b"x-tenant", b"t1"),
    ]
    client = AsgiClient(
        app, query=b"token=good", headers=headers, subprotocols=["flowwire.v1.json", "k.123"]
    )
    await client.connect()
    [handshake] = seen
    assert handshake.headers["x-tenant"] == "t1"
    assert handshake.bearer_token() == "abc"
    assert handshake.cookies == {"sid": "s1", "theme": "dark"}
    assert handshake.subprotocols == ["flowwire.v1.json", "k.123"]
    assert handshake.client == ("127.0.0.1", 50000)
    await client.disconnect()

    refused = AsgiClient(app, query=b"token=bad", headers=headers)
    with pytest.raises(Refused) as info:
        await refused.connect()
    assert info.value.status == 403
    no_extension = AsgiClient(app, query=b"token=bad", http_response=False)
    with pytest.raises(Refused) as info:
        await no_extension.connect()
    assert info.value.code == 1008


async def test_failing_authenticate_hook_is_a_500_without_detail() -> None:
    def authenticate(handshake: Handshake) -> Any:
        raise RuntimeError("database password is hunter2")

    client = AsgiClient(FlowwireApp(authenticate=authenticate))
    with pytest.raises(Refused) as info:
        await client.connect()
    assert info.value.status == 500
    assert b"hunter2" not in info.value.body


def token_app(**options: Any) -> FlowwireApp:
    async def check(token: str, handshake: Handshake) -> Any:
        await asyncio.sleep(0)
        return {"user": token.removeprefix("ok-")} if token.startswith("ok-") else None

    return FlowwireApp(authenticate_token=check, **options)


async def test_first_message_auth() -> None:
    client = AsgiClient(token_app())
    await client.connect()
    reply = await client.request({"type": "auth", "ref": "a1", "token": "ok-ada"})
    assert reply == {"type": "reply", "ref": "a1", "data": {"principal": {"user": "ada"}}}
    answer = await client.request({"type": "subscribe", "ref": "s1", "topics": ["t"]})
    assert answer["type"] == "reply"
    await client.disconnect()


@pytest.mark.parametrize(
    "first",
    [
        {"type": "auth", "token": "nope"},
        {"type": "subscribe", "topics": ["t"]},
    ],
)
async def test_first_message_auth_failures_close_4001(first: dict[str, Any]) -> None:
    client = AsgiClient(token_app())
    await client.connect()
    await client.send(first)
    closed = await client.expect_close()
    assert closed.code == 4001


async def test_auth_deadline_closes_4001() -> None:
    client = AsgiClient(token_app(auth_timeout_ms=50))
    await client.connect()
    closed = await client.expect_close(timeout=1)
    assert (closed.code, closed.reason) == (4001, "authentication timed out")


async def test_handshake_principal_can_be_upgraded_by_auth() -> None:
    app = token_app(authenticate=lambda h: {"user": "guest"} if h.query_param("guest") else None)
    client = AsgiClient(app, query=b"guest=1")
    await client.connect()  # authenticated by the handshake: no deadline, commands allowed
    assert (await client.request({"type": "subscribe", "ref": "s", "topics": ["t"]}))[
        "type"
    ] == "reply"
    await client.disconnect()


async def test_auth_command_without_token_hook_is_an_error() -> None:
    client = AsgiClient(FlowwireApp())
    await client.connect()
    answer = await client.request({"type": "auth", "ref": "a", "token": "x"})
    assert answer["code"] == "unauthorized"
    assert "does not take `auth` commands" in answer["message"]
    await client.disconnect()


async def test_authorize_is_asked_on_every_subscribe() -> None:
    asked: list[tuple[Any, str, str]] = []

    def authorize(principal: Any, action: str, topic: str) -> bool:
        asked.append((principal, action, topic))
        return not topic.startswith("secret")

    app = FlowwireApp(authenticate=lambda h: "ada", authorize=authorize)
    client = AsgiClient(app)
    await client.connect()
    answer = await client.request({"type": "subscribe", "ref": "s1", "topics": ["a", "secret:1"]})
    assert answer["code"] == "forbidden" and answer["path"] == "$.topics[1]"
    assert asked == [("ada", "subscribe", "a"), ("ada", "subscribe", "secret:1")]
    assert app.hub.subscription_count() == 0  # all or nothing
    assert (await client.request({"type": "subscribe", "ref": "s2", "topics": ["a"]}))[
        "type"
    ] == "reply"
    assert app.hub.subscription_count() == 1
    await client.disconnect()


async def test_shutting_down_refuses_new_connections() -> None:
    app = FlowwireApp()
    await app.shutdown()
    with pytest.raises(Refused) as info:
        await AsgiClient(app).connect()
    assert info.value.status == 503


async def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="heartbeat"):
        FlowwireApp(heartbeat=5)
    with pytest.raises(ValueError, match="max_queued_frames must be positive"):
        FlowwireApp(max_queued_frames=0)
    with pytest.raises(
        TypeError,
        match=r"a list of str, or None, got 'https://a.example' \(a list, not one string\)",
    ):
        FlowwireApp(allowed_origins="https://a.example")


@pytest.mark.parametrize(
    ("options", "headers", "scope", "ok"),
    [
        # DNS rebinding: the attacker's page, its name resolving to our address.
        (
            {"allowed_hosts": ["app.example.com"]},
            {"host": "evil.test", "origin": "http://evil.test"},
            {},
            False,
        ),
        ({"allowed_hosts": [".example.com"]}, {"host": "eu.example.com"}, {}, True),
        ({"allowed_hosts": [".example.com"]}, {"host": "example.com.evil.test"}, {}, False),
        # Same origin is scheme, host and port.
        ({}, {"origin": "https://testserver"}, {}, False),
        ({}, {"origin": "http://testserver:8080"}, {}, False),
        ({}, {"host": "testserver:8080", "origin": "http://testserver:8080"}, {}, True),
        ({}, {"origin": "null"}, {}, False),
        # Patterns match per component: nothing can match / ? # @.
        (
            {"allowed_origins": ["https://*.example.com"]},
            {"origin": "https://evil.test/.example.com"},
            {},
            False,
        ),
        (
            {"allowed_origins": ["https://*.example.com"]},
            {"origin": "https://user@eu.example.com"},
            {},
            False,
        ),
        (
            {"allowed_origins": ["https://*.example.com"]},
            {"origin": "http://eu.example.com"},
            {},
            False,
        ),
        (
            {"allowed_origins": ["https://*.example.com"]},
            {"origin": "https://eu.example.com:8443"},
            {},
            False,
        ),
        (
            {"allowed_origins": ["https://*.example.com:8443"]},
            {"origin": "https://eu.example.com:8443"},
            {},
            True,
        ),
        # Behind a TLS-terminating proxy: believed only from a trusted address.
        (
            {"trusted_proxies": ["10.0.0.0/8"]},
            {
                "host": "app.example.com",
                "origin": "https://app.example.com",
                "x-forwarded-proto": "https",
            },
            {"client": ("10.1.2.3", 5000)},
            True,
        ),
        (
            {"trusted_proxies": ["10.0.0.0/8"]},
            {
                "host": "app.example.com",
                "origin": "https://app.example.com",
                "x-forwarded-proto": "https",
            },
            {"client": ("203.0.113.9", 5000)},
            False,
        ),
        (
            {"trusted_proxies": ["10.0.0.0/8"], "allowed_hosts": ["app.example.com"]},
            {
                "host": "internal:8000",
                "forwarded": 'proto=https;host="app.example.com"',
                "origin": "https://app.example.com",
            },
            {"client": ("10.9.9.9", 5000)},
            True,
        ),
    ],
)
async def test_host_and_origin(
    options: dict[str, Any], headers: dict[str, str], scope: dict[str, Any], ok: bool
) -> None:
    app = FlowwireApp(**options)
    raw = [(k.encode(), v.encode()) for k, v in headers.items() if k != "host"]
    client = AsgiClient(app, headers=raw)
    if "host" in headers:
        client.scope["headers"] = [(b"host", headers["host"].encode()), *raw]
    client.scope.update(scope)
    if ok:
        await client.connect()
        await client.disconnect()
        return
    with pytest.raises(Refused) as info:
        await client.connect()
    assert info.value.status == 403


async def test_http_endpoints_answer_only_to_allowed_hosts() -> None:
    app = FlowwireApp(allowed_hosts=["app.example.com"])
    status, _, body = await http(app, "GET", "/health", headers=[(b"host", b"evil.test")])
    assert status == 400 and b"does not answer to that Host" in body


async def test_the_demo_answers_to_loopback_names_only() -> None:
    from asgi_plugin.demo.site import create_app

    demo = create_app().flowwire
    client = AsgiClient(demo)
    client.scope["headers"] = [(b"host", b"rebound.evil.test:8000")]
    with pytest.raises(Refused):
        await client.connect()
    local = AsgiClient(demo)
    local.scope["headers"] = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")]
    await local.connect()
    await local.disconnect()
