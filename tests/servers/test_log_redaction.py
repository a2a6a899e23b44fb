"""Tokens in URLs do not reach the server's log: `flowwire demo` redacts them (and apps can,
with `redact_server_logs()`)."""

from __future__ import annotations

from pathlib import Path

from asgi_plugin.transport.logs import redact
from tests.servers.harness import DemoProcess, WsClient


def test_redact() -> None:
    assert (
        redact("GET /ws?user=1&token=eyJ.abc.def HTTP/1.1") == "GET /ws?user=1&token=*** HTTP/1.1"
    )
    assert redact("Authorization: Bearer s3cr3t-value") == "Authorization: Bearer ***"
    assert redact("/ws?tokenizer=on") == "/ws?tokenizer=on", "only whole parameter names"


async def test_a_token_in_the_url_is_not_logged(tmp_path: Path) -> None:
    demo = DemoProcess(tmp_path / "demo.log").start()
    try:
        client = await WsClient.connect(demo.url("/ws?token=SUPERSECRET123&view=1"))
        await client.close()
        await WsClient.connect(demo.url("/ws?access_token=OTHERSECRET456"))
    finally:
        demo.child.stop()
    logs = demo.logs()
    assert '"WebSocket /ws?token=***&view=1" [accepted]' in logs, logs
    assert "SUPERSECRET123" not in logs and "OTHERSECRET456" not in logs
