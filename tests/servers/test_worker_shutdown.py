"""Shutdown in hypercorn's default multi-process mode."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from tests.servers.harness import ServerProcess, WsClient

Start = Callable[..., ServerProcess]


async def test_worker_processes_say_goaway_when_the_server_cancels_them(
    start_server: Start,
) -> None:
    """hypercorn's default mode signals its worker process, not the app: flowwire learns of
    the shutdown only when its graceful timeout cancels the connection, and still says goaway."""
    process = start_server("hypercorn-workers", "tests.servers.apps:app")
    client = await WsClient.connect(process.url())
    process.signal(signal.SIGTERM)
    frames = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            frames.append(await client.recv())
    assert [f["type"] for f in frames] == ["goaway"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
