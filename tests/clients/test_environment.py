"""Every option of the `flowwire` command also from its FLOWWIRE_* variable (documented in
docs/operating.md, each one); `flowwire demo --allowed-origins`; `flowwire --version`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

import wsproto_schema as ws
from flowwire.cli import build_parser
from flowwire.environment import _options, variable
from tests.conftest import ROOT
from tests.processes import ChildProcess, environ, wait_for_http, wait_for_line

COMMANDS = (["demo"], ["codegen"], ["watch"])  # the terminal commands load with any of them


def variables() -> set[str]:
    found = set()
    for args in COMMANDS:
        for _, action in _options(build_parser(args, {})):
            if (name := variable(action)) is not None:
                found.add(name)
    return found


def test_every_variable_is_in_the_documented_table() -> None:
    text = (ROOT / "docs" / "operating.md").read_text()
    table = text.split("## Configuration from the environment", 1)[1]
    documented = set(re.findall(r"^\| `(FLOWWIRE_[A-Z_]+)` \|", table, re.MULTILINE))
    assert documented == variables()


def test_the_environment_sets_defaults_and_the_command_line_wins() -> None:
    env = {
        "FLOWWIRE_PORT": "9000",
        "FLOWWIRE_ALLOWED_ORIGINS": "http://localhost:5173",
        "FLOWWIRE_LOG_LEVEL": "debug",
    }
    args = build_parser(["demo"], env).parse_args(["demo"])
    assert (args.port, args.allowed_origins, args.log_level) == (
        9000,
        "http://localhost:5173",
        "debug",
    )
    args = build_parser(["demo"], env).parse_args(["demo", "--port", "8001"])
    assert args.port == 8001
    env = {
        "FLOWWIRE_TOPIC": "workflow:a, workflow:b",
        "FLOWWIRE_JSON": "yes",
        "FLOWWIRE_COUNT": "3",
    }
    args = build_parser(["tail"], env).parse_args(["tail", "ws://h/ws"])
    assert (args.topic, args.json, args.count) == (["workflow:a", "workflow:b"], True, 3)
    args = build_parser(["tail"], {"FLOWWIRE_JSON": "off", "FLOWWIRE_TOPIC": "t"}).parse_args(
        ["tail", "ws://h/ws"]
    )
    assert args.json is False
    args = build_parser(["codegen"], {"FLOWWIRE_MODULE": "a.events,b.events"}).parse_args(
        ["codegen"]
    )
    assert args.module == ["a.events", "b.events"]
    assert isinstance(
        build_parser(["codegen"], {"FLOWWIRE_OUT": "gen"}).parse_args(["codegen"]).out, Path
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["demo"], {"FLOWWIRE_PORT": "eighty"}, "FLOWWIRE_PORT='eighty': not a valid int"),
        (["demo"], {"FLOWWIRE_LOG_LEVEL": "loud"}, "FLOWWIRE_LOG_LEVEL='loud': choose from"),
        (["tail"], {"FLOWWIRE_JSON": "maybe"}, "FLOWWIRE_JSON='maybe': expected one of"),
    ],
)
def test_a_bad_value_fails_like_a_bad_option_naming_the_variable(
    args: list[str], env: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        build_parser(args, env)
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error


def test_help_names_each_variable() -> None:
    demo_help = subprocess.run(
        [sys.executable, "-m", "flowwire", "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ(COLUMNS="200"),
    ).stdout
    for name in (
        "FLOWWIRE_PORT",
        "FLOWWIRE_ALLOWED_ORIGINS",
        "FLOWWIRE_REDIS",
        "FLOWWIRE_LOG_LEVEL",
    ):
        assert f"[env {name}]" in demo_help


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flowwire", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip()) == (0, f"flowwire {ws.__version__}")


async def test_the_demo_configured_from_the_environment_alone(tmp_path: Path) -> None:
    """A frontend dev server on another port may connect once its origin is allowed."""
    env = environ(
        FLOWWIRE_PORT="0",
        FLOWWIRE_ALLOWED_ORIGINS="http://localhost:5173",
        FLOWWIRE_API_KEY="from-env",
    )
    child = ChildProcess(
        [sys.executable, "-m", "flowwire", "demo"], tmp_path / "demo.log", env=env, stdout_pipe=True
    ).start()
    try:
        line = wait_for_line(child, b"flowwire demo: open http://")
        port = int(line.split(b"http://", 1)[1].split(b"/", 1)[0].rsplit(b":", 1)[1])
        wait_for_http(child, ("127.0.0.1", port), "/")
        url = f"ws://127.0.0.1:{port}/ws"
        async with websockets.connect(url, origin="http://localhost:5173") as socket:  # type: ignore[arg-type]
            assert '"welcome"' in str(await socket.recv())
        with pytest.raises(InvalidStatus):
            await websockets.connect(url, origin="http://localhost:3000")  # type: ignore[arg-type]
        async with httpx.AsyncClient(timeout=10) as http:
            event = {
                "type": "node.status",
                "workflow_id": "w",
                "execution_id": "e",
                "node_id": "n",
                "status": "running",
            }
            response = await http.post(
                f"http://127.0.0.1:{port}/ws/publish",
                json=event,
                headers={"authorization": "Bearer from-env"},
            )
        assert response.status_code == 200, response.text
    finally:
        child.stop()
    assert "flowwire.app: flowwire: started (memory broker" in child.logs()
