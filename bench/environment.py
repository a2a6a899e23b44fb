"""The machine and the versions a run measured, for the report."""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from typing import Any

from bench.server import pinned

PACKAGES = [
    "flowwire",
    "msgspec",
    "uvicorn",
    "websockets",
    "wsproto",
    "hypercorn",
    "daphne",
    "twisted",
    "granian",
    "uvloop",
    "starlette",
    "python-socketio",
    "python-engineio",
    "broadcaster",
    "pydantic",
    "jsonschema",
    "redis",
]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float:
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
        return round(kib / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return float("nan")


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def redis_version() -> str:
    if not shutil.which("redis-server"):
        return "not installed"
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    return next((part[2:] for part in out.split() if part.startswith("v=")), out.strip())


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def provenance() -> dict[str, Any]:
    """When a benchmark ran, on which code, and how busy the machine was as it began."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    git = ["git", "-C", root]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    # The report and its plots are rewritten by every run: not a change to the code.
    status = [*git, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/bench*"]
    dirty = subprocess.run(status, capture_output=True, text=True)
    return {
        "date": _now(),
        "commit": (commit.stdout.strip() or "unknown")
        + ("+changes" if dirty.stdout.strip() else ""),
        "load": round(os.getloadavg()[0], 2),
    }


def describe(quick: bool) -> dict[str, Any]:
    return {
        "date": _now(),
        "quick": quick,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "pinned": pinned(),
        "memory_gib": memory_gib(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "server": "uvicorn --ws websockets-sansio, uvloop, one process",
        "packages": {package: version(package) for package in PACKAGES},
        "redis-server": redis_version(),
    }
