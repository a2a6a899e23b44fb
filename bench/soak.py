"""The fault-injection run, long: `python -m bench.soak [--seconds 300] [--modes rdb,none]`.

The same run as tests/faults (two app processes on a real redis-server; Redis
and the apps killed, clients dropped, while events flow), for as long as you
like, in each Redis persistence mode. It prints one line per mode and writes
bench/results/soak.json. It is not timed: it counts what was lost,
duplicated or reordered, which must be nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.server import ROOT
from tests.faults.harness import PERSISTENCE, run_faults
from tests.servers.harness import ServerProcess


async def soak(modes: list[str], seconds: float, subscribers: int) -> list[dict[str, Any]]:
    results = []
    for mode in modes:
        directory = Path(tempfile.mkdtemp(prefix=f"fw-soak-{mode}-"))
        started: list[ServerProcess] = []
        start_server = _starter(directory, started)
        try:
            report = await run_faults(
                mode, directory, start_server, seconds=seconds, subscribers=subscribers
            )
        finally:
            for process in started:
                process.stop()
        print(report.line(), flush=True)
        for kind in ("lost", "duplicates", "out_of_order"):
            lines = getattr(report, kind)
            if lines:
                print(f"  {kind} (the first 10 of {len(lines)}):", *lines[:10], sep="\n    ")
        for name, journal in report.journals.items():
            print(f"  {name}'s journal (the last 40 lines):", *journal[-40:], sep="\n    ")
        results.append({**asdict(report), "ok": report.ok, "seconds": seconds})
    return results


def _starter(directory: Path, started: list[ServerProcess]) -> Callable[..., ServerProcess]:
    """What the tests' `start_server` fixture does: start, and remember for the stop."""

    def start_server(server: str, app: str, **env: str) -> ServerProcess:
        process = ServerProcess(server, app, directory / f"{server}-{len(started)}.log", env)
        started.append(process)
        return process.start()

    return start_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=300.0, help="per mode (300)")
    parser.add_argument("--modes", default=",".join(PERSISTENCE), help="Redis persistence modes")
    parser.add_argument("--subscribers", type=int, default=8)
    args = parser.parse_args(argv)
    results = asyncio.run(soak(args.modes.split(","), args.seconds, args.subscribers))
    out = ROOT / "bench" / "results" / "soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    if not all(r["ok"] for r in results):
        raise SystemExit("the soak found lost, duplicated or reordered events: see above")


if __name__ == "__main__":
    main()
