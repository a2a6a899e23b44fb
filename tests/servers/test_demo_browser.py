"""The demo page in a real browser (headless Chromium, driven by playwright-core)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import tools
from tests.conftest import ROOT
from tests.servers.harness import ServerProcess

Start = Callable[..., ServerProcess]


pytestmark = [pytest.mark.browser, pytest.mark.node]


def test_demo_page_in_chromium(start_server: Start, tmp_path: Path) -> None:
    tools.node_package("playwright-core")
    chromium = tools.chromium()
    server = start_server("uvicorn-sansio", "tests.servers.apps:demo")
    screenshot = tmp_path / "demo.png"
    result = subprocess.run(
        [tools.node(), "tests/js/demo_browser.mjs", server.http_url("/"), str(screenshot)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"CHROMIUM": chromium, "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = json.loads(result.stdout)
    assert page["errors"] == []
    assert page["connection"].startswith("connected · flowwire/")
    assert page["samples"] == ["parallel", "llm", "failing", "approval", "legacy"]
    assert page["llm"]["nodes"] == [
        ["plan", "succeeded"],
        ["draft", "succeeded"],
        ["review", "succeeded"],
    ]
    assert page["llm"]["draft"].startswith("flowwire streams every token")
    assert page["llm"]["percent"] == "100%"
    assert page["prompt"] == "Ship release 1.2 to production?"
    assert page["approval"] == [
        ["prepare", "succeeded"],
        ["approve", "succeeded"],
        ["ship", "succeeded"],
    ]
    paused = dict(page["whilePaused"])
    assert (
        paused["fetch"] == "succeeded"
        and paused["clean"] == "pending"
        and paused["enrich"] == "pending"
    )
    assert page["runs"] == [
        "LLM agent · completed",
        "Waits for input · completed",
        "Parallel branches · completed",
    ]
    assert screenshot.stat().st_size > 10_000
