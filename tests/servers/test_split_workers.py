"""Several worker processes with the memory broker split and duplicate streams: the app
refuses to start (or, told to, says so loudly and starts)."""

from __future__ import annotations

import json
import signal
import socket
import sys
from pathlib import Path

import pytest

from asgi_plugin.transport.workers import split_workers, worker_count
from tests.conftest import ROOT
from tests.processes import ChildProcess, environ, listening_socket, wait_for_http

REFUSAL = "refusing to start: this server runs 2 worker processes"


@pytest.mark.parametrize(
    ("argv", "env", "count"),
    [
        (["/usr/bin/uvicorn", "app:app", "--workers", "4"], {}, 4),
        (
            ["/venv/lib/python3.12/site-packages/uvicorn/__main__.py", "app:app", "--workers=3"],
            {},
            3,
        ),
        (
            ["/usr/local/bin/gunicorn", "-w", "2", "-k", "uvicorn.workers.UvicornWorker", "a:b"],
            {},
            2,
        ),
        (["/usr/local/bin/gunicorn", "-w8", "a:b"], {}, 8),
        (["hypercorn", "app:app", "--workers", "2"], {}, 2),
        (["/usr/bin/uvicorn", "app:app"], {"WEB_CONCURRENCY": "4"}, 4),
        (["/usr/bin/uvicorn", "app:app", "--workers", "1"], {"WEB_CONCURRENCY": "4"}, 1),
        (["/usr/bin/uvicorn", "app:app"], {}, 1),
        (["hypercorn", "app:app"], {"WEB_CONCURRENCY": "4"}, 1),  # hypercorn ignores it
        (["/usr/bin/pytest", "-w", "4"], {"WEB_CONCURRENCY": "4"}, 1),  # not a server
        (["myapp", "--workers", "4"], {}, 1),
        ([], {}, 1),
    ],
)
def test_worker_count_from_the_servers_command_line(
    argv: list[str], env: dict[str, str], count: int
) -> None:
    assert worker_count(argv, env) == count


def test_only_the_memory_broker_is_refused() -> None:
    argv = ["/usr/bin/uvicorn", "app:app", "--workers", "2"]
    assert split_workers("redis", argv, {}) is None
    assert split_workers("memory", ["/usr/bin/uvicorn", "app:app"], {}) is None
    problem = split_workers("memory", argv, {})
    assert problem is not None and "RedisBroker" in problem


def two_workers(sock: socket.socket) -> list[str]:
    """uvicorn with two workers on a socket the test holds."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.servers.apps:app",
        "--fd",
        str(sock.fileno()),
        "--workers",
        "2",
    ]


@pytest.mark.slow
def test_uvicorn_workers_with_the_memory_broker_refuse_to_start(tmp_path: Path) -> None:
    sock = listening_socket()
    command = two_workers(sock)
    env = environ(PYTHONPATH=str(ROOT))
    child = ChildProcess(
        command, tmp_path / "uvicorn.log", cwd=ROOT, env=env, pass_fds=[sock.fileno()]
    )
    child.start()
    try:
        assert child.process is not None
        child.process.wait(timeout=90)  # uvicorn stops when a worker fails to start
    finally:
        child.stop()
        sock.close()
    logs = child.logs()
    assert REFUSAL in logs, logs
    assert "Application startup failed" in logs, logs
    assert "stopping the parent process" in logs, logs


@pytest.mark.slow
def test_told_to_start_anyway_it_logs_the_problem_and_serves(tmp_path: Path) -> None:
    sock = listening_socket()
    port = sock.getsockname()[1]
    command = two_workers(sock)
    env = environ(
        PYTHONPATH=str(ROOT), FLOWWIRE_OPTIONS=json.dumps({"refuse_split_workers": False})
    )
    child = ChildProcess(
        command, tmp_path / "uvicorn.log", cwd=ROOT, env=env, pass_fds=[sock.fileno()]
    )
    child.start()
    try:
        wait_for_http(child, ("127.0.0.1", port), "/ws/health", 90)
    finally:
        child.stop(signal.SIGTERM, 30)
        sock.close()
    assert "this server runs 2 worker processes" in child.logs()
