"""The dashboard with a generated workflow of hundreds of nodes, in headless Chromium
(bench/dashboard_browser.mjs): time to first render for a page opened mid-run, the main
thread's time per event while the run streams, the longest task meanwhile; and the size of
what the server ships for it."""

from __future__ import annotations

import gzip
import json
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.server import ROOT
from tests.servers.harness import ServerProcess

STATIC = ROOT / "asgi_plugin" / "transport" / "static"


def run(nodes: int = 300, reps: int = 3) -> dict[str, Any]:
    node = shutil.which("node")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if node is None or chromium is None:
        raise RuntimeError("the dashboard benchmark needs Node.js (npm ci) and Chromium")
    script = str(ROOT / "bench" / "dashboard_browser.mjs")
    with tempfile.TemporaryDirectory() as logs:
        server = ServerProcess(
            "uvicorn-sansio", "tests.servers.apps:client_app()", Path(logs) / "server.log"
        )
        server.start()
        try:
            done = subprocess.run(
                [node, script, str(server.port), str(nodes), str(reps)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
                env={"CHROMIUM": chromium, "PATH": "/usr/bin:/bin:/usr/local/bin"},
            )
        finally:
            server.stop()
    if done.returncode != 0:
        raise RuntimeError(f"bench/dashboard_browser.mjs failed:\n{done.stderr[-3000:]}")
    raw: dict[str, Any] = json.loads(done.stdout)
    result: dict[str, Any] = {"nodes": raw["nodes"], "edges": raw["edges"], "events": raw["events"]}
    for key in ("first_render_ms", "layout_ms", "per_event_us", "longest_task_ms"):
        result[key] = statistics.median(raw[key])
        result[f"{key}_all"] = raw[key]
    script = (STATIC / "dashboard.js").read_bytes()
    style = (STATIC / "dashboard.css").read_bytes()
    result["bundle"] = {
        "js_bytes": len(script),
        "js_gzip_bytes": len(gzip.compress(script, 9)),
        "css_bytes": len(style),
        "css_gzip_bytes": len(gzip.compress(style, 9)),
    }
    return result
