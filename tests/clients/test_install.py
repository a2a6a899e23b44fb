"""A client-only install (`pip install flowwire`, no extra) imports the client, connects,
and runs the operator CLI, with no server dependency installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.clients.recorder import APP
from tests.conftest import ROOT
from tests.servers.harness import ServerProcess

pytestmark = [pytest.mark.slow]

SOURCES = ["pyproject.toml", "README.md", "flowwire", "wsproto_schema", "asgi_plugin", "codegen"]

PROBE = textwrap.dedent(
    """
    import asyncio, importlib.util, sys
    from flowwire.client import FlowwireClient

    async def main(url):
        async with FlowwireClient(url, protocol="msgpack") as client:
            run = await client.execute({"id": "probe", "nodes": [{"id": "a", "kind": "log",
                                        "params": {"message": "hi"}}]})
            view = await client.wait(run.execution_id, timeout=20)
        servers = [m for m in ("uvicorn", "redis", "asgi_plugin") if m in sys.modules]
        installed = [m for m in ("uvicorn", "redis", "httpx") if importlib.util.find_spec(m)]
        print(view.status, servers, installed)

    asyncio.run(main(sys.argv[1]))
    """
)


def test_a_client_only_install_connects(
    tmp_path: Path, start_server: Callable[..., ServerProcess]
) -> None:
    source = tmp_path / "src"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(path, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    server = start_server("uvicorn-sansio", APP)
    probe = subprocess.run(
        [str(python), "-c", PROBE, server.url()],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["completed", "[]", "[]"], probe.stdout
    cli = subprocess.run(
        [
            str(venv / "bin" / "flowwire"),
            "tail",
            server.url(),
            "--topic",
            "workflow:probe",
            "--count",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert cli.returncode == 0, cli.stderr
