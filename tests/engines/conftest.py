"""Fixtures of the engine tests: engines in their own processes, stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.engines.harness import EngineProcess


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[Callable[..., EngineProcess]]:
    """Start `engine_worker` processes (a DagRunner behind an EngineClient) on a URL."""
    started: list[EngineProcess] = []

    def start(url: str, *workflows: str) -> EngineProcess:
        engine = EngineProcess.python(url, tmp_path / f"engine{len(started)}.log", *workflows)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        engine.stop()
