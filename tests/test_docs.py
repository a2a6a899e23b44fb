"""The docs are part of the product: their examples are checked like code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import wsproto_schema as ws
from tests import tools
from tests.conftest import ROOT, SCHEMAS
from wsproto_schema.contract import Contract

DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(path.read_text()) if lang == language]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_json_example_is_one_valid_frame(path: Path) -> None:
    contract = Contract.from_directory(SCHEMAS)
    for body in blocks(path, "json"):
        frame = json.loads(body)
        server, client = contract.violations("server", frame), contract.violations("client", frame)
        assert not (server and client), f"{path.name}: {frame}\n{server}\n{client}"


def test_protocol_doc_shows_every_frame_type() -> None:
    shown = {json.loads(b)["type"] for b in blocks(ROOT / "docs" / "protocol.md", "json")}
    every = {ws.frame_tag(c) for c in (*ws.registry.server_frames(), *ws.registry.client_frames())}
    assert every <= shown, f"no example of {sorted(every - shown)}"


@pytest.mark.node
def test_protocol_doc_typescript_compiles(tmp_path: Path) -> None:
    """The doc's browser client and snippets compile against the generated types."""
    tsc = tools.node_tool("tsc")
    (tmp_path / "generated").mkdir()
    shutil.copy(SCHEMAS / "flowwire.ts", tmp_path / "generated" / "flowwire.ts")
    files = []
    for index, body in enumerate(blocks(ROOT / "docs" / "protocol.md", "ts")):
        name = (
            "flowwire-client.ts" if "export class FlowwireClient" in body else f"snippet{index}.ts"
        )
        (tmp_path / name).write_text(body if "export " in body else body + "\nexport {};\n")
        files.append(name)
    assert "flowwire-client.ts" in files
    result = subprocess.run(
        [
            str(tsc),
            "--strict",
            "--noEmit",
            "--target",
            "es2022",
            "--module",
            "esnext",
            "--moduleResolution",
            "bundler",
            "--lib",
            "es2022,dom",
            *files,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_example_file_is_shown_verbatim_in_the_docs() -> None:
    """docs/mounting.md and docs/engine.md show the example files whole; they must not drift."""
    shown = [b for path in DOCS for b in blocks(path, "python")]
    examples = sorted(p for p in (ROOT / "examples").glob("*.py") if p.name != "__init__.py")
    assert len(examples) >= 8
    for example in examples:
        assert example.read_text() in shown, f"no doc shows the current {example.name}"


def test_the_options_table_lists_every_option_with_its_default() -> None:
    """docs/mounting.md's table and `Options` (with `OptionArgs`, its typed twin) agree."""
    import dataclasses
    import typing

    from asgi_plugin.transport.options import OptionArgs, Options

    text = (ROOT / "docs" / "mounting.md").read_text()
    table = text.split("## Options", 1)[1]
    rows = {
        cells[0].strip("` "): cells[1].strip("` ")
        for line in table.splitlines()
        if line.startswith("| `") and (cells := [c.strip() for c in line.strip("|").split("|")])
    }
    fields = {f.name: f.default for f in dataclasses.fields(Options)}
    assert set(rows) == set(fields)
    for name, default in fields.items():
        if name != "server_name":
            assert rows[name] == repr(default), name
    hints = typing.get_type_hints(Options)
    assert typing.get_type_hints(OptionArgs) == hints, "OptionArgs mirrors Options, type by type"
