"""A client-only install (`pip install flowwire`, no extra) imports the client, connects,
and runs the operator CLI, with no server dependency installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import wsproto_schema as ws
from tests.clients.recorder import APP
from tests.conftest import ROOT
from tests.processes import ChildProcess, wait_for_http, wait_for_line
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


def fresh_venv(
    tmp_path: Path, *requirements: str, env: dict[str, str] | None = None, timeout: int = 300
) -> Path:
    """A new virtual environment in `tmp_path` with `requirements` pip-installed into it."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    install = subprocess.run(
        [*pip, "--disable-pip-version-check", *requirements],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return venv


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
    venv = fresh_venv(tmp_path, str(source))
    python = venv / "bin" / "python"
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


SDIST_TEST_TOOLS = ["pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "asgiref"]
"""What the sdist's fast subset needs beyond `flowwire[contract]` (MANIFEST.in says so too)."""


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without what points at the checkout or its venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


@pytest.mark.timeout(900)
def test_the_built_wheel_and_sdist_work_outside_the_checkout(tmp_path: Path) -> None:
    """`python -m build` (sdist, then the wheel from it) without setuptools warnings; the
    wheel in a fresh venv: `flowwire --version`, `flowwire demo` serves its page; the fast
    protocol tests pass from the unpacked sdist."""
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        env=_clean_env(),
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output
    assert "Deprecat" not in output and "!!" not in output, output
    (wheel,) = dist.glob("flowwire-*.whl")
    (sdist,) = dist.glob("flowwire-*.tar.gz")

    requirements = (f"{wheel}[server,contract]", *SDIST_TEST_TOOLS)
    venv = fresh_venv(tmp_path, *requirements, env=_clean_env(), timeout=600)
    python, flowwire = venv / "bin" / "python", venv / "bin" / "flowwire"
    home = tmp_path / "elsewhere"
    home.mkdir()
    version = subprocess.run(
        [str(flowwire), "--version"], capture_output=True, text=True, timeout=60, cwd=home
    )
    assert version.stdout.strip() == f"flowwire {ws.__version__}", version.stderr

    demo = ChildProcess(
        [str(flowwire), "demo", "--port", "0"],
        tmp_path / "demo.log",
        cwd=home,
        env=_clean_env(),
        stdout_pipe=True,
    ).start()
    try:
        line = wait_for_line(demo, b"flowwire demo: open http://", 60)
        port = int(line.split(b"http://", 1)[1].split(b"/", 1)[0].rsplit(b":", 1)[1])
        wait_for_http(demo, ("127.0.0.1", port), "/", 60)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        script = httpx.get(f"http://127.0.0.1:{port}/dashboard.js", timeout=10)
    finally:
        demo.stop()
    assert page.status_code == 200 and "<html" in page.text.lower(), page.text[:200]
    assert script.status_code == 200 and len(script.content) > 10_000

    unpacked = tmp_path / "sdist"
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    (source,) = unpacked.iterdir()
    assert (source / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    subset = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "tests/protocol",
            "-m",
            "not node and not slow",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=source,
        env=_clean_env(HYPOTHESIS_PROFILE="dev"),
    )
    assert subset.returncode == 0, subset.stdout[-3000:] + subset.stderr[-2000:]
    assert re.search(r"\d+ passed", subset.stdout), subset.stdout[-500:]
