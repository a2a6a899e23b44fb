"""What flowwire logs about connections: DEBUG lines for a connection's life and its commands
on the `flowwire.connection` logger, and never a token."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from asgi_plugin import FlowwireApp
from tests.plugin.clients import AsgiClient

TOKEN = "eyJhbGciOi.s3cr3t-t0k3n.sig"


def by_token(token: str, handshake: Any) -> dict[str, str] | None:
    return {"id": "ada"} if token == TOKEN else None


async def test_connections_and_commands_are_logged_at_debug_without_tokens(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="flowwire")
    app = FlowwireApp(authenticate_token=by_token, drain_on_signals=False)
    client = AsgiClient(app, path="/ws", query=f"token={TOKEN}".encode())
    welcome = await client.connect()
    cid = welcome["connection_id"]
    assert (await client.request({"type": "auth", "ref": "a", "token": TOKEN}))["type"] == "reply"
    await client.request({"type": "subscribe", "ref": "s", "topics": ["workflow:w"]})
    await client.disconnect(1000)
    await app.shutdown()
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert TOKEN not in repr(lines)
    assert "s3cr3t" not in repr([r.args for r in caplog.records])
    connection = [message for name, _, message in lines if name == "flowwire.connection"]
    assert connection == [
        f"flowwire connection {cid} opened: /ws from ('127.0.0.1', 50000)",
        f"flowwire connection {cid}: auth ref=a",
        f"flowwire connection {cid}: subscribe ref=s",
        f"flowwire connection {cid} closed: 1000",
    ]
    assert all(level == "DEBUG" for name, level, _ in lines if name == "flowwire.connection")
    app_lines = [message for name, level, message in lines if name == "flowwire.app"]
    assert app_lines[0].startswith("flowwire: started (memory broker, process ")
    assert app_lines[1:] == ["flowwire: draining: goaway to 0 connection(s)", "flowwire: stopped"]
