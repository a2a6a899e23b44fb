"""Child processes for the tests and the benchmarks, on sockets nobody can take from them.

A server under test gets a listening socket this process bound (port 0) and
holds: the child serves it through `--fd` (uvicorn) or `fd://` (hypercorn), a
client may connect before the child is ready (it waits in the backlog), and a
child restarted on the same socket keeps its address. No port is picked and
then bound later by someone else. Readiness is an answer to a request, or a
line the child prints: waits are for events, bounded by a deadline, never sleeps.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

__all__ = ["ChildProcess", "listening_socket", "wait_for_http", "wait_for_line"]


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a free port and listening, inheritable by children."""
    sock = socket.create_server((host, 0), backlog=2048)
    sock.set_inheritable(True)
    return sock


class ChildProcess:
    """A process whose output goes to a log file; stopped (then killed) at `stop`."""

    def __init__(
        self,
        command: Sequence[str],
        log: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        pass_fds: Sequence[int] = (),
        stdout_pipe: bool = False,
    ) -> None:
        self.command = list(command)
        self.log_path = log
        self.cwd = cwd
        self.env = env
        self.pass_fds = tuple(pass_fds)
        self.stdout_pipe = stdout_pipe
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> ChildProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            pass_fds=self.pass_fds,
            stdout=subprocess.PIPE if self.stdout_pipe else self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        if self._log is not None:
            self._log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self, sig: int = 15, timeout: float = 5) -> int | None:
        """Signal the process (SIGTERM), then kill it if it is still there after `timeout`."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        return process.returncode

    def kill(self) -> None:
        """SIGKILL, and reap."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_for_http(
    child: ChildProcess, address: tuple[str, int], path: str, timeout: float = 30
) -> None:
    """Until the child answers an HTTP GET on `address` (any status): it is serving.

    The request waits in the listening socket's backlog until the child accepts
    it; each read is bounded so that a child that died is noticed at once.
    """
    deadline = time.monotonic() + timeout
    request = f"GET {path} HTTP/1.1\r\nHost: {address[0]}\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.command[:4]} exited:\n{child.logs()}")
        try:
            with socket.create_connection(address, timeout=1) as conn:
                conn.sendall(request)
                while time.monotonic() < deadline:
                    if not child.alive():
                        break
                    try:
                        if conn.recv(16).startswith(b"HTTP/"):
                            return
                        break  # closed without an answer: ask again
                    except TimeoutError:
                        continue
        except ConnectionResetError:
            continue  # the child closed before answering (still starting): ask again
        except ConnectionRefusedError:
            raise RuntimeError(
                f"nothing listens on {address}: hold the socket (listening_socket) or wait "
                f"for the child to say it listens:\n{child.logs()}"
            ) from None
    raise TimeoutError(f"{child.command[:4]} did not answer on {address}:\n{child.logs()}")


def wait_for_line(child: ChildProcess, marker: bytes, timeout: float = 30) -> bytes:
    """Read the child's piped output until a line containing `marker`; return that line.

    The rest of the output keeps going to the child's log file from a thread.
    """
    assert child.process is not None and child.process.stdout is not None
    stdout = child.process.stdout
    found: list[bytes] = []
    done = threading.Event()

    def pump() -> None:
        assert child._log is not None
        log = child._log
        for line in stdout:
            log.write(line)
            log.flush()
            if not found and marker in line:
                found.append(line)
                done.set()
        done.set()

    threading.Thread(target=pump, daemon=True, name=f"log-{child.pid}").start()
    if not done.wait(timeout) or not found:
        raise TimeoutError(f"{child.command[:3]} never printed {marker!r}:\n{child.logs()}")
    return found[0]


def environ(**extra: str) -> dict[str, str]:
    """The current environment with `extra` added (a child sees what the tests see)."""
    return {**os.environ, **extra}
