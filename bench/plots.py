"""PNG plots of the results (matplotlib, Agg: no screen needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLORS = {
    "raw": "#888888",
    "raw floor": "#888888",
    "flowwire": "#1f77b4",
    "flowwire + batch": "#17becf",
    "flowwire JSON": "#1f77b4",
    "flowwire MessagePack": "#17becf",
    "manager": "#ff7f0e",
    "socketio": "#d62728",
    "broadcaster": "#9467bd",
    "pydantic v2": "#e377c2",
    "json + jsonschema": "#8c564b",
    "json": "#8c564b",
    "memory": "#1f77b4",
    "redis": "#d62728",
}


def _save(figure: Any, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name


def grouped_bars(
    path: Path,
    groups: list[str],
    series: dict[str, list[float]],
    *,
    title: str,
    ylabel: str,
    log: bool = False,
) -> str:
    figure, axes = plt.subplots(figsize=(8, 4.2))
    width = 0.8 / max(1, len(series))
    for index, (name, values) in enumerate(series.items()):
        positions = [g + (index - (len(series) - 1) / 2) * width for g in range(len(groups))]
        axes.bar(positions, values, width, label=name, color=COLORS.get(name))
    axes.set_xticks(range(len(groups)), groups)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    if log:
        axes.set_yscale("log")
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def lines(
    path: Path,
    series: dict[str, tuple[list[float], list[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    ymin: float | None = 0,
) -> str:
    figure, axes = plt.subplots(figsize=(8, 4.2))
    for name, (xs, ys) in series.items():
        axes.plot(
            xs, ys, marker="o", markersize=3, label=name, color=COLORS.get(name.split(" (")[0])
        )
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    if logx:
        axes.set_xscale("log")
    if ymin is not None:
        axes.set_ylim(bottom=ymin)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def slow_timelines(path: Path, results: dict[str, Any]) -> str:
    """Server RSS and healthy clients' p99 over time, with a frozen client, per app."""
    figure, (rss, p99) = plt.subplots(1, 2, figsize=(11, 4.2))
    for app, runs in results.items():
        for case, style in (("baseline", ":"), ("frozen", "-")):
            timeline = runs[case]["timeline"]
            times = [point["t"] for point in timeline]
            color = COLORS.get(app)
            label = f"{app} ({case})"
            rss.plot(times, [p["rss_mib"] for p in timeline], style, color=color, label=label)
            points = [(p["t"], p["p99_ms"]) for p in timeline if p["p99_ms"] is not None]
            if points:
                p99.plot(*zip(*points, strict=True), style, color=color, label=label)
    rss.set_title("server RSS")
    rss.set_xlabel("seconds")
    rss.set_ylabel("MiB")
    p99.set_title("healthy clients' p99 (per 0.5 s window)")
    p99.set_xlabel("seconds")
    p99.set_ylabel("ms")
    p99.set_yscale("log")
    for axes in (rss, p99):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    return _save(figure, path)
