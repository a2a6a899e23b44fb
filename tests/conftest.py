from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator

from tests.redis_server import RedisServer
from tests.tools import in_ci
from wsproto_schema.contract import Contract

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"

# Property tests: the full count, in a fixed order, in CI; fewer examples on a laptop.
# HYPOTHESIS_PROFILE=ci (or dev) picks one explicitly.
_PROPERTIES = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=300, derandomize=True, **_PROPERTIES)  # type: ignore[arg-type]
settings.register_profile("dev", max_examples=40, **_PROPERTIES)  # type: ignore[arg-type]
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if in_ci() else "dev"))


def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text("utf-8"))
    return schema


@pytest.fixture(scope="session")
def server_validator() -> Draft202012Validator:
    """A plain validator of the committed `schemas/server-frame.schema.json`."""
    return Draft202012Validator(load_schema("server-frame.schema.json"))


@pytest.fixture(scope="session")
def client_validator() -> Draft202012Validator:
    """A plain validator of the committed `schemas/client-frame.schema.json`."""
    return Draft202012Validator(load_schema("client-frame.schema.json"))


@pytest.fixture(autouse=True)
def validate_every_received_frame(flowwire_contract: Contract) -> Iterator[None]:
    """Used by default: every test client checks each frame it receives against
    `schemas/server-frame.schema.json` (the ini option `flowwire_schema_dir`)."""
    from tests.plugin import clients

    clients.CONTRACT = flowwire_contract
    clients.RECEIVED.clear()
    yield
    clients.CONTRACT = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server (no persistence) for one test."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.kill()


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[Any]:
    """Start redis-servers with options (`appendonly=True`, `appendfsync="always"`); all are
    killed at teardown."""
    started: list[RedisServer] = []

    def start(*, appendonly: bool = False, appendfsync: str = "everysec") -> RedisServer:
        directory = tmp_path / f"redis{len(started)}"
        server = RedisServer(directory, appendonly=appendonly, appendfsync=appendfsync).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start a server process (tests/servers/harness.py); every one started is stopped at
    teardown."""
    from tests.servers.harness import ServerProcess  # it imports this module's ROOT

    started: list[ServerProcess] = []

    def start(server: str, app: str, **env: str) -> ServerProcess:
        process = ServerProcess(server, app, tmp_path / f"{server}-{len(started)}.log", env)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()
