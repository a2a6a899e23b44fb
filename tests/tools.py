"""The programs some tests need (Node and its packages, Chromium, redis-server).

A test asks for one here. When it is missing, the test fails in CI (`CI` is
set: `.ci/run` installs everything, so a missing tool is a broken set-up) and
is skipped on a developer's machine with the command that installs it, so
`pytest` works before `./scripts/test` has set everything up.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing(what: str, how: str) -> None:
    """Fail (CI) or skip (locally): `what` is not installed; `how` installs it."""
    message = f"{what} is missing: {how} (./scripts/test does it all)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def node() -> str:
    path = shutil.which("node")
    if path is None:
        missing("Node.js", "install Node.js 20 or newer")
    assert path is not None
    return path


def node_tool(name: str) -> str:
    """A command of an npm package of ours (`node_modules/.bin/<name>`)."""
    path = NODE_MODULES / ".bin" / name
    if not path.exists():
        missing(f"node_modules/.bin/{name}", "run `npm ci`")
    return str(path)


def node_package(name: str) -> Path:
    path = NODE_MODULES / name
    if not path.exists():
        missing(f"the npm package {name}", "run `npm ci`")
    return path


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        missing("Chromium", "apt-get install chromium")
    assert path is not None
    return path


def redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        missing("redis-server", "apt-get install redis-server")
    assert path is not None
    return path
