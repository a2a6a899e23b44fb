"""A server under test in its own process, pinned to core 0 (the load generator takes core 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.procstat import Sample, sample
from tests.processes import ChildProcess, environ, listening_socket, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE, CLIENT_CORE = 0, 1


def pinned() -> bool:
    """Whether there are cores enough to keep server and load generator apart."""
    return len(os.sched_getaffinity(0)) >= 2


SERVERS = ["uvicorn-sansio", "uvicorn-wsproto", "hypercorn", "daphne", "granian"]
"""The ASGI servers the harness can run, each in one process on a socket it inherits."""


def server_command(
    server: str, fd: int, *, deflate: bool = False, server_pings: bool = True
) -> list[str]:
    """The command line serving `bench.apps` (BENCH_APP) with `server` on socket `fd`.

    uvicorn and hypercorn run uvloop, granian's launcher too; daphne runs Twisted's
    asyncio reactor on the default loop (it has no other)."""
    python = [sys.executable, "-m"]
    if server.startswith("uvicorn"):
        ws = "websockets-sansio" if server == "uvicorn-sansio" else "wsproto"
        deflate_flag = ["--ws-per-message-deflate", "true" if deflate else "false"]
        return [
            *python,
            "uvicorn",
            "bench.apps:create",
            "--factory",
            "--fd",
            str(fd),
            "--ws",
            ws,
            *deflate_flag,
            # Off: the app's own heartbeat checks liveness (flowwire's does).
            *([] if server_pings else ["--ws-ping-interval", "0"]),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    if deflate:
        raise ValueError(f"the harness turns permessage-deflate on for uvicorn only, not {server}")
    if server == "hypercorn":
        # --workers 0: serve in this process, so that its CPU and RSS are the server's.
        return [
            *python,
            "hypercorn",
            "bench.apps:create()",
            "--bind",
            f"fd://{fd}",
            "--workers",
            "0",
            "--worker-class",
            "uvloop",
            "--log-level",
            "warning",
        ]
    if server == "daphne":
        return [*python, "daphne", "--fd", str(fd), "-v", "0", "bench.asgi_instance:app"]
    if server == "granian":
        return [*python, "bench.granian_fd", str(fd)]
    raise ValueError(f"unknown server {server!r}: one of {', '.join(SERVERS)}")


class BenchServer:
    """An ASGI server (uvicorn with websockets-sansio and uvloop unless `server` says
    otherwise, see SERVERS) serving `bench.apps` for one app kind, on a listening socket
    this process holds (tests/processes.py: no port is raced)."""

    def __init__(
        self,
        app: str,
        *,
        deflate: bool = False,
        env: dict[str, str] | None = None,
        server: str = "uvicorn-sansio",
        server_pings: bool = True,
    ) -> None:
        self.app = app
        self.server = server
        self.server_pings = server_pings
        self.socket = listening_socket()
        self.port: int = self.socket.getsockname()[1]
        self.deflate = deflate
        self.env = environ(PYTHONPATH=str(ROOT), BENCH_APP=app, **(env or {}))
        self.child: ChildProcess | None = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.child.process if self.child is not None else None

    def start(self, timeout: float = 30) -> BenchServer:
        fd = self.socket.fileno()
        command = server_command(
            self.server, fd, deflate=self.deflate, server_pings=self.server_pings
        )
        if pinned():
            command = ["taskset", "-c", str(SERVER_CORE), *command]
        log = Path(tempfile.mkdtemp(prefix="fw-bench-")) / f"{self.server}-{self.app}.log"
        self.child = ChildProcess(command, log, cwd=ROOT, env=self.env, pass_fds=[fd]).start()
        wait_for_http(self.child, ("127.0.0.1", self.port), "/", timeout)
        return self

    def sample(self) -> Sample:
        assert self.process is not None
        return sample(self.process.pid)

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop(signal.SIGINT, timeout=5)
        self.socket.close()

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
