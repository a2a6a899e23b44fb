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


class BenchServer:
    """uvicorn (websockets-sansio, uvloop) serving `bench.apps` for one app kind, on a
    listening socket this process holds (tests/processes.py: no port is raced)."""

    def __init__(
        self, app: str, *, deflate: bool = False, env: dict[str, str] | None = None
    ) -> None:
        self.app = app
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
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.apps:create",
            "--factory",
            "--fd",
            str(fd),
            "--ws",
            "websockets-sansio",
            "--ws-per-message-deflate",
            "true" if self.deflate else "false",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        if pinned():
            command = ["taskset", "-c", str(SERVER_CORE), *command]
        log = Path(tempfile.mkdtemp(prefix="fw-bench-")) / f"{self.app}.log"
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
