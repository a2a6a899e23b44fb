"""The TypeScript client (clients/typescript, `@flowwire/client`): built with `tsc --strict`,
its Node test files run with `node --test` from here so that `./scripts/test` and CI run
them. The live files get real servers and redis-servers from this process (control.py) and
own their TCP proxies; tests/clients/SCENARIOS.md names the test of each scenario."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import tools
from tests.clients.control import ControlServer
from tests.conftest import ROOT

pytestmark = [pytest.mark.node]

PACKAGE = ROOT / "clients" / "typescript"
LIVE = ["live-samples", "live-restart", "live-proxy", "live-history", "live-auth"]


def run(*command: str, cwd: Path = ROOT, timeout: float = 300, **env: str) -> str:
    done = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]
    return done.stdout


def build_inputs() -> str:
    digest = hashlib.sha256()
    paths = [ROOT / "schemas" / "flowwire.ts", PACKAGE / "tsconfig.json", PACKAGE / "package.json"]
    paths += sorted(p for p in (PACKAGE / "src").glob("*.ts") if p.name != "protocol.ts")
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def client_build() -> Path:
    """clients/typescript/dist, built (tsc --strict) once for the sources as they are: the
    pytest workers take turns on a lock, and a build of the same sources is reused."""
    node = tools.node()
    tools.node_tool("tsc")
    dist = PACKAGE / "dist"
    with (PACKAGE / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        inputs = build_inputs()
        stamp = dist / ".inputs"
        if not stamp.exists() or stamp.read_text() != inputs:
            run(node, "scripts/build.mjs", cwd=PACKAGE)
            stamp.write_text(inputs)
    return dist


@pytest.fixture
def control(tmp_path: Path) -> Iterator[ControlServer]:
    with ControlServer(tmp_path) as server:
        yield server


def node_test(file: str, control: ControlServer | None = None, timeout: float = 240) -> str:
    env = {"FLOWWIRE_HARNESS": control.url} if control else {}
    try:
        return run(
            tools.node(),
            "--test",
            "--test-reporter=spec",
            "--test-timeout=120000",
            f"test/{file}.test.mjs",
            cwd=PACKAGE,
            timeout=timeout,
            **env,
        )
    except AssertionError as failure:
        logs = control.all_logs() if control else ""
        raise AssertionError(f"{failure}\n--- server logs\n{logs}") from None


def test_protocol_behaviours(client_build: Path) -> None:
    """Lifecycle, refs and typed errors, dedupe, gaps, batches, handler isolation, heartbeat,
    reset, close codes and backoff, the offline queue, msgpack, the store's reducer."""
    out = node_test("protocol")
    assert "ℹ fail 0" in out and "ℹ pass 14" in out, out


@pytest.mark.slow
@pytest.mark.parametrize("file", LIVE)
def test_live(client_build: Path, control: ControlServer, file: str) -> None:
    out = node_test(file, control)
    assert "ℹ fail 0" in out, out
