from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers.harness import ServerProcess


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start a server process; every one started is stopped at teardown."""
    started: list[ServerProcess] = []

    def start(server: str, app: str, **env: str) -> ServerProcess:
        process = ServerProcess(server, app, tmp_path / f"{server}-{len(started)}.log", env)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()
