"""Several worker processes with the memory broker: refused at startup.

Each worker process of `uvicorn --workers 4` (or gunicorn, or hypercorn) has its
own memory broker: its own seq numbers, its own history, its own subscribers. A
client then gets only the events published in the worker it happens to be
connected to, and two workers hand out the same seq numbers. Nothing on the
wire shows it. Several workers need a shared broker (`RedisBroker`).

A worker cannot see its siblings, but it can see how it was started: the
server's command line (a spawned or forked worker keeps it) and
`WEB_CONCURRENCY`, which uvicorn and gunicorn read as their default number of
workers. A server started from Python (`uvicorn.run(app, workers=4)`) or from a
gunicorn configuration file is not detectable: docs/deploying.md says so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["SERVERS", "split_workers", "worker_count"]

SERVERS = ("uvicorn", "gunicorn", "hypercorn")
"""Servers whose `--workers N` (`-w N`) starts N processes of the app."""


def worker_count(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """How many worker processes the server was told to start (1 when not told, or when
    this is not one of `SERVERS`)."""
    server = _server(argv[0]) if argv else None
    if server is None:
        return 1
    # uvicorn and gunicorn default to $WEB_CONCURRENCY workers (PaaS set it); hypercorn does not.
    count = environ.get("WEB_CONCURRENCY") if server in ("uvicorn", "gunicorn") else None
    args = list(argv[1:])
    for index, arg in enumerate(args):
        if arg in ("--workers", "-w") and index + 1 < len(args):
            count = args[index + 1]
        elif arg.startswith("--workers="):
            count = arg.split("=", 1)[1]
        elif arg.startswith("-w") and arg[2:].isdigit():
            count = arg[2:]
    try:
        return max(1, int(count)) if count is not None else 1
    except ValueError:
        return 1


def _server(program: str) -> str | None:
    """`/usr/bin/uvicorn`, `…/uvicorn/__main__.py` (`python -m uvicorn`) → `uvicorn`."""
    path = Path(program)
    for name in (path.name, path.parent.name):
        if name in SERVERS:
            return name
    return None


def split_workers(
    broker_kind: str, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Why this process must not serve: it is one of several workers, each with a broker of
    its own. None when it may (a shared broker, or a single process)."""
    if broker_kind != "memory":
        return None
    workers = worker_count(
        sys.argv if argv is None else argv, os.environ if environ is None else environ
    )
    if workers < 2:
        return None
    return (
        f"this server runs {workers} worker processes, and flowwire's memory broker is per "
        "process: clients would get only the events of their own worker, under seq numbers "
        "that other workers repeat. Use a shared broker (RedisBroker) with several workers, "
        "or run one worker (see docs/deploying.md)"
    )
