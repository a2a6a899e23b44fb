"""Run the benchmarks side by side and write the report.

    python -m bench                      # everything, full size (about 35 minutes)
    python -m bench --only fanout,codec  # some of them
    python -m bench --quick              # every benchmark at tiny size: does it still run?
    python -m bench --report-only        # re-render docs/benchmarks.md from saved results

Results go to `bench/results/<name>.json` (one file per benchmark, so a partial
run keeps the others; `runs.json` says when each ran, on which commit and load), the report to `docs/benchmarks.md` and its plots to
`docs/bench/`. A `--quick` run writes all three under `bench/results-quick/`
instead: its numbers say that the benchmarks run, not how fast anything is, so
it never touches the committed report. Each benchmark prints its steps as they
end, with about how long it has left.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    batch,
    bundle,
    codec,
    dashboard,
    fanout,
    idle,
    memory,
    profiles,
    redis_latency,
    scale,
    servers,
    slow,
)
from bench.environment import describe, provenance
from bench.procstat import raise_fd_limit
from bench.report import write_report
from bench.server import ROOT

BENCHMARKS: dict[str, Callable[..., Any]] = {
    "codec": codec.run,
    "fanout": fanout.run,
    "scale": scale.run,
    "memory": memory.run,
    "slow": slow.run,
    "redis": redis_latency.run,
    "batch": batch.run,
    "idle": idle.run,
    "bundle": bundle.run,
    "dashboard": dashboard.run,
    "profiles": profiles.run,
    "servers": servers.run,
}

QUICK: dict[str, dict[str, Any]] = {
    "codec": {"seconds": 0.002, "reps": 1},
    "fanout": {
        "sizes": (8,),
        "reps": 1,
        "burst_deliveries": 80,
        "rate_deliveries": 80,
        "latency_seconds": 0.2,
    },
    "scale": {"totals": (10, 30), "publishes": 20, "reps": 1},
    "memory": {"clients": 8, "pause": 0.1},
    "slow": {"clients": 8, "seconds": 0.5, "rate": 20, "pad": 200},
    "redis": {"clients": 5, "rate": 40, "seconds": 0.25, "reps": 1},
    "batch": {"clients": 8, "events": 20, "reps": 1},
    # A heartbeat every 0.5 s within the 1.2 s window: pings are answered, none dropped.
    "idle": {"sizes": (30,), "idle_seconds": 1.2, "heartbeat_ms": 500, "fanouts": 2},
    "bundle": {},  # sizes, not timings: the same at any size
    "dashboard": {"nodes": 30, "reps": 1},
    "profiles": {"clients": 10, "events": 5, "reps": 1},
    "servers": {
        "clients": 8,
        "reps": 1,
        "burst_deliveries": 80,
        "memory_clients": 8,
        "pause": 0.1,
    },
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--report-only", action="store_true", help="render saved results")
    parser.add_argument("--results", type=Path, help="default: bench/results")
    parser.add_argument("--report", type=Path, help="default: docs/benchmarks.md")
    parser.add_argument("--plots", type=Path, help="default: docs/bench")
    args = parser.parse_args(argv)
    quick = ROOT / "bench" / "results-quick"
    defaults = {
        "results": quick if args.quick else ROOT / "bench" / "results",
        "report": quick / "benchmarks.md" if args.quick else ROOT / "docs" / "benchmarks.md",
        "plots": quick / "plots" if args.quick else ROOT / "docs" / "bench",
    }
    for name, default in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    args.names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


async def run_one(name: str, quick: bool) -> Any:
    function = BENCHMARKS[name]
    options = QUICK[name] if quick else {}
    if inspect.iscoroutinefunction(function):
        return await function(**options)
    return function(**options)


async def run_all(args: argparse.Namespace) -> None:
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "environment.json").write_text(json.dumps(describe(args.quick), indent=1))
    runs_file = args.results / "runs.json"
    runs = json.loads(runs_file.read_text()) if runs_file.exists() else {}
    for name in args.names:
        print(f"== {name}", file=sys.stderr, flush=True)
        runs[name] = provenance()
        start = time.perf_counter()
        result = await run_one(name, args.quick)
        elapsed = time.perf_counter() - start
        (args.results / f"{name}.json").write_text(json.dumps(result, indent=1))
        runs_file.write_text(json.dumps(runs, indent=1))
        print(f"   {elapsed:.1f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if not args.report_only:
        raise_fd_limit()
        try:
            import uvloop

            runner: Any = uvloop.run
        except ImportError:
            runner = asyncio.run
        runner(run_all(args))
    write_report(args.results, args.report, args.plots)
    print(f"wrote {args.report} and plots in {args.plots}", file=sys.stderr)


if __name__ == "__main__":
    main()
