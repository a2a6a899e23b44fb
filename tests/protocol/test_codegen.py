"""Generated files: deterministic, checked for staleness, extended by app events, and accepted
by the TypeScript compiler and the official AsyncAPI parser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import flowwire_codegen as codegen
import wsproto_schema as ws
from tests import tools
from tests.conftest import ROOT, SCHEMAS
from wsproto_schema.json_schema import tag_map


def run(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_committed_schemas_are_current() -> None:
    result = run(sys.executable, "-m", "codegen", "--check")
    assert result.returncode == 0, result.stderr
    assert f"up to date: {len(codegen.ARTIFACTS)} files" in result.stdout


def test_render_is_deterministic_across_processes() -> None:
    first = codegen.render()
    result = run(
        sys.executable,
        "-c",
        "import json, codegen; print(json.dumps(codegen.render()))",
        env={"PYTHONHASHSEED": "12345"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == first
    assert list(first) == list(codegen.ARTIFACTS)


def test_check_names_every_stale_file(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, out)
    (out / "flowwire.ts").write_text("// hand-edited\n")
    (out / "asyncapi.json").unlink()
    result = run(sys.executable, "-m", "codegen", "--check", "--out", str(out))
    assert result.returncode == 1
    assert f"stale: {out / 'flowwire.ts'}" in result.stderr
    assert f"missing: {out / 'asyncapi.json'}" in result.stderr
    assert "server-frame" not in result.stderr
    result = run(sys.executable, "-m", "codegen", "--out", str(out))
    assert result.returncode == 0
    assert "wrote: " in result.stdout and "unchanged: " in result.stdout
    assert run(sys.executable, "-m", "codegen", "--check", "--out", str(out)).returncode == 0


def test_installed_command_works_outside_the_checkout(tmp_path: Path) -> None:
    flowwire = Path(sys.executable).parent / "flowwire"
    result = run(str(flowwire), "codegen", "--out", str(tmp_path / "gen"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in codegen.ARTIFACTS:
        assert (tmp_path / "gen" / name).read_text() == (SCHEMAS / name).read_text()
    # The installed distribution must not claim the top-level name `codegen`.
    probe = "import importlib.util as u; print(u.find_spec('codegen'), u.find_spec('flowwire_codegen') is not None)"
    result = run(sys.executable, "-c", probe, cwd=tmp_path)
    assert result.stdout.split() == ["None", "True"]


@pytest.fixture(scope="module")
def app_schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("app") / "generated"
    result = run(
        sys.executable, "-m", "codegen", "--module", "tests.protocol.app_events", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    return out


def test_app_events_appear_in_json_schema(app_schemas: Path) -> None:
    bundle = json.loads((app_schemas / "flowwire.schema.json").read_text())
    session = bundle["$defs"]["SessionUpdate"]
    assert session["properties"]["type"] == {"const": "session.update"}
    assert session["properties"]["status"] == {"$ref": "#/$defs/SessionStatus"}
    assert set(session["required"]) >= {"type", "topic", "seq", "ts", "session_id", "status"}
    server = json.loads((app_schemas / "server-frame.schema.json").read_text())
    assert {"$ref": "#/$defs/TaskUpdate"} in server["oneOf"]
    assert tag_map(server, server["$defs"])["task.update"] == "TaskUpdate"
    assert "session.update" in bundle["$defs"]["StreamEvent"]["properties"]["type"]["enum"]
    # The built-in files are untouched by an app's generation.
    assert run(sys.executable, "-m", "codegen", "--check").returncode == 0


@pytest.mark.node
def test_app_events_appear_in_typescript(app_schemas: Path, tmp_path: Path) -> None:
    ts = (app_schemas / "flowwire.ts").read_text()
    assert 'export type SessionStatus = "running" | "completed" | "failed" | "paused";' in ts
    assert 'export interface SessionUpdate {\n  type: "session.update";' in ts
    assert "  | SessionUpdate\n" in ts and "export function isTaskUpdate(" in ts
    usage = tmp_path / "app.ts"
    usage.write_text(
        'import { isSessionUpdate, type StreamEvent } from "./flowwire";\n'
        "export function done(e: StreamEvent): boolean {\n"
        '  return isSessionUpdate(e) && e.status === "completed" && e.total_tasks === e.completed_tasks;\n'
        "}\n"
    )
    shutil.copy(app_schemas / "flowwire.ts", tmp_path / "flowwire.ts")
    result = run(
        tools.node_tool("tsc"),
        "--strict",
        "--noEmit",
        "--target",
        "es2022",
        "--module",
        "esnext",
        "--moduleResolution",
        "bundler",
        str(usage),
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.node
def test_typescript_compiles_strict() -> None:
    result = run(tools.node_tool("tsc"), "-p", "tests/ts/tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.node
def test_typescript_rejects_a_misspelt_field(tmp_path: Path) -> None:
    """The point of generated types: seed 003's `event`-for-`type` bug does not compile."""
    bad = tmp_path / "bad.ts"
    shutil.copy(SCHEMAS / "flowwire.ts", tmp_path / "flowwire.ts")
    bad.write_text(
        'import type { ClientFrame } from "./flowwire";\n'
        'export const frame: ClientFrame = { event: "subscribe", topics: ["a"] };\n'
    )
    result = run(tools.node_tool("tsc"), "--strict", "--noEmit", str(bad))
    assert result.returncode != 0
    assert "event" in result.stdout


@pytest.mark.node
def test_asyncapi_parser_accepts_the_document() -> None:
    node = tools.node()
    tools.node_package("@asyncapi/parser")
    if not (ROOT / "node_modules" / "@asyncapi" / "parser").exists():
        pytest.fail("@asyncapi/parser is missing: run `npm ci` (the test script does)")
    result = run(node, "tests/js/parse_asyncapi.mjs", "schemas/asyncapi.json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == []
    frames = len(ws.registry.server_frames()) + len(ws.registry.client_frames())
    assert report["summary"] == {
        "version": "3.0.0",
        "channels": 1,
        "operations": 2 + len(ws.registry.client_frames()),
        "messages": frames,
    }


def test_asyncapi_payloads_are_the_json_schemas() -> None:
    doc = json.loads((SCHEMAS / "asyncapi.json").read_text())
    bundle = json.loads((SCHEMAS / "flowwire.schema.json").read_text())
    for name, schema in doc["components"]["schemas"].items():
        original = json.dumps(bundle["$defs"][name]).replace("#/$defs/", "#/components/schemas/")
        assert json.dumps(schema) == original
    for name, message in doc["components"]["messages"].items():
        assert message["payload"] == {"$ref": f"#/components/schemas/{name}"}
