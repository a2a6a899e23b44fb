"""The generated schemas mean the same to every validator: ajv (draft 2020-12, strict mode, as
a JavaScript user would compile them) and Python's `jsonschema` compile all three, and judge a
corpus of valid and invalid frames the same way; the bundle's root is one frame of either
direction, nothing else."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest
from jsonschema import Draft202012Validator

from tests import tools
from tests.conftest import ROOT, SCHEMAS
from tests.protocol.examples import CLIENT_FRAMES, SERVER_FRAMES

pytestmark = [pytest.mark.node]

FILES = ["server-frame.schema.json", "client-frame.schema.json", "flowwire.schema.json"]
SERVER = [msgspec.to_builtins(frame) for frame in SERVER_FRAMES]
CLIENT = [msgspec.to_builtins(frame) for frame in CLIENT_FRAMES]


def broken(frames: list[dict[str, Any]]) -> list[Any]:
    """Each valid frame broken in the ways clients and servers get frames wrong."""
    out: list[Any] = []
    for frame in frames:
        extra = {**frame, "unexpected": 1}
        untyped = {k: v for k, v in frame.items() if k != "type"}
        retyped = {**frame, "type": "no.such.frame"}
        out += [extra, untyped, retyped]
        for key, value in frame.items():
            if key != "type":
                wrong = copy.deepcopy(frame)
                wrong[key] = [value] if not isinstance(value, list) else "not a list"
                out.append(wrong)
                break
    return out


NOT_FRAMES: list[Any] = [None, 42, "ping", [], [{"type": "ping"}], {}, {"type": 7}, True]


def corpus() -> list[tuple[str, Any]]:
    """(schema file, frame) pairs: every valid frame against every schema, and the broken ones."""
    frames = SERVER + CLIENT + broken(SERVER) + broken(CLIENT) + NOT_FRAMES
    return [(name, frame) for name in FILES for frame in frames]


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def ajv(corpus_path: Path) -> dict[str, Any]:
    tools.node_package("ajv")
    result = subprocess.run(
        [
            tools.node(),
            "tests/js/ajv_check.mjs",
            str(corpus_path),
            *[str(SCHEMAS / f) for f in FILES],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stderr == "" or result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_ajv_strict_and_jsonschema_compile_all_three_and_agree_on_every_frame(
    tmp_path: Path,
) -> None:
    for name in FILES:
        Draft202012Validator.check_schema(schema(name))
    pairs = corpus()
    path = tmp_path / "corpus.json"
    path.write_text(json.dumps([{"schema": name, "frame": frame} for name, frame in pairs]))
    report = ajv(path)
    assert report["errors"] == {}, report["errors"]
    assert sorted(report["compiled"]) == sorted(FILES)
    validators = {name: Draft202012Validator(schema(name)) for name in FILES}
    python = [validators[name].is_valid(frame) for name, frame in pairs]
    disagreements = [
        (name, frame, js)
        for (name, frame), js, py in zip(pairs, report["verdicts"], python, strict=True)
        if js != py
    ]
    assert disagreements == []
    # The corpus is not trivial: both verdicts occur under every schema.
    for name in FILES:
        verdicts = {v for (n, _), v in zip(pairs, python, strict=True) if n == name}
        assert verdicts == {True, False}, name


def test_each_schema_takes_its_own_frames_and_the_bundle_takes_one_frame_of_either() -> None:
    server, client, bundle = (Draft202012Validator(schema(name)) for name in FILES)
    assert all(server.is_valid(frame) for frame in SERVER)
    assert all(client.is_valid(frame) for frame in CLIENT)
    assert all(bundle.is_valid(frame) for frame in SERVER + CLIENT)
    assert not any(bundle.is_valid(frame) for frame in NOT_FRAMES)
    assert not any(bundle.is_valid(frame) for frame in broken(SERVER) + broken(CLIENT))
    subscribe = next(f for f in CLIENT if f["type"] == "subscribe")
    welcome = next(f for f in SERVER if f["type"] == "welcome")
    assert not server.is_valid(subscribe)
    assert not client.is_valid(welcome)
