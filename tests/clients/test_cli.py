"""The operator CLI driven as a person (a real terminal under tmux) and as a program (pipes):
`flowwire watch` with keys and an input prompt, `run` exit codes, `tail --json`, `publish`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from jsonschema import Draft202012Validator

import wsproto_schema as ws
from asgi_plugin.demo.samples import SAMPLES
from flowwire.client import CommandError
from tests.clients.recorder import APP, Recorder
from tests.clients.terminal import Terminal
from tests.conftest import ROOT
from tests.servers.harness import ServerProcess

Start = Callable[..., ServerProcess]
FLOWWIRE = [sys.executable, "-m", "flowwire"]
ESC = "\x1b"


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def flowwire(
    *args: str, stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The command with its output piped (not a terminal)."""
    return subprocess.run(
        [*FLOWWIRE, *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
        cwd=ROOT,
    )


@pytest.fixture
def server(start_server: Start) -> ServerProcess:
    return start_server("uvicorn-sansio", APP)


AGENT = ws.WorkflowSpec(
    id="agent",
    name="Agent with approval",
    nodes=[
        ws.NodeSpec(id="plan", kind="sleep", name="Plan", params={"ms": 600, "steps": 3}),
        ws.NodeSpec(
            id="draft",
            kind="llm",
            name="Draft",
            params={"text": " ".join(f"token{i}" for i in range(60)), "delay_ms": 60},
        ),
        ws.NodeSpec(id="approve", kind="input", params={"prompt": "Ship it?"}),
        ws.NodeSpec(id="ship", kind="log", params={"message": "shipped"}),
    ],
    edges=[
        ws.EdgeSpec(source="plan", target="draft"),
        ws.EdgeSpec(source="draft", target="approve"),
        ws.EdgeSpec(source="approve", target="ship"),
    ],
)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[[list[str]], Terminal]]:
    opened: list[Terminal] = []

    def open_(command: list[str]) -> Terminal:
        opened.append(
            Terminal(tmp_path, command, {"PYTHONPATH": str(ROOT), "TERM": "xterm-256color"})
        )
        return opened[-1]

    yield open_
    for t in opened:
        t.close()


@pytest.mark.slow
async def test_watch_in_a_terminal_pause_resume_and_answer_the_prompt(
    server: ServerProcess, terminal: Callable[[list[str]], Terminal]
) -> None:
    seen = Recorder()
    async with seen.client(server.url()) as operator:
        run = await operator.execute(AGENT)
        screen = terminal([*FLOWWIRE, "watch", server.url(), "--execution", run.execution_id])
        shown = await screen.until(lambda s: "draft ▸ token" in s and "running" in s)
        assert "plan (Plan)" in shown and "nodes ·" in shown, shown  # the table, the progress
        assert "● connected" in shown
        screen.press("p")
        shown = await screen.until(lambda s: "pause: paused" in s)
        assert f"agent/{run.execution_id} paused" in shown
        await seen.until(lambda: status(operator.store.get(run.execution_id)) == "paused")
        screen.press("r")
        await screen.until(lambda s: "resume: running" in s)
        await screen.until(lambda s: "approve asks: Ship it?" in s)
        screen.press("i")
        screen.type("yes")
        await screen.until(lambda s: "answer> yes" in s)
        screen.press("Enter")
        assert await screen.exit_status() == 0
        final = screen.screen()
        assert "completed" in final and "ship: shipped" in final, final
        view = await operator.wait(run.execution_id, timeout=10)
    assert view.status == "completed"
    paused = [e for e in seen.events() if isinstance(e, (ws.ExecutionPaused, ws.ExecutionResumed))]
    assert [type(e) for e in paused] == [ws.ExecutionPaused, ws.ExecutionResumed]


def status(view: Any) -> str | None:
    return getattr(view, "status", None)


def workflow_file(
    tmp_path: Path, spec: ws.WorkflowSpec | dict[str, Any], name: str = "wf.json"
) -> Path:
    path = tmp_path / name
    path.write_bytes(msgspec.json.encode(spec))
    return path


def test_run_a_failing_workflow_exits_1_with_plain_lines_when_piped(
    server: ServerProcess, tmp_path: Path
) -> None:
    result = flowwire("run", str(workflow_file(tmp_path, SAMPLES["failing"])), server.url())
    assert result.returncode == 1, result.stdout + result.stderr
    assert ESC not in result.stdout + result.stderr, "no escape codes in a pipe"
    assert "node.status" in result.stdout and "transform failed #2" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("failed: schema mismatch in column 'price'")


def test_run_exits_0_3_by_outcome_and_reads_yaml(server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        "workflow:\n  id: tiny\n  nodes:\n    - {id: a, kind: log, params: {message: hi}}\n"
        "inputs: {day: monday}\n"
    )
    result = flowwire("run", str(path), server.url())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith("completed")


async def test_run_checks_the_structure_first_with_the_servers_messages(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = {
        "id": "w",
        "nodes": [{"id": "load", "kind": "log"}],
        "edges": [{"source": "load", "target": "lod"}],
    }
    result = flowwire("run", str(workflow_file(tmp_path, spec)), "ws://127.0.0.1:9/unused")
    assert result.returncode == 1
    async with Recorder().client(server.url()) as client:
        with pytest.raises(CommandError) as refused:
            await client.execute(spec, subscribe=False)
    assert refused.value.path == "$.workflow.edges[0].target"
    message = refused.value.message.removeprefix("$.workflow")
    assert f"wf.json: ${message}" in result.stderr, (result.stderr, message)
    bad_kind = {"id": "w", "nodes": [{"id": "a", "kind": "teleport"}]}
    result = flowwire("run", str(workflow_file(tmp_path, bad_kind, "k.json")), server.url())
    assert result.returncode == 1
    assert "refused: invalid_workflow at $.workflow.nodes[0].kind" in result.stderr


def test_tail_json_lines_are_valid_server_frames(
    server: ServerProcess, server_validator: Draft202012Validator
) -> None:
    tail = subprocess.Popen(
        [*FLOWWIRE, "tail", server.url(), "--topic", "workflow:llm", "--json", "--count", "12"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=ROOT,
    )
    try:
        assert tail.stdout is not None
        first = json.loads(tail.stdout.readline())  # subscribed: its reset comes first
        assert (
            first["type"] == "reply"
            and first["data"]["topics"]["workflow:llm"]["recovered"] is False
        )
        asyncio_run_llm(server)
        out, err = tail.communicate(timeout=30)
    finally:
        tail.kill()
    lines = [first, *(json.loads(line) for line in out.splitlines())]
    assert tail.returncode == 0, err
    assert ESC not in out
    for frame in lines:
        errors = list(server_validator.iter_errors(frame))
        assert not errors, (frame, errors[0].message)
    assert [f["seq"] for f in lines if "seq" in f] == list(range(1, 13))


def asyncio_run_llm(server: ServerProcess) -> None:
    import asyncio

    async def run() -> None:
        async with Recorder().client(server.url()) as client:
            await client.execute(SAMPLES["llm"], subscribe=False)

    asyncio.run(run())


def test_publish_prints_positions_or_the_servers_error(server: ServerProcess) -> None:
    event = {
        "type": "node.status",
        "workflow_id": "w",
        "execution_id": "e",
        "node_id": "n",
        "status": "running",
    }
    ok = flowwire(
        "publish", server.url(), "--api-key", "test-key", "-", stdin=json.dumps(event).encode()
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"topic": "workflow:w", "seq": 1}
    bad = flowwire(
        "publish",
        server.url(),
        "--api-key",
        "test-key",
        "-",
        stdin=json.dumps({**event, "status": "teleported"}).encode(),
    )
    assert bad.returncode == 1
    assert "HTTP 400 invalid_frame: $.status: invalid enum value 'teleported'" in bad.stderr
    wrong = flowwire(
        "publish", server.url(), "--api-key", "nope", "-", stdin=json.dumps(event).encode()
    )
    assert wrong.returncode == 1
    assert "HTTP 401 unauthorized: send `Authorization: Bearer <api_key>`" in wrong.stderr


async def test_no_color_on_a_terminal_gives_plain_lines(
    server: ServerProcess, tmp_path: Path
) -> None:
    path = workflow_file(tmp_path, SAMPLES["legacy"])
    screen = Terminal(
        tmp_path,
        [*FLOWWIRE, "run", str(path), server.url(), "--watch"],
        {"PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "NO_COLOR": "1"},
    )
    try:
        assert await screen.exit_status() == 0
        shown = screen.screen()
    finally:
        screen.close()
    lines = shown.split("[flowwire exited", 1)[0].strip().splitlines()
    assert "#1 execution.started" in shown and lines[-1].endswith("completed"), shown
    assert "keys:" not in shown, "no live view"
