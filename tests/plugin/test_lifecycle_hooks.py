"""The lifecycle hooks: on_connect, on_disconnect(close_code), on_command, sync or async; a
hook that raises is logged and counted, and the connection goes on."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import wsproto_schema as ws
from asgi_plugin import ConnectionInfo, FlowwireApp
from tests.plugin.clients import AsgiClient, eventually


class Journal:
    """Records what the hooks see, as an audit log would."""

    def __init__(self) -> None:
        self.lines: list[tuple[Any, ...]] = []

    def on_connect(self, info: ConnectionInfo) -> None:
        self.lines.append(("connect", info.connection_id, info.principal, info.handshake.path))

    async def on_disconnect(self, info: ConnectionInfo, close_code: int) -> None:
        await asyncio.sleep(0)  # an async hook is awaited
        self.lines.append(("disconnect", info.connection_id, close_code))

    def on_command(self, info: ConnectionInfo, command: ws.ClientFrame) -> None:
        self.lines.append(("command", info.connection_id, ws.frame_tag(type(command))))


def authenticate(handshake: Any) -> dict[str, str]:
    return {"id": handshake.query_param("user") or "anonymous"}


async def test_hooks_see_a_connection_from_its_welcome_to_its_close() -> None:
    journal = Journal()
    app = FlowwireApp(
        authenticate=authenticate,
        on_connect=journal.on_connect,
        on_disconnect=journal.on_disconnect,
        on_command=journal.on_command,
    )
    client = AsgiClient(app, path="/live", query=b"user=ada")
    welcome = await client.connect()
    cid = welcome["connection_id"]
    await eventually(lambda: bool(journal.lines))
    assert journal.lines == [("connect", cid, {"id": "ada"}, "/live")]
    await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    await client.request({"type": "unsubscribe", "ref": "u", "topics": ["workflow:w"]})
    await client.send({"type": "ping"})  # heartbeats are not commands
    await client.send("{not json")  # nor is what cannot be decoded
    await client.recv()
    await client.disconnect(4321)
    assert journal.lines[1:] == [
        ("command", cid, "subscribe"),
        ("command", cid, "unsubscribe"),
        ("disconnect", cid, 4321),
    ]
    # The hook gets the client's own code; the metrics keep their labels to known codes.
    assert dict(app.stats.disconnects) == {"other": 1}


async def test_on_disconnect_gets_the_servers_close_code_when_it_closed_first() -> None:
    codes: list[int] = []
    app = FlowwireApp(max_invalid_frames=1, on_disconnect=lambda info, code: codes.append(code))
    client = AsgiClient(app)
    await client.connect()
    await client.send("{not json")
    closed = await client.expect_close()
    assert closed.code == ws.CloseCode.PROTOCOL_ERROR
    await client.disconnect(1000)
    assert codes == [int(ws.CloseCode.PROTOCOL_ERROR)]


async def test_on_command_never_sees_the_auth_token() -> None:
    seen: list[str] = []
    app = FlowwireApp(
        authenticate_token=lambda token, handshake: {"id": "u"} if token == "t0k3n" else None,
        on_command=lambda info, command: seen.append(ws.frame_tag(type(command))),
    )
    client = AsgiClient(app)
    await client.connect()
    reply = await client.request({"type": "auth", "ref": "a", "token": "t0k3n"})
    assert reply["type"] == "reply"
    await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    assert seen == ["subscribe"]
    await client.disconnect()


def boom(*args: Any) -> None:
    raise RuntimeError("the audit database is down")


async def slow_boom(*args: Any) -> None:
    await asyncio.sleep(0)
    raise RuntimeError("the presence service is down")


@pytest.mark.parametrize("failing", [boom, slow_boom], ids=["sync", "async"])
async def test_a_hook_that_raises_is_logged_and_the_connection_goes_on(
    failing: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = FlowwireApp(on_connect=failing, on_disconnect=failing, on_command=failing)
    caplog.set_level(logging.ERROR, logger="flowwire.hooks")
    client = AsgiClient(app)
    await client.connect()
    reply = await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    assert reply["type"] == "reply"
    await app.publish(
        ws.NodeStatus(workflow_id="w", execution_id="e", node_id="n", status="running")
    )
    assert (await client.recv())["type"] == "node.status"
    await client.disconnect()
    await eventually(lambda: app.stats.hook_failures["on_disconnect"] == 1)
    assert dict(app.stats.hook_failures) == {"on_connect": 1, "on_command": 1, "on_disconnect": 1}
    failures = [r for r in caplog.records if r.name == "flowwire.hooks"]
    assert [r.getMessage().split(" hook")[0] for r in failures] == [
        "flowwire: the on_connect",
        "flowwire: the on_command",
        "flowwire: the on_disconnect",
    ]
    assert all(r.exc_info is not None for r in failures), "logged with the traceback"
