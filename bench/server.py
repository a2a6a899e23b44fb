"""A server under test in its own process, pinned to core 0 (the load generator takes core 1)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.procstat import Sample, sample

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE, CLIENT_CORE = 0, 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned() -> bool:
    """Whether there are cores enough to keep server and load generator apart."""
    return len(os.sched_getaffinity(0)) >= 2


class BenchServer:
    """uvicorn (websockets-sansio, uvloop) serving `bench.apps` for one app kind."""

    def __init__(
        self, app: str, *, deflate: bool = False, env: dict[str, str] | None = None
    ) -> None:
        self.app = app
        self.port = free_port()
        self.deflate = deflate
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_APP": app, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> BenchServer:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.apps:create",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
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
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.app} server exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{self.app} server did not start")

    def sample(self) -> Sample:
        assert self.process is not None
        return sample(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
