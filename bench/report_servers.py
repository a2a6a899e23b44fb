"""Section 12 of docs/benchmarks.md: the server matrix (bench/servers.py), its target and
the server it recommends, with the numbers behind the choice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from bench import plots

Table = Callable[[list[str], list[list[Any]]], list[str]]

LIMIT = 1.2
"""flowwire against its own server's raw floor, CPU per delivery and memory per connection."""

DESCRIPTIONS = {
    "uvicorn-sansio": "uvicorn, `--ws websockets-sansio`, uvloop",
    "uvicorn-wsproto": "uvicorn, `--ws wsproto`, uvloop",
    "hypercorn": "hypercorn, `--workers 0 --worker-class uvloop`",
    "daphne": "daphne (Twisted, asyncio reactor)",
    "granian": "granian (Rust), embedded server, one worker, uvloop",
}


def recommend(measured: dict[str, dict[str, float]]) -> str | None:
    """The server on which flowwire costs the least CPU per delivery, among those that
    ran both halves of the matrix."""
    if not measured:
        return None
    return min(measured, key=lambda server: measured[server]["flowwire_us"])


class Report(Protocol):
    """What the section needs of bench/report.py's Report."""

    plots_dir: Path

    def image(self, name: str, alt: str) -> str: ...

    def target(self, goal: str, measured: str, met: bool | None, why: str = "") -> None: ...


def section(data: dict[str, Any], report: Report, table: Table) -> list[str]:
    plots_dir, image, target = report.plots_dir, report.image, report.target
    fanout, memory = data["fanout"], data["memory"]
    first = next(iter(fanout.get("servers", {}).values()), {})
    reps = len(first.get("raw", {}).get("bursts", []))
    out = [
        "## 12. Every ASGI server",
        "",
        "flowwire and the raw ASGI floor (section 2) on each server, one server after the "
        "other: its two processes at once on the server core, "
        f"{fanout['clients']:,} clients each, bursts of {fanout['events_per_burst']:,} events "
        f"interleaved between them, {reps} each, medians compared. Memory: one process at "
        f"a time, RSS after {memory['clients']:,} more idle connections minus before, "
        "divided by their number. "
        "Each flowwire is compared with the floor on its own server.",
        "",
    ]
    measured: dict[str, dict[str, float]] = {}
    rows = []
    for server, apps in fanout.get("servers", {}).items():
        mem = memory["servers"].get(server, {})
        if "raw" not in apps or "flowwire" not in apps or set(mem) != {"raw", "flowwire"}:
            continue
        raw, flowwire = apps["raw"], apps["flowwire"]
        raw_kib, fw_kib = mem["raw"]["kib_per_connection"], mem["flowwire"]["kib_per_connection"]
        measured[server] = {
            "raw_us": raw["us_per_delivery"],
            "flowwire_us": flowwire["us_per_delivery"],
            "cpu_ratio": flowwire["us_per_delivery"] / raw["us_per_delivery"],
            "raw_kib": raw_kib,
            "flowwire_kib": fw_kib,
            "kib_ratio": fw_kib / raw_kib if raw_kib > 0 else float("inf"),
            "deliveries_per_s": flowwire["deliveries_per_s"],
        }
        m = measured[server]
        bound = raw["client_bound_runs"] + flowwire["client_bound_runs"]
        runs = len(raw["bursts"]) + len(flowwire["bursts"])
        rows.append(
            [
                DESCRIPTIONS.get(server, server),
                m["raw_us"],
                m["flowwire_us"],
                f"{m['cpu_ratio']:.2f}",
                int(m["deliveries_per_s"]),
                m["raw_kib"],
                m["flowwire_kib"],
                f"{m['kib_ratio']:.2f}",
                f"{bound}/{runs}",
            ]
        )
    out += table(
        [
            "server",
            "floor µs/delivery",
            "flowwire µs/delivery",
            "× its floor",
            "flowwire deliveries/s",
            "floor KiB/conn",
            "flowwire KiB/conn",
            "× its floor",
            "client-bound runs",
        ],
        rows,
    )
    failed = {**fanout.get("failed", {}), **memory.get("failed", {})}
    if failed:
        out += ["**Servers that could not run the matrix**", ""]
        out += table(["server", "error"], [[s, f"`{e}`"] for s, e in failed.items()])
    if measured:
        name = plots.grouped_bars(
            plots_dir / "servers-cpu.png",
            list(measured),
            {
                "raw": [m["raw_us"] for m in measured.values()],
                "flowwire": [m["flowwire_us"] for m in measured.values()],
            },
            title="server CPU per delivery, on each server",
            ylabel="µs per delivery",
        )
        out.append(image(name, "CPU per delivery on each server"))
    best = recommend(measured)
    if best is not None:
        m = measured[best]
        others = ", ".join(
            f"{server} {o['flowwire_us']:.1f} µs"
            for server, o in measured.items()
            if server != best
        )
        out += [
            f"**Recommended: {DESCRIPTIONS.get(best, best)}.** flowwire on it spent "
            f"{m['flowwire_us']:.1f} µs of server CPU per delivery, the least of the servers "
            f"measured ({others}), {m['deliveries_per_s']:,.0f} deliveries/s from one process, "
            f"and {m['flowwire_kib']:.1f} KiB per idle connection.",
            "",
        ]
    cpu_worst = max((m["cpu_ratio"] for m in measured.values()), default=float("nan"))
    kib_worst = max((m["kib_ratio"] for m in measured.values()), default=float("nan"))
    met = bool(measured) and not failed and cpu_worst <= LIMIT and kib_worst <= LIMIT
    target(
        f"Fan-out and memory ≤ {LIMIT}× each ASGI server's own floor (uvicorn websockets-sansio "
        "and wsproto, hypercorn, granian, daphne)",
        "; ".join(
            f"{server} {m['cpu_ratio']:.2f}× CPU, {m['kib_ratio']:.2f}× KiB"
            for server, m in measured.items()
        )
        + ("; could not run: " + ", ".join(failed) if failed else ""),
        met,
        "" if met else why(measured),
    )
    return out


def why(measured: dict[str, dict[str, float]]) -> str:
    """What the numbers say about each ratio over the limit (and a floor under flowwire)."""
    parts = []
    over = {s: m for s, m in measured.items() if m["cpu_ratio"] > LIMIT}
    if over:
        parts.append(
            "CPU: flowwire's own work per delivery (the subscription's filters, the "
            "writer's bookkeeping, one ASGI message per send) costs "
            + ", ".join(
                f"+{m['flowwire_us'] - m['raw_us']:.1f} µs over a {m['raw_us']:.1f} µs floor on {s}"
                for s, m in over.items()
            )
            + "; the cheaper the server's own floor, the larger the ratio."
        )
    under = [s for s, m in measured.items() if m["cpu_ratio"] < 1]
    if under:
        parts.append(
            f"On {', '.join(under)} the floor costs more than flowwire: it awaits each "
            "socket's `send` in turn, each a future the server's Rust runtime completes "
            "(most likely a loop wake-up per send), while flowwire hands every socket its frame "
            "without waiting "
            "(a send that has to wait finishes in the connection's writer)."
        )
    extra = [m["flowwire_kib"] - m["raw_kib"] for m in measured.values()]
    if any(m["kib_ratio"] > LIMIT for m in measured.values()):
        parts.append(
            f"Memory: flowwire adds {min(extra):.1f} to {max(extra):.1f} KiB per idle "
            "connection on every server (its connection, session, subscription and ASGI "
            "coroutines, section 4), more than 1.2× the Python servers' own "
            "17 to 20 KiB."
        )
    return " ".join(parts)
