"""Every benchmark at tiny size, so that none of them rots: `python -m bench --quick`
in a subprocess (it pins itself to a core), then the results and the report.

Not a timing test: it asserts that each benchmark ran against every contender and
that every client received what was published, never how fast."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import parse
from bench.idle import NO_SERVER_PINGS
from bench.server import SERVERS
from tests import tools

pytestmark = [pytest.mark.timeout(320), pytest.mark.slow, pytest.mark.redis, pytest.mark.node]

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = {"raw", "flowwire", "manager", "socketio", "broadcaster"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tools.node()  # the bundle benchmark bundles with esbuild
    tools.node_package("esbuild")
    tools.node_package("playwright-core")  # the dashboard benchmark drives Chromium
    tools.chromium()
    out = tmp_path_factory.mktemp("bench")
    command = [
        sys.executable,
        "-m",
        "bench",
        "--quick",
        "--results",
        str(out / "results"),
        "--report",
        str(out / "benchmarks.md"),
        "--plots",
        str(out / "plots"),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (out / "stderr.txt").write_text(done.stderr)
    return out


def result(run: Path, name: str) -> dict:
    return json.loads((run / "results" / f"{name}.json").read_text())


def test_fanout_reaches_every_client_of_every_server(quick_run: Path) -> None:
    sizes = result(quick_run, "fanout")
    for clients, servers in sizes.items():
        assert set(servers) == CONTENDERS
        for server in servers.values():
            for burst in server["bursts"]:
                assert burst["received"] == burst["events"] * int(clients)
                assert burst["server_cpu_s"] > 0
            assert server["p50_ms"] > 0


def test_every_server_runs_flowwire_and_its_floor(quick_run: Path) -> None:
    matrix = result(quick_run, "servers")
    fanout, memory = matrix["fanout"], matrix["memory"]
    assert fanout["failed"] == {} and memory["failed"] == {}
    assert list(fanout["servers"]) == list(memory["servers"]) == SERVERS
    for server, apps in fanout["servers"].items():
        assert set(apps) == {"raw", "flowwire"}, server
        for app, measured in apps.items():
            for burst in measured["bursts"]:
                assert burst["received"] == burst["events"] * fanout["clients"], (server, app)
                assert burst["server_cpu_s"] > 0
    for server, apps in memory["servers"].items():
        assert set(apps) == {"raw", "flowwire"}, server
        assert all(measured["rss_mib"] > 0 for measured in apps.values())


def test_codec_times_every_contender(quick_run: Path) -> None:
    codec = result(quick_run, "codec")
    assert set(codec["decode"]) == {"subscribe", "control", "execute"}
    for times in [*codec["decode"].values(), *codec["encode"].values()]:
        assert {"flowwire JSON", "flowwire MessagePack", "msgspec alone", "pydantic v2"} <= set(
            times
        )
        assert all(ns > 0 for ns in times.values())


def test_scale_memory_slow_redis_batch_ran(quick_run: Path) -> None:
    assert [p["connections"] for p in result(quick_run, "scale")["points"]] == [10, 30]
    memory = result(quick_run, "memory")
    assert set(memory["deflate_off"]) == set(memory["deflate_on"]) == CONTENDERS
    slow = result(quick_run, "slow")["results"]
    for runs in slow.values():
        assert runs["baseline"]["delivered"] == 1.0
        assert runs["frozen"]["delivered"] == 1.0
    redis = result(quick_run, "redis")
    assert redis["redis"]["p50_ms"] > 0 and redis["memory"]["p50_ms"] > 0
    batch = result(quick_run, "batch")
    assert set(batch["us_per_event"]) == {"raw floor", "flowwire", "flowwire + batch"}
    # Counted by the clients, events inside batch frames included: every one arrived.
    for counts in batch["received"].values():
        assert counts == [batch["events"] * batch["clients"]] * len(counts)


def test_idle_connections_stay_answered_and_every_one_gets_the_event(quick_run: Path) -> None:
    idle = result(quick_run, "idle")
    assert idle["open_files_limit"] >= 1024
    for apps in idle["results"].values():
        assert set(apps) == {"raw", "flowwire", NO_SERVER_PINGS}
        for app, measured in apps.items():
            assert measured["dropped"] == 0, app
            assert measured["fanout_ms"] > 0 and measured["rss_mib"] > 0
        # Heartbeat every 0.5 s over a 1.2 s window: each client answered at least one.
        for app in ("flowwire", NO_SERVER_PINGS):
            assert apps[app]["pings_answered"] >= apps[app]["clients"], app


def test_each_benchmark_tells_its_steps_and_the_time_left(quick_run: Path) -> None:
    said = (quick_run / "stderr.txt").read_text()
    for name in ("codec", "fanout", "scale", "memory", "slow", "redis", "batch", "idle", "servers"):
        assert re.search(rf"{name} \[1/\d+\] .*about .* left", said), name


def test_a_quick_run_leaves_the_committed_report_alone() -> None:
    args = parse(["--quick"])
    assert args.report == ROOT / "bench" / "results-quick" / "benchmarks.md"
    assert args.plots.is_relative_to(ROOT / "bench" / "results-quick")
    assert args.results.is_relative_to(ROOT / "bench" / "results-quick")
    assert parse([]).report == ROOT / "docs" / "benchmarks.md"


def test_bundle_sizes_of_the_client_and_its_peers(quick_run: Path) -> None:
    bundles = result(quick_run, "bundle")["bundles"]
    assert set(bundles) >= {
        "@flowwire/client, JSON only (client + execution store)",
        "centrifuge (Centrifuge, JSON)",
        "socket.io-client (io)",
    }
    for sizes in bundles.values():
        assert sizes["installed"], "npm ci installs the peers"
        assert 0 < sizes["gzip_bytes"] < sizes["minified_bytes"]


def test_dashboard_renders_the_generated_graph_and_takes_every_event(quick_run: Path) -> None:
    dashboard = result(quick_run, "dashboard")
    assert (dashboard["nodes"], dashboard["events"]) == (30, 45)
    assert dashboard["first_render_ms"] > 0 and dashboard["per_event_us"] > 0
    assert 0 < dashboard["bundle"]["js_gzip_bytes"] < dashboard["bundle"]["js_bytes"]


def test_a_profile_costs_one_encode_per_event_not_per_connection(quick_run: Path) -> None:
    fanout = result(quick_run, "profiles")["fanout"]
    assert fanout["type-data profile"]["encodes_per_event"] == 1
    assert fanout["half JSON, half type-data"]["encodes_per_event"] == 2


def test_report_has_every_section_and_its_plots(quick_run: Path) -> None:
    report = (quick_run / "benchmarks.md").read_text()
    for heading in (
        "## Targets",
        "## 1. Codec",
        "## 2. Fan-out",
        "## 3. Scale",
        "## 4. Memory",
        "## 5. Slow consumer",
        "## 6. Through Redis",
        "## 7. Batch frames",
        "## 8. Client bundle size",
        "## 9. Dashboard",
        "## 10. Many idle connections",
        "## 11. Wire profiles",
        "## 12. Every ASGI server",
        "**Recommended:",
        "## Machine and versions",
        "## Reproduce",
        "`--quick` run",
    ):
        assert heading in report
    assert "not run" not in report
    for image in ("codec-decode", "fanout-cpu", "scale", "memory", "slow", "servers-cpu"):
        png = quick_run / "plots" / f"{image}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"plots/{image}.png" in report
