"""The layers hold, and the contracts that hold them cannot quietly go away.

`lint-imports` (import-linter) checks the contracts in pyproject.toml; here the
suite checks that each contract is still there, and that each one actually
fails when the arrow it guards is broken in a copy of the tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow]

PACKAGES = ("flowwire", "wsproto_schema", "asgi_plugin", "codegen")

CONTRACTS = {
    "The packages are layered: the front door, then the server side or codegen, then the protocol": "layers",
    "asgi_plugin is layered: demo, ASGI transport, engine side or brokers, sans-I/O core": "layers",
    "Neither the protocol nor the server imports the code generator, by either of its names": "forbidden",
    "The core is sans-I/O: no event loop, sockets, threads or clock of its own": "forbidden",
    "The engine side reaches the app only through the Publisher protocol": "forbidden",
    "The client and the operator CLI never import the server side": "forbidden",
    "No import circles between sibling modules or packages, at any depth": "acyclic_siblings",
}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"]
    return subprocess.run(
        [*command, "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_are_all_there() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert set(config["root_packages"]) == set(PACKAGES)
    assert {c["name"]: c["type"] for c in config["contracts"]} == CONTRACTS


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


BREAKS = [
    pytest.param(
        "asgi_plugin/core/session.py",
        "if TYPE_CHECKING:\n    from asgi_plugin.transport.app import FlowwireApp\n",
        "asgi_plugin is layered",
        id="core-imports-the-transport-for-types-only",
    ),
    pytest.param(
        "asgi_plugin/core/hub.py",
        "import asyncio\n",
        "The core is sans-I/O",
        id="core-imports-asyncio",
    ),
    pytest.param(
        "wsproto_schema/contract.py",
        "import flowwire_codegen\n",
        "Neither the protocol nor the server imports the code generator",
        id="protocol-imports-codegen-by-its-installed-name",
    ),
    pytest.param(
        "asgi_plugin/engine/reporter.py",
        "from asgi_plugin.transport import app\n",
        "The engine side reaches the app only through the Publisher protocol",
        id="engine-imports-the-app",
    ),
    pytest.param(
        "asgi_plugin/brokers/redis_listener.py",
        "if TYPE_CHECKING:\n    from asgi_plugin.brokers.redis_broker import RedisBroker\n",
        "No import circles",
        id="listener-and-broker-in-a-circle",
    ),
    pytest.param(
        "flowwire/client/state.py",
        "if TYPE_CHECKING:\n    from asgi_plugin.core.materializer import Materializer\n",
        "The client and the operator CLI never import the server side",
        id="client-imports-the-materializer-for-types-only",
    ),
    pytest.param(
        "flowwire/terminal/view.py",
        "import asgi_plugin\n",
        "The client and the operator CLI never import the server side",
        id="cli-imports-the-server",
    ),
    pytest.param(
        "wsproto_schema/codes.py",
        "import asgi_plugin\n",
        "The packages are layered",
        id="protocol-imports-the-server",
    ),
]


@pytest.mark.parametrize(("module", "line", "contract"), BREAKS)
def test_each_contract_fails_when_its_arrow_is_broken(
    tree: Path, module: str, line: str, contract: str
) -> None:
    path = tree / module
    original = path.read_text()
    header = "from typing import TYPE_CHECKING\n" if "TYPE_CHECKING" in line else ""
    marker = "\n__all__"
    assert marker in original, f"{module} has no __all__ to plant the import before"
    path.write_text(original.replace(marker, f"\n{header}{line}{marker}", 1))
    try:
        result = lint_imports(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def test_no_block_of_six_lines_is_written_twice_in_the_server() -> None:
    """One definition of each piece of logic (the sync reporter is derived, not a twin)."""
    window = 6
    seen: dict[tuple[str, ...], str] = {}
    repeated = []
    for path in sorted((ROOT / "asgi_plugin").rglob("*.py")):
        lines = [line.strip() for line in path.read_text().splitlines()]
        code = [(n, line) for n, line in enumerate(lines, 1) if line and not line.startswith("#")]
        for start in range(len(code) - window + 1):
            block = tuple(line for _, line in code[start : start + window])
            if sum(len(line) > 12 for line in block) < 3:
                continue  # brackets, `self,`, `*,` and the like
            where = f"{path.relative_to(ROOT)}:{code[start][0]}"
            if block in seen:
                repeated.append(f"{where} repeats {seen[block]}")
            else:
                seen[block] = where
    assert not repeated, "\n".join(repeated)
