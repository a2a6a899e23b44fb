"""A real redis-server for tests and benchmarks, with its own data directory.

Tests reach it on a Unix socket in a fresh temporary directory: nothing to race
for, and a restart comes back at the same address. `tcp=True` (the benchmarks,
which measure the network path) takes a random port outside the kernel's
ephemeral range and tries another if that one is taken. Readiness is Redis
saying so in its log, read as it is written.
"""

from __future__ import annotations

import random
import signal
import tempfile
from pathlib import Path

from tests import tools
from tests.processes import ChildProcess, wait_for_line

__all__ = ["RedisServer"]

READY = b"eady to accept connections"  # "Ready to …" (7.2+), "now ready to …" (7.0)
IN_USE = "Address already in use"


class RedisServer:
    def __init__(
        self,
        directory: Path,
        *,
        appendonly: bool = False,
        appendfsync: str = "everysec",
        tcp: bool = False,
    ) -> None:
        self.binary = tools.redis_server()
        self.directory = directory
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.tcp = tcp
        self.port = 0
        # Unix socket paths are limited to about 100 bytes: a short directory of its own.
        self.socket_path = Path(tempfile.mkdtemp(prefix="fw-redis-")) / "redis.sock"
        self.child: ChildProcess | None = None
        self.runs = 0

    @property
    def url(self) -> str:
        if self.tcp:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    def _command(self) -> list[str]:
        address = (
            ["--port", str(self.port), "--bind", "127.0.0.1"]
            if self.tcp
            else ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        )
        return [
            self.binary,
            *address,
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.appendfsync,
            "--dir",
            str(self.directory),
            "--loglevel",
            "notice",
            "--logfile",
            "",
            "--protected-mode",
            "no",
        ]

    def start(self, *, timeout: float = 20) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            if self.tcp and (self.runs == 0 or not self.port):
                self.port = random.randint(10_000, 32_000)  # below the ephemeral range
            self.runs += 1
            log = self.directory / "redis.log"
            self.child = ChildProcess(self._command(), log, stdout_pipe=True).start()
            try:
                wait_for_line(self.child, READY, timeout)
                return self
            except TimeoutError:
                self.child.stop()
                if self.tcp and IN_USE in self.child.logs():
                    self.port = 0
                    continue
                raise
        raise RuntimeError(
            f"redis-server found no free port:\n{self.child.logs() if self.child else ''}"
        )

    def stop(self) -> None:
        """A graceful shutdown: with appendonly, everything acknowledged is on disk."""
        if self.child is not None:
            self.child.stop(signal.SIGTERM, timeout=10)

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child.stop()

    def restart(self) -> None:
        """Stop gracefully and start again at the same address."""
        self.stop()
        self.start()
